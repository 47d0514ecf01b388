/**
 * A WebSocket connection as a {@linkcode StreamConn}, so that the chat
 * connection pipeline (src/net/connection.ts) runs on it unchanged.
 *
 * Reads hand the pipeline the payloads of binary messages, unmasked in the
 * pipeline's own read buffer (src/net/websocket.ts); pings are answered and
 * the client's close is echoed, then the read ends the stream. Writes take
 * what the outbox writes, whole chat frames end to end, and send one binary
 * message per frame. Every byte the server sends goes through one chain of
 * writes, so a pong never lands inside a message that is half written.
 *
 * A slow reader is the outbox's business, as on TCP: a write here resolves
 * only once the socket took the bytes.
 *
 * @module
 */

import type { StreamConn } from "./tls_stream.ts";
import { CloseCode, closeFrame, controlFrame, FrameReader, Opcode, wrapFrames } from "./websocket.ts";

/** How long a closing WebSocket waits for its close frame to go out and the client's to come back. */
const CLOSE_GRACE_MS = 1000;

/** Writes all of `bytes`, looping on partial writes. */
export async function writeAll(conn: StreamConn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.byteLength;) off += await conn.write(off === 0 ? bytes : bytes.subarray(off));
}

export class WsConn implements StreamConn {
  /** True when the WebSocket runs over TLS (wss). */
  readonly secure: boolean;
  readonly #raw: StreamConn;
  readonly #reader: FrameReader;
  /** Bytes that arrived with the upgrade request, read before the socket. */
  #early: Uint8Array | null;
  /** The tail of the write chain: every frame the server sends waits for the one before. */
  #sending: Promise<void> = Promise.resolve();
  #pong: Uint8Array | null = null;
  #reading = false;
  #closeSent = false;
  #closed = false;
  #rawClosed = false;
  #thrown = false;

  /** `early` is what followed the upgrade request in the same read; `maxMessage` is 4 + the frame limit. */
  constructor(raw: StreamConn & { readonly secure?: boolean }, early: Uint8Array, maxMessage: number) {
    this.#raw = raw;
    this.secure = raw.secure === true;
    this.#early = early.byteLength > 0 ? early : null;
    this.#reader = new FrameReader(maxMessage);
  }

  /**
   * Resolves to the chat bytes read into `buf`, 0 once the client closed (or
   * the socket ended); rejects with the WebSocketError of a broken rule, once
   * the chat bytes before it were handed over.
   */
  async read(buf: Uint8Array): Promise<number> {
    this.#reading = true;
    try {
      return await this.#read(buf);
    } finally {
      this.#reading = false;
    }
  }

  async #read(buf: Uint8Array): Promise<number> {
    const reader = this.#reader;
    for (;;) {
      if (reader.error !== null) {
        this.#thrown = true;
        throw reader.error;
      }
      if (reader.closed !== null) return 0;
      let n: number;
      const early = this.#early;
      if (early !== null) {
        n = Math.min(buf.byteLength, early.byteLength);
        buf.set(early.subarray(0, n));
        this.#early = n === early.byteLength ? null : early.subarray(n);
      } else {
        n = (await this.#raw.read(buf)) ?? 0;
        if (n === 0) {
          // The socket ended without a close frame: nothing more to say on it.
          this.#closeSent = true;
          return 0;
        }
      }
      const k = reader.process(buf, n);
      if (reader.ping !== null) this.#answerPing(reader.ping);
      reader.ping = null;
      if (reader.closed !== null) this.#echoClose(reader.closed);
      if (this.#closed) {
        // Closing: the bytes only matter for the client's close frame, which ends the wait.
        if (reader.closed !== null || reader.error !== null) this.#closeRaw();
        continue;
      }
      if (k > 0) return k;
    }
  }

  /** Sends whole chat frames, one binary message each; resolves once the socket took them. */
  async write(bytes: Uint8Array): Promise<number> {
    // After the close frame nothing more may be sent: what the pipeline still flushes is dropped.
    if (this.#closeSent) return bytes.byteLength;
    await this.#send(wrapFrames(bytes));
    return bytes.byteLength;
  }

  /**
   * Closes the WebSocket: a close frame (`code`, by default 1000, or the
   * code of the rule the client broke), then the socket once the client
   * answered with its own, or after a short grace.
   */
  close(code?: number, reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#closeSent) {
      const error = this.#thrown ? this.#reader.error : null;
      this.#sendClose(code ?? error?.closeCode ?? CloseCode.NORMAL, reason ?? error?.message ?? "");
    }
    if (this.#reader.closed !== null || this.#reader.error !== null) {
      // The client is gone or broke the protocol: no close frame to wait for, only ours to send.
      void this.#sending.then(() => this.#closeRaw());
    } else if (!this.#reading) {
      // Nobody reads: read here until the client's close frame (or the grace) ends it.
      void this.read(new Uint8Array(256)).catch(() => {}).then(() => this.#closeRaw());
    }
    const timer = setTimeout(() => this.#closeRaw(), CLOSE_GRACE_MS);
    Deno.unrefTimer(timer);
  }

  /** Queues `bytes` behind everything sent before. */
  #send(bytes: Uint8Array): Promise<void> {
    const sent = this.#sending.then(() => writeAll(this.#raw, bytes));
    this.#sending = sent.catch(() => {});
    return sent;
  }

  /** Answers the latest ping: pings that come faster than pongs go out get one pong, for the newest. */
  #answerPing(payload: Uint8Array): void {
    if (this.#closeSent) return;
    const queued = this.#pong !== null;
    this.#pong = payload;
    if (queued) return;
    // Queued before any close frame, so it goes out before it, as RFC 6455 wants.
    const sent = this.#sending.then(() => {
      const p = this.#pong!;
      this.#pong = null;
      return writeAll(this.#raw, controlFrame(Opcode.PONG, p));
    });
    this.#sending = sent.catch(() => {});
  }

  /** The client closed: echo its code (1000 when it gave none), once. */
  #echoClose(code: number): void {
    if (this.#closeSent) return;
    this.#sendClose(code === 1005 ? CloseCode.NORMAL : code, "");
  }

  #sendClose(code: number, reason: string): void {
    this.#closeSent = true;
    void this.#send(closeFrame(code, reason)).catch(() => {});
  }

  #closeRaw(): void {
    if (this.#rawClosed) return;
    this.#rawClosed = true;
    try {
      this.#raw.close();
    } catch { /* closed already */ }
  }
}
