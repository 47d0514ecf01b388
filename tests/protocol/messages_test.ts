import assert from "node:assert/strict";
import {
  decodeMessage,
  encodeMessage,
  ERROR_CODES,
  ErrorCode,
  FRAME_NAMES,
  FrameType,
  MAX_HELLO_ROOMS,
  MAX_MEMBERS_PER_FRAME,
  ProtocolError,
} from "../../src/protocol/mod.ts";

const MAGIC = [0x43, 0x48, 0x41, 0x54];
const LOBBY = [5, 0x6c, 0x6f, 0x62, 0x62, 0x79];
const ALICE = [5, 0x61, 0x6c, 0x69, 0x63, 0x65];
const WELCOME_LIMITS = [0, 0, 6, 0x82, 0, 0, 0x13, 0x88, 0, 1, 0, 0, 0, 0, 0x10, 0];

function decode(type: number, ...payload: number[]) {
  return decodeMessage({ type, payload: new Uint8Array(payload) });
}

function assertCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${e}`);
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** `n` rooms named "r": count byte, then n str8 fields. */
function rooms(n: number): number[] {
  return [n, ...Array.from({ length: n }, () => [1, 0x72]).flat()];
}

Deno.test("decodeMessage() rejects every type byte outside the frame table with UNKNOWN_TYPE", () => {
  const known = new Set<number>(Object.values(FrameType));
  assert.ok(known.size >= 14);
  for (let type = 0; type < 256; type++) {
    if (known.has(type)) continue;
    const hex = type.toString(16).padStart(2, "0");
    assertCode(
      () => decode(type),
      "UNKNOWN_TYPE",
      new RegExp(`^Cannot decode frame: unknown type 0x${hex}$`),
    );
  }
});

Deno.test("FRAME_NAMES names every frame type and nothing else", () => {
  assert.deepStrictEqual(
    Object.entries(FRAME_NAMES).sort(),
    Object.entries(FrameType).map(([name, code]) => [String(code), name]).sort(),
  );
});

Deno.test("decodeMessage() rejects a HELLO whose magic is not CHAT", () => {
  assertCode(
    () => decode(FrameType.HELLO, 0x43, 0x48, 0x41, 0x55, 0, 1, ...ALICE, 0),
    "BAD_FRAME",
    /magic is not "CHAT"/,
  );
});

Deno.test("decodeMessage() reads a HELLO of any version, leaving the version check to the server", () => {
  const hello = decode(FrameType.HELLO, ...MAGIC, 0x12, 0x34, ...ALICE, 0);
  assert.equal(hello.type === "hello" && hello.version, 0x1234);
});

Deno.test("decodeMessage() accepts 32 rooms in a HELLO and rejects 33 with TOO_MANY_ROOMS", () => {
  assert.equal(MAX_HELLO_ROOMS, 32);
  const ok = decode(FrameType.HELLO, ...MAGIC, 0, 1, ...ALICE, ...rooms(32));
  assert.equal(ok.type === "hello" && ok.rooms.length, 32);
  assertCode(
    () => decode(FrameType.HELLO, ...MAGIC, 0, 1, ...ALICE, ...rooms(33)),
    "TOO_MANY_ROOMS",
    /33 rooms exceeds limit 32/,
  );
});

Deno.test("decodeMessage() rejects 33 rooms in a WELCOME with TOO_MANY_ROOMS", () => {
  assertCode(
    () => decode(FrameType.WELCOME, 0, 1, ...ALICE, ...WELCOME_LIMITS, ...rooms(33)),
    "TOO_MANY_ROOMS",
  );
});

Deno.test("decodeMessage() reads several HELLO extensions in order, copied out of the payload", () => {
  const payload = new Uint8Array([
    ...MAGIC,
    0,
    1,
    ...ALICE,
    0,
    0x01,
    0,
    1,
    0xaa,
    0xfe,
    0,
    0,
    0x02,
    0,
    2,
    1,
    2,
  ]);
  const hello = decodeMessage({ type: FrameType.HELLO, payload });
  payload.fill(0);
  assert.deepStrictEqual(hello.type === "hello" && hello.extensions, [
    { tag: 0x01, value: new Uint8Array([0xaa]) },
    { tag: 0xfe, value: new Uint8Array(0) },
    { tag: 0x02, value: new Uint8Array([1, 2]) },
  ]);
});

Deno.test("decodeMessage() rejects a HELLO extension cut short", () => {
  const head = [...MAGIC, 0, 1, ...ALICE, 0];
  assertCode(() => decode(FrameType.HELLO, ...head, 0x01), "BAD_FRAME", /extension length/);
  assertCode(() => decode(FrameType.HELLO, ...head, 0x01, 0), "BAD_FRAME", /extension length/);
  assertCode(() => decode(FrameType.HELLO, ...head, 0x01, 0, 3, 1, 2), "BAD_FRAME", /extension value/);
});

Deno.test("decodeMessage() rejects a PRESENCE event other than 1 (join), 2 (leave), 3 (nick) or 4 (away)", () => {
  const tail = [3, 0x62, 0x6f, 0x62, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  assert.equal(decode(FrameType.PRESENCE, ...LOBBY, 2, ...tail).type, "presence");
  assert.equal((decode(FrameType.PRESENCE, ...LOBBY, 4, ...tail) as { event: string }).event, "away");
  for (const event of [0, 5, 0xff]) {
    assertCode(() => decode(FrameType.PRESENCE, ...LOBBY, event, ...tail), "BAD_FRAME", /unknown event/);
  }
});

Deno.test("decodeMessage() rejects a MEMBERS more flag other than 0 or 1", () => {
  assertCode(() => decode(FrameType.MEMBERS, ...LOBBY, 2, 0, 0), "BAD_FRAME", /more flag 2 is not 0 or 1/);
});

Deno.test("decodeMessage() rejects a MEMBERS count the payload cannot hold, before reading names", () => {
  assertCode(
    () => decode(FrameType.MEMBERS, ...LOBBY, 0, 0xff, 0xff, 0),
    "BAD_FRAME",
    /count 65535 exceeds remaining 1 bytes/,
  );
});

Deno.test("decodeMessage() reads empty names in MEMBERS, one length byte each", () => {
  const m = decode(FrameType.MEMBERS, ...LOBBY, 0, 0, 3, 0, 0, 0);
  assert.deepStrictEqual(m, { type: "members", room: "lobby", more: false, names: ["", "", ""] });
});

Deno.test("decodeMessage() rejects a FETCHED more flag other than 0 or 1", () => {
  assertCode(
    () => decode(FrameType.FETCHED, ...LOBBY, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0),
    "BAD_FRAME",
    /more flag 2 is not 0 or 1/,
  );
});

Deno.test("decodeMessage() rejects an ERROR fatal flag other than 0 or 1", () => {
  assertCode(
    () => decode(FrameType.ERROR, 2, 1, 0x58, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    "BAD_FRAME",
    /fatal flag 2/,
  );
});

Deno.test("decodeMessage() passes an ERROR code it does not know through unchanged", () => {
  const e = decode(FrameType.ERROR, 0, 3, 0x4e, 0x45, 0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  assert.deepStrictEqual(e, { type: "error", fatal: false, code: "NEW", ref: 0, message: "" });
});

Deno.test("decodeMessage() names the frame and the field in its error messages", () => {
  assertCode(
    () => decode(FrameType.SEND, 0, 0, 0, 0, 0, 0, 0, 1, 9, 0x61),
    "BAD_FRAME",
    /^Cannot decode SEND: room/,
  );
  assertCode(() => decode(FrameType.PING, 0, 0, 0), "BAD_FRAME", /^Cannot decode PING: token/);
  assertCode(() => decode(FrameType.PONG, 0, 0, 0, 0, 0), "BAD_FRAME", /^Cannot decode PONG: 1 unexpected/);
});

Deno.test("encodeMessage() refuses a MEMBERS frame with more than MAX_MEMBERS_PER_FRAME names", () => {
  const names = Array.from({ length: MAX_MEMBERS_PER_FRAME + 1 }, (_, i) => `u${i}`);
  assert.throws(() => encodeMessage({ type: "members", room: "r", more: false, names }), RangeError);
  encodeMessage({ type: "members", room: "r", more: false, names: names.slice(1) });
});

Deno.test("encodeMessage() refuses fields that do not fit their wire type", () => {
  assert.throws(
    () => encodeMessage({ type: "join", room: "r".repeat(256) }),
    /Cannot encode room: 256 bytes exceeds 255/,
  );
  assert.throws(
    () => encodeMessage({ type: "send", id: -1, room: "r", flags: 0, text: "x" }),
    /Cannot encode u64/,
  );
  assert.throws(
    () => encodeMessage({ type: "ack", id: 1, room: "r", seq: 2 ** 53, ts: 0 }),
    RangeError,
  );
});

Deno.test("ERROR_CODES lists every ErrorCode once, each spelled as its own name", () => {
  assert.deepStrictEqual([...ERROR_CODES].sort(), Object.keys(ErrorCode).sort());
  for (const [key, code] of Object.entries(ErrorCode)) assert.equal(key, code);
});

Deno.test("ProtocolError carries its code, its message and its name", () => {
  const e = new ProtocolError("TOO_LARGE", "Cannot decode frame: length 70000 exceeds limit 65536");
  assert.ok(e instanceof Error);
  assert.equal(e.name, "ProtocolError");
  assert.equal(e.code, "TOO_LARGE");
  assert.equal(e.message, "Cannot decode frame: length 70000 exceeds limit 65536");
});
