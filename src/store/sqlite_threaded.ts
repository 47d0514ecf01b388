/**
 * The durable store with its message log on a worker thread: `chat serve
 * --data-dir` by default. A synced commit takes the disk's fsync time, and
 * on the thread that serves sockets nothing else happens meanwhile; here
 * the worker (src/store/sqlite_worker.ts, a {@linkcode SqliteStore} of its
 * own) commits while this thread goes on reading, fanning out and writing.
 * Every log call is answered later, in the order asked (so the server's
 * queue, src/chat/pipeline.ts, sends reads along while a commit runs), and
 * what arrives while a commit runs shares the next one (the slower the
 * disk, the more messages it holds). An
 * append is still answered only after its commit is synced, and a failed
 * commit fails every message of its batch: the worker's SqliteStore rolls
 * back the sequence numbers they took before it numbers the next batch.
 *
 * Accounts, bans and room topics, read on every handshake or join and so
 * read synchronously, stay on this thread: a SqliteStore of their own on the same file (WAL:
 * its reads never wait for the worker's commits).
 *
 * @module
 */

import {
  type Account,
  type AccountStore,
  type AppendResult,
  type Ban,
  type BanStore,
  type ConversationTail,
  type Draft,
  type MessageLog,
  type Page,
  type PageQuery,
  type RoomSettings,
  type RoomTopic,
  type SenderRef,
  type SendReceipt,
  StoreError,
} from "../chat/ports.ts";
import {
  type FlatResults,
  flattenDrafts,
  flattenRefs,
  fromWire,
  type LogReply,
  type LogRequest,
  type OpenOptions,
  unflattenResults,
} from "./log_worker.ts";
import type { SqliteStore } from "./sqlite.ts";

/** A request before it gets its id. */
type Ask = LogRequest extends infer R ? R extends { id: number } ? Omit<R, "id"> : never : never;

export interface ThreadedOptions extends OpenOptions {
  /** The worker's module; tests bring one that can be made slow or fail. */
  workerUrl?: URL;
}

export class ThreadedSqliteStore implements MessageLog, AccountStore, BanStore, RoomSettings {
  readonly durable = true;
  // The worker answers in order, each request after the last: calls may be made ahead of their answers.
  readonly pipelined = true;
  readonly id: string;
  #tables: SqliteStore;
  #worker: Worker;
  #next = 1;
  #pending = new Map<number, { resolve(value: unknown): void; reject(error: StoreError): void }>();
  // Set once the worker is gone: every later call fails with it.
  #stopped: StoreError | null = null;
  #closing: Promise<void> | null = null;

  /**
   * Starts the worker and opens the log there, beside `tables` (a store
   * already opened on `options.dir`: it checked and created the file).
   * Rejects with a StoreError when the worker cannot start or open it.
   */
  static async open(tables: SqliteStore, options: ThreadedOptions): Promise<ThreadedSqliteStore> {
    const url = options.workerUrl ?? new URL("./sqlite_worker.ts", import.meta.url);
    const store = new ThreadedSqliteStore(tables, new Worker(url.href, { type: "module" }));
    const { dir, retention, maxBytes } = options;
    try {
      const id = await store.#call({ op: "open", options: { dir, retention, maxBytes } });
      if (id !== tables.id) {
        throw new StoreError("corrupt", `the storage thread opened store ${id}, not ${tables.id}`);
      }
    } catch (err) {
      store.#stop(err as StoreError);
      throw err;
    }
    return store;
  }

  private constructor(tables: SqliteStore, worker: Worker) {
    this.#tables = tables;
    this.id = tables.id;
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent) => {
      const reply = event.data as LogReply;
      const waiting = this.#pending.get(reply.id);
      if (!waiting) return;
      this.#pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.value);
      else waiting.reject(fromWire(reply.error));
    };
    // A worker that dies (a bug, not a store failure: those are answers) fails what it held and all that follows.
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#stop(new StoreError("io", `the storage thread stopped: ${event.message}`));
    };
    worker.onmessageerror = () =>
      this.#stop(new StoreError("io", "the storage thread sent an unreadable answer"));
  }

  /** Calls the worker; answers come back in the order asked. */
  #call(ask: Ask): Promise<unknown> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...ask, id } as LogRequest);
    });
  }

  #stop(error: StoreError): void {
    if (this.#stopped) return;
    this.#stopped = error;
    this.#worker.terminate();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }

  append(drafts: readonly Draft[]): Promise<AppendResult[]> {
    return this.#call({ op: "append", drafts: flattenDrafts(drafts) }).then((flat) =>
      unflattenResults(drafts, flat as FlatResults)
    );
  }

  receipts(refs: readonly SenderRef[]): Promise<Array<SendReceipt | undefined>> {
    // undefined crosses threads as undefined: a structured clone keeps it, in arrays too.
    return this.#call({ op: "receipts", refs: flattenRefs(refs) }) as Promise<Array<SendReceipt | undefined>>;
  }

  page(room: string, query: PageQuery): Promise<Page> {
    return this.#call({ op: "page", room, query }) as Promise<Page>;
  }

  conversations(key: string, limit: number): Promise<ConversationTail[]> {
    return this.#call({ op: "conversations", key, limit }) as Promise<ConversationTail[]>;
  }

  prune(now: number): Promise<number> {
    return this.#call({ op: "prune", now }) as Promise<number>;
  }

  /** Finishes what the worker holds, closes its log and this thread's, and ends the worker. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#call({ op: "close" });
      } catch { /* stopped already: nothing left to close there */ }
      this.#stop(new StoreError("io", "the store is closed"));
      this.#tables.close();
    })();
    return this.#closing;
  }

  account(key: string): Account | undefined {
    return this.#tables.account(key);
  }

  putAccount(account: Account): void {
    this.#tables.putAccount(account);
  }

  removeAccount(key: string): boolean {
    return this.#tables.removeAccount(key);
  }

  accounts(): Account[] {
    return this.#tables.accounts();
  }

  get version(): number {
    return this.#tables.version;
  }

  bans(now: number): Ban[] {
    return this.#tables.bans(now);
  }

  putBan(ban: Ban): void {
    this.#tables.putBan(ban);
  }

  removeBan(target: string): boolean {
    return this.#tables.removeBan(target);
  }

  topic(room: string): RoomTopic | undefined {
    return this.#tables.topic(room);
  }

  putTopic(topic: RoomTopic): void {
    this.#tables.putTopic(topic);
  }
}
