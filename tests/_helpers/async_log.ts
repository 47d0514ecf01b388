/**
 * A message log that answers later, as a shared log (JetStream) answers over
 * the network: {@linkcode AsyncLog} wraps any log (a MemoryStore) and answers
 * every call with a promise, a microtask later, or, while `held`, only when
 * the test releases that call. The inner log is asked only then, so a test
 * can put anything between a question and its answer.
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
} from "../../src/chat/ports.ts";

/** One call made to the log: which method, and what it asked (drafts, refs, or the room read). */
export interface LogCall {
  method: "append" | "receipts" | "page" | "conversations" | "prune";
  /** Drafts appended or refs probed; 1 for a page or a prune. */
  count: number;
  /** The room a page read. */
  room?: string;
}

export class AsyncLog implements MessageLog {
  readonly inner: MessageLog;
  /** While true, each call waits for {@linkcode release} (or {@linkcode fail}); else it is answered a microtask later. */
  held: boolean;
  /** Every call made, in order. */
  readonly calls: LogCall[] = [];
  #waiting: Array<{ call: LogCall; go: () => void; fail: (err: unknown) => void }> = [];

  constructor(inner: MessageLog, held = false) {
    this.inner = inner;
    this.held = held;
  }

  get id(): string {
    return this.inner.id;
  }

  get durable(): boolean {
    return this.inner.durable;
  }

  append(drafts: readonly Draft[]): Promise<AppendResult[]> {
    return this.#ask({ method: "append", count: drafts.length }, () => this.inner.append(drafts));
  }

  receipts(refs: readonly SenderRef[]): Promise<Array<SendReceipt | undefined>> {
    return this.#ask({ method: "receipts", count: refs.length }, () => this.inner.receipts(refs));
  }

  page(room: string, query: PageQuery): Promise<Page> {
    return this.#ask({ method: "page", count: 1, room }, () => this.inner.page(room, query));
  }

  conversations(key: string, limit: number): Promise<ConversationTail[]> {
    return this.#ask({ method: "conversations", count: 1 }, () => this.inner.conversations(key, limit));
  }

  prune(now: number): Promise<number> {
    return this.#ask({ method: "prune", count: 1 }, () => this.inner.prune(now));
  }

  close(): void {
    this.inner.close();
  }

  /** The calls waiting for their answer, oldest first. */
  get waiting(): LogCall[] {
    return this.#waiting.map((w) => w.call);
  }

  /**
   * Answers the oldest waiting call (asking the inner log now), and resolves
   * once everything that follows from the answer has run. Fails when no call
   * is waiting, even after the microtasks queued so far have run.
   */
  async release(): Promise<LogCall> {
    // A queue that starts its batches a microtask later (as the runner does) has not asked yet: let it.
    if (this.#waiting.length === 0) await settled();
    const w = this.#waiting.shift();
    if (!w) throw new Error("AsyncLog.release(): no call is waiting");
    w.go();
    await settled();
    return w.call;
  }

  /** Fails the oldest waiting call with `err` (the inner log is not asked), then lets what follows run. */
  async fail(err: unknown): Promise<LogCall> {
    if (this.#waiting.length === 0) await settled();
    const w = this.#waiting.shift();
    if (!w) throw new Error("AsyncLog.fail(): no call is waiting");
    w.fail(err);
    await settled();
    return w.call;
  }

  #ask<T>(call: LogCall, ask: () => T | Promise<T>): Promise<T> {
    this.calls.push(call);
    return new Promise<T>((resolve, reject) => {
      const go = () => {
        try {
          Promise.resolve(ask()).then(resolve, reject);
        } catch (err) {
          reject(err);
        }
      };
      if (this.held) this.#waiting.push({ call, go, fail: reject });
      else queueMicrotask(go);
    });
  }
}

/**
 * Resolves once every microtask queued so far, and every one those queue,
 * has run: a chain of promises fed by answered ones has then reached its end.
 * Not a sleep: nothing here waits for a clock or for I/O.
 */
export function settled(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
