// src/chat/commit.ts, the one durability barrier: batching, the order of outcomes, async logs, failures.

import assert from "node:assert/strict";
import { AsyncLog, settled } from "../_helpers/async_log.ts";
import { append, line, probe, read } from "../_helpers/log_jobs.ts";
import { CommitQueue, type LogJob, type LogOutcome } from "../../src/chat/commit.ts";
import {
  type Answer,
  type AppendResult,
  conversationRoom,
  type ConversationTail,
  type Draft,
  type MessageLog,
  type Page,
  type PageQuery,
  type SenderRef,
  type SendReceipt,
  StoreError,
} from "../../src/chat/ports.ts";
import { MemoryStore } from "../../src/store/memory.ts";

/** A queue over `log` that records every outcome, started only by the test. */
function queueOver(log: MessageLog) {
  const outcomes: LogOutcome[] = [];
  const queue = new CommitQueue(log, (o) => outcomes.push(o), () => {});
  return { queue, outcomes, lines: () => outcomes.map(line) };
}

/** The same mix of jobs, every kind and outcome among them. */
const MIX: LogJob[] = [
  append("lobby", "a", 1),
  append("lobby", "b", 1),
  read(1, "lobby"),
  probe("a", 1),
  probe("c", 9),
  append("lobby", "a", 1),
  append("dev", "a", 2),
  read(2, "lobby", "dev", "empty"),
  append("lobby", "c", 3),
];

const MIX_LINES = [
  "append a1: stored lobby#1",
  "append b1: stored lobby#2",
  "read 1: [1,2] last 2",
  "probe a1: #1",
  "probe c9: unknown",
  "append a1: duplicate of lobby#1",
  "append a2: stored dev#1",
  "read 2: [1,2] last 2; [1] last 1; [] last 0",
  "append c3: stored lobby#3",
];

Deno.test("CommitQueue hands consecutive appends to the log as one batch, and each run of probes as one", async () => {
  const log = new AsyncLog(new MemoryStore());
  const { queue } = queueOver(log);
  for (const job of MIX) queue.push(job);
  await queue.run();
  assert.deepEqual(log.calls, [
    { method: "append", count: 2 },
    { method: "page", count: 1, room: "lobby" },
    { method: "receipts", count: 2 },
    { method: "append", count: 2 },
    { method: "page", count: 1, room: "lobby" },
    { method: "page", count: 1, room: "dev" },
    { method: "page", count: 1, room: "empty" },
    { method: "append", count: 1 },
  ]);
});

for (const kind of ["at once", "with promises"] as const) {
  Deno.test(`CommitQueue reports outcomes in job order across kinds, from a log that answers ${kind}`, async () => {
    const store = new MemoryStore();
    const { queue, outcomes, lines } = queueOver(kind === "at once" ? store : new AsyncLog(store));
    for (const job of MIX) queue.push(job);
    const running = queue.run();
    assert.equal(running === undefined, kind === "at once", "a promise only when the log answers later");
    await running;
    assert.deepEqual(lines(), MIX_LINES);
    assert.deepEqual(outcomes.map((o) => o.job), MIX, "each outcome carries its own job");
    assert.equal(queue.pending, 0);
  });
}

Deno.test("CommitQueue lets a read see every append queued before it, and none queued after", async () => {
  for (const log of [new MemoryStore(), new AsyncLog(new MemoryStore())]) {
    const { queue, lines } = queueOver(log);
    queue.push(append("r", "a", 1));
    queue.push(append("r", "a", 2));
    queue.push(read(1, "r"));
    queue.push(append("r", "a", 3));
    queue.push(read(2, "r"));
    await queue.run();
    assert.deepEqual(lines().filter((l) => l.startsWith("read")), [
      "read 1: [1,2] last 2",
      "read 2: [1,2,3] last 3",
    ]);
  }
});

Deno.test("CommitQueue puts jobs pushed during an async batch in the next batch, started when the first ends", async () => {
  const log = new AsyncLog(new MemoryStore(), true);
  const kicks: Array<() => void> = [];
  const outcomes: LogOutcome[] = [];
  const queue = new CommitQueue(log, (o) => outcomes.push(o), (run) => kicks.push(run));
  queue.push(append("r", "a", 1));
  queue.push(append("r", "a", 2));
  assert.equal(kicks.length, 1, "one batch is scheduled for a burst of jobs");
  assert.deepEqual(log.calls, [], "nothing reaches the log before the batch starts");
  kicks[0]();
  assert.deepEqual(log.waiting, [{ method: "append", count: 2 }]);

  queue.push(append("r", "b", 1));
  queue.push(read(7, "r"));
  assert.equal(kicks.length, 1, "no batch is scheduled while one runs");
  const running = queue.run();
  assert.ok(running instanceof Promise);
  let ran = false;
  void running.then(() => ran = true);
  assert.deepEqual(log.calls.length, 1, "run() during a batch starts nothing");
  assert.equal(queue.pending, 3, "two queued jobs and the running batch");

  await log.release();
  assert.deepEqual(outcomes.map(line), ["append a1: stored r#1", "append a2: stored r#2"]);
  assert.deepEqual(
    log.waiting,
    [{ method: "append", count: 1 }],
    "the next batch started as the first ended",
  );
  await log.release();
  assert.deepEqual(log.waiting, [{ method: "page", count: 1, room: "r" }]);
  assert.equal(outcomes.length, 3, "the read is not answered yet");
  assert.equal(ran, false, "run()'s promise waits for the batches that follow it");
  await log.release();
  assert.deepEqual(outcomes.map(line).slice(2), ["append b1: stored r#3", "read 7: [1,2,3] last 3"]);
  assert.equal(ran, true, "run()'s promise: when every batch is answered");
  await running;
  assert.equal(queue.pending, 0);

  queue.push(append("r", "c", 1));
  assert.equal(kicks.length, 2, "an idle queue schedules a batch again");
});

Deno.test("CommitQueue.drained() resolves once every job asked so far is answered", async () => {
  const log = new AsyncLog(new MemoryStore(), true);
  const queue = new CommitQueue(log, () => {}, (run) => queueMicrotask(run));
  await queue.drained(); // nothing asked: at once
  queue.push(append("r", "a", 1));
  queue.push(read(1, "r"));
  await settled();
  assert.deepEqual(log.waiting, [{ method: "append", count: 1 }]);
  // Nothing is queued now, but a batch is out: that counts.
  let drained = false;
  const waiting = queue.drained().then(() => drained = true);
  await log.release();
  queue.push(append("r", "a", 2)); // asked before the queue drained: waited for too
  await log.release();
  assert.equal(drained, false, "one append is still out");
  await log.release();
  assert.equal(drained, true);
  await waiting;
});

/** A log whose chosen methods throw or reject instead of answering: a disk, a network that fails. */
class BrokenLog implements MessageLog {
  readonly id = "broken";
  readonly durable = true;
  #inner = new MemoryStore();
  constructor(readonly how: "throw" | "reject", readonly error: unknown, readonly rooms: string[] = []) {}

  #fail<T>(answer: () => Answer<T>, broken = true): Answer<T> {
    if (!broken) return answer();
    if (this.how === "throw") throw this.error;
    return Promise.reject(this.error);
  }
  append(drafts: readonly Draft[]): Answer<AppendResult[]> {
    return this.#fail(() => this.#inner.append(drafts));
  }
  receipts(refs: readonly SenderRef[]): Answer<Array<SendReceipt | undefined>> {
    return this.#fail(() => this.#inner.receipts(refs));
  }
  page(room: string, query: PageQuery): Answer<Page> {
    return this.#fail(
      () => this.#inner.page(room, query),
      this.rooms.length === 0 || this.rooms.includes(room),
    );
  }
  conversations(key: string, limit: number): Answer<ConversationTail[]> {
    return this.#fail(() => this.#inner.conversations(key, limit), this.rooms.length === 0);
  }
  prune(): number {
    return 0;
  }
  close(): void {}
}

Deno.test("CommitQueue turns a log that throws or rejects into failed outcomes, never an exception", async () => {
  for (const how of ["throw", "reject"] as const) {
    for (const error of [new Error("boom"), new StoreError("full", "disk full"), "a string"]) {
      const what = `${how} ${error instanceof Error ? error.message : error}`;
      const { queue, outcomes, lines } = queueOver(new BrokenLog(how, error));
      queue.push(append("r", "a", 1));
      queue.push(append("r", "a", 2));
      queue.push(probe("a", 1));
      queue.push(read(1, "r"));
      queue.push(append("r", "a", 3));
      await queue.run(); // resolves: a rejection does not escape
      const kind = error instanceof StoreError ? "full" : "io";
      assert.deepEqual(lines(), [
        `append a1: failed (${kind})`,
        `append a2: failed (${kind})`,
        "probe a1: unknown",
        `read 1: error (${kind})`,
        `append a3: failed (${kind})`,
      ], what);
      const failed = outcomes[0] as { result: { error: StoreError } };
      assert.ok(failed.result.error instanceof StoreError, what);
      if (error === "a string") {
        assert.match(failed.result.error.message, /cannot store 2 message\(s\): .*a string/);
      } else if (!(error instanceof StoreError)) assert.match(failed.result.error.message, /boom/);
      else assert.equal(failed.result.error, error, "a StoreError is passed on as it is");
      assert.equal(queue.pending, 0, what);
    }
  }
});

Deno.test("CommitQueue answers a read that fails on one of its rooms once, with the error, and goes on", async () => {
  for (const how of ["throw", "reject"] as const) {
    const { queue, lines } = queueOver(new BrokenLog(how, new StoreError("corrupt", "bad page"), ["bad"]));
    queue.push(read(1, "good", "bad", "good"));
    queue.push(read(2, "good"));
    await queue.run();
    assert.deepEqual(lines(), [
      "read 1: error (corrupt)",
      // The append methods of this log are broken too, but no append was asked: the next read is answered.
      "read 2: [] last 0",
    ], how);
  }
});

Deno.test("CommitQueue lists conversations after a read's pages, seeing every append asked before it", async () => {
  const ab = conversationRoom("a", "b");
  for (const log of [new MemoryStore(), new AsyncLog(new MemoryStore())]) {
    const { queue, lines } = queueOver(log);
    queue.push(append(ab, "a", 1));
    queue.push({ ...read(1, "r"), conversations: { key: "b", limit: 10 } });
    queue.push(append(ab, "b", 2));
    queue.push({ ...read(2), conversations: { key: "a", limit: 10 } });
    queue.push({ ...read(3), conversations: { key: "c", limit: 10 } });
    await queue.run();
    assert.deepEqual(lines(), [
      "append a1: stored @a+b#1",
      "read 1: [] last 0 | @a+b#1",
      "append b2: stored @a+b#2",
      "read 2:  | @a+b#2",
      "read 3:  | ",
    ]);
  }
});

Deno.test("CommitQueue answers a read whose conversation list fails once, with the error, and goes on", async () => {
  for (const how of ["throw", "reject"] as const) {
    const { queue, lines } = queueOver(new BrokenLog(how, new StoreError("io", "no list")));
    queue.push({ ...read(1), conversations: { key: "a", limit: 1 } });
    queue.push(read(2));
    await queue.run();
    assert.deepEqual(lines(), ["read 1: error (io)", "read 2: "], how);
  }
});

Deno.test("CommitQueue gives the same outcomes whether the log answers at once or with promises", async () => {
  // Every kind, duplicates within a batch and across batches, reads between: one script, two logs.
  const script: LogJob[][] = [
    [append("r", "a", 1), append("r", "a", 1), append("s", "b", 1), probe("a", 1)],
    [read(1, "r", "s"), append("r", "b", 2), probe("b", 2), probe("z", 1)],
    [append("s", "b", 1), read(2, "s"), append("r", "c", 1)],
  ];
  const results: string[][] = [];
  for (const log of [new MemoryStore(), new AsyncLog(new MemoryStore())]) {
    const { queue, lines } = queueOver(log);
    for (const batch of script) {
      for (const job of batch) queue.push(job);
      await queue.run();
    }
    results.push(lines());
  }
  assert.deepEqual(results[1], results[0]);
  assert.equal(results[0].length, 11);
  assert.ok(results[0].includes("append a1: duplicate of r#1"), results[0].join("\n"));
});
