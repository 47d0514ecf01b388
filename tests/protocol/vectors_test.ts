/**
 * Test vectors: one or more frames of every type, written out byte by byte
 * as hex (grouped by field), checked both ways against the codec. The hex is
 * the specification; it is never produced by the encoder under test.
 */

import assert from "node:assert/strict";
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeMessage,
  ERROR_CODES,
  ExtensionTag,
  FrameDecoder,
  FrameType,
  type Message,
  NOT_CHAT_LINE,
  ProtocolError,
} from "../../src/protocol/mod.ts";
import { CLOSE_REASONS } from "../../src/chat/close.ts";
import { decodeByDirection } from "../_helpers/fuzz_codec.ts";

/** Bytes from hex; whitespace between digits is ignored. */
function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  if (!/^(?:[0-9a-f]{2})*$/.test(clean)) throw new Error(`not lower-case hex bytes: ${hex}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Lower-case hex, one space between bytes: the form docs/PROTOCOL.md shows. */
function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

interface Vector {
  name: string;
  type: number;
  hex: string;
  value: Message;
  /** The worked examples of docs/PROTOCOL.md, which must show these bytes verbatim. */
  inDoc?: true;
}

/** 2026-01-01T00:00:00Z. */
const TS = 1767225600000;
/** A client id as `chat join` makes them: milliseconds * 1000 + a counter. */
const ID = 1767225600000001;

const VECTORS: Vector[] = [
  {
    name: 'HELLO from "alice" for room "lobby"',
    type: FrameType.HELLO,
    // length | type | magic "CHAT" | version | name | room count | room
    hex: "00000014 01 43484154 0001 05 616c696365 01 05 6c6f626279",
    value: { type: "hello", version: 1, name: "alice", rooms: ["lobby"] },
    inDoc: true,
  },
  {
    name: 'HELLO from "bob" with no rooms and one extension',
    type: FrameType.HELLO,
    // ... | room count 0 | extension: tag 0x10, length 2, value ca fe
    hex: "00000011 01 43484154 0001 03 626f62 00 10 0002 cafe",
    value: {
      type: "hello",
      version: 1,
      name: "bob",
      rooms: [],
      extensions: [{ tag: 0x10, value: new Uint8Array([0xca, 0xfe]) }],
    },
  },
  {
    name: 'HELLO from "carol" reconnecting, with every HELLO extension, in the order chat join sends them',
    type: FrameType.HELLO,
    // ... | PASSWORD "pw" | ADMIN_TOKEN "op" | RESUME_TOKEN 16 bytes | SINCE: count 1, "lobby", seq 12
    // | FEATURES: count 3, "list", "topic", "who-any"
    hex: "0000005a 01 43484154 0001 05 6361726f6c 01 05 6c6f626279" +
      " 04 0002 7077 05 0002 6f70 01 0010 000102030405060708090a0b0c0d0e0f" +
      " 02 000f 01 05 6c6f626279 000000000000000c" +
      " 08 0014 03 04 6c697374 05 746f706963 07 77686f2d616e79",
    value: {
      type: "hello",
      version: 1,
      name: "carol",
      rooms: ["lobby"],
      password: "pw",
      adminToken: "op",
      resumeToken: Uint8Array.from({ length: 16 }, (_, i) => i),
      since: new Map([["lobby", 12]]),
      features: ["list", "topic", "who-any"],
    },
  },
  {
    name: "SEND of an action with a 4-byte UTF-8 character",
    type: FrameType.SEND,
    // length | type | id u64 | room | flags (ACTION) | text u32 length + "waves 👋"
    hex: "0000001e 02 0006474846204001 05 6c6f626279 01 0000000a 776176657320 f09f918b",
    value: { type: "send", id: ID, room: "lobby", flags: 1, text: "waves 👋" },
  },
  {
    name: 'JOIN of room "random"',
    type: FrameType.JOIN,
    hex: "00000008 03 06 72616e646f6d",
    value: { type: "join", room: "random" },
  },
  {
    name: 'LEAVE of room "random"',
    type: FrameType.LEAVE,
    hex: "00000008 04 06 72616e646f6d",
    value: { type: "leave", room: "random" },
  },
  {
    name: 'WHO for room "lobby"',
    type: FrameType.WHO,
    hex: "00000007 05 05 6c6f626279",
    value: { type: "who", room: "lobby" },
  },
  {
    name: 'BYE with reason "gone fishing"',
    type: FrameType.BYE,
    // length | type | reason u16 length + text
    hex: "0000000f 06 000c 676f6e652066697368696e67",
    value: { type: "bye", reason: "gone fishing" },
  },
  {
    name: "BYE with an empty reason",
    type: FrameType.BYE,
    hex: "00000003 06 0000",
    value: { type: "bye", reason: "" },
  },
  {
    name: "FETCH of up to 50 lobby messages after seq 10",
    type: FrameType.FETCH,
    // length | type | room | after u64 | before u64 (0: no bound) | limit u16
    hex: "00000019 07 05 6c6f626279 000000000000000a 0000000000000000 0032",
    value: { type: "fetch", room: "lobby", after: 10, before: 0, limit: 50 },
  },
  {
    name: "PING with token 0xdeadbeef",
    type: FrameType.PING,
    hex: "00000005 40 deadbeef",
    value: { type: "ping", token: 0xdeadbeef },
  },
  {
    name: "PONG with token 0x01020304",
    type: FrameType.PONG,
    hex: "00000005 41 01020304",
    value: { type: "pong", token: 0x01020304 },
  },
  {
    name: 'WELCOME for "alice" in "lobby" with the default limits',
    type: FrameType.WELCOME,
    // length | type | version | name | heartbeatMs 1666 | timeoutMs 5000 | maxFrame 65536 | maxText 4096
    // | room count | room
    hex: "00000020 81 0001 05 616c696365 00000682 00001388 00010000 00001000 01 05 6c6f626279",
    value: {
      type: "welcome",
      version: 1,
      name: "alice",
      heartbeatMs: 1666,
      timeoutMs: 5000,
      maxFrame: 65536,
      maxText: 4096,
      rooms: ["lobby"],
    },
  },
  {
    name: 'WELCOME for "carol" with a resume token, the store id and a rate limit of 50/s, bursts of 500',
    type: FrameType.WELCOME,
    // ... | RESUME_TOKEN 16 bytes | STORE_ID 16 bytes | RATE_LIMIT: perSecond u32 50, burst u32 500
    hex: "00000051 81 0001 05 6361726f6c 00000682 00001388 00010000 00001000 01 05 6c6f626279" +
      " 01 0010 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 03 0010 00112233445566778899aabbccddeeff" +
      " 06 0008 00000032 000001f4",
    value: {
      type: "welcome",
      version: 1,
      name: "carol",
      heartbeatMs: 1666,
      timeoutMs: 5000,
      maxFrame: 65536,
      maxText: 4096,
      rooms: ["lobby"],
      resumeToken: Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i),
      storeId: Uint8Array.from({ length: 16 }, (_, i) => i * 0x11),
      rateLimit: { perSecond: 50, burst: 500 },
    },
  },
  {
    name: 'WELCOME for "alice" announcing the features list, topic and who-any',
    type: FrameType.WELCOME,
    // ... | FEATURES: tag 08, length 20, count 3, "list", "topic", "who-any"
    hex: "00000037 81 0001 05 616c696365 00000682 00001388 00010000 00001000 01 05 6c6f626279" +
      " 08 0014 03 04 6c697374 05 746f706963 07 77686f2d616e79",
    value: {
      type: "welcome",
      version: 1,
      name: "alice",
      heartbeatMs: 1666,
      timeoutMs: 5000,
      maxFrame: 65536,
      maxText: 4096,
      rooms: ["lobby"],
      features: ["list", "topic", "who-any"],
    },
  },
  {
    name: 'WELCOME for "Zoë" in two rooms with an empty extension',
    type: FrameType.WELCOME,
    // ... | room count 2 | "lobby" | "café" | extension: tag 0xff, length 0
    hex: "00000028 81 0001 04 5a6fc3ab 00000682 00001388 00010000 00001000" +
      " 02 05 6c6f626279 05 636166c3a9 ff 0000",
    value: {
      type: "welcome",
      version: 1,
      name: "Zoë",
      heartbeatMs: 1666,
      timeoutMs: 5000,
      maxFrame: 65536,
      maxText: 4096,
      rooms: ["lobby", "café"],
      extensions: [{ tag: 0xff, value: new Uint8Array(0) }],
    },
  },
  {
    name: 'MESSAGE "hi" from alice in lobby, seq 1',
    type: FrameType.MESSAGE,
    // length | type | room | seq u64 | ts u64 | flags | from | text u32 length + "hi"
    hex: "00000024 82 05 6c6f626279 0000000000000001 0000019b76daa800 00 05 616c696365 00000002 6869",
    value: { type: "message", room: "lobby", seq: 1, ts: TS, flags: 0, from: "alice", text: "hi" },
    inDoc: true,
  },
  {
    name: "MESSAGE replayed from history as an action, with UTF-8 in room, name and text",
    type: FrameType.MESSAGE,
    // ... | flags ACTION|HISTORY | from "Zoë" | text "日本"
    hex: "00000027 82 05 636166c3a9 0000000000000002 0000019b76daa801 03 04 5a6fc3ab 00000006 e697a5e69cac",
    value: { type: "message", room: "café", seq: 2, ts: TS + 1, flags: 3, from: "Zoë", text: "日本" },
  },
  {
    name: "ACK of a SEND as seq 1",
    type: FrameType.ACK,
    // length | type | id | room | seq | ts
    hex: "0000001f 83 0006474846204001 05 6c6f626279 0000000000000001 0000019b76daa800",
    value: { type: "ack", id: ID, room: "lobby", seq: 1, ts: TS },
  },
  {
    name: "ACK with every u64 at 2^53 - 1",
    type: FrameType.ACK,
    hex: "0000001f 83 001fffffffffffff 05 6c6f626279 001fffffffffffff 001fffffffffffff",
    value: {
      type: "ack",
      id: Number.MAX_SAFE_INTEGER,
      room: "lobby",
      seq: Number.MAX_SAFE_INTEGER,
      ts: Number.MAX_SAFE_INTEGER,
    },
  },
  {
    name: "PRESENCE of bob joining lobby",
    type: FrameType.PRESENCE,
    // length | type | room | event 1 (join) | name | reason "" | text u16 "" | ts
    hex: "00000017 84 05 6c6f626279 01 03 626f62 00 0000 0000019b76daa800",
    value: { type: "presence", room: "lobby", event: "join", name: "bob", reason: "", text: "", ts: TS },
  },
  {
    name: 'PRESENCE of bob quitting lobby with "bye!"',
    type: FrameType.PRESENCE,
    // ... | event 2 (leave) | name | reason "quit" | text u16 "bye!" | ts
    hex: "0000001f 84 05 6c6f626279 02 03 626f62 04 71756974 0004 62796521 0000019b76daa800",
    value: {
      type: "presence",
      room: "lobby",
      event: "leave",
      name: "bob",
      reason: "quit",
      text: "bye!",
      ts: TS,
    },
  },
  {
    name: "MEMBERS of lobby, last part, two names",
    type: FrameType.MEMBERS,
    // length | type | room | more 0 | count u16 | names
    hex: "00000014 85 05 6c6f626279 00 0002 05 616c696365 03 626f62",
    value: { type: "members", room: "lobby", more: false, names: ["alice", "bob"] },
  },
  {
    name: "MEMBERS of lobby, a part with more to follow and no names",
    type: FrameType.MEMBERS,
    hex: "0000000a 85 05 6c6f626279 01 0000",
    value: { type: "members", room: "lobby", more: true, names: [] },
  },
  {
    name: "ROOM: lobby is quiet with 10000 members",
    type: FrameType.ROOM,
    // length | type | room | members u32 | quiet 1
    hex: "0000000c 8a 05 6c6f626279 00002710 01",
    value: { type: "room", room: "lobby", members: 10000, quiet: true },
  },
  {
    name: "MEMBERS listing of lobby for a client not in it (flags LISTING), last part",
    type: FrameType.MEMBERS,
    // length | type | room | flags 02 (LISTING, no MORE) | count u16 | names
    hex: "00000014 85 05 6c6f626279 02 0002 05 616c696365 03 626f62",
    value: { type: "members", room: "lobby", more: false, listing: true, names: ["alice", "bob"] },
  },
  {
    name: "ROOM answering a WHO for a quiet room the client is not in (flags QUIET and LISTING)",
    type: FrameType.ROOM,
    // length | type | room | members u32 | flags 03
    hex: "0000000c 8a 05 6c6f626279 00002710 03",
    value: { type: "room", room: "lobby", members: 10000, quiet: true, listing: true },
  },
  {
    name: "LIST from the first room, as many as a page holds",
    type: FrameType.LIST,
    // length | type | after "" | limit u16 0
    hex: "00000004 0d 00 0000",
    value: { type: "list", after: "", limit: 0 },
  },
  {
    name: 'LIST of up to 100 rooms after "lobby"',
    type: FrameType.LIST,
    hex: "00000009 0d 05 6c6f626279 0064",
    value: { type: "list", after: "lobby", limit: 100 },
  },
  {
    name: "TOPIC asking for lobby's topic",
    type: FrameType.TOPIC,
    // length | type | room | set 0 | text u16 ""
    hex: "0000000a 0e 05 6c6f626279 00 0000",
    value: { type: "topic", room: "lobby", set: false, text: "" },
  },
  {
    name: 'TOPIC setting lobby\'s topic to "be kind"',
    type: FrameType.TOPIC,
    hex: "00000011 0e 05 6c6f626279 01 0007 6265206b696e64",
    value: { type: "topic", room: "lobby", set: true, text: "be kind" },
  },
  {
    name: "ROOMS: a page of two rooms, more to follow",
    type: FrameType.ROOMS,
    // length | type | more 1 | count u16 2
    // | "lobby" members 2 quiet 0 topic "be kind" | "café" members 300 quiet 1 topic ""
    hex: "00000025 8b 01 0002" +
      " 05 6c6f626279 00000002 00 0007 6265206b696e64" +
      " 05 636166c3a9 0000012c 01 0000",
    value: {
      type: "rooms",
      more: true,
      rooms: [
        { room: "lobby", members: 2, quiet: false, topic: "be kind" },
        { room: "café", members: 300, quiet: true, topic: "" },
      ],
    },
  },
  {
    name: "ROOMS: an empty last page",
    type: FrameType.ROOMS,
    hex: "00000004 8b 00 0000",
    value: { type: "rooms", more: false, rooms: [] },
  },
  {
    name: 'TOPIC_IS: lobby\'s topic "be kind", set by alice',
    type: FrameType.TOPIC_IS,
    // length | type | room | text u16 | by | ts u64
    hex: "0000001e 8c 05 6c6f626279 0007 6265206b696e64 05 616c696365 0000019b76daa800",
    value: { type: "topicIs", room: "lobby", text: "be kind", by: "alice", ts: TS },
  },
  {
    name: "TOPIC_IS: lobby has no topic",
    type: FrameType.TOPIC_IS,
    hex: "00000012 8c 05 6c6f626279 0000 00 0000000000000000",
    value: { type: "topicIs", room: "lobby", text: "", by: "", ts: 0 },
  },
  {
    name: "ERROR, fatal NAME_TAKEN",
    type: FrameType.ERROR,
    // length | type | fatal 1 | code | ref u64 0 | message u16 "taken"
    hex: "0000001c 86 01 0a 4e414d455f54414b454e 0000000000000000 0005 74616b656e",
    value: { type: "error", fatal: true, code: "NAME_TAKEN", ref: 0, message: "taken" },
  },
  {
    name: "ERROR, non-fatal NOT_IN_ROOM answering a SEND",
    type: FrameType.ERROR,
    // length | type | fatal 0 | code | ref = the SEND id | message "no"
    hex: "0000001a 86 00 0b 4e4f545f494e5f524f4f4d 0006474846204001 0002 6e6f",
    value: { type: "error", fatal: false, code: "NOT_IN_ROOM", ref: ID, message: "no" },
  },
  {
    name: "FETCHED after 2 messages of lobby, with more to fetch",
    type: FrameType.FETCHED,
    // length | type | room | count u16 | more 1 | lastSeq u64
    hex: "00000012 87 05 6c6f626279 0002 01 000000000000000c",
    value: { type: "fetched", room: "lobby", count: 2, more: true, lastSeq: 12 },
  },
  {
    name: "REGISTER with a password",
    type: FrameType.REGISTER,
    // length | type | password u16
    hex: "00000010 0b 000d 636f727265637420686f727365",
    value: { type: "register", password: "correct horse" },
  },
  {
    name: "MODERATE: ban 10.0.0.3 for an hour",
    type: FrameType.MODERATE,
    // length | type | action 2 (ban) | target | durationMs u64 | reason u16
    hex: "00000019 0c 02 08 31302e302e302e33 000000000036ee80 0004 7370616d",
    value: { type: "moderate", action: "ban", target: "10.0.0.3", durationMs: 3600000, reason: "spam" },
  },
  {
    name: "NOTICE: message of the day",
    type: FrameType.NOTICE,
    // length | type | kind | text u16
    hex: "0000000f 89 04 6d6f7464 0007 6265206b696e64",
    value: { type: "notice", kind: "motd", text: "be kind" },
  },
  {
    name: 'PRIVATE from alice to "bob"',
    type: FrameType.PRIVATE,
    // length | type | id u64 | to | flags | text u32
    hex: "00000014 08 0006474846204001 03 626f62 00 00000002 6869",
    value: { type: "private", id: ID, to: "bob", flags: 0, text: "hi" },
  },
  {
    name: 'NICK to "bobby"',
    type: FrameType.NICK,
    // length | type | name
    hex: "00000007 09 05 626f626279",
    value: { type: "nick", name: "bobby" },
  },
  {
    name: 'AWAY with "lunch"',
    type: FrameType.AWAY,
    // length | type | text u16
    hex: "00000008 0a 0005 6c756e6368",
    value: { type: "away", text: "lunch" },
  },
  {
    name: "DIRECT action from alice to bob",
    type: FrameType.DIRECT,
    // length | type | from | to | ts u64 | flags (ACTION) | text u32
    hex: "0000001d 88 05 616c696365 03 626f62 0000019b76daa800 01 00000005 7761766573",
    value: { type: "direct", from: "alice", to: "bob", ts: TS, flags: 1, text: "waves" },
  },
  {
    name: "PRESENCE nick: bob is now bobby",
    type: FrameType.PRESENCE,
    // length | type | room | event 3 (nick) | name | reason "" | text u16 | ts u64
    hex: "0000001c 84 05 6c6f626279 03 03 626f62 00 0005 626f626279 0000019b76daa800",
    value: { type: "presence", room: "lobby", event: "nick", name: "bob", reason: "", text: "bobby", ts: TS },
  },
  {
    name: 'HELLO from "dave" with a password, listing the feature "dms"',
    type: FrameType.HELLO,
    // length | type | magic | version | name | room count 1 | "lobby" | PASSWORD "pw"
    // | FEATURES: tag 08, length 5, count 1, "dms"
    hex: "00000020 01 43484154 0001 04 64617665 01 05 6c6f626279 04 0002 7077 08 0005 01 03 646d73",
    value: { type: "hello", version: 1, name: "dave", rooms: ["lobby"], password: "pw", features: ["dms"] },
  },
  {
    name: 'WELCOME for "alice" announcing the feature "dms"',
    type: FrameType.WELCOME,
    // ... | FEATURES: tag 08, length 5, count 1, "dms"
    hex: "00000028 81 0001 05 616c696365 00000682 00001388 00010000 00001000 01 05 6c6f626279" +
      " 08 0005 01 03 646d73",
    value: {
      type: "welcome",
      version: 1,
      name: "alice",
      heartbeatMs: 1666,
      timeoutMs: 5000,
      maxFrame: 65536,
      maxText: 4096,
      rooms: ["lobby"],
      features: ["dms"],
    },
  },
  {
    name: "CONVERSATIONS: with bob up to seq 3, with Zoë up to seq 1 (time unknown)",
    type: FrameType.CONVERSATIONS,
    // length | type | count u16 2 | peer "bob" | lastSeq u64 3 | ts u64 | peer "Zoë" | lastSeq 1 | ts 0
    hex: "0000002c 8d 0002 03 626f62 0000000000000003 0000019b76daa800" +
      " 04 5a6fc3ab 0000000000000001 0000000000000000",
    value: {
      type: "conversations",
      conversations: [{ peer: "bob", lastSeq: 3, ts: TS }, { peer: "Zoë", lastSeq: 1, ts: 0 }],
    },
  },
  {
    name: "CONVERSATIONS: none",
    type: FrameType.CONVERSATIONS,
    hex: "00000003 8d 0000",
    value: { type: "conversations", conversations: [] },
  },
  {
    name: 'MESSAGE "hi" from alice in her stored conversation with bob, as alice sees it: room "@bob"',
    type: FrameType.MESSAGE,
    // length | type | room "@bob" | seq u64 3 | ts u64 | flags | from | text
    hex: "00000023 82 04 40626f62 0000000000000003 0000019b76daa800 00 05 616c696365 00000002 6869",
    value: { type: "message", room: "@bob", seq: 3, ts: TS, flags: 0, from: "alice", text: "hi" },
  },
  {
    name: 'ACK of a PRIVATE to bob stored as seq 3 of the conversation "@bob"',
    type: FrameType.ACK,
    hex: "0000001e 83 0006474846204001 04 40626f62 0000000000000003 0000019b76daa800",
    value: { type: "ack", id: ID, room: "@bob", seq: 3, ts: TS },
  },
  {
    name: 'FETCH of the conversation "@bob" from its first message, a page of 500',
    type: FrameType.FETCH,
    // length | type | room | after u64 0 | before u64 0 | limit u16 500
    hex: "00000018 07 04 40626f62 0000000000000000 0000000000000000 01f4",
    value: { type: "fetch", room: "@bob", after: 0, before: 0, limit: 500 },
  },
  {
    name: "PRESENCE away outside any room",
    type: FrameType.PRESENCE,
    // length | type | room "" | event 4 (away) | name | reason "" | text u16 | ts u64
    hex: "00000017 84 00 04 03 626f62 00 0005 6c756e6368 0000019b76daa800",
    value: { type: "presence", room: "", event: "away", name: "bob", reason: "", text: "lunch", ts: TS },
  },
];

/** Splits vector bytes into one frame with the real decoder, checking nothing is left over. */
function onlyFrame(bytes: Uint8Array) {
  const decoder = new FrameDecoder();
  const frames = decoder.push(bytes);
  assert.equal(frames.length, 1, "the vector holds exactly one frame");
  assert.equal(decoder.buffered, 0, "the length field covers the whole vector");
  return frames[0];
}

for (const v of VECTORS) {
  Deno.test(`encodeMessage() writes the exact bytes of the vector: ${v.name}`, () => {
    assert.equal(toHex(encodeMessage(v.value)), toHex(fromHex(v.hex)));
  });

  Deno.test(`the decoder of its direction reads the vector back into its value: ${v.name}`, () => {
    const frame = onlyFrame(fromHex(v.hex));
    assert.equal(frame.type, v.type);
    assert.deepStrictEqual(decodeByDirection(frame), v.value);
  });
}

Deno.test("the other end's decoder refuses every one-way vector with UNEXPECTED_FRAME; PING and PONG read alike", () => {
  for (const v of VECTORS) {
    const frame = onlyFrame(fromHex(v.hex));
    if (v.type >= 0x40 && v.type < 0x80) {
      assert.deepStrictEqual(decodeClientMessage(frame), v.value, v.name);
      assert.deepStrictEqual(decodeServerMessage(frame), v.value, v.name);
      continue;
    }
    const wrong = v.type < 0x40 ? decodeServerMessage : decodeClientMessage;
    assert.throws(
      () => wrong(frame),
      (e) => e instanceof ProtocolError && e.code === "UNEXPECTED_FRAME",
      v.name,
    );
  }
});

Deno.test("the vectors cover every frame type", () => {
  const covered = new Set(VECTORS.map((v) => v.type));
  const missing = Object.entries(FrameType).filter(([, code]) => !covered.has(code)).map(([name]) => name);
  assert.deepStrictEqual(missing, []);
});

Deno.test("the decoders reject every vector cut one byte short with BAD_FRAME", () => {
  for (const v of VECTORS) {
    const frame = onlyFrame(fromHex(v.hex));
    const cut = { type: frame.type, payload: frame.payload.subarray(0, frame.payload.byteLength - 1) };
    assert.throws(
      () => decodeByDirection(cut),
      (e) => e instanceof ProtocolError && e.code === "BAD_FRAME",
      v.name,
    );
  }
});

Deno.test("the decoders reject every vector with one byte appended with BAD_FRAME", () => {
  // HELLO and WELCOME read the extra byte as an extension tag with no length: still malformed.
  for (const v of VECTORS) {
    const frame = onlyFrame(fromHex(v.hex));
    const longer = new Uint8Array(frame.payload.byteLength + 1);
    longer.set(frame.payload);
    assert.throws(
      () => decodeByDirection({ type: frame.type, payload: longer }),
      (e) => e instanceof ProtocolError && e.code === "BAD_FRAME",
      v.name,
    );
  }
});

// docs/PROTOCOL.md is the contract other implementations read; these keep it from drifting.

const DOC = await Deno.readTextFile(new URL("../../docs/PROTOCOL.md", import.meta.url));

Deno.test("docs/PROTOCOL.md shows the HELLO and MESSAGE worked examples byte for byte", () => {
  const examples = VECTORS.filter((v) => v.inDoc);
  assert.deepStrictEqual(examples.map((v) => v.type), [FrameType.HELLO, FrameType.MESSAGE]);
  for (const v of examples) {
    const spaced = toHex(fromHex(v.hex));
    assert.ok(DOC.includes(spaced), `docs/PROTOCOL.md lacks the ${v.name} frame:\n${spaced}`);
  }
});

Deno.test("docs/PROTOCOL.md lists every frame type with its code", () => {
  for (const [name, code] of Object.entries(FrameType)) {
    const hex = `0x${code.toString(16).padStart(2, "0")}`;
    const row = new RegExp(`^\\|\\s*\`${hex}\`\\s*\\|\\s*${name}\\s*\\|`, "m");
    assert.match(DOC, row, `no table row for ${name} (${hex})`);
  }
});

Deno.test("docs/PROTOCOL.md documents every error code", () => {
  for (const code of ERROR_CODES) {
    assert.match(DOC, new RegExp(`^\\|\\s*\`${code}\`\\s*\\|`, "m"), `no table row for ${code}`);
  }
});

Deno.test("docs/PROTOCOL.md lists every extension tag with its code", () => {
  for (const [name, tag] of Object.entries(ExtensionTag)) {
    const hex = `0x${tag.toString(16).padStart(2, "0")}`;
    const row = new RegExp(`^\\|\\s*\`${hex}\`\\s*\\|\\s*${name}\\s*\\|`, "m");
    assert.match(DOC, row, `no table row for extension ${name} (${hex})`);
  }
});

Deno.test("docs/PROTOCOL.md names every close reason", () => {
  for (const reason of CLOSE_REASONS) {
    assert.ok(DOC.includes(`\`${reason}\``), `close reason ${reason} is missing`);
  }
});

Deno.test("docs/PROTOCOL.md documents every JSON event type of chat join --json", async () => {
  const source = await Deno.readTextFile(new URL("../../src/client/events.ts", import.meta.url));
  const types = [...source.matchAll(/^\s*type: "(\w+)";$/gm)].map((m) => m[1]);
  assert.ok(types.length >= 7, `found only ${types.length} event types in src/client/events.ts`);
  for (const type of types) {
    assert.ok(DOC.includes(`**\`${type}\`**`), `JSON event ${type} is not documented`);
  }
});

Deno.test("docs/PROTOCOL.md quotes the line sent to peers that do not speak the protocol", () => {
  assert.ok(DOC.includes(NOT_CHAT_LINE.trimEnd()), "NOT_CHAT_LINE is not quoted verbatim");
});
