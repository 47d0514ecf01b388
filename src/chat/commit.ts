/**
 * The one durability barrier: the queue between the broker and the message
 * log. The broker asks for appends, receipt probes and page reads as
 * effects ({@linkcode LogJob}); the queue hands them to the log in the order
 * they were asked, consecutive appends as one batch (one synced commit for
 * many messages), and reports each outcome ({@linkcode LogOutcome}) in the
 * same order, to be fed back to the broker as an input.
 *
 * Because outcomes keep the order of the jobs, a read sees every append
 * asked before it, and the "stored" outcomes that drive fan-out come before
 * the read's: a joiner's history and the live messages after it meet
 * without a gap or an overlap. The server and the fuzz harness both run
 * this queue; only when a batch starts differs (the server: once the
 * current burst of input is handled; tests: when they say so).
 *
 * @module
 */

import type {
  AppendResult,
  ConversationTail,
  Draft,
  MessageLog,
  Page,
  PageQuery,
  SenderRef,
  SendReceipt,
} from "./ports.ts";
import { StoreError } from "./ports.ts";
import type { ErrorCode } from "../protocol/errors.ts";

/** Store `draft`, sent by session `from` (its SEND id is `draft.sender.id`). */
export interface AppendJob {
  kind: "append";
  draft: Draft;
  from: number;
}

/**
 * Look up whether `sender`'s message was stored before, without storing it:
 * asked for a SEND the broker refuses (a mute, the rate limit, a text the
 * limits no longer allow), since a resend of a stored message is always
 * acknowledged and costs nothing. `refusal` is what the sender gets if the
 * message was not stored before: an error, or "flood" (it is dropped).
 */
export interface ProbeJob {
  kind: "probe";
  sender: SenderRef;
  from: number;
  refusal: { code: ErrorCode; message: string } | "flood";
}

/**
 * Read pages of rooms for session `to`, and (`conversations`) the list of a name's stored conversations;
 * `token` names what the broker does with them.
 */
export interface ReadJob {
  kind: "read";
  to: number;
  token: number;
  reads: ReadonlyArray<{ room: string; query: PageQuery }>;
  conversations?: { key: string; limit: number };
}

export type LogJob = AppendJob | ProbeJob | ReadJob;

export type LogOutcome =
  | { kind: "append"; job: AppendJob; result: AppendResult }
  | { kind: "probe"; job: ProbeJob; receipt: SendReceipt | undefined }
  | { kind: "read"; job: ReadJob; pages: Page[]; conversations?: ConversationTail[] }
  | { kind: "read"; job: ReadJob; error: StoreError };

/** Turns anything a log throws into a StoreError: a log that fails must not take the server down. */
export function asStoreError(err: unknown, doing: string): StoreError {
  return err instanceof StoreError
    ? err
    : new StoreError("io", `${doing}: ${(err as Error)?.message ?? err}`);
}

export class CommitQueue {
  readonly log: MessageLog;
  #jobs: LogJob[] = [];
  #deliver: (outcome: LogOutcome) => void;
  #schedule: (run: () => void) => void;
  #scheduled = false;
  #running: Promise<void> | null = null;
  #idle: Array<() => void> = [];

  /**
   * `deliver` gets each outcome, in job order. `schedule` starts a batch
   * later (the server passes setImmediate); tests pass a function that does
   * nothing and call {@linkcode CommitQueue.run} themselves.
   */
  constructor(log: MessageLog, deliver: (outcome: LogOutcome) => void, schedule: (run: () => void) => void) {
    this.log = log;
    this.#deliver = deliver;
    this.#schedule = schedule;
  }

  /** Jobs asked for and not yet answered. */
  get pending(): number {
    return this.#jobs.length + (this.#running ? 1 : 0);
  }

  push(job: LogJob): void {
    this.#jobs.push(job);
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    this.#schedule(this.#kick);
  }

  #kick = (): void => {
    this.#scheduled = false;
    this.run();
  };

  /**
   * Hands every queued job to the log now. Returns undefined when the log
   * answered everything at once, or a promise of when it has; jobs that
   * arrive meanwhile go in the next batch, started as soon as this one ends.
   */
  run(): Promise<void> | undefined {
    if (this.#running) return this.#running;
    while (this.#jobs.length > 0) {
      const jobs = this.#jobs;
      this.#jobs = [];
      const waiting = this.#batch(jobs, 0);
      if (waiting) {
        this.#running = waiting.then(() => {
          this.#running = null;
          return this.run();
        });
        return this.#running;
      }
    }
    this.#wakeIdle();
    return undefined;
  }

  /** Resolves once nothing is queued or running (for shutdown, and tests with an async log). */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    if (!this.#running && !this.#scheduled) this.run();
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #wakeIdle(): void {
    if (this.#idle.length === 0 || this.pending > 0) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const wake of idle) wake();
  }

  /** Runs `jobs` from index `from` on, a run of one kind at a time; a promise when the log answers later. */
  #batch(jobs: LogJob[], from: number): Promise<void> | undefined {
    let i = from;
    while (i < jobs.length) {
      const kind = jobs[i].kind;
      let end = i + 1;
      if (kind !== "read") { while (end < jobs.length && jobs[end].kind === kind) end++; }
      const waiting = this.#one(jobs, i, end);
      if (waiting) return waiting.then(() => this.#batch(jobs, end));
      i = end;
    }
    return undefined;
  }

  /** Runs jobs[start..end), all of one kind. */
  #one(jobs: LogJob[], start: number, end: number): Promise<void> | undefined {
    const first = jobs[start];
    if (first.kind === "append") {
      const slice = jobs.slice(start, end) as AppendJob[];
      return this.#answer(
        () => this.log.append(slice.map((j) => j.draft)),
        (results) => {
          for (let k = 0; k < slice.length; k++) {
            this.#deliver({ kind: "append", job: slice[k], result: results[k] });
          }
        },
        (error) => {
          for (const job of slice) this.#deliver({ kind: "append", job, result: { kind: "failed", error } });
        },
        `cannot store ${slice.length} message(s)`,
      );
    }
    if (first.kind === "probe") {
      const slice = jobs.slice(start, end) as ProbeJob[];
      return this.#answer(
        () => this.log.receipts(slice.map((j) => j.sender)),
        (receipts) => {
          for (let k = 0; k < slice.length; k++) {
            this.#deliver({ kind: "probe", job: slice[k], receipt: receipts[k] });
          }
        },
        // A probe that cannot be answered counts as "not stored": the refusal stands.
        () => {
          for (const job of slice) this.#deliver({ kind: "probe", job, receipt: undefined });
        },
        "cannot look up receipts",
      );
    }
    return this.#read(first);
  }

  /** Reads the pages of `job` one by one, from `k` on; the outcome comes once all are read, or at the first failure. */
  #read(job: ReadJob, k = 0, pages: Page[] = []): Promise<void> | undefined {
    while (k < job.reads.length) {
      const { room, query } = job.reads[k++];
      let failed = false;
      const waiting = this.#answer(
        () => this.log.page(room, query),
        (page) => void pages.push(page),
        (error) => {
          failed = true;
          this.#deliver({ kind: "read", job, error });
        },
        `cannot read ${room}`,
      );
      if (waiting) return waiting.then(() => failed ? undefined : this.#read(job, k, pages));
      if (failed) return undefined;
    }
    const list = job.conversations;
    if (!list) {
      this.#deliver({ kind: "read", job, pages });
      return undefined;
    }
    return this.#answer(
      () => this.log.conversations(list.key, list.limit),
      (conversations) => this.#deliver({ kind: "read", job, pages, conversations }),
      (error) => this.#deliver({ kind: "read", job, error }),
      "cannot list conversations",
    );
  }

  /**
   * Asks the log once and passes its answer to `ok`, or a StoreError to
   * `fail`, now or later. A promise only when the log answered with one.
   */
  #answer<T>(
    ask: () => T | Promise<T>,
    ok: (value: T) => void,
    fail: (error: StoreError) => void,
    doing: string,
  ): Promise<void> | undefined {
    let answer: T | Promise<T>;
    try {
      answer = ask();
    } catch (err) {
      fail(asStoreError(err, doing));
      return undefined;
    }
    if (answer instanceof Promise) return answer.then(ok, (err) => fail(asStoreError(err, doing)));
    ok(answer);
    return undefined;
  }
}
