/**
 * The commit queue for a log that takes calls ahead of their answers
 * ({@linkcode MessageLog.pipelined}: it answers in the order asked, each
 * call seeing every earlier one, as a log on a thread of its own does).
 * Same jobs, same outcomes in the same order as {@linkcode CommitQueue};
 * what differs is when the log is asked.
 *
 * {@linkcode CommitQueue} asks once the last call is answered and its
 * outcomes delivered. With a log whose commit takes a while, a sender with
 * a window of unacknowledged messages then sends its whole window, waits
 * for one commit of all of it, gets every ACK at once, and sends the next
 * window: stop and wait, the commit's whole time added to each round. Here
 * up to {@linkcode DEPTH} calls of appends are out at once, and appends that
 * arrive while two are out go as one call as soon as one is answered, so
 * the log keeps committing while this thread delivers. Reads and probes
 * are asked as soon as they reach the head of the queue: holding them back
 * gathers nothing, and a burst of joins would wait for the log two at a
 * time. A run of appends asked of an idle
 * log goes as two halves when the log was idle longer than its last append
 * took: the first half's ACKs and deliveries then go out while the second
 * half commits, and the window keeps flowing. When commits take longer than
 * the rest of a round (a slow disk), halves would only double the commits,
 * and the run goes whole.
 *
 * A call the log fails fails its own jobs only; the log has rolled back
 * what they took (their sequence numbers) before it numbered the next call.
 *
 * @module
 */

import { asStoreError, type LogJob, type LogOutcome, type ReadJob } from "./commit.ts";
import type { MessageLog } from "./ports.ts";

/** Calls of appends out at once: one committing, one waiting on the log's side to go next. */
export const DEPTH = 2;

/**
 * Appends asked of an idle log are split in two from this many on: fewer
 * share one commit, since a commit's fixed cost (its fsync) outweighs
 * what half of a small batch would gain.
 */
export const SPLIT_FROM = 16;

/** A clock in milliseconds; only differences count. */
export type Clock = () => number;

/** One call out: its jobs' outcomes, once the log answered. */
interface Call {
  outcomes: LogOutcome[] | null;
}

export class PipelinedQueue {
  readonly log: MessageLog;
  #jobs: LogJob[] = [];
  #calls: Call[] = [];
  #appendsOut = 0;
  #deliver: (outcome: LogOutcome) => void;
  #schedule: (run: () => void) => void;
  #scheduled = false;
  #idle: Array<() => void> = [];
  #clock: Clock;
  // How long the last answered append took, and when the log last answered anything.
  #appendMs = Infinity;
  #answeredAt = 0;

  /**
   * As {@linkcode CommitQueue}'s: `deliver` gets each outcome in job order; `schedule` starts asking
   * later. `clock` times the log's answers, to tell when halves pay.
   */
  constructor(
    log: MessageLog,
    deliver: (outcome: LogOutcome) => void,
    schedule: (run: () => void) => void,
    clock: Clock,
  ) {
    this.log = log;
    this.#deliver = deliver;
    this.#schedule = schedule;
    this.#clock = clock;
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

  /** Asks the log for what is queued, as far as {@linkcode DEPTH} allows; the rest goes as calls are answered. */
  run(): void {
    while (this.#jobs.length > 0 && (this.#jobs[0].kind !== "append" || this.#appendsOut < DEPTH)) {
      const jobs = this.#take();
      const append = jobs[0].kind === "append";
      const call: Call = { outcomes: null };
      this.#calls.push(call);
      if (append) this.#appendsOut++;
      const asked = this.#clock();
      void this.#ask(jobs).then((outcomes) => {
        call.outcomes = outcomes;
        this.#answeredAt = this.#clock();
        if (append) {
          this.#appendsOut--;
          this.#appendMs = this.#answeredAt - asked;
        }
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

  /** Delivers the answered calls at the head, in order, then asks for more. */
  #settle(): void {
    while (this.#calls.length > 0 && this.#calls[0].outcomes !== null) {
      const { outcomes } = this.#calls.shift()!;
      for (const o of outcomes!) this.#deliver(o);
    }
    this.run();
  }

  #wakeIdle(): void {
    if (this.#idle.length === 0 || this.pending > 0) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const wake of idle) wake();
  }

  /**
   * The next call's jobs: a run of one kind from the head, reads included (one call for a burst of joins).
   * A long run of appends to a log with none out, idle longer than its last append took, goes as two
   * halves (this the first).
   */
  #take(): LogJob[] {
    const kind = this.#jobs[0].kind;
    let end = 1;
    while (end < this.#jobs.length && this.#jobs[end].kind === kind) end++;
    if (
      kind === "append" && end >= SPLIT_FROM && this.#appendsOut === 0 &&
      this.#clock() - this.#answeredAt > this.#appendMs
    ) {
      end = Math.ceil(end / 2);
    }
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
   * Every page of `job`, asked now, before any later call (the log answers in order); the first failure
   * fails the read.
   */
  async #read(job: ReadJob): Promise<LogOutcome[]> {
    const asked = job.reads.map(({ room, query }) => {
      try {
        return Promise.resolve(this.log.page(room, query)).catch((err) => {
          throw asStoreError(err, `cannot read ${room}`);
        });
      } catch (err) {
        return Promise.reject(asStoreError(err, `cannot read ${room}`));
      }
    });
    try {
      return [{ kind: "read", job, pages: await Promise.all(asked) }];
    } catch (err) {
      // Every page was asked: let the others settle unobserved rather than as unhandled rejections.
      for (const a of asked) a.catch(() => {});
      return [{ kind: "read", job, error: asStoreError(err, "cannot read") }];
    }
  }
}
