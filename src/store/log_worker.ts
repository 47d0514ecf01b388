/**
 * A message log held by a worker thread: what crosses between the thread
 * that serves sockets and the worker ({@linkcode LogRequest},
 * {@linkcode LogReply}), and the worker's side of it ({@linkcode serveLog}).
 * The worker answers requests one at a time, in the order they came, so an
 * append asked before a read is in what the read sees, and a failed append
 * has given its sequence numbers back (the log rolls them back) before the
 * next append is numbered.
 *
 * Drafts and results travel flat (strings and numbers in one array, objects
 * only for the rare duplicate): a batch of objects costs the sending thread
 * several times more to serialize, and that thread is the busy one.
 *
 * @module
 */

import {
  type AppendResult,
  type Draft,
  type MessageLog,
  type PageQuery,
  type SenderRef,
  type SendReceipt,
  StoreError,
} from "../chat/ports.ts";
import type { Retention } from "./retention.ts";

/** What the worker opens its log with: the first request, answered with the log's id. */
export interface OpenOptions {
  dir: string;
  retention: Partial<Retention>;
  /** The store's size cap in bytes (0: none). */
  maxBytes: number;
}

export type LogRequest =
  | { op: "open"; id: number; options: OpenOptions }
  | { op: "append"; id: number; drafts: FlatDrafts }
  | { op: "receipts"; id: number; refs: Array<string | number> }
  | { op: "page"; id: number; room: string; query: PageQuery }
  | { op: "conversations"; id: number; key: string; limit: number }
  | { op: "prune"; id: number; now: number }
  | { op: "close"; id: number };

/** A StoreError as it crosses threads (an Error's class does not). */
export interface WireError {
  kind: StoreError["kind"];
  message: string;
}

export type LogReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WireError };

/** Drafts, seven values each: room, ts, flags, from, text, sender key, sender id. */
export type FlatDrafts = Array<string | number>;

const DRAFT_FIELDS = 7;

export function flattenDrafts(drafts: readonly Draft[]): FlatDrafts {
  const flat: FlatDrafts = new Array(drafts.length * DRAFT_FIELDS);
  let i = 0;
  for (const d of drafts) {
    flat[i++] = d.room;
    flat[i++] = d.ts;
    flat[i++] = d.flags;
    flat[i++] = d.from;
    flat[i++] = d.text;
    flat[i++] = d.sender.key;
    flat[i++] = d.sender.id;
  }
  return flat;
}

export function unflattenDrafts(flat: FlatDrafts): Draft[] {
  if (flat.length % DRAFT_FIELDS !== 0) throw new TypeError(`Cannot read drafts: ${flat.length} values`);
  const drafts: Draft[] = [];
  for (let i = 0; i < flat.length; i += DRAFT_FIELDS) {
    drafts.push({
      room: flat[i] as string,
      ts: flat[i + 1] as number,
      flags: flat[i + 2] as number,
      from: flat[i + 3] as string,
      text: flat[i + 4] as string,
      sender: { key: flat[i + 5] as string, id: flat[i + 6] as number },
    });
  }
  return drafts;
}

/**
 * Append results without what the asking thread has already (the drafts):
 * per draft the seq it was stored under, the receipt it duplicates, or null
 * when it failed (with the batch's `error`).
 */
export interface FlatResults {
  outcomes: Array<number | SendReceipt | null>;
  error: WireError | null;
}

export function flattenResults(results: readonly AppendResult[]): FlatResults {
  let error: WireError | null = null;
  const outcomes = results.map((r) => {
    if (r.kind === "stored") return r.message.seq;
    if (r.kind === "duplicate") return r.receipt;
    error ??= toWire(r.error);
    return null;
  });
  return { outcomes, error };
}

/** The results of appending `drafts`, from what the worker answered. */
export function unflattenResults(drafts: readonly Draft[], flat: FlatResults): AppendResult[] {
  if (flat.outcomes.length !== drafts.length) {
    throw new StoreError(
      "io",
      `the store answered ${flat.outcomes.length} results for ${drafts.length} messages`,
    );
  }
  const error = flat.error ? fromWire(flat.error) : null;
  return flat.outcomes.map((o, i): AppendResult => {
    if (typeof o === "number") {
      const d = drafts[i];
      return {
        kind: "stored",
        message: { room: d.room, seq: o, ts: d.ts, flags: d.flags, from: d.from, text: d.text },
      };
    }
    if (o !== null) return { kind: "duplicate", receipt: o };
    return {
      kind: "failed",
      error: error ?? new StoreError("io", "the store failed the message and said not why"),
    };
  });
}

export function flattenRefs(refs: readonly SenderRef[]): Array<string | number> {
  return refs.flatMap((r) => [r.key, r.id]);
}

function unflattenRefs(flat: Array<string | number>): SenderRef[] {
  const refs: SenderRef[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    refs.push({ key: flat[i] as string, id: flat[i + 1] as number });
  }
  return refs;
}

export function toWire(err: unknown): WireError {
  return err instanceof StoreError
    ? { kind: err.kind, message: err.message }
    : { kind: "io", message: (err as Error)?.message ?? String(err) };
}

export function fromWire(err: WireError): StoreError {
  return new StoreError(err.kind, err.message);
}

/** The worker's end of the channel: a global scope, or a MessagePort in tests. */
export interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
}

/**
 * Serves the log `open` makes to the thread at the other end of `scope`:
 * each request is answered, in order, before the next is read. A log that
 * answers later is awaited, so the order holds for it too.
 */
export function serveLog(scope: WorkerScope, open: (options: OpenOptions) => MessageLog): void {
  let log: MessageLog | null = null;
  // Requests wait here while an earlier one is answered later.
  let chain: Promise<void> = Promise.resolve();
  const answer = async (req: LogRequest): Promise<void> => {
    let reply: LogReply;
    try {
      reply = { id: req.id, ok: true, value: await perform(req) };
    } catch (err) {
      reply = { id: req.id, ok: false, error: toWire(err) };
    }
    scope.postMessage(reply);
    if (req.op === "close") scope.close();
  };
  const perform = async (req: LogRequest): Promise<unknown> => {
    if (req.op === "open") {
      log = open(req.options);
      return log.id;
    }
    if (log === null) throw new StoreError("io", `the store was asked to ${req.op} before it was opened`);
    switch (req.op) {
      case "append":
        return flattenResults(await log.append(unflattenDrafts(req.drafts)));
      case "receipts":
        return await log.receipts(unflattenRefs(req.refs));
      case "page":
        return await log.page(req.room, req.query);
      case "conversations":
        return await log.conversations(req.key, req.limit);
      case "prune":
        return await log.prune(req.now);
      case "close":
        await log.close();
        log = null;
        return null;
    }
  };
  scope.onmessage = (event: MessageEvent) => {
    const req = event.data as LogRequest;
    chain = chain.then(() => answer(req));
  };
}
