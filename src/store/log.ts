/**
 * Storage interfaces the broker writes through: the per-room message log and
 * the index that makes sends idempotent. The broker sees only these shapes,
 * so an embedded database or a distributed log can stand behind them.
 *
 * @module
 */

/** A message as stored: what a MESSAGE frame delivers, plus who sent it under which id. */
export interface StoredMessage {
  room: string;
  seq: number;
  ts: number;
  flags: number;
  from: string;
  text: string;
}

/** Per-room append-only log with server-assigned sequence numbers. */
export interface MessageLog {
  /** Highest sequence in `room`, or 0 when the room has none. */
  lastSeq(room: string): number;
  /** Appends a message whose `seq` is `lastSeq(room) + 1`. */
  append(message: StoredMessage): void;
  /** Up to `limit` messages of `room` with `seq > after`, oldest first. */
  after(room: string, after: number, limit: number): StoredMessage[];
}

/** Where an accepted send landed, remembered so a resend is acknowledged again and not re-delivered. */
export interface SendReceipt {
  room: string;
  seq: number;
  ts: number;
}

/** Remembers (sender, client id) -> receipt. */
export interface DedupeIndex {
  get(senderKey: string, id: number): SendReceipt | undefined;
  put(senderKey: string, id: number, receipt: SendReceipt): void;
}
