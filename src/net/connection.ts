/**
 * The connection pipeline, over any byte stream: sniffs the first bytes,
 * decodes frames, holds a HELLO while its password is checked and a
 * session's input while the log reads for it, feeds the broker through the
 * runner, and owns the connection's outbox and its close. A TCP socket, a
 * TLS stream and (next) a WebSocket each adapt to {@linkcode StreamConn};
 * the listener passes the peer's address in.
 *
 * @module
 */

import type { CloseReason } from "../chat/close.ts";
import type { Effect } from "../chat/effects.ts";
import type { Session } from "../chat/session.ts";
import {
  decodeClientMessage,
  encodeMessage,
  ErrorCode,
  type Frame,
  FrameDecoder,
  type Hello,
  NOT_CHAT_LINE,
  ProtocolError,
  SNIFF_SIZE,
  sniffHello,
} from "../protocol/mod.ts";
import type { Authenticator } from "./auth.ts";
import type { Logger } from "./log.ts";
import { Outbox } from "./outbox.ts";
import type { ReadSlots } from "./read_slots.ts";
import type { Peer, Runner } from "./runner.ts";
import type { StreamConn } from "./tls_stream.ts";

/**
 * Bytes read per socket read while a connection is quiet: small, because an
 * idle connection holds its buffer in a pending read (10,000 idle clients
 * with 2 KiB each cost 20 MiB), and cut from a shared slab (src/net/read_slots.ts).
 * A HELLO or a chat line fits; a read that fills it grows the buffer.
 */
export const READ_BUFFER = 256;

/** A busy connection's read buffer grows to this, so a burst of input is handled in large batches. */
const READ_BUFFER_MAX = 64 * 1024;

/** The sniffed prefix before anything arrived: shared, never written. */
const NOTHING = new Uint8Array(0);

/**
 * Bytes of one connection's messages that may wait for the log at once;
 * past this its next frames wait until the log answers. One sender's burst
 * then reaches the room in log-sized steps that outboxes drain in between,
 * instead of all at once.
 */
export const INFLIGHT_BYTES = 64 * 1024;

/** How long a closing connection may take to flush its last frames. */
const CLOSE_FLUSH_MS = 1000;

/**
 * The close reason for a failed socket read or write. A reset or broken pipe
 * means the peer went away: a killed process resets a connection that still
 * has unread data, and that is a disconnect like any other, not our I/O failing.
 */
function ioCloseReason(err: unknown): CloseReason {
  return err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.ConnectionAborted ||
      err instanceof Deno.errors.BrokenPipe
    ? "disconnected"
    : "io_error";
}

/** Settings every connection of a server shares. */
export interface ConnectionOptions {
  maxFrame: number;
  /** Outbound byte budget per connection. */
  outboxBytes: number;
  /** Password checks; absent for an open server. */
  auth?: Authenticator;
  /** Refuse a plaintext client (the listener offers TLS and requires it). */
  tlsRequired: boolean;
  logger: Logger;
  /** Every connection's read buffer while it is quiet. */
  slots: ReadSlots;
  /** Takes connections whose first bytes are HTTP (src/net/web.ts); absent, they get NOT_CHAT_LINE. */
  web?: WebEntry;
  /** The stream delivers chat frames only (a WebSocket): nothing to sniff, the first bytes go to the decoder. */
  framed?: boolean;
}

/** Where an HTTP connection goes: the web front, which then owns the stream and the duty to end it. */
export interface WebEntry {
  /** Whether the first bytes open an HTTP request ("more": not known yet). */
  sniff(prefix: Uint8Array): "yes" | "no" | "more";
  /** Serves `stream`, whose first bytes were `prefix`; runs `onEnd` once, when it is done with. */
  take(stream: Stream, prefix: Uint8Array, address: string, onEnd: () => void): void;
}

/** The stream of a connection handed to the web front: closing it here does nothing. */
const HANDED_OFF: Stream = {
  read: () => Promise.resolve(null),
  write: () => Promise.reject(new Deno.errors.BadResource("the connection was handed to the web front")),
  close() {},
};

/** A byte stream that may have started TLS (src/net/tls_server.ts): plaintext ones are refused when TLS is required. */
export type Stream = StreamConn & { readonly secure?: boolean };

export class Connection implements Peer {
  readonly session: Session;
  readonly address: string;
  readonly outbox: Outbox;
  closing = false;
  #stream: Stream;
  #runner: Runner;
  #options: ConnectionOptions;
  #held = 0;
  #inflight = 0;
  #released: (() => void) | null = null;
  #ended = false;
  #onEnd: () => void;
  /** The read slot, from start until the reading stops; the buffer reads go into; the frame decoder. */
  #slot: Uint8Array | null = null;
  #buf: Uint8Array | null = null;
  #decoder: FrameDecoder | null = null;
  /** Resolves {@linkcode run}'s promise, when one was asked for. */
  #finished: (() => void) | null = null;

  /** `onEnd` runs once, when the connection is closed and its read loop done with. */
  constructor(
    runner: Runner,
    stream: Stream,
    address: string,
    options: ConnectionOptions,
    onEnd: () => void,
  ) {
    this.#runner = runner;
    this.#stream = stream;
    this.address = address;
    this.#options = options;
    this.#onEnd = onEnd;
    this.session = runner.broker.open(address, Date.now());
    // The error callback runs only after a write, long after the session exists.
    this.outbox = new Outbox(stream, options.outboxBytes, (err) => this.#drop(ioCloseReason(err)));
    runner.attach(this.session.id, this);
  }

  /**
   * Reads the connection until it closes: sniffs its first bytes, then feeds
   * frames to the broker. Resolves once the reading has stopped and the
   * connection has ended. The server calls {@linkcode start} instead, which
   * keeps no promise for the connection's whole life.
   */
  run(): Promise<void> {
    const done = new Promise<void>((resolve) => this.#finished = resolve);
    this.start();
    return done;
  }

  /** Starts reading the connection (see {@linkcode run}). */
  start(): void {
    this.#slot = this.#options.slots.take();
    void this.#begin();
  }

  /** The handshake part: the sniff and the first frames, awaited; then the read loop of callbacks. */
  async #begin(): Promise<void> {
    const slot = this.#slot!;
    try {
      const first = this.#options.framed ? NOTHING : await this.#sniff(slot);
      if (first === null) return this.#stop();
      const decoder = this.#decoder = new FrameDecoder({ maxFrame: this.#options.maxFrame });
      const waiting = this.#receive(decoder, first);
      if (waiting) await waiting;
    } catch (err) {
      return this.#bug(err);
    }
    // A shared slot while idle (an idle connection holds its buffer in a pending read); a buffer of its own,
    // larger, while reads fill it, and the slot again once they stop.
    this.#buf = slot;
    this.#read();
  }

  /**
   * One read of the steady state. A loop of callbacks rather than an async
   * function: an idle connection spends its life in this pending read, and an
   * async function's frame (a generator, its registers, the await's closures)
   * would be kept for it all along. Here it keeps the read's promise and
   * {@linkcode #onRead}, made once per connection.
   */
  #read(): void {
    if (this.closing) return this.#stop();
    this.#stream.read(this.#buf!).then(this.#onRead, this.#onRead);
  }

  /** The answer of a read, handled; a bug while handling it ends this connection only. */
  #onRead = (got: number | null | Error): void => {
    try {
      this.#took(got);
    } catch (err) {
      this.#bug(err);
    }
  };

  /**
   * A bug in the server while reading this connection (outside a frame's handling, which has its own net):
   * it costs this connection, logged with its stack, not the process, as an unhandled rejection would.
   */
  #bug(err: unknown): void {
    this.#options.logger.error(`internal error reading from ${this.address}: ${(err as Error).stack ?? err}`);
    try {
      if (!this.closing && this.session.state !== "closed") this.#drop("internal");
    } catch { /* the drop itself failed: the connection still ends below */ }
    this.#stop();
  }

  /** The answer of a read: a byte count (0 or null at the end), or the error it failed with. */
  #took(got: number | null | Error): void {
    if (got !== null && typeof got !== "number") {
      if (!this.closing) {
        // A WebSocket reports a broken WebSocket rule as a malformed frame (src/net/ws_conn.ts).
        if (got instanceof ProtocolError) {
          this.#perform(this.#runner.broker.protocolError(this.session, got, Date.now()));
        } else this.#drop(ioCloseReason(got));
      }
      return this.#stop();
    }
    if (!got) {
      this.#drop("disconnected");
      return this.#stop();
    }
    const n = got;
    let buf = this.#buf!;
    const waiting = this.#receive(this.#decoder!, buf.subarray(0, n));
    if (n === buf.byteLength && buf.byteLength < READ_BUFFER_MAX) {
      buf = new Uint8Array(buf.byteLength * 4);
    } else if (n < READ_BUFFER / 2 && buf !== this.#slot) buf = this.#slot!;
    this.#buf = buf;
    if (waiting) waiting.then(() => this.#read(), (err) => this.#bug(err));
    else this.#read();
  }

  /** The reading is over: the slot goes back (no read is pending now), then the connection ends. */
  #stop(): void {
    if (this.#slot !== null) {
      this.#options.slots.give(this.#slot);
      this.#slot = null;
    }
    this.#buf = null;
    void this.#end().then(() => this.#finished?.());
  }

  /** True once the stream started TLS. */
  get secure(): boolean {
    return this.#stream.secure === true;
  }

  /** Flushes what is queued, then closes (the close effect). */
  close(reason: CloseReason): void {
    if (this.closing) return;
    this.closing = true;
    const s = this.session;
    const who = s.name ? `${s.name} (${this.address})` : this.address;
    const level = reason === "quit" || reason === "disconnected" || reason === "shutdown" ? "info" : "warn";
    if (s.name || reason !== "disconnected") {
      this.#options.logger[level](`disconnect ${who} reason=${reason}`);
    }
    void this.#end();
  }

  hold(): void {
    this.#held++;
  }

  release(): void {
    if (this.#held > 0) this.#held--;
    this.#wake();
  }

  charge(bytes: number): void {
    this.#inflight += bytes;
    if (bytes < 0) this.#wake();
  }

  /** True while this connection's next frame must wait: for a read of the log, or for its messages to be stored. */
  #waiting(): boolean {
    return this.#held > 0 || this.#inflight > INFLIGHT_BYTES;
  }

  #wake(): void {
    if (this.#released === null || this.#waiting()) return;
    const go = this.#released;
    this.#released = null;
    go();
  }

  #perform(effects: Effect[]): void {
    this.#runner.perform(effects);
  }

  #drop(reason: CloseReason): void {
    this.#perform(this.#runner.broker.drop(this.session, reason, Date.now()));
  }

  /**
   * Reads until the first bytes say what the peer speaks. Resolves to those
   * bytes when it is a chat client, or null when the connection is done
   * with (closed, not chat, plaintext where TLS is required).
   */
  async #sniff(buf: Uint8Array): Promise<Uint8Array | null> {
    let sniffed = NOTHING;
    while (!this.closing) {
      let n: number | null;
      try {
        n = await this.#stream.read(buf);
      } catch (err) {
        if (!this.closing) this.#drop(ioCloseReason(err));
        return null;
      }
      if (!n) {
        this.#drop("disconnected");
        return null;
      }
      const joined = new Uint8Array(sniffed.byteLength + n);
      joined.set(sniffed);
      joined.set(buf.subarray(0, n), sniffed.byteLength);
      const verdict = sniffHello(joined, this.#options.maxFrame);
      if (verdict === "no") {
        // Not chat: an HTTP request goes to the web front (at most 8 bytes decide), anything else is told off.
        const web = this.#options.web;
        const http = web === undefined ? "no" : web.sniff(joined);
        if (http === "more") {
          sniffed = joined;
          continue;
        }
        if (http === "yes") {
          this.#handOff(web!, joined);
          return null;
        }
        this.outbox.enqueueFinal(new TextEncoder().encode(NOT_CHAT_LINE));
        this.#drop("not_chat");
        return null;
      }
      if (verdict === "more") {
        sniffed = joined.slice(0, SNIFF_SIZE);
        continue;
      }
      if (this.#options.tlsRequired && !this.#stream.secure) {
        // A plaintext client on a server that requires TLS: told so in its own protocol, then closed.
        this.outbox.enqueueFinal(encodeMessage({
          type: "error",
          fatal: true,
          code: ErrorCode.TLS_REQUIRED,
          ref: 0,
          message: "this server accepts TLS connections only: connect with --tls (or --tofu, or --ca FILE)",
        }));
        this.#drop("tls_required");
        return null;
      }
      return joined;
    }
    return null;
  }

  /**
   * Gives the stream to the web front, which now ends it: this pipeline ends
   * without closing the stream or reporting its end. The session only held
   * the handshake deadline, which the web front keeps itself; it is dropped
   * without a word: its effects (a close of this connection, nothing else
   * for a session in the handshake) are not performed, so no chat close is
   * logged or counted for an HTTP request.
   */
  #handOff(web: WebEntry, prefix: Uint8Array): void {
    const stream = this.#stream;
    const onEnd = this.#onEnd;
    this.#stream = HANDED_OFF;
    this.#onEnd = () => {};
    this.closing = true;
    this.#runner.broker.drop(this.session, "not_chat", Date.now());
    web.take(stream, prefix, this.address, onEnd);
  }

  /**
   * Handles the frames a chunk completes. Synchronous, so an ordinary read
   * costs no promise; it returns one only when the session's input is held
   * (a password check, a read of the log), and the caller must await it
   * before reading again.
   */
  #receive(decoder: FrameDecoder, chunk: Uint8Array): Promise<void> | undefined {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.#perform(this.#runner.broker.protocolError(this.session, err, Date.now()));
      return;
    }
    return this.#frames(decoder, frames, 0, Date.now(), -1);
  }

  /** Handles `frames` from index `from` on; the HELLO at index `checked` has had its password checked. */
  #frames(
    decoder: FrameDecoder,
    frames: Frame[],
    from: number,
    now: number,
    checked: number,
  ): Promise<void> | undefined {
    const s = this.session;
    const broker = this.#runner.broker;
    for (let i = from; i < frames.length; i++) {
      if (s.state !== "handshake" && s.state !== "ready") return;
      let effects: Effect[];
      try {
        const msg = decodeClientMessage(frames[i]);
        if (
          msg.type === "hello" && i !== checked && s.state === "handshake" && this.#options.auth?.needed(msg)
        ) {
          return this.#checkPassword(decoder, frames, i, msg);
        }
        effects = broker.handle(s, msg, now);
      } catch (err) {
        if (!(err instanceof ProtocolError)) {
          // A bug must cost one connection, not the server: log it and drop this client.
          this.#options.logger.error(
            `internal error handling a frame from ${this.address}: ${(err as Error).stack ?? err}`,
          );
          this.#perform(broker.drop(s, "internal", now));
          return;
        }
        effects = broker.protocolError(s, err, now);
      }
      this.#perform(effects);
      if (this.#waiting()) {
        // The log reads for this session, or holds too much of its input: its next frame waits, as does the socket.
        const next = i + 1;
        return new Promise<void>((resolve) => this.#released = resolve).then(() =>
          this.#frames(decoder, frames, next, Date.now(), checked)
        );
      }
    }
    // A bad header after whole frames in the same chunk: those frames were handled first.
    if (decoder.error) this.#perform(broker.protocolError(s, decoder.error, now));
    return undefined;
  }

  /**
   * The password check is slow (scrypt) and runs off the event loop; this
   * connection waits for it, the others do not. The frames after the HELLO
   * stay valid: no read happens meanwhile.
   */
  async #checkPassword(decoder: FrameDecoder, frames: Frame[], at: number, hello: Hello): Promise<void> {
    this.session.auth = await this.#options.auth!.check(hello).catch(() => ({
      password: "wrong" as const,
      admin: false,
    }));
    await this.#frames(decoder, frames, at, Date.now(), at);
  }

  /** Closes the stream once the outbox has flushed (bounded); runs `onEnd` once. */
  async #end(): Promise<void> {
    // The read loop ended on its own (EOF, error): the broker has already dropped the session.
    this.closing = true;
    this.outbox.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.outbox.flushed(),
      new Promise<void>((r) => timer = setTimeout(r, CLOSE_FLUSH_MS)),
    ]);
    clearTimeout(timer);
    try {
      this.#stream.close();
    } catch { /* closed twice: fine */ }
    if (this.#ended) return;
    this.#ended = true;
    this.#runner.detach(this.session.id);
    // Ended without the broker knowing (it knows of every ordinary end): the others still hear the leave.
    if (this.session.state === "handshake" || this.session.state === "ready") this.#drop("io_error");
    this.#onEnd();
  }
}
