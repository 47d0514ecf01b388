import assert from "node:assert/strict";
import { connect, deliveries, type TestBroker, testBroker, tokenOf } from "../_helpers/effects.ts";
import { ErrorCode } from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { ROOM_CREATION } from "../../src/chat/guard.ts";

type Any = Record<string, unknown> & { type: string };
const TRANSIENT = { transient: true };
const types = (list: unknown[] | undefined) => (list ?? []).map((m) => (m as Any).type);
const codeOf = (list: unknown[] | undefined) => ((list ?? []) as Any[]).find((m) => m.type === "error")?.code;

Deno.test("Broker: sessions held only for a resume do not lock newcomers out; the oldest ghost's leave comes first", () => {
  const b = testBroker({ maxClients: 3, graceMs: 5000 });
  const watcher = connect(b, "watcher").session;
  const g1 = connect(b, "g1", [], 1).session;
  const g2 = connect(b, "g2", [], 2).session;
  b.drop(g1, "disconnected", 10);
  b.drop(g2, "timeout", 11);
  assert.equal(b.online, 3, "both still hold their names");
  const fresh = connect(b, "fresh", [], 20);
  assert.equal(fresh.session.state, "ready", "a newcomer gets in");
  const seen = (deliveries(fresh.effects).get(watcher)! as Any[]).filter((m) => m.type === "presence");
  assert.deepEqual(seen.map((m) => [m.event, m.name, m.reason]), [["leave", "g1", "disconnected"], [
    "join",
    "fresh",
    "",
  ]]);
  assert.equal(g1.state, "closed");
  assert.equal(g2.state, "ghost", "only one seat was needed");
  assert.equal(b.online, 3);
});

Deno.test("Broker still refuses SERVER_FULL when every seat is held by a connected user", () => {
  const b = testBroker({ maxClients: 2, graceMs: 5000 });
  connect(b, "a");
  connect(b, "b");
  const c = connect(b, "c");
  assert.equal(codeOf(deliveries(c.effects).get(c.session)), ErrorCode.SERVER_FULL);
});

Deno.test("Broker tells a live session replaced by a resume of its token, so that it does not fight back", () => {
  const b = testBroker({ graceMs: 1000 });
  const first = connect(b, "alice");
  const second = connect(b, "alice", [], 5, { resumeToken: tokenOf(first.effects, first.session) });
  const told = deliveries(second.effects).get(first.session)! as Any[];
  assert.deepEqual(told.map((m) => m.type === "error" ? [m.code, m.fatal] : m.type), [[
    ErrorCode.REPLACED,
    true,
  ], "close"]);
  assert.match(String(told[0].message), /replaced by a newer session of alice \(from 127\.0\.0\.1\)/);
});

function transient(b: TestBroker, name: string, rooms: string[] = []) {
  return connect(b, name, rooms, 0, TRANSIENT);
}

Deno.test("Broker: transient sessions share a name, are not listed and make no presence noise", () => {
  const b = testBroker();
  const watcher = connect(b, "watcher").session;
  const one = transient(b, "send");
  const two = transient(b, "send");
  assert.deepEqual(
    [one.session.state, two.session.state],
    ["ready", "ready"],
    "two transient sessions, one name",
  );
  assert.equal(deliveries([...one.effects, ...two.effects]).get(watcher), undefined, "no join announced");
  const who = deliveries(b.handle(watcher, { type: "who", room: "lobby" }, 1)).get(watcher)! as Any[];
  assert.deepEqual(who[0].names, ["watcher"], "transient sessions are not members to list");
  const sent = deliveries(
    b.handle(one.session, { type: "send", id: 1, room: "lobby", flags: 0, text: "hi" }, 2),
  );
  assert.deepEqual(types(sent.get(watcher)), ["message"], "their messages reach the room");
  assert.deepEqual(types(sent.get(two.session)), ["message"], "and other followers");
  assert.deepEqual(types(sent.get(one.session)), ["ack", "message"]);
  assert.equal(
    deliveries(b.handle(one.session, { type: "bye", reason: "" }, 3)).get(watcher),
    undefined,
    "no leave",
  );
  assert.equal(
    deliveries(b.drop(two.session, "disconnected", 4)).get(watcher),
    undefined,
    "no grace, no leave",
  );
  assert.equal(two.session.state, "closed");
  const named = connect(b, "send");
  assert.equal(named.session.state, "ready", "a transient session never held the name");
});

Deno.test("Broker: a transient session may not take or look like an online user's name, unless it proves the name", () => {
  const store = new MemoryStore();
  store.putAccount({ name: "carol", key: "carol", hash: "x", admin: false, created: 0 });
  const b = testBroker({ store });
  connect(b, "alice");
  const taken = transient(b, "alice");
  assert.equal(codeOf(deliveries(taken.effects).get(taken.session)), ErrorCode.NAME_TAKEN);
  const lookalike = transient(b, "\u0430lice");
  assert.equal(codeOf(deliveries(lookalike.effects).get(lookalike.session)), ErrorCode.NAME_TAKEN);
  const carol = b.open("127.0.0.1:5", 0);
  carol.auth = { password: "ok", admin: false };
  b.handle(carol, { type: "hello", version: 1, name: "carol", rooms: [] }, 0);
  const bot = b.open("127.0.0.1:6", 0);
  bot.auth = { password: "ok", admin: false };
  b.handle(bot, { type: "hello", version: 1, name: "carol", rooms: [], ...TRANSIENT }, 0);
  assert.deepEqual(
    [carol.state, bot.state],
    ["ready", "ready"],
    "carol's script speaks as carol while she is online",
  );
  const nick = deliveries(b.handle(bot, { type: "nick", name: "other" }, 1)).get(bot)!;
  assert.equal(codeOf(nick), ErrorCode.FORBIDDEN, "a transient session has no name to change");
});

Deno.test("Broker: transient sessions count towards the client limit", () => {
  const b = testBroker({ maxClients: 2 });
  transient(b, "send");
  transient(b, "send");
  const third = transient(b, "send");
  assert.equal(codeOf(deliveries(third.effects).get(third.session)), ErrorCode.SERVER_FULL);
});

Deno.test("Broker forgets a room once nobody is in it, and its messages number on when it is opened again", () => {
  const b = testBroker({ historyLimit: 5 });
  const alice = connect(b, "alice", ["tmp"]).session;
  b.handle(alice, { type: "send", id: 1, room: "tmp", flags: 0, text: "one" }, 1);
  assert.ok(b.room("tmp"));
  b.handle(alice, { type: "leave", room: "tmp" }, 2);
  assert.equal(b.room("tmp"), undefined, "forgotten");
  const back = deliveries(b.handle(alice, { type: "join", room: "tmp" }, 3)).get(alice)! as Any[];
  assert.deepEqual(back.filter((m) => m.type === "message").map((m) => [m.seq, m.text]), [[1, "one"]]);
  const ack = deliveries(b.handle(alice, { type: "send", id: 2, room: "tmp", flags: 0, text: "two" }, 4)).get(
    alice,
  )!;
  assert.equal((ack[0] as Any).seq, 2, "the log numbers on");
});

Deno.test("Broker: a JOIN and LEAVE flood neither fills the room table nor stops others creating rooms", () => {
  const b = testBroker({ maxRooms: 20, maxClients: 20 });
  const flooder = connect(b, "flooder").session;
  let refused = 0;
  for (let i = 0; i < 200; i++) {
    const joined = deliveries(b.handle(flooder, { type: "join", room: `r${i}` }, 1000 + i)).get(flooder)!;
    if (codeOf(joined) === ErrorCode.RATE_LIMITED) refused++;
    b.handle(flooder, { type: "leave", room: `r${i}` }, 1000 + i);
  }
  assert.equal(refused, 200 - ROOM_CREATION.burst, "creation is rate-limited past the burst");
  assert.equal(b.room("r0"), undefined);
  assert.equal(b.broker.rooms, 1, "only lobby is held");
  const other = connect(b, "other", [], 2000).session;

  const made = deliveries(b.handle(other, { type: "join", room: "mine" }, 2001)).get(other)!;
  assert.deepEqual(types(made), ["members", "fetched"], "someone else can still create a room");
});

Deno.test("Broker limits room creation per address across its clients", () => {
  const b = testBroker({ maxClients: 20, maxRoomsPerClient: 32, maxRooms: 1000 });
  let created = 0;
  for (let c = 0; c < 8; c++) {
    const s = b.open("10.9.9.9:" + (5000 + c), 0);
    b.handle(s, { type: "hello", version: 1, name: `u${c}`, rooms: [] }, 0);
    for (let i = 0; i < 20; i++) {
      const got = deliveries(b.handle(s, { type: "join", room: `c${c}r${i}` }, 0)).get(s)!;
      if (codeOf(got) === undefined) created++;
    }
  }
  assert.equal(created, 64, "the address's burst, whatever the number of its clients");
});

Deno.test("Broker acknowledges a resend of a stored message even when its text is now over the limit", () => {
  const store = new MemoryStore();
  const before = testBroker({ store, maxText: 100 });
  const alice = connect(before, "alice").session;
  const text = "x".repeat(80);
  before.handle(alice, { type: "send", id: 7, room: "lobby", flags: 0, text }, 1);
  // The server restarts with a lower limit, over the same store; the client resends what it never saw acked.
  const after = testBroker({ store, maxText: 50 });
  const again = connect(after, "alice").session;
  const resent = deliveries(after.handle(again, { type: "send", id: 7, room: "lobby", flags: 0, text }, 2))
    .get(again)!;
  assert.deepEqual(resent.map((m) => [m.type, (m as Any).seq]), [["ack", 1]], "acked, not refused TOO_LARGE");
  const fresh = deliveries(after.handle(again, { type: "send", id: 8, room: "lobby", flags: 0, text }, 3))
    .get(again)!;
  assert.equal(codeOf(fresh), ErrorCode.TOO_LARGE, "a new message over the limit is refused");
});
