import assert from "node:assert/strict";
import {
  Exposition,
  Histogram,
  logStats,
  renderMetrics,
  runnerCounters,
  timedLog,
} from "../../src/net/metrics.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { AppendResult, Draft } from "../../src/chat/ports.ts";

Deno.test("Histogram.observe() counts into the first bucket whose bound is not below the value", () => {
  const h = new Histogram([0.1, 1]);
  for (const v of [0.05, 0.1, 0.5, 1, 3]) h.observe(v);
  assert.deepEqual([...h.counts], [2, 2, 1]);
  assert.equal(h.count, 5);
  assert.equal(h.sum, 4.65);
});

Deno.test("Exposition writes the Prometheus text format: HELP, TYPE, samples, cumulative buckets", () => {
  const h = new Histogram([0.1, 1]);
  h.observe(0.05);
  h.observe(2);
  const text = new Exposition()
    .gauge("g", "a gauge", 3)
    .counter("c_total", 'by "kind"', [[{ kind: 'a"b' }, 1], [{ kind: "c" }, 2]])
    .histogram("h_seconds", "time", h)
    .text();
  assert.equal(
    text,
    [
      "# HELP g a gauge",
      "# TYPE g gauge",
      "g 3",
      '# HELP c_total by "kind"',
      "# TYPE c_total counter",
      'c_total{kind="a\\"b"} 1',
      'c_total{kind="c"} 2',
      "# HELP h_seconds time",
      "# TYPE h_seconds histogram",
      'h_seconds_bucket{le="0.1"} 1',
      'h_seconds_bucket{le="1"} 1',
      'h_seconds_bucket{le="+Inf"} 2',
      "h_seconds_sum 2.05",
      "h_seconds_count 2",
      "",
    ].join("\n"),
  );
});

function draft(id: number, text = "hi"): Draft {
  return { room: "lobby", from: "alice", text, flags: 0, ts: 1, sender: { key: "alice", id } };
}

Deno.test("timedLog() times each append batch once and counts stored messages, not duplicates", async () => {
  const stats = logStats();
  const log = timedLog(new MemoryStore(), stats);
  const first = await log.append([draft(1), draft(2)]) as AppendResult[];
  assert.deepEqual(first.map((r) => r.kind), ["stored", "stored"]);
  await log.append([draft(2), draft(3)]);
  assert.equal(stats.accepted, 3, "the resend of 2 is not counted");
  assert.equal(stats.commits.count, 2, "one observation per batch");
});

Deno.test("timedLog() observes a batch the log answers later, and one that fails", async () => {
  const stats = logStats();
  const store = new MemoryStore();
  let fail = false;
  const slow = Object.assign(Object.create(store), {
    append: (drafts: readonly Draft[]) =>
      new Promise<AppendResult[]>((resolve, reject) =>
        setTimeout(
          () => fail ? reject(new Error("disk full")) : resolve(store.append(drafts) as AppendResult[]),
          20,
        )
      ),
  });
  const log = timedLog(slow, stats);
  await log.append([draft(1)]);
  assert.ok(stats.commits.sum >= 0.015, `took ${stats.commits.sum} s`);
  fail = true;
  await assert.rejects(Promise.resolve(log.append([draft(2)])), /disk full/);
  assert.equal(stats.commits.count, 2);
  assert.equal(stats.accepted, 1);
});

Deno.test("renderMetrics() lists every family the README documents", () => {
  const text = renderMetrics({
    connections: { tcp: 1, tls: 2, websocket: 3 },
    httpConnections: 4,
    users: 5,
    rooms: 6,
    outboxBytes: 7,
    outboxesOver: 0,
    log: logStats(),
    runner: runnerCounters(),
    httpResponses: new Map([[404, 2], [200, 1]]),
    healthy: true,
  });
  const names = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(names, [
    "chat_up gauge",
    "chat_connections gauge",
    "chat_http_connections gauge",
    "chat_users gauge",
    "chat_rooms gauge",
    "chat_messages_accepted_total counter",
    "chat_deliveries_total counter",
    "chat_dropped_frames_total counter",
    "chat_closes_total counter",
    "chat_store_commit_seconds histogram",
    "chat_outbox_bytes gauge",
    "chat_outbox_over_budget gauge",
    "chat_http_responses_total counter",
  ]);
  assert.match(text, /^chat_connections\{transport="tls"\} 2$/m);
  assert.match(text, /^chat_closes_total\{reason="slow_consumer"\} 0$/m);
  assert.match(text, /chat_http_responses_total\{code="200"\} 1\nchat_http_responses_total\{code="404"\} 2/);
});
