/**
 * In-memory implementations of the storage interfaces: bounded, so a
 * long-running server with no disk keeps a fixed footprint.
 *
 * @module
 */

import type { DedupeIndex, MessageLog, SendReceipt, StoredMessage } from "./log.ts";

/** Messages kept per room by {@linkcode MemoryLog}: enough for history replay, bounded for memory. */
export const MEMORY_LOG_PER_ROOM = 1000;

/** Receipts kept by {@linkcode MemoryDedupe}: a client retries within seconds, not after 100k messages. */
export const MEMORY_DEDUPE_ENTRIES = 100_000;

/** A log that keeps the last `perRoom` messages of each room and the sequence counters forever. */
export class MemoryLog implements MessageLog {
  #rooms = new Map<string, { seq: number; recent: StoredMessage[] }>();
  readonly perRoom: number;

  constructor(perRoom = MEMORY_LOG_PER_ROOM) {
    this.perRoom = perRoom;
  }

  lastSeq(room: string): number {
    return this.#rooms.get(room)?.seq ?? 0;
  }

  append(message: StoredMessage): void {
    let r = this.#rooms.get(message.room);
    if (!r) this.#rooms.set(message.room, r = { seq: 0, recent: [] });
    if (message.seq !== r.seq + 1) {
      throw new RangeError(`Cannot append to ${message.room}: seq ${message.seq} does not follow ${r.seq}`);
    }
    r.seq = message.seq;
    r.recent.push(message);
    // Trim in batches so the amortised cost per append stays O(1).
    if (r.recent.length > this.perRoom * 2) r.recent.splice(0, r.recent.length - this.perRoom);
  }

  after(room: string, after: number, limit: number): StoredMessage[] {
    const r = this.#rooms.get(room);
    if (!r || limit <= 0) return [];
    const start = r.recent.findIndex((m) => m.seq > after);
    return start < 0 ? [] : r.recent.slice(start, start + limit);
  }
}

/** A bounded receipt index: the oldest receipts are forgotten first. */
export class MemoryDedupe implements DedupeIndex {
  #map = new Map<string, SendReceipt>();
  readonly capacity: number;

  constructor(capacity = MEMORY_DEDUPE_ENTRIES) {
    this.capacity = capacity;
  }

  get(senderKey: string, id: number): SendReceipt | undefined {
    return this.#map.get(`${senderKey}\u0000${id}`);
  }

  put(senderKey: string, id: number, receipt: SendReceipt): void {
    this.#map.set(`${senderKey}\u0000${id}`, receipt);
    if (this.#map.size > this.capacity) {
      // Maps iterate in insertion order, so the first key is the oldest.
      this.#map.delete(this.#map.keys().next().value!);
    }
  }
}
