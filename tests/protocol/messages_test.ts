import assert from "node:assert/strict";
import {
  DEFAULT_MAX_FRAME,
  encodeMessage,
  ERROR_CODES,
  ErrorCode,
  MAX_MEMBERS_PER_FRAME,
  MAX_NAME_CHARS,
  MAX_ROOM_CHARS,
  ProtocolError,
} from "../../src/protocol/mod.ts";

Deno.test("encodeMessage() refuses a MEMBERS frame with more than MAX_MEMBERS_PER_FRAME names", () => {
  const names = Array.from({ length: MAX_MEMBERS_PER_FRAME + 1 }, (_, i) => `u${i}`);
  assert.throws(() => encodeMessage({ type: "members", room: "r", more: false, names }), RangeError);
  encodeMessage({ type: "members", room: "r", more: false, names: names.slice(1) });
});

Deno.test("MAX_MEMBERS_PER_FRAME of the longest names, in the longest room, fit the default frame", () => {
  const longest = "\u{1F600}".repeat(MAX_NAME_CHARS); // 4 UTF-8 bytes per code point
  const names = Array.from({ length: MAX_MEMBERS_PER_FRAME }, () => longest);
  const frame = encodeMessage({
    type: "members",
    room: "\u{1F600}".repeat(MAX_ROOM_CHARS),
    more: true,
    names,
  });
  assert.ok(frame.byteLength - 4 <= DEFAULT_MAX_FRAME, `${frame.byteLength - 4} bytes`);
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
