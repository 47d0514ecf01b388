import assert from "node:assert/strict";
import { connect, deliveries, testBroker } from "../_helpers/effects.ts";
import { pingDelay, tickInterval } from "../../src/chat/broker.ts";
import { encodeMessage, ErrorCode, MessageFlags, ProtocolError } from "../../src/protocol/mod.ts";

const types = (ms: Array<{ type: string }> | undefined) => (ms ?? []).map((m) => m.type);

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

Deno.test("Broker.handle() announces a join to the other members only", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const { session: bob, effects } = connect(b, "bob");
  const d = deliveries(effects);
  assert.deepEqual(types(d.get(alice)), ["presence"]);
  assert.deepEqual(d.get(alice)![0], {
    type: "presence",
    room: "lobby",
    event: "join",
    name: "bob",
    reason: "",
    text: "",
    ts: 0,
  });
  assert.deepEqual(types(d.get(bob)), ["welcome", "members", "fetched"]);
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
      reason: "invalid_name",
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

Deno.test("Broker.handle() sequences messages per room, delivers to every member and acks the sender", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  const e1 = b.handle(alice, { type: "send", id: 7, room: "lobby", flags: 0, text: "hi" }, 10);
  const d1 = deliveries(e1);
  assert.deepEqual(
    types(d1.get(alice)),
    ["ack", "message"],
    "the sender learns its seq before its copy arrives",
  );
  assert.deepEqual(types(d1.get(bob)), ["message"]);
  assert.deepEqual(d1.get(bob)![0], {
    type: "message",
    room: "lobby",
    seq: 1,
    ts: 10,
    flags: 0,
    from: "alice",
    text: "hi",
  });
  assert.deepEqual(d1.get(alice)![0], { type: "ack", id: 7, room: "lobby", seq: 1, ts: 10 });
  const e2 = b.handle(bob, {
    type: "send",
    id: 7,
    room: "LOBBY",
    flags: MessageFlags.ACTION | MessageFlags.HISTORY,
    text: "waves",
  }, 11);
  const m2 = deliveries(e2).get(alice)![0] as { seq: number; flags: number };
  assert.equal(
    m2.seq,
    2,
    "a second message in the room takes the next seq, even with the same id from another sender",
  );
  assert.equal(m2.flags, MessageFlags.ACTION, "clients cannot set the HISTORY flag");
});

Deno.test("Broker.handle() acks a resent id again with its original seq and does not deliver it twice", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  b.handle(alice, { type: "send", id: 42, room: "lobby", flags: 0, text: "once" }, 1);
  const again = deliveries(
    b.handle(alice, { type: "send", id: 42, room: "lobby", flags: 0, text: "once" }, 2),
  );
  assert.equal(again.get(bob), undefined);
  assert.deepEqual(again.get(alice), [{ type: "ack", id: 42, room: "lobby", seq: 1, ts: 1 }]);
});

Deno.test("Broker.handle() keeps a sender's dedupe across reconnects under the same name", () => {
  const b = testBroker();
  const first = connect(b, "alice").session;
  b.handle(first, { type: "send", id: 5, room: "lobby", flags: 0, text: "x" }, 1);
  b.drop(first, "disconnected", 2);
  const second = connect(b, "Alice").session;
  const d = deliveries(b.handle(second, { type: "send", id: 5, room: "lobby", flags: 0, text: "x" }, 3));
  assert.deepEqual(types(d.get(second)), ["ack"]);
});

Deno.test("Broker.handle() refuses oversized, empty and off-room messages without closing", () => {
  const b = testBroker({ maxText: 10 });
  const alice = connect(b, "alice").session;
  const cases = [
    { text: "x".repeat(11), room: "lobby", code: ErrorCode.TOO_LARGE },
    { text: "é".repeat(6), room: "lobby", code: ErrorCode.TOO_LARGE }, // 12 UTF-8 bytes
    { text: "   ", room: "lobby", code: ErrorCode.INVALID_TEXT },
    { text: "hi", room: "elsewhere", code: ErrorCode.NOT_IN_ROOM },
    { text: "hi", room: "bad room", code: ErrorCode.INVALID_ROOM },
  ];
  let id = 1;
  for (const c of cases) {
    const got = deliveries(b.handle(alice, { type: "send", id: id, room: c.room, flags: 0, text: c.text }, 0))
      .get(alice)!;
    assert.deepEqual(got, [{
      type: "error",
      fatal: false,
      code: c.code,
      ref: id,
      message: (got[0] as { message: string }).message,
    }]);
    id++;
  }
  assert.equal(alice.state, "ready");
  const ok = deliveries(
    b.handle(alice, { type: "send", id: 99, room: "lobby", flags: 0, text: "é".repeat(5) }, 0),
  );
  assert.equal((ok.get(alice)![0] as { seq: number }).seq, 1, "refused messages consume no sequence number");
});

Deno.test("Broker.handle() joins and leaves rooms with presence and member lists", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob", ["dev"]).session;
  const joined = deliveries(b.handle(alice, { type: "join", room: "Dev" }, 5));
  assert.deepEqual(joined.get(alice), [
    { type: "members", room: "dev", more: false, names: ["bob", "alice"] },
    { type: "fetched", room: "dev", count: 0, more: false, lastSeq: 0 },
  ]);
  assert.deepEqual(types(joined.get(bob)), ["presence"]);
  const left = deliveries(b.handle(alice, { type: "leave", room: "dev" }, 6));
  const leave = {
    type: "presence",
    room: "dev",
    event: "leave",
    name: "alice",
    reason: "left",
    text: "",
    ts: 6,
  };
  assert.deepEqual(left.get(alice), [leave]);
  assert.deepEqual(left.get(bob), [leave]);
  const notIn = deliveries(b.handle(alice, { type: "who", room: "dev" }, 7)).get(alice)!;
  assert.equal((notIn[0] as { code: string }).code, ErrorCode.NOT_IN_ROOM);
});

Deno.test("Broker.handle() limits rooms per client", () => {
  const b = testBroker({ maxRoomsPerClient: 2 });
  const alice = connect(b, "alice", ["a", "b"]).session;
  const got = deliveries(b.handle(alice, { type: "join", room: "c" }, 0)).get(alice)!;
  assert.equal((got[0] as { code: string }).code, ErrorCode.TOO_MANY_ROOMS);
  assert.equal(alice.rooms.size, 2);
});

Deno.test("Broker.handle() splits a large member list into MEMBERS frames that fit the frame limit", () => {
  const b = testBroker({ maxClients: 2000, maxFrame: 4096 });
  for (let i = 0; i < 1200; i++) connect(b, `user${String(i).padStart(4, "0")}`);
  const s = connect(b, "last").session;
  const frames = deliveries(b.handle(s, { type: "who", room: "lobby" }, 0)).get(s)! as Array<
    { more: boolean; names: string[] }
  >;
  assert.ok(frames.length > 1);
  assert.ok(frames.slice(0, -1).every((f) => f.more) && !frames.at(-1)!.more);
  assert.equal(frames.flatMap((f) => f.names).length, 1201);
  for (const f of frames) {
    assert.ok(encodeMessage({ type: "members", room: "lobby", ...f }).byteLength - 4 <= 4096);
  }
});

Deno.test("Broker.handle() answers PING with PONG and closes on frames out of place", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  assert.deepEqual(deliveries(b.handle(alice, { type: "ping", token: 9 }, 0)).get(alice), [{
    type: "pong",
    token: 9,
  }]);
  const pre = b.open("127.0.0.1:2", 0);
  const got = deliveries(b.handle(pre, { type: "send", id: 1, room: "lobby", flags: 0, text: "x" }, 0)).get(
    pre,
  )!;
  assert.equal((got[0] as { code: string }).code, ErrorCode.UNEXPECTED_FRAME);
  assert.deepEqual(got[1], { type: "close", reason: "unexpected_frame" });
  const again = deliveries(
    b.handle(alice, { type: "hello", version: 1, name: "alice", rooms: [], extensions: [] }, 0),
  ).get(alice)!;
  assert.equal((again[0] as { code: string }).code, ErrorCode.UNEXPECTED_FRAME);
});

Deno.test("Broker.protocolError() skips unknown frame types but closes on bad frames", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const unknown = deliveries(
    b.protocolError(alice, new ProtocolError(ErrorCode.UNKNOWN_TYPE, "type 0x30"), 0),
  ).get(alice)!;
  assert.deepEqual(types(unknown), ["error"]);
  assert.equal(alice.state, "ready");
  const bad = deliveries(b.protocolError(alice, new ProtocolError(ErrorCode.TOO_LARGE, "big"), 0)).get(
    alice,
  )!;
  assert.deepEqual(bad.at(-1), { type: "close", reason: "too_large" });
});

Deno.test("Broker.tick() pings quiet peers and drops silent ones with TIMEOUT and a leave", () => {
  const b = testBroker({ timeoutMs: 3000 });
  const alice = connect(b, "alice", [], 0).session;
  const bob = connect(b, "bob", [], 0).session;
  const pending = b.open("127.0.0.1:9", 0);
  b.handle(bob, { type: "pong", token: 0 }, 2500);
  // A heartbeat is 1000 ms here; a quiet peer is pinged within one and a half.
  const quiet = deliveries(b.tick(1499));
  assert.deepEqual(types(quiet.get(alice)), ["ping"]);
  assert.equal(quiet.get(pending), undefined, "no pings before the handshake");
  const late = deliveries(b.tick(3001));
  assert.deepEqual(late.get(alice)!.map((m) => m.type === "error" ? (m as { code: string }).code : m.type), [
    "TIMEOUT",
    "close",
  ]);
  assert.deepEqual(late.get(pending)!.at(-1), { type: "close", reason: "timeout" });
  const leave = late.get(bob)!.find((m) => m.type === "presence") as { name: string; reason: string };
  assert.deepEqual([leave.name, leave.reason], ["alice", "timeout"]);
  assert.equal(b.online, 1);
});

Deno.test("pingDelay() spreads peers over half a heartbeat after the first one", () => {
  const delays = Array.from({ length: 64 }, (_, id) => pingDelay(id, 1000));
  assert.ok(delays.every((d) => d >= 1000 && d < 1500), `${delays}`);
  assert.equal(new Set(delays).size, 16, "16 slots, taken in turn by consecutive sessions");
  assert.ok(Math.max(...delays) - Math.min(...delays) >= 400);
  assert.equal(pingDelay(0, 1666), 1666);
  assert.equal(tickInterval(1666), 104);
  assert.equal(tickInterval(30), 20, "at least 20 ms");
  assert.equal(tickInterval(3_600_000), 1000, "at most a second");
});

Deno.test("Broker.tick() pings peers that connected together on different checks, each before the timeout", () => {
  const b = testBroker({ timeoutMs: 3000, maxClients: 100 });
  const peers = Array.from({ length: 64 }, (_, i) => connect(b, `p${i}`, [], 0).session);
  const step = tickInterval(b.heartbeatMs);
  const firstPing = new Map<unknown, number>();
  const pingsAt = new Map<number, number>();
  for (let now = step; now < 3000; now += step) {
    for (const [to, ms] of deliveries(b.tick(now))) {
      if (!types(ms).includes("ping")) continue;
      pingsAt.set(now, (pingsAt.get(now) ?? 0) + 1);
      if (!firstPing.has(to)) firstPing.set(to, now);
    }
  }
  assert.equal(firstPing.size, peers.length, "every silent peer is pinged");
  for (const at of firstPing.values()) assert.ok(at >= 1000 && at < 1500 + step, `first ping at ${at}`);
  assert.ok(pingsAt.size >= 8, `64 pings on only ${pingsAt.size} checks`);
  assert.ok(Math.max(...pingsAt.values()) <= 16, `${Math.max(...pingsAt.values())} pings on one check`);
  // Still silent a heartbeat after its ping, each peer is pinged again before the timeout drops it.
  const total = [...pingsAt.values()].reduce((a, n) => a + n, 0);
  assert.equal(total, 2 * peers.length);
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
