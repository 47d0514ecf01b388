import assert from "node:assert/strict";
import {
  decodeClientMessage,
  encodeMessage,
  FrameDecoder,
  utf8Length,
  WireReader,
  WireWriter,
} from "../../src/protocol/mod.ts";
import { Prng } from "../_helpers/prng.ts";
import { assertProtocolError } from "../_helpers/protocol_error.ts";

function reader(...bytes: number[]): WireReader {
  return new WireReader(new Uint8Array(bytes), "TEST");
}

function assertBadFrame(fn: () => unknown, message: RegExp): void {
  assertProtocolError(fn, "BAD_FRAME", message);
}

/** Invalid UTF-8 sequences, each with a u8 length prefix ready for str8(). */
const INVALID_UTF8: Record<string, number[]> = {
  "a lone continuation byte": [0x80],
  "an overlong NUL": [0xc0, 0x80],
  "an overlong slash": [0xe0, 0x80, 0xaf],
  "a truncated 3-byte sequence": [0xe6, 0x97],
  "a truncated 4-byte sequence at the end": [0x61, 0xf0, 0x9f, 0x91],
  "an encoded surrogate": [0xed, 0xa0, 0x80],
  "a code point above U+10FFFF": [0xf4, 0x90, 0x80, 0x80],
  "the byte 0xff": [0xff],
  "the byte 0xfe in the middle": [0x61, 0xfe, 0x62],
};

for (const [what, bytes] of Object.entries(INVALID_UTF8)) {
  Deno.test(`WireReader.str8() rejects ${what} as invalid UTF-8`, () => {
    assertBadFrame(
      () => reader(bytes.length, ...bytes).str8("name"),
      /^Cannot decode TEST: name is not valid UTF-8$/,
    );
  });
}

Deno.test("WireReader.str16() and str32() reject invalid UTF-8 too", () => {
  assertBadFrame(() => reader(0, 2, 0xc3, 0x28).str16("reason"), /reason is not valid UTF-8/);
  assertBadFrame(() => reader(0, 0, 0, 2, 0xc3, 0x28).str32("text"), /text is not valid UTF-8/);
});

Deno.test("WireReader reads valid 1- to 4-byte UTF-8 and keeps a leading BOM", () => {
  const r = reader(
    ...[10, 0x61, 0xc3, 0xa9, 0xe6, 0x97, 0xa5, 0xf0, 0x9f, 0x91, 0x8b],
    ...[0, 4, 0xef, 0xbb, 0xbf, 0x78],
  );
  assert.equal(r.str8("a"), "aé日👋");
  // A BOM is content, not a marker: dropping it would change the bytes a round trip writes.
  assert.equal(r.str16("b"), "\ufeffx");
  r.end();
});

Deno.test("WireReader reads big-endian integers", () => {
  const r = reader(0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 1, 0);
  assert.equal(r.u8("a"), 0xab);
  assert.equal(r.u16("b"), 0x1234);
  assert.equal(r.u32("c"), 0xdeadbeef);
  assert.equal(r.u64("d"), 256);
  assert.equal(r.remaining, 0);
});

Deno.test("WireReader rejects every field type cut short, naming the field and the shortfall", () => {
  assertBadFrame(() => reader().u8("flags"), /^Cannot decode TEST: flags needs 1 bytes but 0 remain$/);
  assertBadFrame(() => reader(1).u16("version"), /version needs 2 bytes but 1 remain/);
  assertBadFrame(() => reader(1, 2, 3).u32("token"), /token needs 4 bytes but 3 remain/);
  assertBadFrame(() => reader(0, 0, 0, 0, 0, 0, 1).u64("seq"), /seq needs 8 bytes but 7 remain/);
  assertBadFrame(() => reader(5, 0x61, 0x62).str8("room"), /room needs 5 bytes but 2 remain/);
  assertBadFrame(() => reader(0).str16("reason"), /reason needs 2 bytes but 1 remain/);
  assertBadFrame(() => reader(0, 3, 0x61).str16("reason"), /reason needs 3 bytes but 1 remain/);
  assertBadFrame(() => reader(0, 0, 0).str32("text"), /text needs 4 bytes but 3 remain/);
  assertBadFrame(() => reader(0, 0, 0, 2, 0x61).str32("text"), /text needs 2 bytes but 1 remain/);
  assertBadFrame(() => reader(1, 2).bytes(3, "magic"), /magic needs 3 bytes but 2 remain/);
});

Deno.test("WireReader.str32() rejects a 4 GiB length against the bytes that remain", () => {
  assertBadFrame(
    () => reader(0xff, 0xff, 0xff, 0xff, 0x61).str32("text"),
    /text needs 4294967295 bytes but 1 remain/,
  );
});

Deno.test("WireReader.u64() accepts 2^53 - 1 and rejects anything above it", () => {
  assert.equal(reader(0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff).u64("ts"), Number.MAX_SAFE_INTEGER);
  for (
    const bytes of [
      [0x00, 0x20, 0, 0, 0, 0, 0, 0], // 2^53
      [0x00, 0x20, 0, 0, 0, 0, 0, 1], // 2^53 + 1, which a double would round to 2^53
      [0x80, 0, 0, 0, 0, 0, 0, 0],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ]
  ) {
    assertBadFrame(() => reader(...bytes).u64("ts"), /^Cannot decode TEST: ts exceeds 2\^53 - 1$/);
  }
});

Deno.test("WireReader.end() rejects trailing bytes and accepts none", () => {
  const r = reader(1, 2, 3);
  r.u8("a");
  assertBadFrame(() => r.end(), /^Cannot decode TEST: 2 unexpected trailing bytes$/);
  r.u16("b");
  r.end();
});

Deno.test("WireReader reads a payload that is a view into a larger buffer at an offset", () => {
  const buffer = new Uint8Array([0xee, 0xee, 0x12, 0x34, 0xee]);
  const r = new WireReader(buffer.subarray(2, 4), "TEST");
  assert.equal(r.u16("v"), 0x1234);
  assertBadFrame(() => r.u8("next"), /needs 1 bytes but 0 remain/);
});

Deno.test("WireWriter.finish() writes the length of type byte plus payload, then the type", () => {
  const frame = new WireWriter(0x42).u8(1).u16(2).u32(3).u64(2 ** 40).str8("é").finish();
  assert.deepStrictEqual(
    [...frame],
    [0, 0, 0, 19, 0x42, 1, 0, 2, 0, 0, 0, 3, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0xc3, 0xa9],
  );
});

Deno.test("WireWriter grows past its size hint", () => {
  const frame = new WireWriter(1, 0).str16("x".repeat(1000)).finish();
  assert.equal(frame.byteLength, 5 + 2 + 1000);
  assert.equal(new DataView(frame.buffer, frame.byteOffset).getUint32(0), 1 + 2 + 1000);
});

Deno.test("WireWriter.u64() refuses values that are not integers in 0..2^53-1", () => {
  for (const v of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity]) {
    assert.throws(() => new WireWriter(1).u64(v), RangeError, `${v}`);
  }
});

Deno.test("WireWriter.str8() and str16() refuse strings longer than their length field allows", () => {
  new WireWriter(1).str8("x".repeat(255));
  assert.throws(
    () => new WireWriter(1).str8("x".repeat(256), "name"),
    /Cannot encode name: 256 bytes exceeds 255/,
  );
  // 128 two-byte characters: 256 bytes though only 128 UTF-16 units.
  assert.throws(() => new WireWriter(1).str8("é".repeat(128)), RangeError);
  new WireWriter(1).str16("x".repeat(65_535));
  assert.throws(() => new WireWriter(1).str16("x".repeat(65_536)), RangeError);
});

Deno.test("WireWriter writes a lone surrogate as U+FFFD, as TextEncoder does", () => {
  const frame = new WireWriter(1).str8("a\ud800").finish();
  assert.deepStrictEqual([...frame.subarray(5)], [4, 0x61, 0xef, 0xbf, 0xbd]);
});

const UTF8_SAMPLES: Record<string, string> = {
  "the empty string": "",
  "ASCII": "hello, world ~\u007f",
  "2-byte characters": "é\u0080\u07ffÑ",
  "3-byte characters": "日本語\u0800\uffff€",
  "4-byte characters": "👋😀\u{10000}\u{10ffff}",
  "a lone high surrogate": "a\ud83d b",
  "a lone high surrogate at the end": "ab\ud83d",
  "a lone low surrogate": "\ude00x",
  "a reversed surrogate pair": "\ude00\ud83d",
  "two high surrogates then a low one": "\ud83d\ud83d\ude00",
};

for (const [what, s] of Object.entries(UTF8_SAMPLES)) {
  Deno.test(`utf8Length() matches TextEncoder for ${what}`, () => {
    assert.equal(utf8Length(s), new TextEncoder().encode(s).byteLength);
  });
}

Deno.test("utf8Length() matches TextEncoder for random strings of UTF-16 code units", () => {
  const rng = new Prng(0xc0de);
  // Weighted toward the ranges where byte counts change, surrogates included.
  const ranges: Array<[number, number]> = [
    [0, 0x7f],
    [0x80, 0x7ff],
    [0x800, 0xd7ff],
    [0xd800, 0xdbff],
    [0xdc00, 0xdfff],
    [0xe000, 0xffff],
  ];
  const encoder = new TextEncoder();
  for (let i = 0; i < 2000; i++) {
    const units: number[] = [];
    for (let n = rng.int(12); n > 0; n--) {
      const [lo, hi] = rng.pick(ranges);
      units.push(rng.range(lo, hi));
    }
    const s = String.fromCharCode(...units);
    assert.equal(utf8Length(s), encoder.encode(s).byteLength, `seed ${rng.seed}, units ${units}`);
  }
});

Deno.test("WireReader decodes ASCII and non-ASCII strings alike on both sides of the short-ASCII fast path", () => {
  for (const n of [0, 1, 255, 256, 257, 1000]) {
    for (const tail of ["", "é", "\u0000", "\u007f"]) {
      const text = "x".repeat(Math.max(0, n - utf8Length(tail))) + tail;
      const w = new WireWriter(0x02).str32(text, "text").finish();
      const r = new WireReader(w.subarray(5), "TEST");
      assert.equal(r.str32("text"), text, `${n} bytes ending ${JSON.stringify(tail)}`);
      r.end();
    }
  }
  // An invalid byte after a run of ASCII still fails, whatever the length.
  for (const n of [10, 300]) {
    const bytes = [...Array(n).fill(0x61), 0xff];
    assertBadFrame(
      () => reader(0, 0, (n + 1) >> 8, (n + 1) & 0xff, ...bytes).str32("text"),
      /not valid UTF-8/,
    );
  }
});

Deno.test("frames encoded one after another never share or overwrite each other's bytes, small or large", () => {
  const rng = new Prng(7);
  const sent: Array<{ text: string; frame: Uint8Array }> = [];
  // Enough frames to fill several shared slabs, with some too large for one and some needing a bigger scratch.
  for (let i = 0; i < 3000; i++) {
    const size = i % 97 === 0 ? 9000 + rng.int(20000) : 20 + rng.int(300);
    const text = `${i}:` + "é".repeat(size % 7) + "x".repeat(size);
    sent.push({ text, frame: encodeMessage({ type: "send", id: i + 1, room: "lobby", flags: 0, text }) });
  }
  for (const [i, { text, frame }] of sent.entries()) {
    const frames = new FrameDecoder({ maxFrame: 1 << 20 }).push(frame);
    assert.equal(frames.length, 1);
    const msg = decodeClientMessage(frames[0]);
    assert.ok(msg.type === "send" && msg.id === i + 1 && msg.text === text, `frame ${i} intact`);
  }
});

Deno.test("a frame that fails to encode leaves the encoder working for the next", () => {
  assert.throws(() => encodeMessage({ type: "join", room: "r".repeat(300) }), RangeError);
  const a = encodeMessage({ type: "join", room: "a" });
  const b = encodeMessage({ type: "join", room: "b" });
  assert.deepEqual([...a], [0, 0, 0, 3, 0x03, 1, 0x61]);
  assert.deepEqual([...b], [0, 0, 0, 3, 0x03, 1, 0x62]);
});

Deno.test("WireWriter writes the bytes TextEncoder gives on both sides of its ASCII fast path", () => {
  const encoder = new TextEncoder();
  for (const n of [0, 1, 63, 64, 65, 200]) {
    for (const tail of ["", "é", "日", "\u007f", "\u0080", "\ud800", "👋"]) {
      const s = "a".repeat(n) + tail;
      if (encoder.encode(s).byteLength > 255) continue;
      const frame = new WireWriter(0x01).str8(s, "name").finish();
      const want = encoder.encode(s);
      assert.equal(frame[5], want.byteLength, `${n} + ${JSON.stringify(tail)}`);
      assert.deepEqual([...frame.subarray(6)], [...want], `${n} + ${JSON.stringify(tail)}`);
    }
  }
  // A non-ASCII unit first, then ASCII: nothing of a partial fast write is left behind.
  const frame = new WireWriter(0x01).str16("é" + "b".repeat(40), "text").finish();
  assert.deepEqual([...frame.subarray(7)], [...encoder.encode("é" + "b".repeat(40))]);
});
