// src/chat/pipeline.ts: the commit queue for a log that takes calls ahead of their answers.

import assert from "node:assert/strict";
import { AsyncLog, settled } from "../_helpers/async_log.ts";
import { append as appendTo, line, probe, read } from "../_helpers/log_jobs.ts";
import type { LogOutcome } from "../../src/chat/commit.ts";
import { DEPTH, PipelinedQueue, SPLIT_FROM } from "../../src/chat/pipeline.ts";
import { StoreError } from "../../src/chat/ports.ts";
import { MemoryStore } from "../../src/store/memory.ts";

const append = (key: string, id: number) => appendTo("r", key, id);

/**
 * A pipelined queue over a held AsyncLog, started by the test: `kick()` runs what push() scheduled, and
 * `clock.now` is the time the queue sees.
 */
function queueOver() {
  const log = new AsyncLog(new MemoryStore(), true);
  const outcomes: LogOutcome[] = [];
  const kicks: Array<() => void> = [];
  const clock = { now: 0 };
  const queue = new PipelinedQueue(log, (o) => outcomes.push(o), (run) => kicks.push(run), () => clock.now);
  const kick = () => kicks.splice(0).forEach((run) => run());
  return { log, queue, kick, clock, lines: () => outcomes.map(line) };
}

/** Appends one message that the log answers after `tookMs`, then lets the log sit idle for `idleMs`. */
async function oneAppend(q: ReturnType<typeof queueOver>, key: string, tookMs: number, idleMs: number) {
  q.queue.push(append(key, 1));
  q.kick();
  q.clock.now += tookMs;
  await q.log.release();
  q.clock.now += idleMs;
}

Deno.test("PipelinedQueue asks a log idle for longer than its last append took for a long run in two halves at once", async () => {
  const q = queueOver();
  const { log, queue, kick } = q;
  await oneAppend(q, "x", 2, 5);
  const lines = () => q.lines().slice(1);
  const n = SPLIT_FROM + 4;
  for (let id = 1; id <= n; id++) queue.push(append("a", id));
  kick();
  assert.equal(DEPTH, 2);
  assert.deepEqual(log.waiting, [{ method: "append", count: n / 2 }, { method: "append", count: n / 2 }]);
  await log.release();
  assert.equal(lines().length, n / 2, "the first half is delivered while the second is still out");
  assert.equal(lines().at(-1), `append a${n / 2}: stored r#${n / 2 + 1}`);
  await log.release();
  assert.deepEqual(lines(), Array.from({ length: n }, (_, i) => `append a${i + 1}: stored r#${i + 2}`));
  assert.equal(queue.pending, 0);
});

Deno.test("PipelinedQueue keeps a run of appends whole when it is short, or the log's last append took longer than its idle time", async () => {
  const short = queueOver();
  await oneAppend(short, "x", 2, 5);
  for (let id = 1; id < SPLIT_FROM; id++) short.queue.push(append("a", id));
  short.kick();
  assert.deepEqual(short.log.waiting, [{ method: "append", count: SPLIT_FROM - 1 }]);

  // A slow disk: halves would each wait as long as the whole.
  const slow = queueOver();
  await oneAppend(slow, "x", 10, 3);
  for (let id = 1; id <= 2 * SPLIT_FROM; id++) slow.queue.push(append("a", id));
  slow.kick();
  assert.deepEqual(slow.log.waiting, [{ method: "append", count: 2 * SPLIT_FROM }]);

  // Nothing answered yet: nothing known of the log's speed.
  const fresh = queueOver();
  for (let id = 1; id <= 2 * SPLIT_FROM; id++) fresh.queue.push(append("a", id));
  fresh.kick();
  assert.deepEqual(fresh.log.waiting, [{ method: "append", count: 2 * SPLIT_FROM }]);
});

Deno.test("PipelinedQueue holds jobs while two calls are out, and asks for all of them as one call when one is answered", async () => {
  const { log, queue, kick, lines } = queueOver();
  queue.push(append("a", 1));
  kick();
  queue.push(append("b", 1));
  kick();
  assert.deepEqual(log.waiting, [{ method: "append", count: 1 }, { method: "append", count: 1 }], "two out");
  for (let id = 1; id <= SPLIT_FROM + 2; id++) queue.push(append("c", id));
  kick();
  assert.equal(log.waiting.length, 2, "no third call while two are out");
  assert.equal(queue.pending, SPLIT_FROM + 2 + 2);
  await log.release();
  assert.deepEqual(
    log.waiting,
    [{ method: "append", count: 1 }, { method: "append", count: SPLIT_FROM + 2 }],
    "what waited goes as one call, unsplit, behind the one still out",
  );
  await log.release();
  await log.release();
  assert.deepEqual(lines().slice(0, 3), [
    "append a1: stored r#1",
    "append b1: stored r#2",
    "append c1: stored r#3",
  ]);
  assert.equal(lines().length, SPLIT_FROM + 4);
});

Deno.test("PipelinedQueue keeps job order across kinds: a read sees the appends asked before it, outcomes come in order", async () => {
  const { log, queue, kick, lines } = queueOver();
  queue.push(append("a", 1));
  queue.push(append("b", 1));
  queue.push(read(7, "r", "empty"));
  queue.push(probe("a", 1));
  queue.push(probe("z", 9));
  queue.push(append("a", 1));
  kick();
  assert.deepEqual(log.waiting, [
    { method: "append", count: 2 },
    { method: "page", count: 1, room: "r" },
    { method: "page", count: 1, room: "empty" },
    { method: "receipts", count: 2 },
    { method: "append", count: 1 },
  ], "everything asked at once, in job order, a read's pages after the appends before it");
  while (log.waiting.length > 0) await log.release();
  assert.deepEqual(lines(), [
    "append a1: stored r#1",
    "append b1: stored r#2",
    "read 7: [1,2] last 2; [] last 0",
    "probe a1: #1",
    "probe z9: unknown",
    "append a1: duplicate of r#1",
  ]);
});

Deno.test("PipelinedQueue fails only the jobs of a failed call; the next call's appends are numbered on without a gap", async () => {
  const { log, queue, kick, lines } = queueOver();
  queue.push(append("a", 1));
  queue.push(append("a", 2));
  kick();
  queue.push(append("b", 1));
  kick();
  await log.fail(new StoreError("full", "disk full"));
  assert.deepEqual(lines(), ["append a1: failed (full)", "append a2: failed (full)"]);
  await log.release();
  assert.deepEqual(lines().slice(2), ["append b1: stored r#1"]);
  // A read that fails fails as a whole; the queue goes on.
  queue.push(read(3, "r", "r"));
  queue.push(append("c", 1));
  kick();
  await log.fail(new Error("cannot read"));
  while (log.waiting.length > 0) await log.release();
  assert.deepEqual(lines().slice(3), ["read 3: error (io)", "append c1: stored r#2"]);
});

Deno.test("PipelinedQueue.drained() resolves once every job asked so far is answered", async () => {
  const { log, queue, kick } = queueOver();
  await queue.drained();
  queue.push(append("a", 1));
  kick();
  let drained = false;
  const waiting = queue.drained().then(() => drained = true);
  queue.push(append("a", 2));
  kick();
  await log.release();
  await settled();
  assert.equal(drained, false, "one call still out");
  await log.release();
  await waiting;
  assert.equal(drained, true);
  assert.equal(queue.pending, 0);
});

Deno.test("PipelinedQueue asks a run of reads (a burst of joins) as one call; a failed read fails only itself", async () => {
  const { log, queue, kick, lines } = queueOver();
  queue.push(append("a", 1));
  queue.push(read(1, "r"));
  queue.push(read(2, "r", "empty"));
  queue.push(read(3, "r"));
  kick();
  assert.deepEqual(
    log.waiting.map((c) => c.method),
    ["append", "page", "page", "page", "page"],
    "every page asked",
  );
  await log.release();
  await log.fail(new StoreError("io", "cannot read"));
  while (log.waiting.length > 0) await log.release();
  assert.deepEqual(lines(), [
    "append a1: stored r#1",
    "read 1: error (io)",
    "read 2: [1] last 1; [] last 0",
    "read 3: [1] last 1",
  ]);
});

Deno.test("PipelinedQueue asks reads and probes at once even while two calls of appends are out", async () => {
  const { log, queue, kick, lines } = queueOver();
  queue.push(append("a", 1));
  kick();
  queue.push(append("a", 2));
  kick();
  queue.push(read(1, "r"));
  queue.push(probe("a", 1));
  queue.push(append("a", 3));
  kick();
  assert.deepEqual(
    log.waiting.map((c) => c.method),
    ["append", "append", "page", "receipts"],
    "the read and the probe are asked; the third append waits",
  );
  while (log.waiting.length > 0) await log.release();
  assert.deepEqual(lines(), [
    "append a1: stored r#1",
    "append a2: stored r#2",
    "read 1: [1,2] last 2",
    "probe a1: #1",
    "append a3: stored r#3",
  ]);
});
