// src/chat/heartbeat.ts: pings to quiet peers, spread over the heartbeat; timeouts.

import assert from "node:assert/strict";
import { types } from "../_helpers/chat.ts";
import { connect, deliveries, testBroker } from "../_helpers/effects.ts";
import { pingDelay, tickInterval } from "../../src/chat/broker.ts";
import { heartbeatOf, Wheel } from "../../src/chat/heartbeat.ts";
import { Session } from "../../src/chat/session.ts";
import { Prng, testSeed } from "../_helpers/prng.ts";

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

Deno.test("heartbeatOf() is a third of the timeout, at least 1 ms", () => {
  assert.deepEqual([heartbeatOf(3000), heartbeatOf(3001), heartbeatOf(2), heartbeatOf(0)], [
    1000,
    1000,
    1,
    1,
  ]);
  assert.equal(testBroker({ timeoutMs: 90_000 }).heartbeatMs, 30_000);
});

Deno.test("Broker.tick() counts silence from a peer's last frame, pings once per heartbeat, and drops only past the timeout", () => {
  const b = testBroker({ timeoutMs: 3000 });
  const alice = connect(b, "alice", [], 0).session;
  const delay = pingDelay(alice.id, 1000);
  const pinged = (now: number) => types(deliveries(b.tick(now)).get(alice)).includes("ping");
  b.handle(alice, { type: "pong", token: 0 }, 500); // any frame proves the peer alive
  assert.equal(pinged(500 + delay - 1), false, "silent for less than its delay");
  assert.equal(pinged(500 + delay), true);
  assert.equal(pinged(500 + delay + 999), false, "pinged less than a heartbeat ago");
  assert.equal(pinged(500 + delay + 1000), true, "still silent a heartbeat later: pinged again");
  assert.deepEqual(types(deliveries(b.tick(3500)).get(alice)), [], "silent for exactly the timeout: kept");
  assert.equal(alice.state, "ready");
  assert.deepEqual(types(deliveries(b.tick(3501)).get(alice)), ["error", "close"]);
});

Deno.test("Broker.tick() sends every peer it pings in one check the same PING value, its token the check's time", () => {
  const b = testBroker({ timeoutMs: 3000 });
  const start = 2 ** 32; // the token is the time's low 32 bits
  const peers = ["a", "b", "c"].map((name) => connect(b, name, [], start).session);
  const pings = b.tick(start + 2000).filter((e) => e.kind === "send");
  assert.deepEqual(pings.map((e) => e.kind === "send" && e.to), peers);
  const msgs = pings.map((e) => e.kind === "send" && e.msg);
  assert.ok(msgs.every((m) => m === msgs[0]), "one message object: the runner encodes it once");
  assert.deepEqual(msgs[0], { type: "ping", token: 2000 });
});

Deno.test("Broker.tick() neither pings nor times out a ghost; its grace period ends it", () => {
  const b = testBroker({ timeoutMs: 3000, graceMs: 10_000 });
  const watcher = connect(b, "watcher", [], 0).session;
  const ghost = connect(b, "ghost", [], 0).session;
  b.drop(ghost, "disconnected", 100);
  for (let now = 1000; now < 10_100; now += 500) {
    b.handle(watcher, { type: "pong", token: 0 }, now);
    const d = deliveries(b.tick(now));
    assert.equal(d.get(ghost), undefined, `at ${now}`);
    assert.equal(d.get(watcher), undefined, `at ${now}`);
  }
  const ended = deliveries(b.tick(10_100)).get(watcher)! as Array<{ type: string; reason?: string }>;
  assert.deepEqual(ended.map((m) => [m.type, m.reason]), [["presence", "disconnected"]]);
});

Deno.test("Broker.tick() pings and times out exactly as a check of every session on every tick would", () => {
  // The rule of the protocol, applied to every session on every check: what the wheel must reproduce.
  const rng = new Prng(testSeed(19));
  const b = testBroker({ timeoutMs: 3000, maxClients: 200 });
  const step = tickInterval(b.heartbeatMs);
  const model = new Map<Session, { lastSeen: number; lastPinged: number }>();
  let next = 0;
  for (let now = step; now < 20_000; now += step + rng.int(3)) {
    if (next < 150 && rng.chance(0.5)) {
      const s = connect(b, `p${next++}`, [], now).session;
      model.set(s, { lastSeen: now, lastPinged: 0 });
    }
    for (const [s, m] of model) {
      // Some peers answer, some stay silent until they time out.
      if (s.id % 3 !== 0 && rng.chance(0.02)) {
        b.handle(s, { type: "pong", token: 0 }, now);
        m.lastSeen = now;
      }
    }
    const want = new Map<Session, string>();
    for (const [s, m] of model) {
      const silent = now - m.lastSeen;
      if (silent > 3000) {
        want.set(s, "timeout");
        model.delete(s);
      } else if (silent >= pingDelay(s.id, 1000) && now - m.lastPinged >= 1000) {
        want.set(s, "ping");
        m.lastPinged = now;
      }
    }
    const got = new Map<Session, string>();
    for (const [s, ms] of deliveries(b.tick(now))) {
      const t = types(ms);
      if (t.includes("ping")) got.set(s, "ping");
      else if (t.includes("close")) got.set(s, "timeout");
    }
    assert.deepEqual(
      [...got].map(([s, w]) => `${s.name} ${w}`).sort(),
      [...want].map(([s, w]) => `${s.name} ${w}`).sort(),
      `at ${now} ms (seed ${rng.seed})`,
    );
  }
});

Deno.test("Wheel hands out only the slots that came due, the current one again on the next check", () => {
  const w = new Wheel(100, 0);
  const s = (id: number) => new Session(id, "127.0.0.1:1", 0);
  const [a, b, c, d] = [s(1), s(2), s(3), s(4)];
  const due = (now: number) => {
    const got: number[] = [];
    w.due(now, (x) => got.push(x.id));
    return got;
  };
  w.add(a, 250);
  w.add(b, 120);
  w.add(c, 180);
  w.add(d, 5000);
  assert.deepEqual(due(90), []);
  // Slot 1 (100-199) is due at 150: b and c, in the order they came; a waits for slot 2.
  assert.deepEqual(due(150), [2, 3]);
  assert.equal(w.size, 2);
  // Put back into the current slot (not due yet at 150), it is looked at again on the next check.
  w.add(c, 190);
  assert.deepEqual(due(195), [3]);
  // A visit may put a session back for later; it is not seen twice in one check.
  w.add(c, 260);
  const seen: number[] = [];
  w.due(4000, (x) => {
    seen.push(x.id);
    if (x === c) w.add(c, 4200);
  });
  assert.deepEqual(seen, [1, 3], "a stalled loop catches up, oldest slot first, the far future left alone");
  assert.deepEqual(due(1_000_000), [3, 4]);
  assert.equal(w.size, 0);
});
