import assert from "node:assert/strict";
import { connect, deliveries, type TestBroker, testBroker } from "../_helpers/effects.ts";
import { compareRooms } from "../../src/chat/directory.ts";
import type { SharedSession } from "../../src/chat/effects.ts";
import type { Session } from "../../src/chat/session.ts";
import { StoreError } from "../../src/chat/ports.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { ErrorCode, FEATURES, MAX_TOPIC_BYTES, type ServerMessage } from "../../src/protocol/mod.ts";

// The directory (src/chat/directory.ts): LIST, topics, and WHO for a room the asker is not in.

type Any = Record<string, unknown> & { type: string };
const ALL = { features: [...FEATURES] };

/** Joins `name` to `rooms` as a client that lists every feature (as chat join does). */
function join(b: TestBroker, name: string, rooms: string[], now = 0): Session {
  return connect(b, name, rooms, now, ALL).session;
}

function got(b: TestBroker, s: Session, msg: Parameters<TestBroker["handle"]>[1], now = 1): Any[] {
  return (deliveries(b.handle(s, msg, now)).get(s) ?? []) as Any[];
}

const list = (after = "", limit = 0) => ({ type: "list" as const, after, limit });
const setTopic = (room: string, text: string) => ({ type: "topic" as const, room, set: true, text });
const askTopic = (room: string) => ({ type: "topic" as const, room, set: false, text: "" });

Deno.test("WELCOME announces the features list, topic, who-any and dms", () => {
  const b = testBroker();
  const { session, effects } = connect(b, "alice", ["lobby"]);
  const welcome = deliveries(effects).get(session)![0] as Any;
  assert.deepEqual(welcome.features, ["list", "topic", "who-any", "dms"]);
});

Deno.test("LIST answers every room someone is in, in name order, with sizes, quiet flags and topics", () => {
  const b = testBroker({ presenceLimit: 2, maxClients: 20 });
  const alice = join(b, "alice", ["zeta", "Café", "lobby"]);
  join(b, "bob", ["lobby"]);
  join(b, "carol", ["lobby"]);
  b.handle(alice, setTopic("zeta", "last letter"), 2);
  const [rooms] = got(b, alice, list(), 3);
  assert.deepEqual(rooms, {
    type: "rooms",
    more: false,
    rooms: [
      { room: "café", members: 1, quiet: false, topic: "" },
      { room: "lobby", members: 3, quiet: true, topic: "" },
      { room: "zeta", members: 1, quiet: false, topic: "last letter" },
    ],
  });
});

Deno.test("LIST pages by name after `after`, `more` set while rooms remain, within the page limit", () => {
  const b = testBroker({ maxClients: 20, maxRoomsPerClient: 10 });
  const alice = join(b, "alice", ["r1", "r2", "r3", "r4", "r5"]);
  const page = (after: string, limit: number) => got(b, alice, list(after, limit))[0] as Any;
  const names = (p: Any) => (p.rooms as Array<{ room: string }>).map((r) => r.room);
  assert.deepEqual([names(page("", 2)), page("", 2).more], [["r1", "r2"], true]);
  assert.deepEqual([names(page("r2", 2)), page("r2", 2).more], [["r3", "r4"], true]);
  assert.deepEqual([names(page("r4", 2)), page("r4", 2).more], [["r5"], false]);
  assert.deepEqual([names(page("r5", 2)), page("r5", 2).more], [[], false]);
  assert.deepEqual(names(page("r10", 0)), ["r2", "r3", "r4", "r5"], "any text is a cursor, not only a room");
});

Deno.test("LIST keeps a page within the frame limit, the rest for the next page", () => {
  const b = testBroker({ maxFrame: 4096, maxRoomsPerClient: 20, maxClients: 20 });
  const rooms = Array.from({ length: 16 }, (_, i) => `room${String(i).padStart(2, "0")}`);
  const alice = join(b, "alice", rooms);
  for (const r of rooms) b.handle(alice, setTopic(r, "t".repeat(MAX_TOPIC_BYTES)), 2);
  const first = got(b, alice, list(), 3)[0] as unknown as { rooms: Array<{ room: string }>; more: boolean };
  assert.ok(first.rooms.length < 16 && first.rooms.length > 0, `${first.rooms.length} rooms in 4 KiB`);
  assert.equal(first.more, true);
  const next = got(b, alice, list(first.rooms.at(-1)!.room), 4)[0] as unknown as {
    rooms: Array<{ room: string }>;
  };
  assert.equal(next.rooms[0].room, rooms[first.rooms.length], "the next page starts where this one stopped");
});

Deno.test("LIST leaves out rooms of transient sessions only (chat tail): they are invisible", () => {
  const b = testBroker();
  const alice = join(b, "alice", ["lobby"]);
  connect(b, "tail", ["secret"], 0, { transient: true });
  assert.deepEqual((got(b, alice, list())[0].rooms as Array<{ room: string }>).map((r) => r.room), ["lobby"]);
  const page = got(b, alice, list("", 1))[0];
  assert.equal(page.more, false, "a page followed only by rooms of transient sessions is the last");
});

Deno.test("LIST counts against the message rate: RATE_LIMITED when over it", () => {
  const b = testBroker({ rate: { perSecond: 1, burst: 2 } });
  const alice = join(b, "alice", ["lobby"]);
  assert.equal(got(b, alice, list(), 1)[0].type, "rooms");
  assert.equal(got(b, alice, list(), 1)[0].type, "rooms");
  const refused = got(b, alice, list(), 1)[0];
  assert.deepEqual([refused.type, refused.code, refused.fatal, refused.ref], [
    "error",
    "RATE_LIMITED",
    false,
    0,
  ]);
});

Deno.test("compareRooms orders by code point, as UTF-8 bytes do (not by UTF-16 unit)", () => {
  // U+FF5E (3 UTF-8 bytes) sorts before U+1F600 (4 bytes), though its UTF-16 unit is larger than a surrogate's.
  assert.ok("\uff5e" > "\u{1f600}", "JavaScript's own order differs");
  assert.deepEqual(["\u{1f600}", "\uff5e", "b", "a", "ab"].sort(compareRooms), [
    "a",
    "ab",
    "b",
    "\uff5e",
    "\u{1f600}",
  ]);
});

Deno.test("TOPIC sets a room's topic, stores it and tells every member whose client lists topic", () => {
  const store = new MemoryStore();
  const b = testBroker({ store });
  const alice = join(b, "alice", ["lobby"]);
  const bob = join(b, "bob", ["lobby"]);
  const old = connect(b, "old", ["lobby"]).session;
  const d = deliveries(b.handle(alice, setTopic("lobby", "be kind"), 5));
  const topic: ServerMessage = { type: "topicIs", room: "lobby", text: "be kind", by: "alice", ts: 5 };
  assert.deepEqual(d.get(alice), [topic]);
  assert.deepEqual(d.get(bob), [topic]);
  assert.equal(d.get(old), undefined, "a client that did not list topic gets no frame it cannot read");
  assert.deepEqual(store.topic("lobby"), { room: "lobby", text: "be kind", by: "alice", ts: 5 });
  assert.deepEqual(got(b, old, askTopic("lobby")), [topic], "asked, any client gets the answer");
});

Deno.test("TOPIC keeps one line: line breaks become spaces, blanks around go; a blank text clears it", () => {
  const b = testBroker();
  const alice = join(b, "alice", ["lobby"]);
  assert.equal(
    got(b, alice, setTopic("lobby", "  one\r\ntwo\n\nthree\u2028four  "))[0].text,
    "one two three four",
  );
  const cleared = got(b, alice, setTopic("lobby", " \n "), 2)[0];
  assert.deepEqual(cleared, { type: "topicIs", room: "lobby", text: "", by: "alice", ts: 2 });
  assert.deepEqual(got(b, alice, askTopic("lobby"), 3)[0], {
    type: "topicIs",
    room: "lobby",
    text: "",
    by: "",
    ts: 0,
  });
});

Deno.test("TOPIC refuses: over 390 bytes, a room one is not in, a transient session; the same text tells only the setter", () => {
  const b = testBroker();
  const alice = join(b, "alice", ["lobby"]);
  const bob = join(b, "bob", ["lobby"]);
  const tooLong = got(b, alice, setTopic("lobby", "é".repeat(196)))[0];
  assert.deepEqual([tooLong.code, tooLong.message], [ErrorCode.TOO_LARGE, "topic is 392 bytes, limit 390"]);
  assert.equal(got(b, alice, setTopic("lobby", "é".repeat(195)))[0].type, "topicIs", "390 bytes is fine");
  assert.equal(got(b, alice, setTopic("dev", "x"))[0].code, ErrorCode.NOT_IN_ROOM);
  assert.equal(got(b, alice, setTopic("no way", "x"))[0].code, ErrorCode.INVALID_ROOM);
  const tail = connect(b, "tail", ["lobby"], 0, { transient: true, ...ALL }).session;
  assert.equal(got(b, tail, setTopic("lobby", "x"))[0].code, ErrorCode.FORBIDDEN);
  const again = deliveries(b.handle(alice, setTopic("lobby", "é".repeat(195)), 9));
  assert.equal(again.get(bob), undefined, "no change, no news");
  assert.equal((again.get(alice)![0] as Any).ts, 1, "the setter is told the topic that holds");
});

Deno.test("TOPIC with operator-only topics: FORBIDDEN to members, allowed to operators", () => {
  const b = testBroker({ operatorTopics: true });
  const alice = join(b, "alice", ["lobby"]);
  assert.equal(got(b, alice, setTopic("lobby", "x"))[0].code, ErrorCode.FORBIDDEN);
  assert.deepEqual(got(b, alice, askTopic("lobby"))[0].type, "topicIs", "asking is for anyone");
  alice.admin = true;
  assert.equal(got(b, alice, setTopic("lobby", "x"))[0].type, "topicIs");
});

Deno.test("TOPIC answers STORAGE_ERROR when the store cannot keep it, and tells nobody", () => {
  const store = new MemoryStore();
  store.putTopic = () => {
    throw new StoreError("full", "disk full");
  };
  const b = testBroker({ store });
  const alice = join(b, "alice", ["lobby"]);
  const bob = join(b, "bob", ["lobby"]);
  const d = deliveries(b.handle(alice, setTopic("lobby", "x"), 1));
  assert.equal((d.get(alice)![0] as Any).code, ErrorCode.STORAGE_ERROR);
  assert.equal(d.get(bob), undefined);
});

Deno.test("a joiner that lists topic gets TOPIC_IS after the member list and away statuses, before the history", () => {
  const b = testBroker({ historyLimit: 5 });
  const alice = join(b, "alice", ["lobby"]);
  b.handle(alice, { type: "away", text: "lunch" }, 1);
  b.handle(alice, setTopic("lobby", "be kind"), 2);
  b.handle(alice, { type: "send", id: 1, room: "lobby", flags: 0, text: "hi" }, 3);
  const { session: bob, effects } = connect(b, "bob", ["lobby"], 4, ALL);
  const order = (deliveries(effects).get(bob) as Any[]).map((m) =>
    m.type === "presence" ? `presence ${m.event}` : m.type
  );
  assert.deepEqual(order, ["welcome", "members", "presence away", "topicIs", "message", "fetched"]);
  // JOIN, and JOIN of a room already joined, the same way; an empty TOPIC_IS for a room without a topic.
  const carol = join(b, "carol", []);
  const joined = got(b, carol, { type: "join", room: "dev" }, 5);
  assert.deepEqual(joined.map((m) => m.type), ["members", "topicIs", "fetched"]);
  assert.deepEqual(joined[1], { type: "topicIs", room: "dev", text: "", by: "", ts: 0 });
  const again = got(b, bob, { type: "join", room: "lobby" }, 6);
  assert.deepEqual(again.map((m) => m.type), ["members", "presence", "topicIs", "fetched"]);
});

Deno.test("a joiner that does not list topic gets no TOPIC_IS: the join answer an older client knows", () => {
  const b = testBroker();
  const alice = join(b, "alice", ["lobby"]);
  b.handle(alice, setTopic("lobby", "be kind"), 2);
  const { session, effects } = connect(b, "old", ["lobby"]);
  assert.deepEqual((deliveries(effects).get(session) as Any[]).map((m) => m.type), [
    "welcome",
    "members",
    "fetched",
  ]);
});

Deno.test("WHO for a room one is not in (who-any): its list flagged LISTING, with away statuses", () => {
  const b = testBroker();
  const alice = join(b, "alice", ["lobby"]);
  const bob = join(b, "bob", ["dev"]);
  b.handle(bob, { type: "away", text: "lunch" }, 1);
  const answer = got(b, alice, { type: "who", room: "Dev" }, 2);
  assert.deepEqual(answer, [
    { type: "members", room: "dev", more: false, listing: true, names: ["bob"] },
    { type: "presence", room: "dev", event: "away", name: "bob", reason: "", text: "lunch", ts: 0 },
  ]);
  assert.equal(b.room("dev")!.members.has(alice), false, "asking does not join");
  assert.deepEqual(got(b, alice, { type: "who", room: "empty" }), [
    { type: "members", room: "empty", more: false, listing: true, names: [] },
  ]);
  assert.equal(got(b, alice, { type: "who", room: "no way" })[0].code, ErrorCode.INVALID_ROOM);
});

Deno.test("WHO for a quiet room one is not in answers its size only, a ROOM flagged LISTING", () => {
  const b = testBroker({ presenceLimit: 2, maxClients: 20 });
  for (const n of ["u1", "u2", "u3"]) join(b, n, ["hall"]);
  const alice = join(b, "alice", ["lobby"]);
  assert.deepEqual(got(b, alice, { type: "who", room: "hall" }), [
    { type: "room", room: "hall", members: 3, quiet: true, listing: true },
  ]);
});

Deno.test("WHO for a room one is not in, from a client that does not list who-any: NOT_IN_ROOM as before", () => {
  const b = testBroker();
  const old = connect(b, "old", ["lobby"]).session;
  join(b, "bob", ["dev"]);
  assert.equal(got(b, old, { type: "who", room: "dev" })[0].code, ErrorCode.NOT_IN_ROOM);
});

function remote(name: string, rooms: string[], sid = 7): SharedSession {
  return { sid, name, key: name.toLowerCase(), rooms, away: "", token: "", prevToken: "" };
}

Deno.test("in a cluster LIST counts other nodes' members, and a topic set on another node reaches this node's", () => {
  const b = testBroker({ cluster: true, maxClients: 20 });
  const alice = join(b, "alice", ["lobby"]);
  connect(b, "old", ["lobby"]);
  b.settle(b.broker.remoteUpsert("n2", remote("bob", ["lobby", "dev"]), 1), 1);
  const rooms = got(b, alice, list(), 2)[0].rooms as Array<{ room: string; members: number }>;
  assert.deepEqual(rooms.map((r) => `${r.room} ${r.members}`), ["dev 1", "lobby 3"]);
  const d = deliveries(b.settle(b.broker.topicChanged({ room: "lobby", text: "hi", by: "bob", ts: 3 }), 3));
  assert.deepEqual(d.get(alice), [{ type: "topicIs", room: "lobby", text: "hi", by: "bob", ts: 3 }]);
  assert.deepEqual(
    [...d.keys()],
    [alice],
    "not the old client, nor the other node's session (its node tells it)",
  );
  assert.deepEqual(b.settle(b.broker.topicChanged({ room: "gone", text: "x", by: "bob", ts: 4 }), 4), []);
});
