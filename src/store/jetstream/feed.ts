/**
 * The records a node's view takes, in stream order, each once. The view's
 * consumer sends no acknowledgements (the view takes every record, so there
 * is nothing to redeliver), and such a consumer may lose a record in flight
 * when its leader moves to another NATS server; it may also send again what
 * it sent before. The feed reads a record the consumer skipped from the
 * stream before taking the one after it, and takes a record sent twice once.
 * I/O is passed in, so the rule is tested without NATS.
 *
 * @module
 */

/** A record of the stream: its stream sequence and its bytes. */
export interface StreamRecord {
  seq: number;
  data: Uint8Array;
}

/**
 * What reading the stream at a sequence gave: the first record at or after
 * it, "none" when there is none (deleted by retention, or not written), or
 * null when NATS could not answer (asked again after a pause).
 */
export type ReadResult = StreamRecord | "none" | null;

export interface FeedOptions {
  /** The first record at or after stream sequence `from`. */
  read(from: number): Promise<ReadResult>;
  /** Takes one record; called in stream order, once per record. */
  take(record: StreamRecord): void;
  /** A record the consumer skipped was read from the stream (for the log). */
  missed(seq: number): void;
  /** Pause before reading again after NATS did not answer. */
  retryMs: number;
  /** True once the node is closing: the feed stops. */
  closed(): boolean;
}

export class StreamFeed {
  #o: FeedOptions;
  #incoming: StreamRecord[] = [];
  #consumed: number;
  #wanted = 0;
  // Set and cleared inside #drain itself: a drain that ran to its end without waiting has cleared it before
  // the next push.
  #draining = false;
  #drained: Promise<void> = Promise.resolve();

  /** `start`: the first stream sequence the view takes. */
  constructor(start: number, options: FeedOptions) {
    this.#consumed = start - 1;
    this.#o = options;
  }

  /** The last stream sequence taken (or skipped as deleted). */
  get consumed(): number {
    return this.#consumed;
  }

  /** True while records are being taken or a hole read. */
  get busy(): boolean {
    return this.#draining;
  }

  /** A record from the consumer. */
  push(record: StreamRecord): void {
    this.#incoming.push(record);
    this.want(record.seq);
  }

  /** The stream goes at least to `seq`: every record up to it is to be taken. */
  want(seq: number): void {
    if (seq > this.#wanted) this.#wanted = seq;
    if (!this.#draining) this.#drained = this.#drain();
  }

  /** Resolves once everything wanted so far is taken (tests). */
  async settled(): Promise<void> {
    while (this.#draining) await this.#drained;
  }

  async #drain(): Promise<void> {
    const o = this.#o;
    this.#draining = true;
    try {
      while (!o.closed() && this.#wanted > this.#consumed) {
        const next = this.#incoming[0];
        if (next && next.seq <= this.#consumed) {
          this.#incoming.shift(); // sent again
          continue;
        }
        if (next && next.seq === this.#consumed + 1) {
          this.#incoming.shift();
          this.#consumed = next.seq;
          o.take(next);
          continue;
        }
        // A hole before the next record from the consumer, or after the last one: read what it held.
        const found = await o.read(this.#consumed + 1);
        if (o.closed()) return;
        if (found === null) {
          await new Promise((r) => setTimeout(r, o.retryMs));
          continue;
        }
        const end = next ? next.seq - 1 : this.#wanted;
        if (found === "none" || found.seq > end) {
          this.#consumed = end; // deleted, or never written: nothing to take below `end`
          continue;
        }
        this.#consumed = found.seq;
        o.missed(found.seq);
        o.take(found);
      }
    } finally {
      this.#draining = false;
    }
  }
}
