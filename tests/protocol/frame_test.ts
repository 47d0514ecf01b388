import assert from "node:assert/strict";
import {
  encodeFrame,
  encodeMessage,
  type Frame,
  FRAME_NAMES,
  FrameDecoder,
  FrameType,
  HEADER_SIZE,
  MAX_FRAME_CEILING,
  NOT_CHAT_LINE,
  SNIFF_SIZE,
  sniffHello,
} from "../../src/protocol/mod.ts";
import { Prng } from "../_helpers/prng.ts";
import { assertProtocolError } from "../_helpers/protocol_error.ts";

/** A frame as plain data, copied out: a decoded payload is only valid until the next push. */
interface Seen {
  type: number;
  /** The payload bytes as a string: cheap to compare thousands of times. */
  payload: string;
}

// WHATWG "latin1" (windows-1252) maps the 256 byte values to 256 distinct characters.
const latin1Decoder = new TextDecoder("latin1");

function latin1(bytes: Uint8Array): string {
  return latin1Decoder.decode(bytes);
}

function seen(frames: Frame[]): Seen[] {
  return frames.map((f) => ({ type: f.type, payload: latin1(f.payload) }));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

const HELLO = encodeMessage({ type: "hello", version: 1, name: "alice", rooms: ["lobby"], extensions: [] });
const PING = encodeMessage({ type: "ping", token: 7 });
/** A frame with length 1: a type byte (unknown to the codec, which the decoder does not care about) and no payload. */
const TYPE_ONLY = new Uint8Array([0, 0, 0, 1, 0x7f]);
const SEND = encodeMessage({ type: "send", id: 1, room: "lobby", flags: 0, text: "x".repeat(3000) });

/** Fixtures: single frames and a stream of several, including a large one and a length-1 one. */
const FIXTURES: Record<string, Uint8Array> = {
  "a HELLO": HELLO,
  "a PING": PING,
  "a type-only frame": TYPE_ONLY,
  "a 3 KB SEND": SEND,
  "a stream of five frames": concat(HELLO, TYPE_ONLY, SEND, PING, TYPE_ONLY),
};

/** The frames of a fixture, read off its bytes directly rather than by the decoder under test. */
function expected(bytes: Uint8Array): Seen[] {
  const out: Seen[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.byteLength;) {
    const length = view.getUint32(at);
    out.push({ type: bytes[at + 4], payload: latin1(bytes.subarray(at + 5, at + 4 + length)) });
    at += 4 + length;
  }
  return out;
}

Deno.test("FRAME_NAMES names every frame type and nothing else", () => {
  assert.deepStrictEqual(
    Object.entries(FRAME_NAMES).sort(),
    Object.entries(FrameType).map(([name, code]) => [String(code), name]).sort(),
  );
});

Deno.test("the fixtures hold the frames they claim", () => {
  assert.equal(expected(FIXTURES["a stream of five frames"]).length, 5);
  assert.deepStrictEqual(expected(TYPE_ONLY), [{ type: 0x7f, payload: "" }]);
});

for (const [name, bytes] of Object.entries(FIXTURES)) {
  Deno.test(`FrameDecoder.push() yields the same frames for ${name} cut at every offset`, () => {
    const want = expected(bytes);
    for (let cut = 0; cut <= bytes.byteLength; cut++) {
      const decoder = new FrameDecoder();
      const got = [...seen(decoder.push(bytes.subarray(0, cut))), ...seen(decoder.push(bytes.subarray(cut)))];
      assert.deepStrictEqual(got, want, `cut at ${cut}`);
      assert.equal(decoder.buffered, 0, `cut at ${cut}`);
    }
  });

  Deno.test(`FrameDecoder.push() yields the same frames for ${name} fed byte by byte`, () => {
    const decoder = new FrameDecoder();
    const got: Seen[] = [];
    for (let i = 0; i < bytes.byteLength; i++) {
      got.push(...seen(decoder.push(bytes.subarray(i, i + 1))));
    }
    assert.deepStrictEqual(got, expected(bytes));
    assert.equal(decoder.buffered, 0);
  });
}

Deno.test("FrameDecoder.push() returns every frame of a chunk that holds several, in order", () => {
  const decoder = new FrameDecoder();
  const frames = seen(decoder.push(concat(PING, HELLO, PING)));
  assert.deepStrictEqual(frames.map((f) => f.type), [0x40, 0x01, 0x40]);
  assert.deepStrictEqual(frames, expected(concat(PING, HELLO, PING)));
});

Deno.test("FrameDecoder.push() keeps a partial frame and completes it with the next chunk", () => {
  const decoder = new FrameDecoder();
  // One whole frame, then the first 7 bytes of the next (header + 2 payload bytes).
  assert.deepStrictEqual(seen(decoder.push(concat(PING, HELLO.subarray(0, 7)))), expected(PING));
  assert.equal(decoder.buffered, 7);
  assert.deepStrictEqual(seen(decoder.push(HELLO.subarray(7))), expected(HELLO));
  assert.equal(decoder.buffered, 0);
});

Deno.test("FrameDecoder.buffered counts a partial header", () => {
  const decoder = new FrameDecoder();
  assert.deepStrictEqual(decoder.push(HELLO.subarray(0, 3)), []);
  assert.equal(decoder.buffered, 3);
});

Deno.test("FrameDecoder.push() of an empty chunk returns no frames and changes nothing", () => {
  const decoder = new FrameDecoder();
  decoder.push(HELLO.subarray(0, 6));
  assert.deepStrictEqual(decoder.push(new Uint8Array(0)), []);
  assert.equal(decoder.buffered, 6);
  assert.deepStrictEqual(seen(decoder.push(HELLO.subarray(6))), expected(HELLO));
});

Deno.test("FrameDecoder.push() accepts a frame of exactly maxFrame bytes", () => {
  const decoder = new FrameDecoder({ maxFrame: 16 });
  const frame = concat(new Uint8Array([0, 0, 0, 16, 0x40]), new Uint8Array(15).fill(9));
  assert.deepStrictEqual(seen(decoder.push(frame)), expected(frame));
});

Deno.test("FrameDecoder.push() rejects a length above the frame limit with TOO_LARGE", () => {
  const decoder = new FrameDecoder({ maxFrame: 16 });
  assertProtocolError(
    () => decoder.push(new Uint8Array([0, 0, 0, 17, 0x40, ...new Uint8Array(16)])),
    "TOO_LARGE",
    /^Cannot decode frame: length 17 exceeds limit 16$/,
  );
});

Deno.test("FrameDecoder.push() rejects a length of 0 with BAD_FRAME", () => {
  assertProtocolError(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 0, 0x40])), "BAD_FRAME");
});

for (const [length, code] of [[0, "BAD_FRAME"], [0xffff_ffff, "TOO_LARGE"], [65537, "TOO_LARGE"]] as const) {
  Deno.test(
    `FrameDecoder.push() rejects length ${length} with ${code} as soon as the 4 length bytes arrive`,
    () => {
      const header = new Uint8Array(4);
      new DataView(header.buffer).setUint32(0, length);
      // Byte by byte: the first three are accepted, the fourth fails before any type or payload byte.
      const decoder = new FrameDecoder();
      for (let i = 0; i < 3; i++) assert.deepStrictEqual(decoder.push(header.subarray(i, i + 1)), []);
      assertProtocolError(() => decoder.push(header.subarray(3)), code);
      assert.ok(decoder.buffered <= 4, `buffered ${decoder.buffered} bytes for a rejected frame`);
      // All four at once, as the start of a larger chunk: same verdict.
      const whole = new FrameDecoder();
      assertProtocolError(() => whole.push(concat(header, new Uint8Array(100))), code);
      assert.ok(whole.buffered <= 4, `buffered ${whole.buffered} bytes for a rejected frame`);
    },
  );
}

Deno.test("FrameDecoder.push() returns a valid frame before an oversized length in the same chunk, then fails", () => {
  const decoder = new FrameDecoder();
  const frames = decoder.push(concat(PING, new Uint8Array([0xff, 0xff, 0xff, 0xff])));
  assert.equal(frames.length, 1, "the PING that arrived whole is not lost");
  assert.equal(frames[0].type, PING[4]);
  assert.equal(decoder.error?.code, "TOO_LARGE");
  assertProtocolError(() => decoder.push(PING), "TOO_LARGE");
});

Deno.test("FrameDecoder stays failed after an error, even for valid input", () => {
  const decoder = new FrameDecoder();
  assertProtocolError(() => decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff])), "TOO_LARGE");
  assertProtocolError(() => decoder.push(PING), "TOO_LARGE");
  assertProtocolError(() => decoder.push(new Uint8Array(0)), "TOO_LARGE");
});

Deno.test("new FrameDecoder() rejects a maxFrame outside 1..MAX_FRAME_CEILING", () => {
  for (const maxFrame of [0, -1, 1.5, MAX_FRAME_CEILING + 1, Number.NaN]) {
    assert.throws(() => new FrameDecoder({ maxFrame }), RangeError, `maxFrame ${maxFrame}`);
  }
  assert.equal(new FrameDecoder({ maxFrame: MAX_FRAME_CEILING }).maxFrame, MAX_FRAME_CEILING);
  assert.equal(new FrameDecoder().maxFrame, 65536);
});

Deno.test("FrameDecoder.buffered peaks just short of a maximal frame and returns to 0 once it completes", () => {
  const decoder = new FrameDecoder({ maxFrame: 4096 });
  const big = concat(new Uint8Array([0, 0, 0x10, 0, 0x02]), new Uint8Array(4095));
  for (let i = 0; i < big.byteLength - 1; i++) decoder.push(big.subarray(i, i + 1));
  assert.equal(decoder.buffered, 4096 + HEADER_SIZE - 2);
  assert.equal(decoder.push(big.subarray(big.byteLength - 1)).length, 1);
  assert.equal(decoder.buffered, 0);
});

Deno.test('sniffHello() says "more" for every proper prefix of a HELLO header and "yes" from SNIFF_SIZE bytes on', () => {
  assert.equal(SNIFF_SIZE, 9);
  for (let n = 0; n <= HELLO.byteLength; n++) {
    assert.equal(sniffHello(HELLO.subarray(0, n)), n < SNIFF_SIZE ? "more" : "yes", `prefix of ${n} bytes`);
  }
});

Deno.test('sniffHello() says "no" to an HTTP request and to typed text from the first byte', () => {
  for (const text of ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "hello\r\n"]) {
    const bytes = ascii(text);
    for (let n = 1; n <= bytes.byteLength; n++) {
      assert.equal(sniffHello(bytes.subarray(0, n)), "no", `${JSON.stringify(text)} cut at ${n}`);
    }
  }
});

Deno.test('sniffHello() says "no" to random bytes', () => {
  const rng = new Prng(0x5eed);
  for (let i = 0; i < 2000; i++) {
    const bytes = rng.bytes(16);
    assert.equal(sniffHello(bytes), "no", `seed ${rng.seed}, sample ${i}: ${bytes}`);
  }
});

Deno.test('sniffHello() says "no" to a valid frame of another type first', () => {
  assert.equal(sniffHello(encodeMessage({ type: "join", room: "lobby-and-more" })), "no");
  assert.equal(sniffHello(PING.subarray(0, 5)), "no");
});

Deno.test('sniffHello() says "no" to a HELLO with the wrong magic, at the first wrong byte', () => {
  const bad = HELLO.slice();
  bad[7] = 0x58; // "CHXT"
  assert.equal(sniffHello(bad.subarray(0, 7)), "more");
  assert.equal(sniffHello(bad.subarray(0, 8)), "no");
});

Deno.test('sniffHello() says "no" to a length that cannot hold the magic or exceeds maxFrame', () => {
  assert.equal(sniffHello(new Uint8Array([0, 0, 0, 4, 0x01, 0x43, 0x48, 0x41, 0x54])), "no");
  assert.equal(sniffHello(new Uint8Array([0, 0, 0, 0])), "no");
  assert.equal(sniffHello(new Uint8Array([0, 1, 0, 1])), "no"); // 65537 > 65536
  assert.equal(sniffHello(new Uint8Array([0, 1, 0, 0])), "more"); // 65536 is allowed
  assert.equal(sniffHello(HELLO, HELLO.byteLength - 5), "no"); // a smaller configured limit
  assert.equal(sniffHello(HELLO, HELLO.byteLength - 4), "yes");
});

Deno.test('sniffHello() says "no" from the first two bytes when they already exceed maxFrame', () => {
  assert.equal(sniffHello(new Uint8Array([1])), "no");
  assert.equal(sniffHello(new Uint8Array([0, 2])), "no");
  assert.equal(sniffHello(new Uint8Array([0, 1])), "more");
  assert.equal(sniffHello(new Uint8Array([0, 0xff]), 16 * 1024 * 1024), "more");
});

Deno.test("NOT_CHAT_LINE is one ASCII line ending in CRLF", () => {
  assert.match(NOT_CHAT_LINE, /^[\x20-\x7e]+\r\n$/);
  // Its first byte is not 0, so a chat client reading it cannot mistake it for a frame header.
  assert.notEqual(NOT_CHAT_LINE.charCodeAt(0), 0);
});

Deno.test("encodeFrame() writes the bytes FrameDecoder reads back, empty payload included", () => {
  for (const payload of [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(70_000).fill(7)]) {
    const bytes = encodeFrame({ type: 0x82, payload });
    assert.equal(bytes.byteLength, 5 + payload.byteLength);
    assert.equal(new DataView(bytes.buffer).getUint32(0), payload.byteLength + 1);
    const [frame] = new FrameDecoder({ maxFrame: 100_000 }).push(bytes);
    assert.deepEqual([frame.type, [...frame.payload]], [0x82, [...payload]]);
  }
});
