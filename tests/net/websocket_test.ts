import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/mod.ts";
import {
  acceptKey,
  CloseCode,
  closeFrame,
  FrameReader,
  Opcode,
  validKey,
  type WebSocketError,
  wrapFrames,
} from "../../src/net/websocket.ts";
import { concat } from "../../src/bench/split.ts";
import { clientFrame } from "../_helpers/ws_client.ts";

const join = (...parts: Uint8Array[]) => concat(parts);

/** A chat frame of `length` (type byte + payload) filled with a pattern. */
function chatFrame(length: number, seed = 1): Uint8Array {
  const f = new Uint8Array(4 + length);
  new DataView(f.buffer).setUint32(0, length);
  for (let i = 4; i < f.byteLength; i++) f[i] = (i * 7 + seed) & 0xff;
  return f;
}

/** Feeds `pieces` to a reader, each copied into a buffer of its own, and joins the chat bytes it hands back. */
function feed(reader: FrameReader, pieces: Uint8Array[]): Uint8Array {
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    const buf = p.slice();
    const k = reader.process(buf, buf.byteLength);
    out.push(buf.slice(0, k));
  }
  return join(...out);
}

const BIN = Opcode.BINARY;

Deno.test("acceptKey() gives the RFC 6455 example's answer, and validKey() wants 16 bytes of base64", () => {
  assert.equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  assert.ok(validKey("dGhlIHNhbXBsZSBub25jZQ=="));
  assert.ok(!validKey(undefined));
  assert.ok(!validKey("short=="));
  assert.ok(!validKey("dGhlIHNhbXBsZSBub25jZQ"));
});

Deno.test("FrameReader.process() unmasks a binary message's chat frame in place, cut at every offset", () => {
  const frame = chatFrame(300);
  const wire = join(clientFrame(BIN, frame), clientFrame(BIN, chatFrame(5, 9)));
  for (let cut = 0; cut <= wire.byteLength; cut++) {
    const reader = new FrameReader(4 + 65536);
    const got = feed(reader, [wire.subarray(0, cut), wire.subarray(cut)]);
    assert.deepEqual(got, join(frame, chatFrame(5, 9)), `cut at ${cut}`);
    assert.equal(reader.error, null);
  }
  const reader = new FrameReader(4 + 65536);
  const pieces = Array.from(wire, (b) => new Uint8Array([b]));
  assert.deepEqual(feed(reader, pieces), join(frame, chatFrame(5, 9)), "byte by byte");
});

Deno.test("FrameReader reads 16-bit and 64-bit payload lengths", () => {
  for (const length of [121, 122, 65531, 65532, 70000]) {
    const reader = new FrameReader(4 + 100_000);
    const frame = chatFrame(length);
    assert.deepEqual(feed(reader, [clientFrame(BIN, frame)]), frame, `frame of ${length}`);
  }
});

Deno.test("FrameReader joins a fragmented message, and answers a ping sent between its fragments", () => {
  const frame = chatFrame(40);
  const reader = new FrameReader(1000);
  const got = feed(reader, [
    join(
      clientFrame(BIN, frame.subarray(0, 10), { fin: false }),
      clientFrame(Opcode.PING, new Uint8Array([1, 2, 3])),
      clientFrame(Opcode.CONTINUATION, frame.subarray(10, 20), { fin: false }),
      clientFrame(Opcode.CONTINUATION, frame.subarray(20), { fin: true }),
    ),
  ]);
  assert.deepEqual(got, frame);
  assert.deepEqual(reader.ping, new Uint8Array([1, 2, 3]));
  assert.equal(reader.error, null);
});

Deno.test("FrameReader records the client's close code (1005 without one) and stops reading", () => {
  const reader = new FrameReader(1000);
  const after = clientFrame(BIN, chatFrame(3));
  assert.equal(
    feed(reader, [join(clientFrame(Opcode.CLOSE, new Uint8Array([0x03, 0xe9])), after)]).byteLength,
    0,
  );
  assert.equal(reader.closed, 1001);
  const empty = new FrameReader(1000);
  feed(empty, [clientFrame(Opcode.CLOSE, new Uint8Array(0))]);
  assert.equal(empty.closed, 1005);
});

/** The error a reader reports for `wire`, and the chat bytes it handed over before it. */
function broken(wire: Uint8Array, maxMessage = 1000): { error: WebSocketError; before: Uint8Array } {
  const reader = new FrameReader(maxMessage);
  const before = feed(reader, [wire]);
  assert.ok(reader.error, "no error");
  return { error: reader.error, before };
}

Deno.test("FrameReader refuses what RFC 6455 forbids a client, with the close code for it", () => {
  const frame = chatFrame(8);
  const cases: Array<[string, Uint8Array, number]> = [
    ["unmasked", clientFrame(BIN, frame, { mask: false }), CloseCode.PROTOCOL_ERROR],
    ["reserved bits", clientFrame(BIN, frame, { rsv: 0x40 }), CloseCode.PROTOCOL_ERROR],
    ["text", clientFrame(Opcode.TEXT, new TextEncoder().encode("hi")), CloseCode.UNSUPPORTED_DATA],
    ["unknown opcode", clientFrame(0x3, frame), CloseCode.PROTOCOL_ERROR],
    ["unknown control opcode", clientFrame(0xb, new Uint8Array(0)), CloseCode.PROTOCOL_ERROR],
    ["continuation first", clientFrame(Opcode.CONTINUATION, frame), CloseCode.PROTOCOL_ERROR],
    [
      "binary inside a message",
      join(clientFrame(BIN, frame.subarray(0, 4), { fin: false }), clientFrame(BIN, frame)),
      CloseCode.PROTOCOL_ERROR,
    ],
    [
      "fragmented ping",
      clientFrame(Opcode.PING, new Uint8Array(1), { fin: false }),
      CloseCode.PROTOCOL_ERROR,
    ],
    ["ping of 126 bytes", clientFrame(Opcode.PING, new Uint8Array(126)), CloseCode.PROTOCOL_ERROR],
    ["close of one byte", clientFrame(Opcode.CLOSE, new Uint8Array(1)), CloseCode.PROTOCOL_ERROR],
  ];
  for (const [what, wire, code] of cases) {
    const { error, before } = broken(wire);
    assert.equal(error.closeCode, code, what);
    assert.equal(error.code, ErrorCode.BAD_FRAME, what);
    assert.match(error.message, /^WebSocket: /, what);
    assert.equal(before.byteLength, what === "binary inside a message" ? 4 : 0, what);
  }
});

Deno.test("FrameReader holds each binary message to exactly one chat frame", () => {
  const two = broken(clientFrame(BIN, join(chatFrame(3), chatFrame(3))));
  assert.match(two.error.message, /more than one frame/);
  const short = broken(clientFrame(BIN, chatFrame(10).subarray(0, 9)));
  assert.match(short.error.message, /does not hold exactly one frame/);
  assert.match(broken(clientFrame(BIN, new Uint8Array(0))).error.message, /0 bytes/);
  assert.match(broken(clientFrame(BIN, new Uint8Array([0, 0]))).error.message, /2 bytes/);
});

Deno.test("FrameReader refuses a message over the limit from its header, before reading its payload", () => {
  const big = broken(clientFrame(BIN, new Uint8Array(0), { length: 1001 }), 1000);
  assert.equal(big.error.code, ErrorCode.TOO_LARGE);
  assert.equal(big.error.closeCode, CloseCode.TOO_BIG);
  // Fragments count together.
  const frags = broken(
    join(
      clientFrame(BIN, chatFrame(996).subarray(0, 600), { fin: false }),
      clientFrame(Opcode.CONTINUATION, new Uint8Array(0), { length: 401 }),
    ),
    1000,
  );
  assert.equal(frags.error.code, ErrorCode.TOO_LARGE);
  const huge = broken(clientFrame(BIN, new Uint8Array(0), { length: 2 ** 40 }));
  assert.equal(huge.error.code, ErrorCode.TOO_LARGE);
  // Exactly the limit is fine.
  const reader = new FrameReader(1000);
  assert.equal(feed(reader, [clientFrame(BIN, chatFrame(996))]).byteLength, 1000);
  assert.equal(reader.error, null);
});

Deno.test("FrameReader hands over the frames before a broken rule, and nothing after it", () => {
  const good = chatFrame(6);
  const { before } = broken(
    join(clientFrame(BIN, good), clientFrame(BIN, good, { mask: false }), clientFrame(BIN, good)),
  );
  assert.deepEqual(before, good);
});

/** Splits server frames (unmasked) back into opcode and payload. */
function serverFrames(bytes: Uint8Array): Array<{ fin: boolean; opcode: number; payload: Uint8Array }> {
  const out = [];
  for (let at = 0; at < bytes.byteLength;) {
    let n = bytes[at + 1] & 0x7f;
    let h = 2;
    if (n === 126) [n, h] = [(bytes[at + 2] << 8) | bytes[at + 3], 4];
    else if (n === 127) [n, h] = [new DataView(bytes.buffer, bytes.byteOffset + at + 2).getUint32(4), 10];
    assert.equal(bytes[at + 1] & 0x80, 0, "a server frame is never masked");
    out.push({
      fin: (bytes[at] & 0x80) !== 0,
      opcode: bytes[at] & 0x0f,
      payload: bytes.slice(at + h, at + h + n),
    });
    at += h + n;
  }
  return out;
}

Deno.test("wrapFrames() sends each chat frame as one binary message, whatever its length", () => {
  const frames = [
    chatFrame(1),
    chatFrame(121),
    chatFrame(122),
    chatFrame(65531),
    chatFrame(65532),
    chatFrame(70000),
  ];
  const got = serverFrames(wrapFrames(join(...frames)));
  assert.deepEqual(got.map((f) => [f.fin, f.opcode]), frames.map(() => [true, BIN]));
  assert.deepEqual(got.map((f) => f.payload), frames);
  assert.throws(() => wrapFrames(chatFrame(10).subarray(0, 12)), TypeError);
  assert.throws(() => wrapFrames(new Uint8Array([0, 0])), TypeError);
});

Deno.test("closeFrame() carries the code and a reason cut to 123 bytes at a character boundary", () => {
  const [f] = serverFrames(closeFrame(1002, "é".repeat(100)));
  assert.equal(f.opcode, Opcode.CLOSE);
  assert.equal((f.payload[0] << 8) | f.payload[1], 1002);
  assert.ok(f.payload.byteLength <= 125);
  assert.equal(new TextDecoder("utf-8", { fatal: true }).decode(f.payload.subarray(2)), "é".repeat(61));
});
