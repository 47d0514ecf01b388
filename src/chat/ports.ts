/**
 * The ports the chat domain needs from storage, defined by the domain and
 * implemented elsewhere (src/store/: memory and SQLite; a shared log later).
 * The broker imports no implementation: its caller passes them in.
 *
 * - {@linkcode MessageLog}: each room's messages. The log owns sequence
 *   numbers and dedupe: an append answers "stored as seq N" or "duplicate of
 *   seq N", and may answer later (a shared log answers over the network).
 * - {@linkcode AccountStore} and {@linkcode BanStore}: small tables read on
 *   every handshake, so reads are synchronous; an implementation keeps what
 *   it needs at hand (SQLite reads its file, a shared store a local replica).
 * - {@linkcode RoomSettings}: what outlives a room's members (its topic),
 *   read on every join and listing, synchronous for the same reason.
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

/** A message the broker accepted, before the log gives it a sequence number. */
export interface Draft {
  room: string;
  ts: number;
  flags: number;
  from: string;
  text: string;
  sender: SenderRef;
}

/**
 * What became of one entry of {@linkcode MessageLog.append}: stored under a
 * new sequence number, a resend of a message stored earlier, or not stored.
 */
export type AppendResult =
  | { kind: "stored"; message: StoredMessage }
  | { kind: "duplicate"; receipt: SendReceipt }
  | { kind: "failed"; error: StoreError };

/** Messages of one room, oldest first, and where the room stands. */
export interface Page {
  messages: StoredMessage[];
  /** The room's highest sequence number when the page was read (0: no message yet). */
  lastSeq: number;
}

/**
 * Which messages of a room to read: those with `after < seq < before`
 * (`before` 0: no upper bound), at most `limit`; the newest of them when
 * `before` is set, the oldest otherwise.
 */
export interface PageQuery {
  after: number;
  before: number;
  limit: number;
}

/**
 * Where one stored conversation (direct messages between two registered names) stands: what
 * {@linkcode MessageLog.conversations} lists.
 */
export interface ConversationTail {
  /** Its room in the log: {@linkcode conversationRoom} of the two name keys. */
  room: string;
  lastSeq: number;
  /** Time of its last message (0: not known any more). */
  ts: number;
}

/**
 * The room in the log of the conversation between name keys `a` and `b`: `@` and the two keys, sorted,
 * joined by `+`. Neither character may appear in a name or a room (src/protocol/names.ts), so it never
 * clashes with a room, cannot be joined as one, and names its two parties.
 */
export function conversationRoom(a: string, b: string): string {
  return a <= b ? `@${a}+${b}` : `@${b}+${a}`;
}

/** The two name keys of a conversation's room in the log, or null for any other room. */
export function conversationKeys(room: string): [string, string] | null {
  if (!room.startsWith("@")) return null;
  const plus = room.indexOf("+");
  if (plus < 2 || plus === room.length - 1 || room.indexOf("+", plus + 1) !== -1) return null;
  return [room.slice(1, plus), room.slice(plus + 1)];
}

/** An answer now, or later: memory and SQLite logs answer at once, a shared log over the network. */
export type Answer<T> = T | Promise<T>;

/**
 * Each room's messages, numbered 1, 2, 3, ... with no gap. Appends and reads
 * are answered in the order they were asked (src/chat/commit.ts keeps that
 * order): a read sees every append asked before it.
 */
export interface MessageLog {
  /** Random id of this log (hex), fixed for its life: sequence numbers only compare within one log. */
  readonly id: string;
  /** True when a stored message survives a crash or power cut. */
  readonly durable: boolean;
  /**
   * True when the log answers calls in the order they were made, each seeing every earlier one, so the
   * next may be made before the last is answered (a log on a thread of its own: src/chat/pipeline.ts).
   */
  readonly pipelined?: boolean;
  /**
   * Stores `drafts` in order, as one commit where the log can: one result
   * per draft, in the same order. A draft whose sender ref was stored before
   * (in this batch or earlier) is a duplicate and is not stored again.
   */
  append(drafts: readonly Draft[]): Answer<AppendResult[]>;
  /** The receipts of earlier sends, without storing anything: one per ref, undefined when unknown. */
  receipts(refs: readonly SenderRef[]): Answer<Array<SendReceipt | undefined>>;
  /** One page of `room`. Fails with StoreError when the log cannot be read. */
  page(room: string, query: PageQuery): Answer<Page>;
  /**
   * The stored conversations name key `key` is a party of ({@linkcode conversationRoom}), the most
   * recent first (by the time of their last message), at most `limit`.
   */
  conversations(key: string, limit: number): Answer<ConversationTail[]>;
  /** Applies retention: deletes what is older or beyond the per-room cap. Returns messages deleted. */
  prune(now: number): Answer<number>;
  /** Lets go of the log's files; a log with a thread of its own answers once that thread has ended. */
  close(): Answer<void>;
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

/** Registered names. Writes throw StoreError when they cannot be kept. */
export interface AccountStore {
  account(key: string): Account | undefined;
  putAccount(account: Account): void;
  removeAccount(key: string): boolean;
  accounts(): Account[];
}

/**
 * Bans by name (`name:<key>`) and by address (`addr:<ip>`), and mutes (`mute:<key>`): kept with the bans,
 * so that they survive restarts and, in a cluster, apply on every node. Writes throw StoreError when they
 * cannot be kept.
 */
export interface BanStore {
  /** Moves whenever the bans change (here or, in a cluster, on another node): readers may cache until it does. */
  readonly version: number;
  /** Bans still in force at `now`. */
  bans(now: number): Ban[];
  putBan(ban: Ban): void;
  removeBan(target: string): boolean;
}

/** A room's topic, as stored: its text, who set it and when. */
export interface RoomTopic {
  /** The room's canonical name. */
  room: string;
  text: string;
  /** The name of whoever set it. */
  by: string;
  ts: number;
}

/**
 * What a room keeps while nobody is in it, and across restarts: its topic. Reads are synchronous (they
 * happen on every join and listing); writes throw StoreError when they cannot be kept.
 */
export interface RoomSettings {
  /** The topic of `room` (a canonical name), or undefined when it has none. */
  topic(room: string): RoomTopic | undefined;
  /** Sets the topic of `topic.room`; an empty text removes it. */
  putTopic(topic: RoomTopic): void;
}

/** A failure to read or write storage, with a code for the wire (STORAGE_ERROR) and logs. */
export class StoreError extends Error {
  /**
   * "full" when the disk is full, "limit" when the store reached its configured size cap, "io" for other
   * write failures, "corrupt" for an unreadable store, "unavailable" for a shared log this node cannot reach now
   * (its message says why).
   */
  readonly kind: "full" | "limit" | "io" | "corrupt" | "open" | "unavailable";
  constructor(kind: StoreError["kind"], message: string) {
    super(message);
    this.name = "StoreError";
    this.kind = kind;
  }
}
