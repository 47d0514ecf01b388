/**
 * An in-memory byte stream for the connection pipeline (src/net/connection.ts),
 * with the test as the client: what the test sends arrives as reads, cut to
 * the reader's buffer; what the server writes is kept; either side may end
 * it. It is a {@linkcode StreamConn}, and a {@linkcode Watched} source for
 * `waitFor()`: every read, write and close is a change.
 *
 * @module
 */

import { concat } from "./bytes.ts";
import { Changes, type Watched } from "./deadline.ts";
import type { StreamConn } from "../../src/net/tls_stream.ts";

export class MemoryStream implements StreamConn, Watched {
  readonly changes = new Changes();
  /** Set for a stream that started TLS (the pipeline refuses a plaintext one when TLS is required). */
  readonly secure?: boolean;
  /** What the server wrote, in order. */
  readonly written: Uint8Array[] = [];
  /** Reads the server asked for. */
  reads = 0;
  /** Closed by the server. */
  closed = false;
  #inbox: Uint8Array[] = [];
  #eof = false;
  #error: Error | null = null;
  #reader: (() => void) | null = null;

  constructor(secure?: boolean) {
    if (secure !== undefined) this.secure = secure;
  }

  // The client's side.

  /** Bytes for the server to read. */
  send(bytes: Uint8Array): void {
    this.#inbox.push(bytes.slice());
    this.#wake();
  }

  /** The client closes its side: the server reads the end of the stream. */
  end(): void {
    this.#eof = true;
    this.#wake();
  }

  /** The server's next read fails with `err` (a reset, a broken network). */
  fail(err: Error): void {
    this.#error = err;
    this.#wake();
  }

  /** Bytes sent and not read yet. */
  get unread(): number {
    return this.#inbox.reduce((n, b) => n + b.byteLength, 0);
  }

  /** True while a read of the server waits for bytes. */
  get reading(): boolean {
    return this.#reader !== null;
  }

  /** Everything the server wrote, as one buffer. */
  bytes(): Uint8Array {
    return concat(this.written);
  }

  get ended(): boolean {
    return this.closed;
  }

  describe(): string {
    return `${this.bytes().byteLength} bytes written, ${this.unread} unread, ${this.reads} reads, ` +
      `${this.closed ? "closed" : "open"}`;
  }

  // The server's side.

  async read(buf: Uint8Array): Promise<number | null> {
    this.reads++;
    while (this.#inbox.length === 0 && !this.#eof && !this.#error && !this.closed) {
      await new Promise<void>((resolve) => this.#reader = resolve);
    }
    this.changes.notify();
    if (this.#error) throw this.#error;
    const chunk = this.#inbox[0];
    if (this.closed || chunk === undefined) return null;
    const n = Math.min(buf.byteLength, chunk.byteLength);
    buf.set(chunk.subarray(0, n));
    if (n === chunk.byteLength) this.#inbox.shift();
    else this.#inbox[0] = chunk.subarray(n);
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("the stream is closed"));
    this.written.push(bytes.slice());
    this.changes.notify();
    return Promise.resolve(bytes.byteLength);
  }

  close(): void {
    this.closed = true;
    this.#wake();
  }

  #wake(): void {
    const reader = this.#reader;
    this.#reader = null;
    reader?.();
    this.changes.notify();
  }
}
