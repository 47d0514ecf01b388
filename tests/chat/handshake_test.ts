// src/chat/handshake.ts: HELLO checks and refusals, passwords, the welcome, resume and ghosts, transient sessions,
// drop, shutdown.

import assert from "node:assert/strict";
import { AsyncBroker, labels } from "../_helpers/async_broker.ts";
import { type Any, codeIn, codeOf, hello, type Msg, types } from "../_helpers/chat.ts";
import { connect, deliveries, type TestBroker, testBroker, tokenOf } from "../_helpers/effects.ts";
import type { CloseReason } from "../../src/chat/close.ts";
import { DEFAULT_RATE } from "../../src/chat/guard.ts";
import type { Session } from "../../src/chat/session.ts";
import { ErrorCode, hex, type Welcome } from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

const TRANSIENT = { transient: true };

function transient(b: TestBroker, name: string, rooms: string[] = []) {
  return connect(b, name, rooms, 0, TRANSIENT);
}

function welcomeOf(effects: ReturnType<typeof connect>): Welcome {
  return deliveries(effects.effects).get(effects.session)![0] as Welcome;
}

Deno.test("Broker.handle() welcomes a valid hello with the member list of the default room", () => {
  const b = testBroker();
  const { session, effects } = connect(b, "alice");
  const got = deliveries(effects).get(session)!;
  assert.deepEqual(types(got), ["welcome", "members", "fetched"], "FETCHED closes the (empty) history");
  const welcome = got[0] as { name: string; rooms: string[]; heartbeatMs: number; timeoutMs: number };
  assert.equal(welcome.name, "alice");
  assert.deepEqual(welcome.rooms, ["lobby"]);
  assert.equal(welcome.timeoutMs, 3000);
  assert.equal(welcome.heartbeatMs, 1000);
  assert.deepEqual((got[1] as { names: string[] }).names, ["alice"]);
  assert.equal(b.online, 1);
});

Deno.test("Broker.handle() refuses a hello by table: version, name, rooms, full, taken", () => {
  const cases: Array<
    {
      what: string;
      hello: { version?: number; name?: string; rooms?: string[] };
      code: string;
      reason: string;
      setup?: number;
    }
  > = [
    {
      what: "unknown version",
      hello: { version: 2 },
      code: ErrorCode.UNSUPPORTED_VERSION,
      reason: "unsupported_version",
    },
    { what: "empty name", hello: { name: "" }, code: ErrorCode.INVALID_NAME, reason: "invalid_name" },
    {
      what: "name with a space",
      hello: { name: "a b" },
      code: ErrorCode.INVALID_NAME,
      reason: "invalid_name",
    },
    {
      what: "bidi override in name",
      hello: { name: "ab\u202ec" },
      code: ErrorCode.INVALID_NAME,
      reason: "invalid_name",
    },
    {
      what: "bad room",
      hello: { rooms: ["no spaces"] },
      code: ErrorCode.INVALID_ROOM,
      reason: "invalid_name",
    },
    {
      what: "too many rooms",
      hello: { rooms: ["a", "b", "c", "d"] },
      code: ErrorCode.TOO_MANY_ROOMS,
      reason: "too_many_rooms",
    },
    {
      what: "name taken, other case",
      hello: { name: "ALICE" },
      code: ErrorCode.NAME_TAKEN,
      reason: "name_taken",
      setup: 1,
    },
    {
      what: "server full",
      hello: { name: "zed" },
      code: ErrorCode.SERVER_FULL,
      reason: "server_full",
      setup: 2,
    },
  ];
  for (const c of cases) {
    const b = testBroker({ maxClients: 2 });
    if (c.setup) {
      connect(b, "alice");
      if (c.setup > 1) connect(b, "bob");
    }
    const s = b.open("127.0.0.1:1", 0);
    const effects = b.handle(s, {
      type: "hello",
      version: c.hello.version ?? 1,
      name: c.hello.name ?? "newbie",
      rooms: c.hello.rooms ?? [],
      extensions: [],
    }, 0);
    const got = deliveries(effects).get(s)!;
    assert.equal(got.length, 2, c.what);
    assert.equal(got[0].type, "error", c.what);
    const err = got[0] as { code: string; fatal: boolean };
    assert.equal(err.code, c.code, c.what);
    assert.equal(err.fatal, true, c.what);
    assert.deepEqual(got[1], { type: "close", reason: c.reason }, c.what);
    assert.equal(s.state, "closed", c.what);
  }
});

Deno.test("Broker.drop() frees the name and announces the leave once", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  const d = deliveries(b.drop(alice, "quit", 4, "bye all"));
  assert.deepEqual(d.get(bob), [{
    type: "presence",
    room: "lobby",
    event: "leave",
    name: "alice",
    reason: "quit",
    text: "bye all",
    ts: 4,
  }]);
  assert.deepEqual(b.drop(alice, "quit", 5), []);
  assert.equal(connect(b, "alice").session.state, "ready");
});

Deno.test("Broker.shutdown() sends SHUTTING_DOWN to everyone and no leave noise", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  const d = deliveries(b.shutdown(9));
  for (const s of [alice, bob]) {
    const got = d.get(s)!;
    assert.deepEqual(got.map((m) => m.type === "error" ? (m as { code: string }).code : m.type), [
      "SHUTTING_DOWN",
      "close",
    ]);
  }
  assert.equal(b.online, 0);
});

Deno.test("Broker refuses a registered name without its password, after a growing delay per address", () => {
  const store = new MemoryStore();
  store.putAccount({ name: "alice", key: "alice", hash: "x", admin: false, created: 0 });
  const b = testBroker({ store });
  const first = hello(b, "Alice", "wrong");
  assert.equal(codeOf(first.effects, first.s), ErrorCode.AUTH_FAILED);
  assert.deepEqual(first.effects[0], { kind: "delay", ms: 500 });
  const second = hello(b, "alice", "none");
  assert.deepEqual(second.effects[0], { kind: "delay", ms: 1000 });
  const ok = hello(b, "alice", "ok");
  assert.equal(ok.s.state, "ready");
  assert.equal(hello(b, "bob", "none").s.state, "ready", "unregistered names need nothing on an open server");
  b.drop(ok.s, "quit", 1);
  assert.deepEqual(
    hello(b, "alice", "wrong").effects[0],
    { kind: "delay", ms: 500 },
    "a success reset the count",
  );
});

Deno.test("Broker in server-password mode refuses every name without the password, with the same words", () => {
  const b = testBroker({ requirePassword: true });
  const wrong = hello(b, "bob", "wrong");
  const msg = (deliveries(wrong.effects).get(wrong.s)! as Any[]).find((m) => m.type === "error")!;
  assert.deepEqual([msg.code, msg.message, msg.fatal], [
    ErrorCode.AUTH_FAILED,
    "authentication failed",
    true,
  ]);
  assert.equal(hello(b, "carol", "ok").s.state, "ready");
});

Deno.test("Broker sends the message of the day after the welcome", () => {
  const b = testBroker({ motd: "be kind" });
  const { session, effects } = connect(b, "alice");
  const got = deliveries(effects).get(session)! as Any[];
  assert.deepEqual(got.at(-1), { type: "notice", kind: "motd", text: "be kind" });
});

Deno.test("Broker holds a dropped user's seat for the grace period and announces nothing if it resumes", () => {
  const b = testBroker({ graceMs: 1000 });
  const watcher = connect(b, "watcher").session;
  const first = connect(b, "alice", [], 0);
  const token = tokenOf(first.effects, first.session);
  const dropped = deliveries(b.drop(first.session, "disconnected", 100));
  assert.equal(dropped.get(watcher), undefined, "no leave yet");
  const who = deliveries(b.handle(watcher, { type: "who", room: "lobby" }, 200)).get(watcher)![0] as {
    names: string[];
  };
  assert.deepEqual(who.names.sort(), ["alice", "watcher"], "a ghost is still listed as online");
  const stranger = connect(b, "ALICE", [], 300);
  assert.equal((deliveries(stranger.effects).get(stranger.session)![0] as Msg).code, ErrorCode.NAME_TAKEN);
  const back = connect(b, "alice", [], 400, { resumeToken: token });
  assert.equal(back.session.state, "ready");
  assert.equal(deliveries(back.effects).get(watcher), undefined, "no join either");
  assert.deepEqual(deliveries(b.tick(5000)).get(watcher)?.filter((m) => m.type === "presence") ?? [], []);
});

Deno.test("Broker announces the leave with its reason once the grace period passes", () => {
  const b = testBroker({ graceMs: 1000 });
  const watcher = connect(b, "watcher").session;
  const alice = connect(b, "alice").session;
  b.drop(alice, "timeout", 0);
  assert.equal(deliveries(b.tick(999)).get(watcher)?.some((m) => m.type === "presence") ?? false, false);
  const later = deliveries(b.tick(1000)).get(watcher)!.filter((m) => m.type === "presence");
  assert.deepEqual(later.map((m) => [(m as { name: string }).name, (m as { reason: string }).reason]), [[
    "alice",
    "timeout",
  ]]);
  assert.equal(connect(b, "alice").session.state, "ready", "the name is free again");
});

Deno.test("Broker lets a resume token take over a live stale connection, closing it as replaced", () => {
  const b = testBroker({ graceMs: 1000 });
  const watcher = connect(b, "watcher").session;
  const first = connect(b, "alice");
  const token = tokenOf(first.effects, first.session);
  const wrong = connect(b, "alice", [], 0, { resumeToken: new Uint8Array(16) });
  assert.equal((deliveries(wrong.effects).get(wrong.session)![0] as Msg).code, ErrorCode.NAME_TAKEN);
  const second = connect(b, "alice", ["lobby", "dev"], 0, { resumeToken: token });
  const d = deliveries(second.effects);
  const told = d.get(first.session)!;
  assert.deepEqual(told.map((m) => m.type === "error" ? (m as Msg).code : m.type), ["REPLACED", "close"]);
  assert.match((told[0] as { message: string }).message, /replaced by a newer session of alice/);
  assert.equal(d.get(watcher), undefined, "lobby sees neither leave nor join");
  assert.equal(b.online, 2);
  assert.notDeepEqual(tokenOf(second.effects, second.session), token, "each welcome carries a fresh token");
});

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
  assert.equal(codeIn(deliveries(c.effects).get(c.session)), ErrorCode.SERVER_FULL);
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
  assert.equal(codeIn(deliveries(taken.effects).get(taken.session)), ErrorCode.NAME_TAKEN);
  const lookalike = transient(b, "\u0430lice");
  assert.equal(codeIn(deliveries(lookalike.effects).get(lookalike.session)), ErrorCode.NAME_TAKEN);
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
  assert.equal(codeIn(nick), ErrorCode.FORBIDDEN, "a transient session has no name to change");
});

Deno.test("Broker: transient sessions count towards the client limit", () => {
  const b = testBroker({ maxClients: 2 });
  transient(b, "send");
  transient(b, "send");
  const third = transient(b, "send");
  assert.equal(codeIn(deliveries(third.effects).get(third.session)), ErrorCode.SERVER_FULL);
});

Deno.test("Broker's WELCOME carries a 16-byte resume token and the store's id", () => {
  const store = new MemoryStore();
  const w = welcomeOf(connect(testBroker({ store }), "alice"));
  assert.equal(w.resumeToken?.byteLength, 16);
  assert.equal(hex(w.storeId!), store.id);
  assert.equal(w.extensions, undefined, "no block of another tag");
});

Deno.test("Broker's WELCOME announces the rate it applies: the configured one, else the default", () => {
  const configured = welcomeOf(connect(testBroker({ rate: { perSecond: 7, burst: 30 } }), "alice"));
  assert.deepStrictEqual(configured.rateLimit, { perSecond: 7, burst: 30 });
  assert.deepStrictEqual(welcomeOf(connect(testBroker(), "alice")).rateLimit, DEFAULT_RATE);
});

Deno.test("Broker's WELCOME announces no rate limit when perSecond is 0 (no limit)", () => {
  const w = welcomeOf(connect(testBroker({ rate: { perSecond: 0, burst: 1 } }), "alice"));
  assert.equal("rateLimit" in w, false);
});

// With a log that answers later: a HELLO is checked again when its read comes back.

/** Alice's HELLO, its read out, then `meanwhile`; returns what alice got once the read is answered. */
async function helloWhile(
  ab: AsyncBroker,
  meanwhile: () => Promise<void> | void,
  rooms: string[] = [],
): Promise<{ alice: Session; got: string[] }> {
  const alice = ab.hello("alice", rooms);
  assert.equal(alice.state, "handshake");
  await meanwhile();
  assert.deepEqual(ab.take(alice), [], "nothing before the read is answered");
  await ab.log.release();
  return { alice, got: labels(ab.take(alice)) };
}

Deno.test("Broker refuses a HELLO with NAME_TAKEN when the name was taken while its read was out", async () => {
  // What takes the name, and how many names are held then (bob's, and the taker's when it is not bob).
  const takers: Array<[string, (ab: AsyncBroker, bob: Session) => void, number]> = [
    ["a /nick", (ab, bob) => ab.handle(bob, { type: "nick", name: "Alice" }), 1],
    ["a look-alike /nick", (ab, bob) => ab.handle(bob, { type: "nick", name: "al1ce" }), 1],
    // A HELLO that names only rooms it has history of needs no read: welcomed at once.
    ["a HELLO with SINCE", (ab) => void ab.hello("ALICE", ["lobby"], { since: new Map([["lobby", 0]]) }), 2],
  ];
  for (const [what, take, online] of takers) {
    const ab = new AsyncBroker();
    const bob = await ab.ready("bob");
    const { alice, got } = await helloWhile(ab, () => take(ab, bob));
    assert.deepEqual(got, [ErrorCode.NAME_TAKEN, "close:name_taken"], what);
    assert.equal(alice.state, "closed", what);
    assert.equal(ab.broker.online, online, what);
  }
});

Deno.test("Broker refuses a HELLO with SERVER_FULL or TOO_MANY_ROOMS when the server filled while its read was out", async () => {
  const full = new AsyncBroker({ maxClients: 1 });
  const bob = () => void full.hello("bob", ["lobby"], { since: new Map([["lobby", 0]]) });
  assert.deepEqual((await helloWhile(full, bob)).got, [ErrorCode.SERVER_FULL, "close:server_full"]);

  const rooms = new AsyncBroker({ maxRooms: 1 });
  const carol = () => void rooms.hello("carol", ["b"], { since: new Map([["b", 0]]) });
  const { got } = await helloWhile(rooms, carol, ["a"]);
  assert.deepEqual(got, [ErrorCode.TOO_MANY_ROOMS, "close:too_many_rooms"]);
  assert.equal(rooms.broker.room("a"), undefined);
});

Deno.test("Broker sends nothing to a HELLO whose connection ended while its read was out", async () => {
  const ab = new AsyncBroker();
  const bob = await ab.ready("bob");
  const alice = ab.hello("alice");
  ab.drop(alice, "disconnected");
  assert.deepEqual(labels(ab.take(alice)), ["close:disconnected"]);
  await ab.log.release();
  assert.deepEqual(ab.take(alice), []);
  assert.deepEqual(ab.take(bob), [], "no join");
  assert.equal(ab.broker.online, 1, "the name was never held");
  assert.equal(ab.broker.room("lobby")!.members.size, 1);
});

Deno.test("Broker closes a HELLO whose read fails with a fatal STORAGE_ERROR, holding nothing", async () => {
  const ab = new AsyncBroker();
  const alice = ab.hello("alice");
  await ab.log.fail(new Error("log unreachable"));
  const got = ab.take(alice) as Array<Msg & { fatal?: boolean; reason?: string }>;
  assert.deepEqual(got.map((m) => m.code ?? m.reason), [ErrorCode.STORAGE_ERROR, "storage_error"]);
  assert.equal(got[0].fatal, true);
  assert.equal(ab.broker.online, 0);
  assert.equal((await ab.ready("alice")).state, "ready", "the name is free");
});

// Resume, room lists, extensions, drop reasons.

Deno.test("Broker accepts the token of the session a resume replaced, in case its WELCOME was lost, but no older one", () => {
  const b = testBroker({ graceMs: 1000 });
  const resume = (token: Uint8Array) => connect(b, "alice", [], 0, { resumeToken: token });
  const first = connect(b, "alice");
  const t1 = tokenOf(first.effects, first.session);
  b.drop(first.session, "disconnected", 1);
  const second = resume(t1);
  assert.equal(second.session.state, "ready");
  // The second WELCOME (and its token) was lost with the connection: the client still holds t1.
  b.drop(second.session, "disconnected", 2);
  const third = resume(t1);
  assert.equal(third.session.state, "ready", "the previous token still resumes");
  b.drop(third.session, "disconnected", 3);
  const fourth = resume(t1);
  assert.equal(
    codeOf(fourth.effects, fourth.session),
    ErrorCode.NAME_TAKEN,
    "two resumes back: not any more",
  );
});

Deno.test("Broker announces the leave of the rooms a resume no longer names, and nothing in the others", () => {
  const b = testBroker({ graceMs: 1000 });
  const lobby = connect(b, "lobbyist").session;
  const dev = connect(b, "dev", ["dev"]).session;
  const first = connect(b, "alice", ["lobby", "dev"]);
  b.drop(first.session, "disconnected", 1);
  const back = connect(b, "alice", ["lobby"], 2, { resumeToken: tokenOf(first.effects, first.session) });
  const d = deliveries(back.effects);
  assert.equal(d.get(lobby), undefined);
  assert.deepEqual(d.get(dev), [{
    type: "presence",
    room: "dev",
    event: "leave",
    name: "alice",
    reason: "left",
    text: "",
    ts: 2,
  }]);
  assert.deepEqual([...back.session.rooms].map((r) => r.name), ["lobby"]);
  assert.equal(b.room("dev")!.size, 1, "the old seat is gone, ghost included");
});

Deno.test("Broker welcomes a HELLO naming a room twice into it once, and refuses one past the room table", () => {
  const b = testBroker({ maxRooms: 2 });
  const { session, effects } = connect(b, "alice", ["dev", "DEV", "dev"]);
  assert.deepEqual((deliveries(effects).get(session)![0] as Any).rooms, ["dev"]);
  const late = connect(b, "bob", ["x", "y"]);
  assert.deepEqual(
    deliveries(late.effects).get(late.session)!.map((m) => (m as Any).code ?? (m as Any).reason),
    [ErrorCode.TOO_MANY_ROOMS, "too_many_rooms"],
    "lobby is not created either: dev and x and y would be three",
  );
  assert.equal(b.room("x"), undefined);
});

Deno.test("Broker.drop() sends the error code that goes with each close reason, and none for the others", () => {
  const cases: Array<[CloseReason, string | undefined]> = [
    ["timeout", ErrorCode.TIMEOUT],
    ["slow_consumer", ErrorCode.SLOW_CONSUMER],
    ["flood", ErrorCode.RATE_LIMITED],
    ["shutdown", ErrorCode.SHUTTING_DOWN],
    ["quit", undefined],
    ["disconnected", undefined],
    ["kicked", undefined],
  ];
  for (const [reason, code] of cases) {
    const b = testBroker();
    const alice = connect(b, "alice").session;
    const got = deliveries(b.drop(alice, reason, 1)).get(alice)! as Any[];
    assert.deepEqual(got.map((m) => m.code ?? m.reason), [...(code ? [code] : []), reason], reason);
    if (code) assert.equal(got[0].fatal, true, reason);
  }
});

Deno.test("Broker.drop() of a session still in its handshake closes it without a leave", () => {
  const b = testBroker({ graceMs: 1000 });
  const bob = connect(b, "bob").session;
  const pending = b.open("127.0.0.1:9", 0);
  const d = deliveries(b.drop(pending, "disconnected", 1));
  assert.deepEqual([...d.keys()], [pending]);
  assert.deepEqual(d.get(pending), [{ type: "close", reason: "disconnected" }]);
  assert.equal(pending.state, "closed", "no ghost: it held nothing");
  assert.equal(b.broker.session(pending.id), undefined);
  assert.equal(bob.state, "ready");
});

Deno.test("Broker.shutdown() ends ghosts too, silently, and frees every name", () => {
  const b = testBroker({ graceMs: 1000 });
  const watcher = connect(b, "watcher").session;
  const ghost = connect(b, "ghost").session;
  b.drop(ghost, "disconnected", 1);
  assert.equal(ghost.state, "ghost");
  const effects = b.shutdown(2);
  assert.deepEqual(effects.filter((e) => e.kind === "broadcast"), [], "no leave for the ghost");
  const d = deliveries(effects);
  assert.deepEqual(types(d.get(watcher)), ["error", "close"]);
  assert.equal(d.get(ghost), undefined, "a ghost has no connection to close");
  assert.equal(ghost.state, "closed");
  assert.equal(b.online, 0);
  assert.equal(b.room("lobby"), undefined, "the empty room is forgotten");
});

Deno.test("sessions that list the same features share one set of them; names this version lacks are left out", () => {
  const b = testBroker();
  const a = connect(b, "alice", [], 0, { features: ["topic", "dms", "x-future"] }).session;
  const c = connect(b, "carol", [], 0, { features: ["dms", "topic"] }).session;
  const d = connect(b, "dave", [], 0, { features: ["topic"] }).session;
  const e = connect(b, "erin", [], 0, { features: ["x-future"] }).session;
  assert.ok(a.features.has("topic") && a.features.has("dms"));
  assert.ok(!a.features.has("x-future"), "an unknown name is not kept");
  assert.equal(a.features, c.features, "same known features, in any order: one shared set");
  assert.notEqual(a.features, d.features);
  assert.deepEqual([...d.features], ["topic"]);
  assert.equal(e.features.size, 0);
});
