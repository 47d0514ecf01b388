/**
 * The TCP edge of the broker: accepts connections, turns bytes into
 * messages for the broker, and performs the effects it returns. This is the
 * only server code that touches sockets or the clock.
 *
 * @module
 */

import { Broker, type BrokerOptions } from "../chat/broker.ts";
import type { CloseReason } from "../chat/close.ts";
import type { Effect } from "../chat/effects.ts";
import type { Session } from "../chat/session.ts";
import {
  decodeMessage,
  FrameDecoder,
  NOT_CHAT_LINE,
  ProtocolError,
  SNIFF_SIZE,
  sniffHello,
} from "../protocol/mod.ts";
import type { MessageStore } from "../store/log.ts";
import type { Logger } from "./log.ts";
import { Outbox } from "./outbox.ts";

export interface ServerOptions extends BrokerOptions {
  /** Required here: the server decides between SQLite and memory. */
  store: MessageStore;
  host: string;
  port: number;
  /** Outbound byte budget per connection. */
  outboxBytes: number;
  logger: Logger;
}

/** Bytes read per socket read: small, because an idle connection holds its buffer while it waits. */
const READ_BUFFER = 4096;

/** How often retention runs: deleting old rows is cheap but need not be continuous. */
const PRUNE_EVERY_MS = 60_000;

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

/** Per-connection state the broker carries as its `link`. */
export class Link {
  readonly conn: Deno.TcpConn;
  readonly outbox: Outbox;
  closing = false;
  closed: Promise<void>;
  #resolveClosed!: () => void;

  constructor(conn: Deno.TcpConn, budget: number, onError: (err: unknown) => void) {
    this.conn = conn;
    this.outbox = new Outbox(conn, budget, onError);
    this.closed = new Promise((r) => this.#resolveClosed = r);
  }

  markClosed(): void {
    this.#resolveClosed();
  }
}

export class ChatServer {
  readonly broker: Broker<Link>;
  readonly options: ServerOptions;
  #listener: Deno.TcpListener | null = null;
  #log: Logger;
  #timer: ReturnType<typeof setInterval> | undefined;
  #pruneTimer: ReturnType<typeof setInterval> | undefined;
  // Effects waiting for the store's staged batch to commit, in the order they were produced.
  #deferred: Effect<Link>[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #stopping = false;
  #links = new Set<Link>();

  constructor(options: ServerOptions) {
    this.options = options;
    this.broker = new Broker<Link>(options);
    this.#log = options.logger;
  }

  /** Binds the listener; throws Deno.errors.AddrInUse when the port is taken. */
  listen(): Deno.NetAddr {
    this.#listener = Deno.listen({ hostname: this.options.host, port: this.options.port, transport: "tcp" });
    const tickMs = Math.max(20, Math.min(1000, Math.floor(this.broker.heartbeatMs / 2)));
    this.#timer = setInterval(() => this.#perform(this.broker.tick(Date.now())), tickMs);
    this.#pruneTimer = setInterval(() => this.#prune(), PRUNE_EVERY_MS);
    this.#prune();
    return this.#listener.addr as Deno.NetAddr;
  }

  /** Accepts connections until {@linkcode shutdown}. */
  async serve(): Promise<void> {
    const listener = this.#listener;
    if (!listener) throw new Error("listen() must be called before serve()");
    while (!this.#stopping) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (this.#stopping || err instanceof Deno.errors.BadResource) break;
        // EMFILE and friends: log and keep accepting rather than die.
        this.#log.warn(`accept failed: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      void this.#handle(conn);
    }
  }

  /**
   * Stops accepting, sends SHUTTING_DOWN to every client, waits for their
   * outboxes to flush (bounded) and closes everything.
   */
  async shutdown(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#timer);
    clearInterval(this.#pruneTimer);
    // Whatever was accepted is committed (and acknowledged) before everyone is told to go.
    this.#flush();
    try {
      this.#listener?.close();
    } catch { /* already closed */ }
    this.#perform(this.broker.shutdown(Date.now()));
    await Promise.all([...this.#links].map((l) => l.closed));
  }

  async #handle(conn: Deno.TcpConn): Promise<void> {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const address = `${remote.hostname}:${remote.port}`;
    try {
      conn.setNoDelay(true);
    } catch { /* not fatal */ }
    if (this.#stopping) {
      conn.close();
      return;
    }
    // The error callback runs only after a write, long after `session` is set below.
    const link = new Link(conn, this.options.outboxBytes, (err) => {
      this.#perform(this.broker.drop(session, ioCloseReason(err), Date.now()));
    });
    this.#links.add(link);
    const session = this.broker.open(link, address, Date.now());
    this.#log.debug(`connect ${address} #${session.id}`);

    const decoder = new FrameDecoder({ maxFrame: this.options.maxFrame });
    const buf = new Uint8Array(READ_BUFFER);
    let sniffed = new Uint8Array(0);
    let sniffing = true;
    try {
      while (!link.closing) {
        let n: number | null;
        try {
          n = await conn.read(buf);
        } catch (err) {
          if (!link.closing) this.#perform(this.broker.drop(session, ioCloseReason(err), Date.now()));
          break;
        }
        if (n === null) {
          this.#perform(this.broker.drop(session, "disconnected", Date.now()));
          break;
        }
        let chunk = buf.subarray(0, n);
        if (sniffing) {
          const joined = new Uint8Array(sniffed.byteLength + chunk.byteLength);
          joined.set(sniffed);
          joined.set(chunk, sniffed.byteLength);
          const verdict = sniffHello(joined, this.options.maxFrame);
          if (verdict === "no") {
            this.#notChat(session, link);
            break;
          }
          if (verdict === "more") {
            sniffed = joined.slice(0, SNIFF_SIZE);
            continue;
          }
          sniffing = false;
          chunk = joined;
        }
        this.#receive(session, decoder, chunk);
      }
    } finally {
      await this.#closeLink(session, link);
    }
  }

  #receive(session: Session<Link>, decoder: FrameDecoder, chunk: Uint8Array): void {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.#perform(this.broker.protocolError(session, err, Date.now()));
      return;
    }
    const now = Date.now();
    for (const frame of frames) {
      if (session.state !== "handshake" && session.state !== "ready") return;
      let effects: Effect<Link>[];
      try {
        const msg = decodeMessage(frame);
        if (this.broker.needsCommit(msg)) this.#flush();
        effects = this.broker.handle(session, msg, now);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        effects = this.broker.protocolError(session, err, now);
      }
      this.#perform(effects);
    }
    // A bad header after whole frames in the same chunk: those frames were handled first.
    if (decoder.error) this.#perform(this.broker.protocolError(session, decoder.error, now));
  }

  #notChat(session: Session<Link>, link: Link): void {
    link.outbox.enqueueFinal(new TextEncoder().encode(NOT_CHAT_LINE));
    this.#perform(this.broker.drop(session, "not_chat", Date.now()));
  }

  /**
   * Performs effects in order. While the store holds staged writes, effects
   * wait (in order) for the commit, which runs once the current burst of
   * input is handled: many messages share one fsync.
   */
  #perform(effects: Effect<Link>[]): void {
    if (effects.length === 0) return;
    if (this.#deferred.length > 0 || this.broker.store.staged > 0) {
      for (const e of effects) this.#deferred.push(e);
      this.#flushTimer ??= setTimeout(() => this.#flush(), 0);
      return;
    }
    this.#apply(effects);
  }

  /** Commits the staged batch, then performs what waited for it (dropping what depended on a failed commit). */
  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const result = this.broker.commit();
    if (!result.ok) this.#log.error(`store: ${result.error.message}; the batch was refused`);
    const waiting = this.#deferred;
    this.#deferred = [];
    this.#apply(result.ok ? waiting : waiting.filter((e) => e.kind === "close" || !e.durable));
    this.#apply(result.effects);
  }

  #prune(): void {
    try {
      const n = this.broker.store.prune(Date.now());
      if (n > 0) this.#log.debug(`store: retention deleted ${n} message(s)`);
    } catch (err) {
      this.#log.warn(`store: ${(err as Error).message}`);
    }
  }

  /** Performs effects now. Overflowing outboxes are collected and dropped after the pass. */
  #apply(effects: Effect<Link>[]): void {
    let slow: Session<Link>[] | null = null;
    for (const e of effects) {
      switch (e.kind) {
        case "send":
          if (e.to.link.closing) break;
          if (!e.to.link.outbox.enqueue(e.bytes)) {
            // A session being dropped still gets its final error frame, even over budget.
            if (e.to.state === "closed") e.to.link.outbox.enqueueFinal(e.bytes);
            else (slow ??= []).push(e.to);
          }
          break;
        case "broadcast":
          for (const m of e.room.members) {
            if (m !== e.except && !m.link.outbox.enqueue(e.bytes)) (slow ??= []).push(m);
          }
          break;
        case "close":
          this.#beginClose(e.to, e.reason);
          break;
        default: {
          const never: never = e;
          throw new TypeError(`unknown effect ${(never as Effect<Link>).kind}`);
        }
      }
    }
    if (slow) {
      for (const s of slow) this.#perform(this.broker.drop(s, "slow_consumer", Date.now()));
    }
  }

  #beginClose(session: Session<Link>, reason: CloseReason): void {
    const link = session.link;
    if (link.closing) return;
    link.closing = true;
    const who = session.name ? `${session.name} (${session.address})` : session.address;
    const level = reason === "quit" || reason === "disconnected" || reason === "shutdown" ? "info" : "warn";
    if (session.name || reason !== "disconnected") this.#log[level](`disconnect ${who} reason=${reason}`);
    void this.#closeLink(session, link);
  }

  async #closeLink(session: Session<Link>, link: Link): Promise<void> {
    if (!link.closing) {
      // The read loop ended on its own (EOF, error): the broker has already dropped the session.
      link.closing = true;
    }
    link.outbox.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      link.outbox.flushed(),
      new Promise<void>((r) => timer = setTimeout(r, CLOSE_FLUSH_MS)),
    ]);
    clearTimeout(timer);
    try {
      link.conn.close();
    } catch { /* closed twice: fine */ }
    if (this.#links.delete(link)) {
      if (session.state !== "closed") this.broker.drop(session, "io_error", Date.now());
      link.markClosed();
    }
  }
}
