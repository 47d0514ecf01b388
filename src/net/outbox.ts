/**
 * A bounded, coalescing outbound queue: the one writer of a connection.
 *
 * Frames are queued synchronously; a single drain loop writes everything
 * queued so far as one buffer, looping on partial writes, then takes what
 * arrived meanwhile. A peer that lets more than `budget` bytes pile up is a
 * slow consumer: {@linkcode Outbox.enqueue} refuses and the caller drops it.
 *
 * @module
 */

/** The narrowest writer an outbox needs: a Deno.Conn, a TLS conn or a test fake. */
export interface ByteWriter {
  write(bytes: Uint8Array): Promise<number>;
}

/** Default byte budget per connection: seconds of busy-room traffic, yet bounded memory per peer. */
export const DEFAULT_OUTBOX_BYTES = 1024 * 1024;

/** Coalesce at most this many bytes into one write: large enough to amortise syscalls, small enough to copy cheaply. */
const MAX_BATCH = 256 * 1024;

export class Outbox {
  readonly budget: number;
  #writer: ByteWriter;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #draining = false;
  #closed = false;
  #error: unknown = null;
  #idle: Array<() => void> = [];
  #onError: (err: unknown) => void;
  /** Number of write calls made, for tests and stats. */
  writes = 0;

  constructor(writer: ByteWriter, budget = DEFAULT_OUTBOX_BYTES, onError: (err: unknown) => void = () => {}) {
    this.#writer = writer;
    this.budget = budget;
    this.#onError = onError;
  }

  /** Bytes queued or being written. */
  get queuedBytes(): number {
    return this.#queued;
  }

  get failed(): boolean {
    return this.#error !== null;
  }

  /**
   * Queues one frame. Returns false, queuing nothing, when the frame would
   * take the queue past its budget (or the outbox is closed).
   */
  enqueue(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#queued + bytes.byteLength > this.budget) return false;
    this.#queue.push(bytes);
    this.#queued += bytes.byteLength;
    this.#schedule();
    return true;
  }

  /**
   * Starts the drain after the current synchronous step rather than inside
   * it: everything queued by the same burst of input (a fan-out to this peer
   * of many messages) then goes out in one write instead of first-frame-alone.
   */
  #schedule(): void {
    if (this.#draining) return;
    this.#draining = true;
    queueMicrotask(() => void this.#drain());
  }

  /** Queues a frame past the budget: for the one last error frame sent to a peer being dropped. */
  enqueueFinal(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(bytes);
    this.#queued += bytes.byteLength;
    this.#schedule();
  }

  /** Resolves once everything queued so far is written (or writing failed). */
  flushed(): Promise<void> {
    if (!this.#draining || this.#error !== null) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Refuses further frames; what is queued still drains. */
  close(): void {
    this.#closed = true;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#take();
        let off = 0;
        while (off < batch.byteLength) {
          this.writes++;
          off += await this.#writer.write(off === 0 ? batch : batch.subarray(off));
        }
        this.#queued -= batch.byteLength;
      }
    } catch (err) {
      this.#error = err;
      this.#queue = [];
      this.#queued = 0;
      this.#closed = true;
      this.#onError(err);
    } finally {
      this.#draining = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /** Removes queued frames up to MAX_BATCH bytes and returns them as one buffer. */
  #take(): Uint8Array {
    const q = this.#queue;
    if (q.length === 1 || q[0].byteLength >= MAX_BATCH) return q.shift()!;
    let n = 0;
    let size = 0;
    while (n < q.length && (n === 0 || size + q[n].byteLength <= MAX_BATCH)) size += q[n++].byteLength;
    if (n === 1) return q.shift()!;
    const out = new Uint8Array(size);
    let at = 0;
    for (let i = 0; i < n; i++) {
      out.set(q[i], at);
      at += q[i].byteLength;
    }
    q.splice(0, n);
    return out;
  }
}
