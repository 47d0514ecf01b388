/**
 * The TCP edge of the broker: accepts connections, turns bytes into
 * messages for the broker, and performs the effects it returns. This is the
 * only server code that touches sockets or the clock.
 *
 * @module
 */

import { Broker, type BrokerOptions, tickInterval } from "../chat/broker.ts";
import type { CloseReason } from "../chat/close.ts";
import type { Effect } from "../chat/effects.ts";
import type { Room, Session } from "../chat/session.ts";
import {
  decodeMessage,
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
import type { MessageStore } from "../store/log.ts";
import type { Authenticator } from "./auth.ts";
import type { Logger } from "./log.ts";
import { FrameArena } from "./arena.ts";
import { Outbox } from "./outbox.ts";
import { rawConn } from "./raw_conn.ts";
import { ReadSlots } from "./read_slots.ts";
import type { SniffedConn, TlsAcceptor } from "./tls_server.ts";
import type { StreamConn } from "./tls_stream.ts";

/** Limits on connections per remote address, checked before any protocol work. */
export interface ConnectionLimits {
  /** Connections open at once from one address. */
  perAddress: number;
  /** New connections per minute from one address. */
  perMinute: number;
  /** Apply the limits to loopback too (off by default: a local proxy makes every client look like 127.0.0.1). */
  loopback: boolean;
}

export interface ServerOptions extends BrokerOptions {
  /** Password checks; absent for an open server. */
  auth?: Authenticator;
  connectionLimits?: ConnectionLimits;
  /** Required here: the server decides between SQLite and memory. */
  store: MessageStore;
  host: string;
  port: number;
  /** Outbound byte budget per connection. */
  outboxBytes: number;
  logger: Logger;
  /** TLS on the same port (a connection's first byte decides); absent: plaintext only. */
  tls?: TlsAcceptor;
}

/**
 * Bytes read per socket read while a connection is quiet: small, because an
 * idle connection holds its buffer in a pending read (10,000 idle clients
 * with 2 KiB each cost 20 MiB), and cut from a shared slab (src/net/read_slots.ts).
 * A HELLO or a chat line fits; a read that fills it grows the buffer.
 */
const READ_BUFFER = 256;

/** The sniffed prefix before anything arrived: shared, never written. */
const NOTHING = new Uint8Array(0);

/** A busy connection's read buffer grows to this, so a burst of input is handled in large batches. */
const READ_BUFFER_MAX = 64 * 1024;

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
  /** The TCP connection, or the TLS stream over it. */
  readonly conn: StreamConn;
  readonly outbox: Outbox;
  closing = false;

  constructor(conn: StreamConn, budget: number, onError: (err: unknown) => void) {
    this.conn = conn;
    this.outbox = new Outbox(conn, budget, onError);
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
  #flushTimer: ReturnType<typeof setImmediate> | undefined;
  #stopping = false;
  #links = new Set<Link>();
  // Resolves the shutdown's wait once the last link has closed.
  #allClosed: (() => void) | null = null;
  // Broadcast frames are copied here once, end to end, so each member's outbox writes a burst as one shared view.
  #arena = new FrameArena();
  // Every connection's read buffer while it is quiet.
  #slots = new ReadSlots(READ_BUFFER);
  // Each room's members and their outboxes as flat arrays, rebuilt when the membership's version moves:
  // a fan-out then walks two arrays instead of a Set and two property loads per member.
  #fanout = new WeakMap<Room<Link>, { version: number; sessions: Session<Link>[]; outboxes: Outbox[] }>();

  constructor(options: ServerOptions) {
    this.options = options;
    this.broker = new Broker<Link>(options);
    this.#log = options.logger;
  }

  /** Read slots held by open connections: one per connection whose read loop runs, none once it ends. */
  get readSlotsInUse(): number {
    return this.#slots.inUse;
  }

  /** Binds the listener; throws Deno.errors.AddrInUse when the port is taken. */
  listen(): Deno.NetAddr {
    this.#listener = Deno.listen({ hostname: this.options.host, port: this.options.port, transport: "tcp" });
    this.#timer = setInterval(
      () => this.#perform(this.broker.tick(Date.now())),
      tickInterval(this.broker.heartbeatMs),
    );
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
    if (this.#links.size > 0) await new Promise<void>((r) => this.#allClosed = r);
  }

  /**
   * Admits an accepted connection and starts its read loop. The loop gets
   * the socket as a {@linkcode RawConn} where the runtime allows, and never
   * the TcpConn: what an idle connection keeps alive is what it needs.
   */
  #handle(conn: Deno.TcpConn): void {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const address = `${remote.hostname}:${remote.port}`;
    try {
      conn.setNoDelay(true);
    } catch { /* not fatal */ }
    if (this.#stopping) {
      conn.close();
      return;
    }
    const ip = remote.hostname;
    const refusal = this.#admit(ip, Date.now());
    if (refusal) {
      void this.#refuse(conn, address, refusal);
      return;
    }
    const sniffer = this.options.tls?.wrap(conn);
    // The error callback runs only after a write, long after `session` is set below.
    const link = new Link(sniffer ?? rawConn(conn), this.options.outboxBytes, (err) => {
      this.#perform(this.broker.drop(session, ioCloseReason(err), Date.now()));
    });
    this.#links.add(link);
    const session = this.broker.open(link, address, Date.now());
    this.#log.debug(`connect ${address} #${session.id}`);
    void this.#readLoop(session, link, ip, sniffer);
  }

  /** Refused before any protocol work (and already uncounted by #admit): one error frame, best effort, then close. */
  async #refuse(conn: Deno.TcpConn, address: string, refusal: string): Promise<void> {
    this.#log.warn(`refused ${address}: ${refusal}`);
    const bytes = encodeMessage({
      type: "error",
      fatal: true,
      code: ErrorCode.TOO_MANY_CONNECTIONS,
      ref: 0,
      message: refusal,
    });
    // Bounded, but long enough for a loaded machine: the refusal is the only thing this peer will read.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([conn.write(bytes).catch(() => 0), new Promise((r) => timer = setTimeout(r, 2000))]);
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }

  /** Reads the connection until it closes: sniffs its first bytes, then feeds frames to the broker. */
  async #readLoop(
    session: Session<Link>,
    link: Link,
    ip: string,
    sniffer: SniffedConn | undefined,
  ): Promise<void> {
    const slot = this.#slots.take();
    try {
      const first = await this.#sniff(session, link, sniffer, slot);
      if (first === null) return;
      const decoder = new FrameDecoder({ maxFrame: this.options.maxFrame });
      const waiting = this.#receive(session, decoder, first);
      if (waiting) await waiting;
      // A shared slot while idle (an idle connection holds its buffer in a pending read); a buffer of its own,
      // larger, while reads fill it, and the slot again once they stop.
      let buf = slot;
      while (!link.closing) {
        let n: number | null;
        try {
          n = await link.conn.read(buf);
        } catch (err) {
          if (!link.closing) this.#perform(this.broker.drop(session, ioCloseReason(err), Date.now()));
          break;
        }
        if (!n) {
          this.#perform(this.broker.drop(session, "disconnected", Date.now()));
          break;
        }
        const waiting = this.#receive(session, decoder, buf.subarray(0, n));
        if (waiting) await waiting;
        if (n === buf.byteLength && buf.byteLength < READ_BUFFER_MAX) {
          buf = new Uint8Array(buf.byteLength * 4);
        } else if (n < READ_BUFFER / 2 && buf !== slot) buf = slot;
      }
    } finally {
      // No read is pending now: the slot is free for another connection.
      this.#slots.give(slot);
      await this.#closeLink(session, link);
      this.#release(ip);
    }
  }

  /**
   * Reads until the first bytes say what the peer speaks. Resolves to those
   * bytes when it is a chat client, or null when the connection is done
   * with (closed, not chat, plaintext where TLS is required).
   */
  async #sniff(
    session: Session<Link>,
    link: Link,
    sniffer: SniffedConn | undefined,
    buf: Uint8Array,
  ): Promise<Uint8Array | null> {
    let sniffed = NOTHING;
    while (!link.closing) {
      let n: number | null;
      try {
        n = await link.conn.read(buf);
      } catch (err) {
        if (!link.closing) this.#perform(this.broker.drop(session, ioCloseReason(err), Date.now()));
        return null;
      }
      if (!n) {
        this.#perform(this.broker.drop(session, "disconnected", Date.now()));
        return null;
      }
      const joined = new Uint8Array(sniffed.byteLength + n);
      joined.set(sniffed);
      joined.set(buf.subarray(0, n), sniffed.byteLength);
      const verdict = sniffHello(joined, this.options.maxFrame);
      if (verdict === "no") {
        this.#notChat(session, link);
        return null;
      }
      if (verdict === "more") {
        sniffed = joined.slice(0, SNIFF_SIZE);
        continue;
      }
      if (sniffer && !sniffer.secure && this.options.tls?.required) {
        this.#tlsRequired(session, link);
        return null;
      }
      return joined;
    }
    return null;
  }

  // Open connections and recent connection times per remote address.
  #perAddress = new Map<string, { open: number; starts: number[] }>();

  /** Counts a new connection from `ip`, or says why it is refused. */
  #admit(ip: string, now: number): string | null {
    const limits = this.options.connectionLimits;
    let entry = this.#perAddress.get(ip);
    if (!entry) this.#perAddress.set(ip, entry = { open: 0, starts: [] });
    entry.open++;
    if (!limits || (!limits.loopback && isLoopback(ip))) return null;
    entry.starts = entry.starts.filter((t) => now - t < 60_000);
    entry.starts.push(now);
    if (entry.open > limits.perAddress) {
      this.#release(ip);
      return `too many connections from ${ip} (limit ${limits.perAddress})`;
    }
    if (entry.starts.length > limits.perMinute) {
      this.#release(ip);
      return `too many new connections from ${ip} (limit ${limits.perMinute} a minute)`;
    }
    return null;
  }

  #release(ip: string): void {
    const entry = this.#perAddress.get(ip);
    if (!entry) return;
    entry.open--;
    // Forget quiet addresses, so the table stays as small as the set of active ones.
    if (entry.open <= 0 && entry.starts.every((t) => Date.now() - t >= 60_000)) this.#perAddress.delete(ip);
  }

  /**
   * Handles the frames a chunk completes. Synchronous, so an ordinary read
   * costs no promise; it returns one only when a HELLO waits for its
   * password check, and the caller must await it before reading again.
   */
  #receive(session: Session<Link>, decoder: FrameDecoder, chunk: Uint8Array): Promise<void> | undefined {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.#perform(this.broker.protocolError(session, err, Date.now()));
      return;
    }
    return this.#frames(session, decoder, frames, 0, Date.now(), -1);
  }

  /** Handles `frames` from index `from` on; the HELLO at index `checked` has had its password checked. */
  #frames(
    session: Session<Link>,
    decoder: FrameDecoder,
    frames: Frame[],
    from: number,
    now: number,
    checked: number,
  ): Promise<void> | undefined {
    for (let i = from; i < frames.length; i++) {
      if (session.state !== "handshake" && session.state !== "ready") return;
      let effects: Effect<Link>[];
      try {
        const msg = decodeMessage(frames[i]);
        if (
          msg.type === "hello" && i !== checked && session.state === "handshake" &&
          this.options.auth?.needed(msg)
        ) {
          return this.#checkPassword(session, decoder, frames, i, msg);
        }
        if (this.broker.needsCommit(msg)) this.#flush();
        effects = this.broker.handle(session, msg, now);
      } catch (err) {
        if (!(err instanceof ProtocolError)) {
          // A bug must cost one connection, not the server: log it and drop this client.
          this.#log.error(
            `internal error handling a frame from ${session.address}: ${(err as Error).stack ?? err}`,
          );
          this.#perform(this.broker.drop(session, "io_error", now));
          return;
        }
        effects = this.broker.protocolError(session, err, now);
      }
      this.#perform(effects);
    }
    // A bad header after whole frames in the same chunk: those frames were handled first.
    if (decoder.error) this.#perform(this.broker.protocolError(session, decoder.error, now));
    return undefined;
  }

  /**
   * The password check is slow (scrypt) and runs off the event loop; this
   * connection waits for it, the others do not. The frames after the HELLO
   * stay valid: no read happens meanwhile.
   */
  async #checkPassword(
    session: Session<Link>,
    decoder: FrameDecoder,
    frames: Frame[],
    at: number,
    hello: Hello,
  ): Promise<void> {
    session.auth = await this.options.auth!.check(hello).catch(() => ({
      password: "wrong" as const,
      admin: false,
    }));
    await this.#frames(session, decoder, frames, at, Date.now(), at);
  }

  /** A plaintext client on a server that requires TLS: told so in its own protocol, then closed. */
  #tlsRequired(session: Session<Link>, link: Link): void {
    link.outbox.enqueueFinal(encodeMessage({
      type: "error",
      fatal: true,
      code: ErrorCode.TLS_REQUIRED,
      ref: 0,
      message: "this server accepts TLS connections only: connect with --tls (or --tofu, or --ca FILE)",
    }));
    this.#perform(this.broker.drop(session, "tls_required", Date.now()));
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
      // setImmediate, not setTimeout(0): the latter waits about 2 ms here, and every message would wait with it.
      // Under load the batch still grows by itself: input that arrives during a commit waits for the next one.
      this.#flushTimer ??= setImmediate(() => this.#flush());
      return;
    }
    this.#apply(effects);
  }

  /** Commits the staged batch, then performs what waited for it (dropping what depended on a failed commit). */
  #flush(): void {
    if (this.#flushTimer !== undefined) clearImmediate(this.#flushTimer);
    this.#flushTimer = undefined;
    const result = this.broker.commit();
    if (!result.ok) this.#log.error(`store: ${result.error.message}; the batch was refused`);
    const waiting = this.#deferred;
    this.#deferred = [];
    this.#apply(
      result.ok
        ? waiting
        : waiting.filter((e) => !((e.kind === "send" || e.kind === "broadcast") && e.durable)),
    );
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
    for (let i = 0; i < effects.length; i++) {
      const e = effects[i];
      switch (e.kind) {
        case "delay": {
          // The rest waits: a failed login is answered (and closed) only after its penalty.
          const rest = effects.slice(i + 1);
          setTimeout(() => this.#apply(rest), e.ms);
          i = effects.length;
          break;
        }
        case "register": {
          const { to, password } = e;
          const auth = this.options.auth;
          if (!auth) break;
          auth.hash(password).then(
            (hash) => this.#perform(this.broker.registered(to, hash, Date.now())),
            (err) => this.#log.warn(`register ${to.name}: ${(err as Error).message}`),
          );
          break;
        }
        case "send":
          if (e.to.link.closing) break;
          if (!e.to.link.outbox.enqueue(e.bytes)) {
            // A session being dropped still gets its final error frame, even over budget. A slow consumer
            // becomes a ghost, not closed, when its name is held for the grace period: it is being dropped too.
            if (e.to.state === "closed" || e.to.state === "ghost") e.to.link.outbox.enqueueFinal(e.bytes);
            else (slow ??= []).push(e.to);
          }
          break;
        case "broadcast": {
          const placed = this.#arena.place(e.bytes);
          const { sessions, outboxes } = this.#fanoutOf(e.room);
          for (let j = 0; j < sessions.length; j++) {
            if (sessions[j] !== e.except && !outboxes[j].enqueuePlaced(placed)) {
              (slow ??= []).push(sessions[j]);
            }
          }
          break;
        }
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

  #fanoutOf(room: Room<Link>): { sessions: Session<Link>[]; outboxes: Outbox[] } {
    const members = room.members;
    let entry = this.#fanout.get(room);
    if (entry === undefined || entry.version !== members.version) {
      const sessions = [...members];
      entry = { version: members.version, sessions, outboxes: sessions.map((m) => m.link.outbox) };
      this.#fanout.set(room, entry);
    }
    return entry;
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
      if (this.#links.size === 0) this.#allClosed?.();
    }
  }
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1" || ip === "::ffff:127.0.0.1";
}
