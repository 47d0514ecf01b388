import assert from "node:assert/strict";
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeMessage,
  FRAME_NAMES,
  FrameDecoder,
  FrameType,
  MAX_HELLO_ROOMS,
  type Message,
} from "../../src/protocol/mod.ts";
import { decodeByDirection } from "../_helpers/fuzz_codec.ts";
import { assertProtocolError as assertCode } from "../_helpers/protocol_error.ts";

const MAGIC = [0x43, 0x48, 0x41, 0x54];
const LOBBY = [5, 0x6c, 0x6f, 0x62, 0x62, 0x79];
const ALICE = [5, 0x61, 0x6c, 0x69, 0x63, 0x65];
const WELCOME_LIMITS = [0, 0, 6, 0x82, 0, 0, 0x13, 0x88, 0, 1, 0, 0, 0, 0, 0x10, 0];

/** Decodes a payload with the decoder of the type's direction. */
function decode(type: number, ...payload: number[]) {
  return decodeByDirection({ type, payload: new Uint8Array(payload) });
}

/** `n` rooms named "r": count byte, then n str8 fields. */
function rooms(n: number): number[] {
  return [n, ...Array.from({ length: n }, () => [1, 0x72]).flat()];
}

/** One valid frame of each type, as `chat` itself sends them. */
const SAMPLES: Message[] = [
  { type: "hello", version: 1, name: "alice", rooms: ["lobby"] },
  { type: "send", id: 1, room: "lobby", flags: 0, text: "hi" },
  { type: "join", room: "lobby" },
  { type: "leave", room: "lobby" },
  { type: "who", room: "lobby" },
  { type: "bye", reason: "" },
  { type: "fetch", room: "lobby", after: 0, before: 0, limit: 10 },
  { type: "private", id: 2, to: "bob", flags: 0, text: "psst" },
  { type: "nick", name: "al" },
  { type: "away", text: "lunch" },
  { type: "register", password: "pw" },
  { type: "moderate", action: "kick", target: "bob", durationMs: 0, reason: "" },
  { type: "ping", token: 7 },
  { type: "pong", token: 7 },
  {
    type: "welcome",
    version: 1,
    name: "alice",
    heartbeatMs: 1666,
    timeoutMs: 5000,
    maxFrame: 65536,
    maxText: 4096,
    rooms: ["lobby"],
  },
  { type: "message", room: "lobby", seq: 1, ts: 2, flags: 0, from: "bob", text: "hi" },
  { type: "ack", id: 1, room: "lobby", seq: 1, ts: 2 },
  { type: "presence", room: "lobby", event: "join", name: "bob", reason: "", text: "", ts: 2 },
  { type: "members", room: "lobby", more: false, names: ["alice"] },
  { type: "error", fatal: true, code: "BAD_FRAME", ref: 0, message: "no" },
  { type: "fetched", room: "lobby", count: 0, more: false, lastSeq: 0 },
  { type: "direct", from: "bob", to: "alice", ts: 2, flags: 0, text: "psst" },
  { type: "notice", kind: "motd", text: "hi" },
  { type: "room", room: "lobby", members: 300, quiet: true },
  { type: "list", after: "", limit: 0 },
  { type: "topic", room: "lobby", set: false, text: "" },
  { type: "rooms", more: false, rooms: [{ room: "lobby", members: 2, quiet: false, topic: "" }] },
  { type: "topicIs", room: "lobby", text: "be kind", by: "alice", ts: 2 },
  { type: "conversations", conversations: [{ peer: "bob", lastSeq: 4, ts: 2 }] },
];

function frameOf(msg: Message) {
  const [frame] = new FrameDecoder().push(encodeMessage(msg));
  return frame;
}

Deno.test("the samples cover every frame type", () => {
  const covered = new Set(SAMPLES.map((m) => frameOf(m).type));
  assert.deepStrictEqual(Object.values(FrameType).filter((t) => !covered.has(t)), []);
});

Deno.test("decodeClientMessage() reads every client-to-server frame and PING/PONG", () => {
  for (const msg of SAMPLES.filter((m) => frameOf(m).type < 0x80)) {
    assert.deepStrictEqual(decodeClientMessage(frameOf(msg)), msg);
  }
});

Deno.test("decodeServerMessage() reads every server-to-client frame and PING/PONG", () => {
  for (const msg of SAMPLES.filter((m) => frameOf(m).type >= 0x40)) {
    assert.deepStrictEqual(decodeServerMessage(frameOf(msg)), msg);
  }
});

Deno.test("decodeClientMessage() refuses every server-to-client frame with UNEXPECTED_FRAME, naming it", () => {
  for (const msg of SAMPLES.filter((m) => frameOf(m).type >= 0x80)) {
    const name = FRAME_NAMES[frameOf(msg).type];
    assertCode(
      () => decodeClientMessage(frameOf(msg)),
      "UNEXPECTED_FRAME",
      new RegExp(`^${name} is a server-to-client frame: not allowed from a client$`),
    );
  }
});

Deno.test("decodeServerMessage() refuses every client-to-server frame with UNEXPECTED_FRAME, naming it", () => {
  for (const msg of SAMPLES.filter((m) => frameOf(m).type < 0x40)) {
    const name = FRAME_NAMES[frameOf(msg).type];
    assertCode(
      () => decodeServerMessage(frameOf(msg)),
      "UNEXPECTED_FRAME",
      new RegExp(`^${name} is a client-to-server frame: not allowed from a server$`),
    );
  }
});

Deno.test("the wrong end refuses a frame by its type alone, before reading the payload", () => {
  // A malformed payload under a type of the other direction is still UNEXPECTED_FRAME, not BAD_FRAME.
  assertCode(
    () => decodeClientMessage({ type: FrameType.WELCOME, payload: new Uint8Array(1) }),
    "UNEXPECTED_FRAME",
  );
  assertCode(
    () => decodeServerMessage({ type: FrameType.SEND, payload: new Uint8Array(0) }),
    "UNEXPECTED_FRAME",
  );
});

Deno.test("both decoders reject every type byte outside the frame table with UNKNOWN_TYPE", () => {
  const known = new Set<number>(Object.values(FrameType));
  assert.ok(known.size >= 14);
  for (let type = 0; type < 256; type++) {
    if (known.has(type)) continue;
    const hex = type.toString(16).padStart(2, "0");
    const message = new RegExp(`^Cannot decode frame: unknown type 0x${hex}$`);
    assertCode(() => decodeClientMessage({ type, payload: new Uint8Array(0) }), "UNKNOWN_TYPE", message);
    assertCode(() => decodeServerMessage({ type, payload: new Uint8Array(0) }), "UNKNOWN_TYPE", message);
  }
});

Deno.test("decodeClientMessage() rejects a HELLO whose magic is not CHAT", () => {
  assertCode(
    () => decode(FrameType.HELLO, 0x43, 0x48, 0x41, 0x55, 0, 1, ...ALICE, 0),
    "BAD_FRAME",
    /magic is not "CHAT"/,
  );
});

Deno.test("decodeClientMessage() reads a HELLO of any version, leaving the version check to the server", () => {
  const hello = decode(FrameType.HELLO, ...MAGIC, 0x12, 0x34, ...ALICE, 0);
  assert.equal(hello.type === "hello" && hello.version, 0x1234);
});

Deno.test("decodeClientMessage() accepts 32 rooms in a HELLO and rejects 33 with TOO_MANY_ROOMS", () => {
  assert.equal(MAX_HELLO_ROOMS, 32);
  const ok = decode(FrameType.HELLO, ...MAGIC, 0, 1, ...ALICE, ...rooms(32));
  assert.equal(ok.type === "hello" && ok.rooms.length, 32);
  assertCode(
    () => decode(FrameType.HELLO, ...MAGIC, 0, 1, ...ALICE, ...rooms(33)),
    "TOO_MANY_ROOMS",
    /33 rooms exceeds limit 32/,
  );
});

Deno.test("decodeServerMessage() rejects 33 rooms in a WELCOME with TOO_MANY_ROOMS", () => {
  assertCode(
    () => decode(FrameType.WELCOME, 0, 1, ...ALICE, ...WELCOME_LIMITS, ...rooms(33)),
    "TOO_MANY_ROOMS",
  );
});

Deno.test("decodeClientMessage() rejects a HELLO extension cut short", () => {
  const head = [...MAGIC, 0, 1, ...ALICE, 0];
  assertCode(() => decode(FrameType.HELLO, ...head, 0x01), "BAD_FRAME", /extension length/);
  assertCode(() => decode(FrameType.HELLO, ...head, 0x01, 0), "BAD_FRAME", /extension length/);
  assertCode(() => decode(FrameType.HELLO, ...head, 0x01, 0, 3, 1, 2), "BAD_FRAME", /extension value/);
});

Deno.test("decodeServerMessage() rejects a PRESENCE event other than 1 (join), 2 (leave), 3 (nick) or 4 (away)", () => {
  const tail = [3, 0x62, 0x6f, 0x62, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  assert.equal(decode(FrameType.PRESENCE, ...LOBBY, 2, ...tail).type, "presence");
  assert.equal((decode(FrameType.PRESENCE, ...LOBBY, 4, ...tail) as { event: string }).event, "away");
  for (const event of [0, 5, 0xff]) {
    assertCode(() => decode(FrameType.PRESENCE, ...LOBBY, event, ...tail), "BAD_FRAME", /unknown event/);
  }
});

Deno.test("decodeServerMessage() reads MEMBERS flags MORE and LISTING, and rejects any other bit", () => {
  assert.deepStrictEqual(decode(FrameType.MEMBERS, ...LOBBY, 3, 0, 0), {
    type: "members",
    room: "lobby",
    more: true,
    listing: true,
    names: [],
  });
  for (const flags of [4, 0x80, 0xff]) {
    assertCode(() => decode(FrameType.MEMBERS, ...LOBBY, flags, 0, 0), "BAD_FRAME", /set a bit this version/);
  }
});

Deno.test("decodeServerMessage() rejects a MEMBERS count the payload cannot hold, before reading names", () => {
  assertCode(
    () => decode(FrameType.MEMBERS, ...LOBBY, 0, 0xff, 0xff, 0),
    "BAD_FRAME",
    /count 65535 exceeds remaining 1 bytes/,
  );
});

Deno.test("decodeServerMessage() rejects a CONVERSATIONS count above 200 or the payload, before reading entries", () => {
  // 201 entries would fit a large frame, but no server sends more than MAX_CONVERSATIONS.
  const entry = [0, ...new Array(16).fill(0)];
  assertCode(
    () => decode(FrameType.CONVERSATIONS, 0, 201, ...new Array(201).fill(entry).flat()),
    "BAD_FRAME",
    /^Cannot decode CONVERSATIONS: count 201 exceeds the limit of 200 or the 3417 bytes left$/,
  );
  assertCode(
    () => decode(FrameType.CONVERSATIONS, 0, 2, ...entry),
    "BAD_FRAME",
    /^Cannot decode CONVERSATIONS: count 2 exceeds the limit of 200 or the 17 bytes left$/,
  );
  assert.deepStrictEqual(decode(FrameType.CONVERSATIONS, 0, 200, ...new Array(200).fill(entry).flat()), {
    type: "conversations",
    conversations: new Array(200).fill({ peer: "", lastSeq: 0, ts: 0 }),
  });
});

Deno.test("decodeServerMessage() reads empty names in MEMBERS, one length byte each", () => {
  const m = decode(FrameType.MEMBERS, ...LOBBY, 0, 0, 3, 0, 0, 0);
  assert.deepStrictEqual(m, { type: "members", room: "lobby", more: false, names: ["", "", ""] });
});

Deno.test("decodeServerMessage() rejects a FETCHED more flag other than 0 or 1", () => {
  assertCode(
    () => decode(FrameType.FETCHED, ...LOBBY, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0),
    "BAD_FRAME",
    /more flag 2 is not 0 or 1/,
  );
});

Deno.test("decodeServerMessage() reads ROOM flags QUIET and LISTING, and rejects any other bit", () => {
  assert.deepStrictEqual(decode(FrameType.ROOM, ...LOBBY, 0, 0, 0, 9, 2), {
    type: "room",
    room: "lobby",
    members: 9,
    quiet: false,
    listing: true,
  });
  assertCode(() => decode(FrameType.ROOM, ...LOBBY, 0, 0, 0, 9, 4), "BAD_FRAME", /flags 0x04 set a bit/);
});

Deno.test("decodeServerMessage() rejects a ROOMS count its payload cannot hold, before reading entries", () => {
  assertCode(() => decode(FrameType.ROOMS, 0, 0x10, 0x00, 0, 0, 0, 0), "BAD_FRAME", /count 4096 exceeds/);
});

Deno.test("decodeServerMessage() rejects a ROOMS more or quiet flag other than 0 or 1", () => {
  assertCode(() => decode(FrameType.ROOMS, 2, 0, 0), "BAD_FRAME", /more flag 2 is not 0 or 1/);
  assertCode(
    () => decode(FrameType.ROOMS, 0, 0, 1, ...LOBBY, 0, 0, 0, 1, 2, 0, 0),
    "BAD_FRAME",
    /quiet flag 2 is not 0 or 1/,
  );
});

Deno.test("decodeClientMessage() rejects a TOPIC set flag other than 0 or 1", () => {
  assertCode(() => decode(FrameType.TOPIC, ...LOBBY, 2, 0, 0), "BAD_FRAME", /set flag 2 is not 0 or 1/);
});

Deno.test("decodeServerMessage() rejects an ERROR fatal flag other than 0 or 1", () => {
  assertCode(
    () => decode(FrameType.ERROR, 2, 1, 0x58, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    "BAD_FRAME",
    /fatal flag 2/,
  );
});

Deno.test("decodeServerMessage() passes an ERROR code it does not know through unchanged", () => {
  const e = decode(FrameType.ERROR, 0, 3, 0x4e, 0x45, 0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  assert.deepStrictEqual(e, { type: "error", fatal: false, code: "NEW", ref: 0, message: "" });
});

Deno.test("both decoders name the frame and the field in their error messages", () => {
  assertCode(
    () => decode(FrameType.SEND, 0, 0, 0, 0, 0, 0, 0, 1, 9, 0x61),
    "BAD_FRAME",
    /^Cannot decode SEND: room/,
  );
  assertCode(() => decode(FrameType.ACK, 0, 0, 0), "BAD_FRAME", /^Cannot decode ACK: id/);
  for (const decoder of [decodeClientMessage, decodeServerMessage]) {
    const ping = { type: FrameType.PING, payload: new Uint8Array([0, 0, 0]) };
    assertCode(() => decoder(ping), "BAD_FRAME", /^Cannot decode PING: token/);
    const pong = { type: FrameType.PONG, payload: new Uint8Array([0, 0, 0, 0, 0]) };
    assertCode(() => decoder(pong), "BAD_FRAME", /^Cannot decode PONG: 1 unexpected/);
  }
});
