// src/net/runner.ts with fake peers: encode once, reads hold their peer, in-flight charges, slow consumers.

import assert from "node:assert/strict";
import { brokerOver } from "../_helpers/async_broker.ts";
import { AsyncLog, settled } from "../_helpers/async_log.ts";
import { concat } from "../_helpers/bytes.ts";
import { Prng } from "../_helpers/prng.ts";
import type { Broker, BrokerOptions } from "../../src/chat/broker.ts";
import type { CloseReason } from "../../src/chat/close.ts";
import type { Effect } from "../../src/chat/effects.ts";
import type { Session } from "../../src/chat/session.ts";
import { silentLogger } from "../../src/net/log.ts";
import { type ByteWriter, Outbox } from "../../src/net/outbox.ts";
import { type Peer, Runner, SLOW_CONSUMER_MS } from "../../src/net/runner.ts";
import {
  decodeServerMessage,
  encodeMessage,
  FrameDecoder,
  type ServerMessage,
} from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

/** A socket's write side that keeps what it is given (the views themselves) and completes at once, unless held. */
class Writer implements ByteWriter {
  readonly writes: Uint8Array[] = [];
  held = false;
  #pending: Array<() => void> = [];

  write(bytes: Uint8Array): Promise<number> {
    this.writes.push(bytes);
    if (!this.held) return Promise.resolve(bytes.byteLength);
    return new Promise((resolve) => this.#pending.push(() => resolve(bytes.byteLength)));
  }

  /** Stops holding writes and completes those held. */
  flow(): void {
    this.held = false;
    for (const go of this.#pending.splice(0)) go();
  }
}

/** A connection as the runner sees it, recording what the runner asks of it. */
class FakePeer implements Peer {
  readonly writer = new Writer();
  readonly outbox: Outbox;
  closing = false;
  readonly closes: CloseReason[] = [];
  holds = 0;
  /** Bytes on the outbox at each release: what the read's answer queued before its peer went on. */
  readonly releases: number[] = [];
  readonly charges: number[] = [];

  constructor(budget: number) {
    this.outbox = new Outbox(this.writer, budget);
  }
  close(reason: CloseReason): void {
    this.closing = true;
    this.closes.push(reason);
  }
  hold(): void {
    this.holds++;
  }
  release(): void {
    this.holds--;
    this.releases.push(this.outbox.queuedBytes);
  }
  charge(bytes: number): void {
    this.charges.push(bytes);
  }

  /** The messages written so far, decoded; forgets them. */
  take(): ServerMessage[] {
    const frames = new FrameDecoder().push(concat(this.writer.writes.splice(0)));
    return frames.map((f) => decodeServerMessage(f));
  }
}

/** True when `a` and `b` are the same bytes in memory, not equal copies. */
const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.byteLength === b.byteLength;

/** A broker and a runner over a log that answers a microtask later, or (held) when the test says. */
function setup(held = false, overrides: Partial<BrokerOptions> = {}) {
  const store = new MemoryStore();
  const log = new AsyncLog(store, held);
  const broker = brokerOver(store, {
    maxClients: 50,
    timeoutMs: 600_000,
    maxText: 4096,
    maxRoomsPerClient: 5,
    ...overrides,
  });
  const runner = new Runner({ broker, log, logger: silentLogger, schedule: (run) => queueMicrotask(run) });
  let n = 0;
  /** A session with a fake peer, its HELLO sent; welcomed once its read is answered. */
  const open = (name: string, rooms: string[] = [], budget = 1 << 20) => {
    const s = broker.open(`10.0.0.1:${++n}`, Date.now());
    const peer = new FakePeer(budget);
    runner.attach(s.id, peer);
    runner.perform(broker.handle(s, { type: "hello", version: 1, name, rooms, extensions: [] }, Date.now()));
    return { s, peer };
  };
  /** A welcomed session, what it was sent so far forgotten. */
  const ready = async (name: string, rooms: string[] = [], budget = 1 << 20) => {
    const one = open(name, rooms, budget);
    if (held) await log.release();
    else await settled();
    assert.equal(one.s.state, "ready", name);
    return one;
  };
  const handle = (s: Session, msg: Parameters<Broker["handle"]>[1]) =>
    runner.perform(broker.handle(s, msg, Date.now()));
  return { broker, runner, log, open, ready, handle };
}

const notice = (text: string): ServerMessage => ({ type: "notice", kind: "motd", text });

/** Writes what the peers' outboxes hold, presence that may wait included (Outbox LAZY_MS), and forgets it. */
async function flush(peers: Array<{ peer: FakePeer }>): Promise<void> {
  await Promise.all(peers.map(({ peer }) => peer.outbox.flushed()));
  for (const { peer } of peers) peer.take();
}

Deno.test("Runner encodes a broadcast once and queues the same bytes on every member's outbox", async () => {
  const { runner, ready } = setup();
  const members = [await ready("a"), await ready("b"), await ready("c")];
  await settled();
  await flush(members);
  runner.perform([{ kind: "broadcast", room: "lobby", msg: notice("to everyone"), except: members[1].s.id }]);
  await settled();
  const [a, b, c] = members.map(({ peer }) => peer.writer.writes);
  assert.equal(b.length, 0, "the one excepted gets nothing");
  assert.deepEqual([a.length, c.length], [1, 1]);
  assert.ok(sameBytes(a[0], c[0]), "one frame in memory, written to each member");
  assert.deepEqual(members[0].peer.take(), [notice("to everyone")]);
});

Deno.test("Runner lays a room's presence end to end: a burst reaches each member as one shared run of bytes", async () => {
  const { runner, ready } = setup();
  const members = [await ready("a", ["dev"]), await ready("b", ["dev"]), await ready("c", ["dev"])];
  const elsewhere = await ready("d", ["lobby"]);
  await settled();
  await flush([...members, elsewhere]);
  const event = (name: string): ServerMessage => ({
    type: "presence",
    room: "dev",
    event: "away",
    name,
    reason: "",
    text: "lunch",
    ts: 1,
  });
  // Another room's broadcast in between takes nothing from the run: each room has its own arena.
  runner.perform([
    { kind: "broadcast", room: "dev", msg: event("x"), except: 0 },
    { kind: "broadcast", room: "lobby", msg: notice("elsewhere"), except: 0 },
    { kind: "broadcast", room: "dev", msg: event("y"), except: 0 },
    { kind: "broadcast", room: "dev", msg: event("z"), except: 0 },
  ]);
  await Promise.all(members.map(({ peer }) => peer.outbox.flushed()));
  const [a, b, c] = members.map(({ peer }) => peer.writer.writes.splice(0));
  assert.deepEqual([a.length, b.length, c.length], [1, 1, 1], "one write each");
  assert.ok(sameBytes(a[0], b[0]) && sameBytes(a[0], c[0]), "the same bytes in memory, not copies");
  const names = new FrameDecoder().push(a[0]).map((f) => decodeServerMessage(f)).map((m) =>
    m.type === "presence" ? m.name : m.type
  );
  assert.deepEqual(names, ["x", "y", "z"]);
  await flush([elsewhere]);
});

Deno.test("Runner sends a broadcast to the room's members as they are when it is performed", async () => {
  const { runner, ready, handle } = setup();
  const a = await ready("a", ["dev"]);
  const b = await ready("b", ["dev"]);
  runner.perform([{ kind: "broadcast", room: "dev", msg: notice("one"), except: 0 }]);
  handle(b.s, { type: "leave", room: "dev" });
  const c = await ready("c", ["dev"]);
  await settled();
  await flush([a, b, c]);
  runner.perform([{ kind: "broadcast", room: "dev", msg: notice("two"), except: 0 }]);
  await settled();
  assert.deepEqual(a.peer.take(), [notice("two")]);
  assert.deepEqual(b.peer.take(), [], "left before it");
  assert.deepEqual(c.peer.take(), [notice("two")], "joined before it");
});

Deno.test("Runner sends each broadcast once to every member through random joins and leaves (its kept fan-out list grows by a joiner)", async () => {
  for (let seed = 1; seed <= 8; seed++) {
    const prng = new Prng(seed);
    const rnd = () => prng.next();
    const { runner, ready, handle } = setup();
    const peers = [];
    for (let i = 0; i < 8; i++) peers.push(await ready(`u${i}`, i % 2 === 0 ? ["dev"] : []));
    await settled();
    await flush(peers);
    for (let step = 0; step < 40; step++) {
      // One to three membership changes, then a broadcast: every member gets it exactly once, nobody else.
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
        const p = peers[Math.floor(rnd() * peers.length)];
        handle(p.s, { type: rnd() < 0.5 ? "join" : "leave", room: "dev" });
        await settled();
      }
      await flush(peers);
      const text = `seed ${seed} step ${step}`;
      runner.perform([{ kind: "broadcast", room: "dev", msg: notice(text), except: 0 }]);
      await settled();
      const inRoom = (s: Session) => [...s.rooms].some((r) => r.name === "dev");
      for (const p of peers) {
        const got = p.peer.take().filter((m) => m.type === "notice");
        assert.deepEqual(got, inRoom(p.s) ? [notice(text)] : [], `${text}, ${p.s.name}`);
      }
    }
  }
});

Deno.test("Runner encodes a message sent to many sessions once, and a heartbeat's pings once", async () => {
  const { runner, ready } = setup(false, { timeoutMs: 30_000 });
  const peers = [await ready("a"), await ready("b"), await ready("c")];
  await settled();
  await flush(peers);
  const msg = notice("the same value");
  const [a, b, c] = peers;
  runner.perform([
    { kind: "send", to: a.s.id, msg },
    { kind: "send", to: b.s.id, msg },
    { kind: "send", to: c.s.id, msg: { ...msg } }, // equal, but another value: encoded again
  ]);
  await settled();
  const [wa, wb, wc] = peers.map(({ peer }) => peer.writer.writes.splice(0));
  assert.ok(sameBytes(wa[0], wb[0]), "one encoding for the same message");
  assert.ok(!sameBytes(wa[0], wc[0]), "another message value: its own encoding");
  assert.deepEqual(wa[0], wc[0]);

  // Silent for two heartbeats (10 s each), far from the timeout: every peer is pinged, none dropped.
  runner.tick(Date.now() + 20_000);
  await settled();
  const pings = peers.map(({ peer }) => peer.writer.writes.splice(0));
  assert.ok(pings.every((w) => w.length === 1 && sameBytes(w[0], pings[0][0])), "one PING frame for all");
  assert.equal(decodeServerMessage(new FrameDecoder().push(pings[0][0])[0]).type, "ping");
});

Deno.test("Runner holds a peer while its read is out and releases it once the answer's effects are queued", async () => {
  const { log, open, handle } = setup(true);
  const { s, peer } = open("alice");
  assert.equal(peer.holds, 1, "held from the moment the read is asked");
  await settled();
  assert.deepEqual([peer.releases, peer.writer.writes], [[], []]);
  await log.release();
  assert.equal(peer.holds, 0);
  const written = peer.writer.writes.reduce((n, w) => n + w.byteLength, 0);
  assert.deepEqual(peer.releases, [written], "released with the welcome already queued");
  assert.deepEqual(peer.take().map((m) => m.type), ["welcome", "members", "fetched"]);

  handle(s, { type: "join", room: "dev" });
  assert.equal(peer.holds, 1);
  await log.release();
  assert.equal(peer.holds, 0);
  assert.ok(peer.releases[1] > 0);
  assert.deepEqual(peer.take().map((m) => m.type), ["members", "fetched"]);
});

Deno.test("Runner charges a sender's peer for each message until the log answers, stored or not", async () => {
  const { log, ready, handle } = setup(true);
  const { s, peer } = await ready("alice");
  peer.take();
  handle(s, { type: "send", id: 1, room: "lobby", flags: 0, text: "x".repeat(100) });
  assert.equal(peer.charges.length, 1);
  assert.ok(peer.charges[0] >= 100, `charged ${peer.charges[0]} bytes for 100 of text`);
  await log.release();
  assert.deepEqual(peer.charges, [peer.charges[0], -peer.charges[0]], "refunded once stored");
  assert.deepEqual(peer.take().map((m) => m.type), ["ack", "message"]);

  handle(s, { type: "send", id: 2, room: "lobby", flags: 0, text: "y" });
  await log.fail(new Error("log unreachable"));
  assert.equal(peer.charges.reduce((a, n) => a + n, 0), 0, "refunded when the append failed too");
  assert.deepEqual(peer.take().map((m) => m.type === "error" ? m.code : m.type), ["STORAGE_ERROR"]);
});

/** Frames enough to take an outbox of `budget` bytes over it, and not past its hard limit. */
const overBudget = (s: Session, budget: number): Effect[] =>
  Array.from({ length: 3 }, () => ({ kind: "send", to: s.id, msg: notice("z".repeat(budget / 2)) }));

Deno.test("Runner.tick() drops a peer whose outbox stays over its budget for SLOW_CONSUMER_MS, not one that drains", async () => {
  const { runner, ready, broker } = setup();
  const slow = await ready("slow", [], 400); // never drains
  const drained = await ready("drained", [], 400); // drains, and stays drained
  const again = await ready("again", [], 400); // drains, then goes over once more
  await settled();
  const before = Date.now();
  for (const { s, peer } of [slow, drained, again]) {
    peer.writer.held = true;
    runner.perform(overBudget(s, 400));
    assert.equal(peer.outbox.over, true);
  }
  const after = Date.now();
  drained.peer.writer.flow();
  again.peer.writer.flow();
  await settled();
  assert.deepEqual([drained.peer.outbox.over, again.peer.outbox.over], [false, false], "both read it all");
  // The runner reads the real clock: let it move past the first time (macrotasks until Date.now() does), so
  // that the second time `again` goes over is later than the first, with no tick in between.
  while (Date.now() <= after + 1) await settled();
  again.peer.writer.held = true;
  runner.perform(overBudget(again.s, 400));

  runner.tick(before + SLOW_CONSUMER_MS - 1);
  assert.deepEqual(
    [slow, drained, again].map(({ peer }) => peer.closes),
    [[], [], []],
    "not for long enough",
  );
  runner.tick(after + SLOW_CONSUMER_MS);
  assert.deepEqual(slow.peer.closes, ["slow_consumer"]);
  assert.equal(slow.s.state, "closed");
  assert.deepEqual(drained.peer.closes, []);
  assert.equal(broker.session(drained.s.id), drained.s);
  assert.deepEqual(again.peer.closes, [], "its clock started again when it went over again");
  runner.tick(Date.now() + SLOW_CONSUMER_MS);
  assert.deepEqual(again.peer.closes, ["slow_consumer"], "and it is dropped once it stays over");
  assert.deepEqual(drained.peer.closes, []);
});

Deno.test("Runner drops a peer at once when a frame would take its outbox past the hard limit, send or broadcast", async () => {
  const { runner, ready } = setup();
  const sent = await ready("sent", [], 400);
  const fanned = await ready("fanned", ["dev"], 400);
  const other = await ready("other", ["dev"]);
  await settled();
  for (const { peer } of [sent, fanned, other]) peer.take();
  sent.peer.writer.held = true;
  fanned.peer.writer.held = true;
  // Ten bytes short of its hard limit: what is queued stays, and the last error still goes on top.
  const limit = sent.peer.outbox.limit;
  const fill = notice("f".repeat(limit - 10 - encodeMessage(notice("")).byteLength));
  const big = notice("w".repeat(400 * 8));
  runner.perform([{ kind: "send", to: sent.s.id, msg: fill }]);
  assert.equal(sent.peer.outbox.queuedBytes, limit - 10);
  assert.deepEqual(sent.peer.closes, []);
  runner.perform([{ kind: "send", to: sent.s.id, msg: big }]);
  assert.deepEqual(sent.peer.closes, ["slow_consumer"]);
  runner.perform([{ kind: "broadcast", room: "dev", msg: big, except: 0 }]);
  assert.deepEqual(fanned.peer.closes, ["slow_consumer"]);
  assert.deepEqual(other.peer.closes, [], "a member with room for it gets it");
  await settled();
  assert.ok(other.peer.take().some((m) => m.type === "notice"));
  // The one dropped still gets what was queued and its last error, past its limit.
  sent.peer.writer.flow();
  await settled();
  assert.deepEqual(sent.peer.take().map((m) => m.type === "error" ? [m.code, m.fatal] : m.type), [
    "notice",
    ["SLOW_CONSUMER", true],
  ]);
});
