// src/chat/heartbeat.ts: pings to quiet peers, spread over the heartbeat; timeouts.

import assert from "node:assert/strict";
import { types } from "../_helpers/chat.ts";
import { connect, deliveries, testBroker } from "../_helpers/effects.ts";
import { pingDelay, tickInterval } from "../../src/chat/broker.ts";

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
