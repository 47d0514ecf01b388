/**
 * The commit queue for a log that takes calls ahead of their answers
 * ({@linkcode MessageLog.pipelined}: it answers in the order asked, each
 * call seeing every earlier one, as a log on a thread of its own does).
 * Same jobs, same outcomes in the same order as {@linkcode CommitQueue};
 * what differs is when the log is asked.
 *
 * {@linkcode CommitQueue} asks once the last call is answered and its
 * outcomes delivered: with a log on another thread, a burst of joins then
 * waits for it one read at a time. Here reads and probes are asked as soon
 * as they reach the head of the queue, a run of them as one call, behind
 * whatever is out. Appends still go one call at a time: what arrives while
 * a commit runs shares the next one, asked as soon as the commit is answered
 * and before its outcomes are delivered, so the log commits the next batch
 * while this thread fans out the last (BENCHMARKS.md, change 19).
 *
 * Splitting a burst of appends in two, so that the first half's ACKs go out
 * while the second half commits, was measured and dropped (BENCHMARKS.md,
 * change 15): on two cores shared with the load generator it halved the
 * messages per socket write and cost more than the overlap gained.
 *
 * @module
 */

import { asStoreError, type LogJob, type LogOutcome, type ReadJob } from "./commit.ts";
import type { MessageLog } from "./ports.ts";

/** One call out: its jobs' outcomes, once the log answered. */
interface Call {
  outcomes: LogOutcome[] | null;
}

export class PipelinedQueue {
  readonly log: MessageLog;
  #jobs: LogJob[] = [];
  #calls: Call[] = [];
  #appending = false;
  #deliver: (outcome: LogOutcome) => void;
  #schedule: (run: () => void) => void;
  #scheduled = false;
  #idle: Array<() => void> = [];

  /** As {@linkcode CommitQueue}'s: `deliver` gets each outcome in job order; `schedule` starts asking later. */
  constructor(log: MessageLog, deliver: (outcome: LogOutcome) => void, schedule: (run: () => void) => void) {
    this.log = log;
    this.#deliver = deliver;
    this.#schedule = schedule;
  }

  /** Jobs asked for and not yet answered (a call out counts as one). */
  get pending(): number {
    return this.#jobs.length + this.#calls.length;
  }

  push(job: LogJob): void {
    this.#jobs.push(job);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(this.#kick);
  }

  #kick = (): void => {
    this.#scheduled = false;
    this.run();
  };

  /** Asks the log for what is queued, up to an append while another is out; the rest goes as calls are answered. */
  run(): void {
    while (this.#jobs.length > 0 && !(this.#jobs[0].kind === "append" && this.#appending)) {
      const jobs = this.#take();
      const append = jobs[0].kind === "append";
      const call: Call = { outcomes: null };
      this.#calls.push(call);
      if (append) this.#appending = true;
      void this.#ask(jobs).then((outcomes) => {
        call.outcomes = outcomes;
        if (append) this.#appending = false;
        this.#settle();
      });
    }
    this.#wakeIdle();
  }

  /** Resolves once nothing is queued or out. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Asks for what waits (the next commit above all), then delivers the answered calls at the head, in
   * order: the log works on the next commit while this thread fans the last one out.
   */
  #settle(): void {
    this.run();
    while (this.#calls.length > 0 && this.#calls[0].outcomes !== null) {
      const { outcomes } = this.#calls.shift()!;
      for (const o of outcomes!) this.#deliver(o);
    }
    this.#wakeIdle();
  }

  #wakeIdle(): void {
    if (this.#idle.length === 0 || this.pending > 0) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const wake of idle) wake();
  }

  /** The next call's jobs: the run of one kind at the head of the queue (one call for a burst of joins). */
  #take(): LogJob[] {
    const kind = this.#jobs[0].kind;
    let end = 1;
    while (end < this.#jobs.length && this.#jobs[end].kind === kind) end++;
    return this.#jobs.splice(0, end);
  }

  /** Asks the log for `jobs` (all of one kind) and turns its answer, or failure, into their outcomes. */
  async #ask(jobs: LogJob[]): Promise<LogOutcome[]> {
    const first = jobs[0];
    if (first.kind === "read") {
      // Every page of every read is asked now, in order; the outcomes come back in the same order.
      const reads = (jobs as ReadJob[]).map((job) => this.#read(job));
      return (await Promise.all(reads)).flat();
    }
    if (first.kind === "append") {
      const appends = jobs as Array<LogJob & { kind: "append" }>;
      try {
        const results = await this.log.append(appends.map((j) => j.draft));
        return appends.map((job, k) => ({ kind: "append", job, result: results[k] }));
      } catch (err) {
        const error = asStoreError(err, `cannot store ${appends.length} message(s)`);
        return appends.map((job) => ({ kind: "append", job, result: { kind: "failed", error } }));
      }
    }
    const probes = jobs as Array<LogJob & { kind: "probe" }>;
    try {
      const receipts = await this.log.receipts(probes.map((j) => j.sender));
      return probes.map((job, k) => ({ kind: "probe", job, receipt: receipts[k] }));
    } catch {
      // A probe that cannot be answered counts as "not stored": the refusal stands.
      return probes.map((job) => ({ kind: "probe", job, receipt: undefined }));
    }
  }

  /**
   * Every page of `job`, and its list of conversations, asked now, before any later call (the log answers
   * in order); the first failure fails the read.
   */
  async #read(job: ReadJob): Promise<LogOutcome[]> {
    const ask = <T>(question: () => T | Promise<T>, doing: string): Promise<T> => {
      try {
        return Promise.resolve(question()).catch((err) => {
          throw asStoreError(err, doing);
        });
      } catch (err) {
        return Promise.reject(asStoreError(err, doing));
      }
    };
    const pages = job.reads.map(({ room, query }) =>
      ask(() => this.log.page(room, query), `cannot read ${room}`)
    );
    const list = job.conversations;
    const conversations = list
      ? ask(() => this.log.conversations(list.key, list.limit), "cannot list conversations")
      : undefined;
    try {
      const read = await Promise.all(pages);
      return conversations
        ? [{ kind: "read", job, pages: read, conversations: await conversations }]
        : [{ kind: "read", job, pages: read }];
    } catch (err) {
      // Every question was asked: let the others settle unobserved rather than as unhandled rejections.
      for (const a of pages) a.catch(() => {});
      conversations?.catch(() => {});
      return [{ kind: "read", job, error: asStoreError(err, "cannot read") }];
    }
  }
}
