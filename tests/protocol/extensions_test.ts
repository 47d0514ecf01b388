import assert from "node:assert/strict";
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeMessage,
  ExtensionTag,
  FrameType,
  type Hello,
  type Welcome,
} from "../../src/protocol/mod.ts";
import { assertProtocolError } from "../_helpers/protocol_error.ts";

const ascii = (s: string) => [...new TextEncoder().encode(s)];
const HELLO_HEAD = [...ascii("CHAT"), 0, 1, 5, ...ascii("alice"), 0];
const WELCOME_HEAD = [
  0,
  1,
  5,
  ...ascii("alice"),
  0,
  0,
  6,
  0x82,
  0,
  0,
  0x13,
  0x88,
  0,
  1,
  0,
  0,
  0,
  0,
  0x10,
  0,
  0,
];

/** One extension block: tag, u16 length, value. */
function block(tag: number, ...value: number[]): number[] {
  return [tag, value.length >> 8, value.length & 0xff, ...value];
}

/** A SINCE value: count, then room:str8 and seq:u64 each. */
function sinceValue(...entries: Array<[string, number]>): number[] {
  return [
    entries.length,
    ...entries.flatMap(([room, seq]) => [room.length, ...ascii(room), 0, 0, 0, 0, 0, 0, 0, seq]),
  ];
}

function hello(...blocks: number[][]): Hello {
  return decodeClientMessage({
    type: FrameType.HELLO,
    payload: new Uint8Array([...HELLO_HEAD, ...blocks.flat()]),
  }) as Hello;
}

function welcome(...blocks: number[][]): Welcome {
  const payload = new Uint8Array([...WELCOME_HEAD, ...blocks.flat()]);
  return decodeServerMessage({ type: FrameType.WELCOME, payload }) as Welcome;
}

function assertBadFrame(fn: () => unknown, message: RegExp): void {
  assertProtocolError(fn, "BAD_FRAME", message);
}

Deno.test("a HELLO's extensions are read into typed fields in any order, unknown tags kept raw in order", () => {
  const payload = new Uint8Array([
    ...HELLO_HEAD,
    ...block(0x7e, 1),
    ...block(ExtensionTag.SINCE, ...sinceValue(["lobby", 7], ["dev", 9])),
    ...block(ExtensionTag.ADMIN_TOKEN, ...ascii("op")),
    ...block(0xfe),
    ...block(ExtensionTag.RESUME_TOKEN, 0xaa, 0xbb),
    ...block(ExtensionTag.PASSWORD, ...ascii("secret")),
  ]);
  const got = decodeClientMessage({ type: FrameType.HELLO, payload });
  payload.fill(0); // what the decoder kept must not be a view of the payload, which the next read reuses
  assert.deepStrictEqual(got, {
    type: "hello",
    version: 1,
    name: "alice",
    rooms: [],
    since: new Map([["lobby", 7], ["dev", 9]]),
    adminToken: "op",
    resumeToken: new Uint8Array([0xaa, 0xbb]),
    password: "secret",
    extensions: [{ tag: 0x7e, value: new Uint8Array([1]) }, { tag: 0xfe, value: new Uint8Array(0) }],
  });
});

Deno.test("a HELLO without extensions has none of the extension fields", () => {
  assert.deepStrictEqual(Object.keys(hello()).sort(), ["name", "rooms", "type", "version"]);
});

Deno.test("the last block of a repeated tag counts, SINCE included", () => {
  const got = hello(
    block(ExtensionTag.RESUME_TOKEN, 1),
    block(ExtensionTag.SINCE, ...sinceValue(["a", 1])),
    block(ExtensionTag.RESUME_TOKEN, 2),
    block(ExtensionTag.SINCE, ...sinceValue(["b", 2])),
  );
  assert.deepStrictEqual(got.resumeToken, new Uint8Array([2]));
  assert.deepStrictEqual(got.since, new Map([["b", 2]]));
});

Deno.test("tags a frame kind does not define stay raw: STORE_ID and RATE_LIMIT in a HELLO, PASSWORD in a WELCOME", () => {
  assert.deepStrictEqual(hello(block(ExtensionTag.STORE_ID, 1), block(ExtensionTag.RATE_LIMIT)).extensions, [
    { tag: ExtensionTag.STORE_ID, value: new Uint8Array([1]) },
    { tag: ExtensionTag.RATE_LIMIT, value: new Uint8Array(0) },
  ]);
  const w = welcome(block(ExtensionTag.PASSWORD, 0xff));
  assert.equal(w.rateLimit, undefined);
  assert.deepStrictEqual(w.extensions, [{ tag: ExtensionTag.PASSWORD, value: new Uint8Array([0xff]) }]);
});

Deno.test("a SINCE keeps room names as sent, an empty one included, and reads a count of 0", () => {
  assert.deepStrictEqual(
    hello(block(ExtensionTag.SINCE, ...sinceValue(["Lobby", 3], ["", 4]))).since,
    new Map([["Lobby", 3], ["", 4]]),
  );
  assert.deepStrictEqual(hello(block(ExtensionTag.SINCE, 0)).since, new Map());
});

Deno.test("a malformed SINCE is BAD_FRAME naming the extension: cut short, trailing bytes, bad UTF-8, huge seq", () => {
  const what = /^Cannot decode HELLO SINCE extension: /;
  assertBadFrame(() => hello(block(ExtensionTag.SINCE)), what);
  assertBadFrame(() => hello(block(ExtensionTag.SINCE, 2, ...sinceValue(["a", 1]).slice(1))), what);
  assertBadFrame(
    () => hello(block(ExtensionTag.SINCE, ...sinceValue(["a", 1]), 0)),
    /1 unexpected trailing bytes/,
  );
  assertBadFrame(
    () => hello(block(ExtensionTag.SINCE, 1, 1, 0xff, 0, 0, 0, 0, 0, 0, 0, 1)),
    /room is not valid UTF-8/,
  );
  assertBadFrame(
    () => hello(block(ExtensionTag.SINCE, 1, 1, 0x61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
    /seq exceeds 2\^53 - 1/,
  );
});

Deno.test("a PASSWORD or ADMIN_TOKEN that is not UTF-8 is BAD_FRAME, like any other string", () => {
  assertBadFrame(
    () => hello(block(ExtensionTag.PASSWORD, 0xc3)),
    /^Cannot decode HELLO PASSWORD extension: password is not valid UTF-8/,
  );
  assertBadFrame(
    () => hello(block(ExtensionTag.ADMIN_TOKEN, 0xff)),
    /^Cannot decode HELLO ADMIN_TOKEN extension/,
  );
  assert.equal(hello(block(ExtensionTag.PASSWORD)).password, "", "an empty password is a password");
});

Deno.test("a WELCOME's extensions are read into typed fields, RATE_LIMIT as perSecond and burst", () => {
  const token = Array.from({ length: 16 }, (_, i) => i);
  const store = Array.from({ length: 16 }, (_, i) => 0xf0 + i);
  const got = welcome(
    block(ExtensionTag.RATE_LIMIT, 0, 0, 0, 50, 0, 0, 0x01, 0xf4),
    block(ExtensionTag.STORE_ID, ...store),
    block(ExtensionTag.RESUME_TOKEN, ...token),
  );
  assert.deepStrictEqual(got.rateLimit, { perSecond: 50, burst: 500 });
  assert.deepStrictEqual(got.storeId, new Uint8Array(store));
  assert.deepStrictEqual(got.resumeToken, new Uint8Array(token));
  assert.equal(got.extensions, undefined);
});

Deno.test("a RATE_LIMIT of any length but 8 bytes is BAD_FRAME", () => {
  for (const len of [0, 4, 7, 9]) {
    assertBadFrame(
      () => welcome(block(ExtensionTag.RATE_LIMIT, ...new Array(len).fill(1))),
      /^Cannot decode WELCOME RATE_LIMIT extension: /,
    );
  }
});

Deno.test("FEATURES is read in HELLO and WELCOME alike, unknown and empty names kept in wire order", () => {
  const value = [3, 4, ...ascii("list"), 0, 6, ...ascii("future")];
  assert.deepStrictEqual(hello(block(ExtensionTag.FEATURES, ...value)).features, ["list", "", "future"]);
  assert.deepStrictEqual(welcome(block(ExtensionTag.FEATURES, ...value)).features, ["list", "", "future"]);
  assert.deepStrictEqual(welcome(block(ExtensionTag.FEATURES, 0)).features, [], "a count of 0: no feature");
});

Deno.test("a malformed FEATURES is BAD_FRAME naming the extension: empty, cut short, trailing bytes, bad UTF-8", () => {
  for (const value of [[], [2, 1, 0x61], [1, 1, 0x61, 0], [1, 1, 0xff]]) {
    assertBadFrame(
      () => hello(block(ExtensionTag.FEATURES, ...value)),
      /^Cannot decode HELLO FEATURES extension: /,
    );
    assertBadFrame(
      () => welcome(block(ExtensionTag.FEATURES, ...value)),
      /^Cannot decode WELCOME FEATURES extension: /,
    );
  }
});

Deno.test("encodeMessage() and the decoders round-trip every typed extension", () => {
  const h: Hello = {
    type: "hello",
    version: 1,
    name: "zoë",
    rooms: ["lobby"],
    password: "pässword",
    adminToken: "tok",
    resumeToken: new Uint8Array(16).fill(7),
    since: new Map([["lobby", 2 ** 53 - 1], ["café", 0]]),
    features: ["who-any", "x".repeat(255)],
    extensions: [{ tag: ExtensionTag.STORE_ID, value: new Uint8Array([1, 2]) }],
  };
  const hf = encodeMessage(h);
  assert.deepStrictEqual(decodeClientMessage({ type: hf[4], payload: hf.subarray(5) }), h);
  const w: Welcome = {
    type: "welcome",
    version: 1,
    name: "zoë",
    heartbeatMs: 1,
    timeoutMs: 3,
    maxFrame: 4096,
    maxText: 100,
    rooms: [],
    resumeToken: new Uint8Array(16).fill(1),
    storeId: new Uint8Array(16).fill(2),
    rateLimit: { perSecond: 0xffff_ffff, burst: 0 },
    features: [],
    extensions: [{ tag: 0x99, value: new Uint8Array(300) }],
  };
  const wf = encodeMessage(w);
  assert.deepStrictEqual(decodeServerMessage({ type: wf[4], payload: wf.subarray(5) }), w);
});

Deno.test("encodeMessage() refuses a defined tag in extensions: it belongs in its typed field", () => {
  const base = { type: "hello" as const, version: 1, name: "a", rooms: [] };
  assert.throws(
    () =>
      encodeMessage({ ...base, extensions: [{ tag: ExtensionTag.RESUME_TOKEN, value: new Uint8Array(16) }] }),
    /Cannot encode HELLO: extension RESUME_TOKEN belongs in its typed field/,
  );
  const w: Welcome = {
    type: "welcome",
    version: 1,
    name: "a",
    heartbeatMs: 1,
    timeoutMs: 3,
    maxFrame: 4096,
    maxText: 100,
    rooms: [],
    extensions: [{ tag: ExtensionTag.RATE_LIMIT, value: new Uint8Array(8) }],
  };
  assert.throws(() => encodeMessage(w), /Cannot encode WELCOME: extension RATE_LIMIT/);
  // The encoder is left working for the next frame.
  assert.deepStrictEqual([...encodeMessage({ type: "join", room: "a" })], [0, 0, 0, 3, 0x03, 1, 0x61]);
});

Deno.test("encodeMessage() refuses a SINCE of more than 255 rooms or a value over 64 KiB", () => {
  const base = { type: "hello" as const, version: 1, name: "a", rooms: [] };
  const many = new Map(Array.from({ length: 256 }, (_, i) => [`r${i}`, i]));
  assert.throws(() => encodeMessage({ ...base, since: many }), RangeError);
  assert.throws(() => encodeMessage({ ...base, password: "x".repeat(70_000) }), RangeError);
});
