/**
 * The store contract, run against the cluster's store: the JetStream log and the KV users, on a real
 * nats-server started for each test (.ci/run installs it).
 */

import assert from "node:assert/strict";
import { conversationRoom, type RoomTopic } from "../../src/chat/ports.ts";
import { JetStreamLog, openCluster } from "../../src/store/jetstream/mod.ts";
import { WAIT_MS } from "../_helpers/deadline.ts";
import { type NatsServer, startNats } from "../_helpers/nats.ts";
import { draft, storeContract } from "./contract.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let nats: (NatsServer & { urls: string[] }) | null = null;
let n = 0;

storeContract({
  name: "ClusterStore (JetStream)",
  durable: true,
  // The NATS client keeps timers and sockets past close(): not ours to sanitise.
  testOptions: { sanitizeOps: false, sanitizeResources: false },
  async open(retention) {
    nats = await startNats();
    return await openCluster({
      servers: nats.urls,
      name: `contract${++n}`,
      replicas: 1,
      retention: retention ?? {},
      replayMs: 3600_000,
      logger: quiet,
    });
  },
  async dispose() {
    await nats?.[Symbol.asyncDispose]();
    nats = null;
  },
});

Deno.test({
  name: "ClusterStore shares topics: one node's is read on another, which is told, and outlives both",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using server = await startNats();
  const open = () =>
    openCluster({
      servers: server.urls,
      name: "topics",
      replicas: 1,
      retention: {},
      replayMs: 3600_000,
      logger: quiet,
    });
  const a = await open();
  const b = await open();
  try {
    const told: RoomTopic[] = [];
    let wake = () => {};
    b.rooms.onChange = (t) => {
      told.push(t);
      wake();
    };
    const until = async (ok: () => boolean) => {
      const deadline = Date.now() + WAIT_MS;
      while (!ok() && Date.now() < deadline) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      assert.ok(ok(), `not told in time: ${JSON.stringify(told)}`);
    };
    a.putTopic({ room: "lobby", text: "be kind", by: "alice", ts: 1 });
    await until(() => told.length === 1);
    assert.deepEqual(told[0], { room: "lobby", text: "be kind", by: "alice", ts: 1 });
    assert.deepEqual(b.topic("lobby"), told[0]);
    a.putTopic({ room: "lobby", text: "", by: "bob", ts: 2 });
    await until(() => told.length === 2);
    assert.deepEqual(told[1], { room: "lobby", text: "", by: "bob", ts: 2 }, "a clear says who cleared it");
    assert.equal(b.topic("lobby"), undefined);
    b.putTopic({ room: "dev", text: "ship it", by: "carol", ts: 3 });
  } finally {
    a.close();
    b.close();
  }
  const c = await open();
  try {
    assert.deepEqual(
      c.topic("dev"),
      { room: "dev", text: "ship it", by: "carol", ts: 3 },
      "a restart reads it",
    );
  } finally {
    c.close();
  }
});

Deno.test({
  name: "JetStreamLog lists conversations older than a node's replay window, read from the stream's subjects",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await using server = await startNats();
  const options = { servers: server.urls, name: "older", replicas: 1, retention: {}, logger: quiet };
  const ab = conversationRoom("alice", "bob");
  const ac = conversationRoom("alice", "carol");
  const first = await JetStreamLog.open({ ...options, replayMs: 3600_000 });
  try {
    await first.append([draft(ab, "alice", 1, "old news", Date.now() - 5000)]);
    await first.append([draft(ab, "bob", 1, "older still", Date.now() - 4000)]);
  } finally {
    first.close();
  }
  // A node that replays nothing of the past: those records are not in its view, only in the stream.
  const later = await JetStreamLog.open({ ...options, replayMs: 1 });
  try {
    assert.deepEqual(await later.conversations("bob", 10), [{
      room: ab,
      lastSeq: 2,
      ts: await tsOf(later, ab),
    }]);
    await later.append([draft(ac, "carol", 1, "new", Date.now())]);
    const list = await later.conversations("alice", 10);
    assert.deepEqual(
      list.map((c) => [c.room, c.lastSeq]),
      [[ac, 1], [ab, 2]],
      "the view's and the older ones",
    );
    assert.deepEqual((await later.conversations("alice", 1)).map((c) => c.room), [ac]);
    assert.deepEqual(await later.conversations("dave", 10), []);
  } finally {
    later.close();
  }
});

/** The time of the last message of `room`, as the log pages it. */
async function tsOf(log: JetStreamLog, room: string): Promise<number> {
  const page = await log.page(room, { after: 0, before: Number.MAX_SAFE_INTEGER, limit: 1 });
  return page.messages[0].ts;
}
