/**
 * A node's view of the shared log: every record it consumed from the stream,
 * in stream order, kept as the recent messages of each room and the receipts
 * of their senders (a MemoryStore), with where each room's last record lies
 * in the stream. Pure: records in, verdicts out.
 *
 * Every node applies the same rule to the same records in the same order, so
 * every node ends up with the same rooms: a record is accepted when it
 * continues its room (its first seq follows the room's last); one numbered
 * over messages already accepted lost a race between two writers and is
 * refused by everyone (the first one wins). The writer of a refused record
 * sees it refused too and numbers its messages again: nobody is told "stored
 * as N" for a message that is not the room's N.
 *
 * @module
 */

import type { SenderRef, SendReceipt, StoredMessage } from "../../chat/ports.ts";
import { MemoryStore } from "../memory.ts";
import type { Retention } from "../retention.ts";
import type { BatchRecord } from "./record.ts";

/** Where a room stands in the stream. */
export interface RoomTail {
  /** The room's last sequence number. */
  seq: number;
  /** Stream sequence of the room's last record (0: none yet). */
  stream: number;
}

export type Verdict =
  /** The record continues its room: its messages are the room's. */
  | "accepted"
  /** Numbered over messages already accepted: refused, by every node. */
  | "stale";

export class ClusterView {
  /** The recent messages and the receipts, in memory. */
  readonly store: MemoryStore;
  #tails = new Map<string, RoomTail>();

  /** `maxBytes`: the memory the recent messages may take (older ones are read from the stream). */
  constructor(retention: Partial<Retention> = {}, maxBytes?: number) {
    this.store = new MemoryStore(retention, maxBytes === undefined ? {} : { maxBytes });
  }

  /** Where `room` stands, when this view knows (it saw a record of it, or was told). */
  tail(room: string): RoomTail | undefined {
    return this.#tails.get(room);
  }

  /** Learns where `room` stands from the stream itself (its last record), for a room this view has not seen. */
  learn(room: string, tail: RoomTail): void {
    const known = this.#tails.get(room);
    if (!known || known.stream < tail.stream) this.#tails.set(room, tail);
  }

  /**
   * Applies the record stored at stream sequence `stream`. An accepted
   * record's messages are returned, to be delivered to the room's members.
   */
  apply(record: BatchRecord, stream: number): { verdict: Verdict; messages: StoredMessage[] } {
    const known = this.#tails.get(record.room);
    if (known && stream <= known.stream) return { verdict: "stale", messages: [] };
    if (known && record.first <= known.seq) return { verdict: "stale", messages: [] };
    const messages: StoredMessage[] = [];
    for (const { message, sender } of record.entries) {
      this.store.replicate(message, sender);
      messages.push(message);
    }
    this.#tails.set(record.room, { seq: record.first + record.entries.length - 1, stream });
    return { verdict: "accepted", messages };
  }

  /** The receipt of a send this view has seen stored. */
  receipt(ref: SenderRef): SendReceipt | undefined {
    return this.store.receipts([ref])[0];
  }
}
