/**
 * One TCP connection of the load generator: a read loop that hands every
 * chunk to a handler with its arrival time, and a single writer that
 * coalesces whatever was queued into one write and loops on partial writes
 * (two overlapping writes on one Deno connection could interleave).
 *
 * @module
 */

import { concat } from "./split.ts";

/** What a connection reports to its owner. */
export interface WireHandler {
  /** One read's bytes (valid only during the call), and performance.now() when they arrived. */
  chunk(bytes: Uint8Array, now: number): void;
  /** The connection ended: `err` is null for the peer closing cleanly or for our own close. */
  end(err: Error | null): void;
}

/** One connection as an endpoint uses it: {@linkcode Wire}, or a NodeWire bound to a source address. */
export interface Link {
  /** Queues bytes; they go out in order. */
  write(bytes: Uint8Array): void;
  /** Closes the connection; the handler's `end` gets null. */
  close(): void;
  /** Resolves when reading has stopped. */
  readonly done: Promise<void>;
}

export class Wire implements Link {
  readonly #conn: Deno.TcpConn;
  readonly #handler: WireHandler;
  #queue: Uint8Array[] = [];
  #writing = false;
  #ended = false;
  #closing = false;
  /** Resolves when the read loop has stopped. */
  readonly done: Promise<void>;

  private constructor(conn: Deno.TcpConn, bufferSize: number, handler: WireHandler) {
    this.#conn = conn;
    this.#handler = handler;
    this.done = this.#read(bufferSize);
  }

  /** Connects to host:port with Nagle off and starts reading into a buffer of `bufferSize` bytes. */
  static async connect(host: string, port: number, bufferSize: number, handler: WireHandler): Promise<Wire> {
    const conn = await Deno.connect({ hostname: host, port, transport: "tcp" });
    try {
      conn.setNoDelay(true);
    } catch { /* not fatal: only latency suffers */ }
    return new Wire(conn, bufferSize, handler);
  }

  /** Queues bytes; they go out in order, coalesced with anything queued before the writer runs. */
  write(bytes: Uint8Array): void {
    if (this.#ended || this.#closing) return;
    this.#queue.push(bytes);
    if (!this.#writing) void this.#drain();
  }

  /** Closes the connection; the handler's `end` gets null. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #read(bufferSize: number): Promise<void> {
    const buf = new Uint8Array(bufferSize);
    let error: Error | null = null;
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#handler.chunk(buf.subarray(0, n), performance.now());
      }
    } catch (err) {
      if (!this.#closing) error = err instanceof Error ? err : new Error(String(err));
    }
    this.#finish(error);
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#ended) {
        const batch = concat(this.#queue);
        this.#queue = [];
        let off = 0;
        while (off < batch.byteLength) off += await this.#conn.write(off === 0 ? batch : batch.subarray(off));
      }
    } catch (err) {
      if (!this.#closing) this.#finish(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#writing = false;
    }
  }

  #finish(error: Error | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue = [];
    this.close();
    this.#handler.end(error);
  }
}
