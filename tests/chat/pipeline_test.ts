// src/chat/pipeline.ts: the commit queue for a log that takes calls ahead of their answers.

import assert from "node:assert/strict";
import { AsyncLog, settled } from "../_helpers/async_log.ts";
import { append as appendTo, line, probe, read } from "../_helpers/log_jobs.ts";
import { Prng } from "../_helpers/prng.ts";
import { CommitQueue, type LogJob, type LogOutcome } from "../../src/chat/commit.ts";
import { PipelinedQueue } from "../../src/chat/pipeline.ts";
import { conversationRoom, StoreError } from "../../src/chat/ports.ts";
import { MemoryStore } from "../../src/store/memory.ts";

const append = (key: string, id: number) => appendTo("r", key, id);

/** A pipelined queue over a held AsyncLog, started by the test: `kick()` runs what push() scheduled. */
function queueOver() {
  const log = new AsyncLog(new MemoryStore(), true);
  const outcomes: LogOutcome[] = [];
  const kicks: Array<() => void> = [];
  const queue = new PipelinedQueue(log, (o) => outcomes.push(o), (run) => kicks.push(run));
  const kick = () => kicks.splice(0).forEach((run) => run());
  return { log, queue, kick, lines: () => outcomes.map(line) };
}

Deno.test("PipelinedQueue keeps one call of appends out; what arrives meanwhile goes as one call when it is answered", async () => {
  const { log, queue, kick, lines } = queueOver();
  queue.push(append("a", 1));
  queue.push(append("a", 2));
  kick();
  queue.push(append("b", 1));
  kick();
  queue.push(append("c", 1));
  kick();
  assert.deepEqual(log.waiting, [{ method: "append", count: 2 }], "one commit at a time");
  assert.equal(queue.pending, 3);
  await log.release();
  assert.deepEqual(lines(), ["append a1: stored r#1", "append a2: stored r#2"]);
  assert.deepEqual(
    log.waiting,
    [{ method: "append", count: 2 }],
    "the two that waited share the next commit",
  );
  await log.release();
  assert.deepEqual(lines().slice(2), ["append b1: stored r#3", "append c1: stored r#4"]);
  assert.equal(queue.pending, 0);
});

Deno.test("PipelinedQueue asks the log for the next commit before it delivers the last one's outcomes", async () => {
  const log = new AsyncLog(new MemoryStore(), true);
  const kicks: Array<() => void> = [];
  // What the log had been asked when each outcome was delivered: the fan-out of a commit overlaps the next.
  const askedAt: string[] = [];
  const queue = new PipelinedQueue(
    log,
    (o) => askedAt.push(`${line(o)} while ${JSON.stringify(log.waiting)}`),
    (run) => kicks.push(run),
  );
  queue.push(append("a", 1));
  kicks.splice(0).forEach((run) => run());
  queue.push(append("b", 1));
  queue.push(append("b", 2));
  await log.release();
  assert.deepEqual(askedAt, ['append a1: stored r#1 while [{"method":"append","count":2}]']);
  await log.release();
  assert.deepEqual(askedAt.slice(1), [
    "append b1: stored r#2 while []",
    "append b2: stored r#3 while []",
  ]);
  assert.equal(queue.pending, 0);
});

Deno.test("PipelinedQueue asks reads and probes at once while an append is out, and keeps job order", async () => {
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
  ], "the read and the probes are asked behind the append; the next append waits for it");
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

Deno.test("PipelinedQueue fails only the jobs of a failed call; the next appends are numbered on without a gap", async () => {
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

Deno.test("PipelinedQueue answers a read with its list of conversations, asked with its pages", async () => {
  const { log, queue, kick, lines } = queueOver();
  queue.push(appendTo(conversationRoom("ann", "bob"), "ann", 1));
  queue.push({ ...read(4, "r"), conversations: { key: "bob", limit: 10 } });
  kick();
  assert.deepEqual(log.waiting.map((c) => c.method), ["append", "page", "conversations"]);
  while (log.waiting.length > 0) await log.release();
  assert.deepEqual(lines(), ["append ann1: stored @ann+bob#1", "read 4: [] last 0 | @ann+bob#1"]);
});

Deno.test("PipelinedQueue answers random jobs, asked and answered at random moments, as CommitQueue answers them one by one", async () => {
  for (let seed = 1; seed <= 60; seed++) {
    const prng = new Prng(seed);
    const rnd = () => prng.next();
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const jobs: LogJob[] = [];
    for (let i = 0; i < 30; i++) {
      const r = rnd();
      // Few senders and ids, so that resends (duplicates, probes that find a receipt) are common.
      if (r < 0.55) jobs.push(appendTo(pick(["r", "s"]), pick(["a", "b"]), 1 + Math.floor(rnd() * 6)));
      else if (r < 0.75) jobs.push(probe(pick(["a", "b"]), 1 + Math.floor(rnd() * 6)));
      else jobs.push(read(i, ...(rnd() < 0.5 ? ["r"] : ["r", "s"])));
    }
    // The reference: a synchronous log, each job alone, in order.
    const expected: LogOutcome[] = [];
    const reference = new CommitQueue(new MemoryStore(), (o) => expected.push(o), () => {});
    for (const job of jobs) {
      reference.push(job);
      reference.run();
    }
    // The pipelined queue over a held log: pushes, kicks and answers interleaved at random.
    const { log, queue, kick, lines } = queueOver();
    let next = 0;
    while (next < jobs.length || queue.pending > 0) {
      const r = rnd();
      if (next < jobs.length && r < 0.5) queue.push(jobs[next++]);
      else if (r < 0.7) kick();
      else if (log.waiting.length > 0) await log.release();
      else kick();
      if (next === jobs.length && log.waiting.length === 0) {
        kick();
        await settled();
      }
    }
    assert.deepEqual(lines(), expected.map(line), `seed ${seed}`);
  }
});
