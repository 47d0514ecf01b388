/**
 * Adapters between Deno connections and Node streams, so that node:tls can
 * run TLS over a connection Deno accepted. Deno cannot start TLS on the
 * server side of an accepted connection, but node:tls can, over any Duplex:
 * {@linkcode connDuplex} turns a Deno.Conn (plus bytes already read from it)
 * into one, and {@linkcode SocketConn} turns the TLS socket back into the
 * read/write/close connection the rest of the code speaks.
 *
 * @module
 */

import { Duplex } from "node:stream";

/** A byte stream as the server and client use it: a Deno.Conn, a TLS stream, or a test fake. */
export interface StreamConn {
  /** Resolves to the bytes read; null or 0 at the end of the stream (a Deno.Conn says null, a raw one 0). */
  read(buf: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/** The first byte of a TLS handshake record: a ClientHello and a ServerHello open with one. */
export const TLS_HANDSHAKE = 0x16;

/** Bytes read from the socket at a time. */
const READ_CHUNK = 16 * 1024;

/** Past this many unread bytes a {@linkcode SocketConn} pauses its socket: memory stays bounded. */
const HIGH_WATER = 64 * 1024;

/** How long a closed TLS stream may take to send close_notify and its last bytes. */
const CLOSE_GRACE_MS = 1000;

/**
 * A Duplex over `conn`. `first` is what was already read from `conn` (the
 * sniffed start of a TLS ClientHello); it is delivered before anything else.
 * `onBytes` sees every chunk read, before the reader does.
 */
export function connDuplex(
  conn: Pick<Deno.Conn, "read" | "write" | "close">,
  first?: Uint8Array,
  onBytes?: (chunk: Uint8Array) => void,
): Duplex {
  let reading = false;
  const duplex = new Duplex({
    read() {
      if (reading) return;
      reading = true;
      void (async () => {
        const buf = new Uint8Array(READ_CHUNK);
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) {
              duplex.push(null);
              return;
            }
            const chunk = buf.slice(0, n);
            onBytes?.(chunk);
            if (!duplex.push(chunk)) break;
          }
          reading = false;
        } catch (err) {
          if (!duplex.destroyed) duplex.destroy(err as Error);
        }
      })();
    },
    write(chunk: Uint8Array, _encoding, callback) {
      void (async () => {
        let off = 0;
        while (off < chunk.byteLength) off += await conn.write(chunk.subarray(off));
      })().then(() => callback(), (err) => callback(err as Error));
    },
    final(callback) {
      // Half-close is not worth its corner cases here: the TLS layer has sent close_notify already.
      callback();
    },
    destroy(err, callback) {
      try {
        conn.close();
      } catch { /* already closed */ }
      callback(err);
    },
  });
  if (first && first.byteLength > 0) {
    onBytes?.(first);
    duplex.unshift(first);
  }
  return duplex;
}

/** Reading a connection that was closed on this side. */
function closedError(): Error {
  return new Deno.errors.BadResource("the connection is closed");
}

/**
 * A Node stream (a TLS socket) as a {@linkcode StreamConn}. Reads take from a
 * queue the socket fills, pausing it past a high-water mark; a write resolves
 * once the stream has taken the bytes. `close()` makes pending and later
 * reads and writes fail at once, and tears the socket down.
 */
export class SocketConn implements StreamConn {
  readonly #socket: Duplex;
  readonly #raw: { close(): void } | undefined;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #closed = false;
  #error: unknown = null;
  #wake: (() => void) | null = null;
  #writes = new Set<(err: unknown) => void>();

  /** `raw` is the connection under the socket, closed with it whatever the stream does. */
  constructor(socket: Duplex, raw?: { close(): void }) {
    this.#socket = socket;
    this.#raw = raw;
    socket.on("data", (data: Uint8Array) => {
      this.#chunks.push(data);
      this.#queued += data.byteLength;
      if (this.#queued > HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (err: unknown) => {
      this.#error ??= err;
      this.#failWrites(err);
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#failWrites(this.#error ?? closedError());
      this.#notify();
    });
  }

  /** The first error the socket reported, if any. */
  get error(): unknown {
    return this.#error;
  }

  async read(buf: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#closed) throw closedError();
      const head = this.#chunks[0];
      if (head) {
        const n = Math.min(buf.byteLength, head.byteLength);
        buf.set(head.subarray(0, n));
        if (n === head.byteLength) this.#chunks.shift();
        else this.#chunks[0] = head.subarray(n);
        this.#queued -= n;
        if (this.#queued <= HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
        return n;
      }
      if (this.#error !== null) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#error !== null) return Promise.reject(this.#error);
    return new Promise<number>((resolve, reject) => {
      const fail = (err: unknown) => reject(err);
      this.#writes.add(fail);
      this.#socket.write(bytes, (err) => {
        this.#writes.delete(fail);
        if (err) reject(err);
        else resolve(bytes.byteLength);
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#chunks = [];
    this.#queued = 0;
    this.#failWrites(closedError());
    this.#notify();
    // end() sends close_notify, so the peer sees a clean end rather than a truncated stream; a peer
    // that does not read must not hold the socket open, hence the bounded wait.
    let done = false;
    const destroy = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.#socket.destroy();
      try {
        this.#raw?.close();
      } catch { /* the socket closed it */ }
    };
    const timer = setTimeout(destroy, CLOSE_GRACE_MS);
    Deno.unrefTimer(timer);
    this.#socket.once("close", destroy);
    this.#socket.once("finish", destroy);
    this.#socket.end();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #failWrites(err: unknown): void {
    const writes = [...this.#writes];
    this.#writes.clear();
    for (const fail of writes) fail(err);
  }
}
