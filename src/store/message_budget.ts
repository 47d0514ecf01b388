/**
 * Bounded memory for the messages a {@linkcode MemoryStore} holds (`chat
 * serve --ephemeral`, and a cluster node's view of recent history): each
 * room's messages are a {@linkcode RoomLog}, and one
 * {@linkcode MessageBudget} counts the bytes of all of them and, past its
 * limit, drops the oldest messages of the whole store first, whichever their
 * room: those of the rooms that have been quiet the longest go first, while
 * a busy room keeps its recent ones.
 *
 * Without it, only each room's count was capped (10,000), so the store grew
 * with the number of rooms: 377,000 messages over 100 rooms were all kept
 * (90 MB of heap for 100-byte messages, the process at 230 MB).
 *
 * A message is counted at the most it can take: its fields and slots
 * ({@linkcode MESSAGE_OVERHEAD}) and two bytes per UTF-16 unit of its text
 * and sender (V8 stores a string in one or two bytes per unit, never more).
 * So the budget is a ceiling the heap stays under, not an exact figure.
 *
 * @module
 */

import type { StoredMessage } from "../chat/ports.ts";

/** Default memory for messages: 32 MiB, about 100,000 messages of 100 bytes (measured: 219 bytes each). */
export const DEFAULT_MEMORY_BYTES = 32 * 1024 * 1024;

/**
 * Bytes a stored message takes besides its strings: the object (6 fields), its slot in its room's list and
 * its two in the budget's queue. Measured at about 120 for a 100-byte text (V8, Deno 2.9); rounded up.
 */
export const MESSAGE_OVERHEAD = 128;

/** Dropped slots kept at the front of an array before it is copied without them: amortised O(1) drops. */
const COMPACT_AFTER = 1024;

/** What `m` is counted as. */
export function messageBytes(m: StoredMessage): number {
  return MESSAGE_OVERHEAD + 2 * (m.text.length + m.from.length);
}

/** One room's messages held, oldest first, with consecutive sequence numbers. */
export class RoomLog {
  /** The room's last sequence number (kept when its messages are dropped: numbering goes on). */
  seq = 0;
  /** Held messages are `#messages[#head..]`; the slots before were dropped and are cleared. */
  #messages: StoredMessage[] = [];
  #head = 0;

  /** Messages held. */
  get size(): number {
    return this.#messages.length - this.#head;
  }

  /** The oldest message held. */
  get first(): StoredMessage | undefined {
    return this.#messages[this.#head];
  }

  push(m: StoredMessage): void {
    this.#messages.push(m);
  }

  /** True when `m` is one of the messages held (found by its seq: they are consecutive). */
  has(m: StoredMessage): boolean {
    const first = this.first;
    if (!first) return false;
    const i = m.seq - first.seq;
    return i >= 0 && i < this.size && this.#messages[this.#head + i] === m;
  }

  /** Drops the oldest message held and returns it. */
  dropFirst(): StoredMessage {
    const m = this.#messages[this.#head];
    this.#messages[this.#head++] = undefined!;
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#messages.length) {
      this.#messages = this.#messages.slice(this.#head);
      this.#head = 0;
    }
    return m;
  }

  /** The held messages from the `start`th to before the `end`th (0 is the oldest held). */
  slice(start: number, end: number): StoredMessage[] {
    return this.#messages.slice(this.#head + start, this.#head + end);
  }
}

/**
 * The bytes of every message held, and the order they came in: past `maxBytes` the oldest go, whichever
 * room they are in. Messages a room drops itself (its count cap, retention by age, a view that restarts a
 * room) are reported with {@linkcode MessageBudget.dropped}; their places in the order are skipped when
 * reached, and cleared out once they outnumber the rest.
 */
export class MessageBudget {
  readonly maxBytes: number;
  /** Estimated bytes of the messages held. */
  bytes = 0;
  // Arrival order: the room and message of each entry, oldest at #head.
  #rooms: RoomLog[] = [];
  #messages: StoredMessage[] = [];
  #head = 0;
  /** Entries whose message a room dropped itself. */
  #stale = 0;

  constructor(maxBytes = DEFAULT_MEMORY_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Entries in the order, stale ones included (what the order costs). */
  get entries(): number {
    return this.#rooms.length - this.#head;
  }

  /** `m` was pushed to `room`: counted, and the oldest messages dropped while over the limit. */
  added(room: RoomLog, m: StoredMessage): void {
    this.bytes += messageBytes(m);
    this.#rooms.push(room);
    this.#messages.push(m);
    while (this.bytes > this.maxBytes && this.#head < this.#rooms.length) this.#evict();
    this.#compact();
  }

  /** `room` dropped `m` itself (not through this budget). */
  dropped(m: StoredMessage): void {
    this.bytes -= messageBytes(m);
    this.#stale++;
    this.#compact();
  }

  /** Drops the oldest message held in the store, skipping entries whose message is gone already. */
  #evict(): void {
    const room = this.#rooms[this.#head];
    const m = this.#messages[this.#head];
    this.#rooms[this.#head] = undefined!;
    this.#messages[this.#head] = undefined!;
    this.#head++;
    // A room's messages arrive, and are dropped, oldest first: its oldest entry still held is its first message.
    if (room.first === m) {
      room.dropFirst();
      this.bytes -= messageBytes(m);
    } else this.#stale = Math.max(0, this.#stale - 1);
  }

  /** Keeps the order's arrays from growing with entries that no longer count. */
  #compact(): void {
    if (this.#stale >= COMPACT_AFTER && this.#stale * 2 >= this.entries) {
      const rooms: RoomLog[] = [];
      const messages: StoredMessage[] = [];
      for (let i = this.#head; i < this.#rooms.length; i++) {
        if (!this.#rooms[i].has(this.#messages[i])) continue;
        rooms.push(this.#rooms[i]);
        messages.push(this.#messages[i]);
      }
      this.#rooms = rooms;
      this.#messages = messages;
      this.#head = 0;
      this.#stale = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#rooms.length) {
      this.#rooms = this.#rooms.slice(this.#head);
      this.#messages = this.#messages.slice(this.#head);
      this.#head = 0;
    }
  }
}
