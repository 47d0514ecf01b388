/**
 * The storage interface the broker writes through: a per-room message log
 * with server-assigned sequence numbers, and the receipts that make sends
 * idempotent. The broker sees only this shape, so an in-memory store, SQLite
 * or a distributed log can stand behind it.
 *
 * Writes are staged by {@linkcode MessageStore.append} and made durable, as
 * one batch, by {@linkcode MessageStore.commit}: many messages share one
 * commit. Reads ({@linkcode MessageStore.after}, {@linkcode MessageStore.recent})
 * see committed messages only.
 *
 * @module
 */

/** A message as stored: what a MESSAGE frame delivers. */
export interface StoredMessage {
  room: string;
  seq: number;
  ts: number;
  flags: number;
  from: string;
  text: string;
}

/** Who sent a message under which client id: the dedupe key. */
export interface SenderRef {
  /** Case-folded sender name. */
  key: string;
  /** Client-chosen message id. */
  id: number;
}

/** Where an accepted send landed; a resend of the same id is answered with it. */
export interface SendReceipt {
  room: string;
  seq: number;
  ts: number;
}

/** A failure to read or write the store, with a code for the wire (STORAGE_ERROR) and logs. */
export class StoreError extends Error {
  /** "full" when the disk is full, "io" for other write failures, "corrupt" for an unreadable store. */
  readonly kind: "full" | "io" | "corrupt" | "open";
  constructor(kind: StoreError["kind"], message: string) {
    super(message);
    this.name = "StoreError";
    this.kind = kind;
  }
}

/** A registered name. */
export interface Account {
  name: string;
  /** Case-folded name. */
  key: string;
  /** Encoded password hash (see src/auth/passwords.ts). */
  hash: string;
  admin: boolean;
  created: number;
}

/** A ban on a name (`name:<key>`) or an address (`addr:<ip>`). */
export interface Ban {
  target: string;
  /** Epoch ms when it ends; 0 means never. */
  until: number;
  reason: string;
  by: string;
  created: number;
}

/** Accounts and bans: small tables that must survive restarts alongside the messages. */
export interface UserStore {
  account(key: string): Account | undefined;
  putAccount(account: Account): void;
  removeAccount(key: string): boolean;
  accounts(): Account[];
  /** Bans still in force at `now`. */
  bans(now: number): Ban[];
  putBan(ban: Ban): void;
  removeBan(target: string): boolean;
}

export interface MessageStore extends UserStore {
  /** True when commit() makes messages survive a crash or power cut. */
  readonly durable: boolean;
  /** Random id of this store (hex), fixed for its life: sequence numbers only compare within one store. */
  readonly id: string;
  /** Highest sequence in `room`, staged writes included; 0 for a new room. */
  lastSeq(room: string): number;
  /** Stages a message whose seq is `lastSeq(room) + 1`. */
  append(message: StoredMessage, sender: SenderRef): void;
  /** Messages staged and not yet committed. */
  readonly staged: number;
  /** Makes every staged message durable at once; throws StoreError and drops the batch on failure. */
  commit(): void;
  /** The receipt of an earlier send by (sender key, id), staged writes included. */
  receipt(senderKey: string, id: number): SendReceipt | undefined;
  /** Up to `limit` committed messages of `room` with seq > `after`, oldest first. */
  after(room: string, after: number, limit: number): StoredMessage[];
  /** The last `limit` committed messages of `room`, oldest first. */
  recent(room: string, limit: number): StoredMessage[];
  /** Applies retention: deletes what is older or beyond the per-room cap. Returns rows deleted. */
  prune(now: number): number;
  close(): void;
}

/** Retention settings; 0 disables a limit. */
export interface Retention {
  /** Messages kept per room. */
  maxMessages: number;
  /** Age in milliseconds after which messages are deleted. */
  maxAgeMs: number;
  /** How long send receipts (dedupe) are kept, in milliseconds. */
  receiptsMs: number;
}

/** Receipts outlive a client that is offline for days: a month. */
export const DEFAULT_RECEIPTS_MS = 30 * 24 * 3600 * 1000;
