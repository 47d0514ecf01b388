/**
 * The protocol client shared by every terminal front end: the connection
 * shell around {@linkcode ClientSession}. It connects (through an injectable
 * `connect`), reads and decodes frames, hands them to the session, performs
 * what the session returns (events to the front end, entries to the journal,
 * frames to the socket), and owns the timers: the heartbeat, the reconnect
 * backoff, and the wake-up the session asks for when messages wait for the
 * server's rate.
 *
 * With several servers (the nodes of a cluster, in order of preference) it
 * connects to the first that answers, skipping at once one that refuses or
 * does not answer, and when the one in use goes away it moves on to the
 * next, round robin, waiting the backoff only between full rounds. The
 * session resumes exactly on any node of one cluster (its store id,
 * sequences and name claims are the cluster's) and resends the outbox.
 *
 * What the client guarantees lives in the session: each room's messages are
 * passed on exactly once and in order, resumed after a reconnect, and every
 * message sent is kept until the server acknowledges it (resending after a
 * reconnect is safe: the server dedupes by message id). With a file journal,
 * the unacknowledged messages, the sequence numbers and the resume token
 * survive a restart.
 *
 * @module
 */

import {
  type ClientMessage,
  decodeServerMessage,
  encodeMessage,
  ErrorCode,
  FrameDecoder,
  MAX_FRAME_CEILING,
  MessageFlags,
  type ModerationAction,
  ProtocolError,
  type ServerMessage,
} from "../protocol/mod.ts";
import { Outbox } from "../net/outbox.ts";
import { DEFAULT_PACE, reconnectDelay, type ReconnectPace } from "./backoff.ts";
import type { ClientEvent, ConnectionState, MessageEvent } from "./events.ts";
import { type Journal, MemoryJournal, type PendingSend, record } from "./journal.ts";
import { type ServerAddress, serverLabel, serversLabel } from "./servers.ts";
import { ClientSession, conversationMessage, DIRECT_PREFIX, type Step, transientIdStart } from "./session.ts";
import { jsonLine } from "../text/json_line.ts";

/** Error codes the client raises itself (the server's codes pass through unchanged). */
export const ClientErrorCode = {
  CONNECTION_REFUSED: "CONNECTION_REFUSED",
  CONNECTION_FAILED: "CONNECTION_FAILED",
  DISCONNECTED: "DISCONNECTED",
  TIMEOUT: "TIMEOUT",
  NOT_CHAT_SERVER: "NOT_CHAT_SERVER",
} as const;

/** A failure to connect or a refusal by the server, with a stable code. */
export class ClientError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "ClientError";
    this.code = code;
  }
}

/** A connected byte stream: what `Deno.connect` returns, or a test fake. */
export interface ClientConn {
  read(buf: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

export interface ClientOptions {
  /**
   * Where to connect, in order of preference (one server, or the nodes of a cluster): the first that
   * answers, and after a loss the next one, round robin. At least one.
   */
  servers: readonly ServerAddress[];
  name: string;
  rooms: string[];
  /** Silence after which the server counts as dead; also the deadline to connect and for the handshake. */
  timeoutMs: number;
  /**
   * The deadline from connecting to the welcome, per server tried; `timeoutMs` by default. `chat send` gives
   * each of several servers a share of its one deadline, so that a hung first one leaves time for the next.
   */
  attemptTimeoutMs?: number;
  /**
   * Reconnection attempts after a lost connection before giving up; 0: never
   * give up (it still stops when the server refuses it for good: kicked,
   * banned, a wrong password, replaced). They come at the pace of backoff.ts.
   * With several servers an attempt is a round: each server once.
   */
  reconnectAttempts: number;
  /** When to stop reconnecting (epoch ms); never by default. */
  giveUpAt?: number;
  /** How attempts are spaced; DEFAULT_PACE (3 quick ones, then slow ones) by default. */
  pace?: ReconnectPace;
  /** Opens the socket; defaults to TCP through Deno.connect. */
  connect?: (host: string, port: number) => Promise<ClientConn>;
  /** Where the outbox, sequence numbers and resume token are kept; in memory by default. */
  journal?: Journal;
  /**
   * Called once for every room message passed on, and every message of a stored conversation (as room
   * "@peer"): for a local transcript.
   */
  onMessage?: (m: MessageEvent) => void;
  /** Sent in every HELLO: the account password, or the server password. */
  password?: string;
  /** Sent in every HELLO: the operator token. */
  adminToken?: string;
  /** A transient session: holds no name and makes no presence (for one-shot senders and followers). */
  transient?: boolean;
}

/**
 * Server errors after which reconnecting is pointless or harmful: the user must act first. REPLACED: a newer
 * copy of this client took the session over; taking it back would start a tug of war between the two.
 */
const FINAL_CODES: ReadonlySet<string> = new Set([
  ErrorCode.REPLACED,
  ErrorCode.KICKED,
  ErrorCode.BANNED,
  ErrorCode.AUTH_FAILED,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INVALID_NAME,
]);

/**
 * Refusals at the first connection that another server of the list would repeat (the nodes of a cluster share
 * names, accounts and bans): the next one is not asked. A taken name is one of them there, not in a reconnect,
 * where the name may be our own session's, held for the grace period.
 */
const CLUSTER_REFUSALS: ReadonlySet<string> = new Set([...FINAL_CODES, ErrorCode.NAME_TAKEN]);

/** Failures to connect that may pass by themselves: worth another try while a deadline allows. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  ClientErrorCode.CONNECTION_REFUSED,
  ClientErrorCode.CONNECTION_FAILED,
  ClientErrorCode.TIMEOUT,
  ClientErrorCode.DISCONNECTED,
  ErrorCode.SERVER_FULL,
  ErrorCode.SHUTTING_DOWN,
  ErrorCode.TOO_MANY_CONNECTIONS,
]);

/** How the client ended for good. */
export interface ClientExit {
  ok: boolean;
  code?: string;
  message?: string;
}

/** Client outbox budget: a client only sends its own messages, so this is generous. */
const CLIENT_OUTBOX_BYTES = 16 * 1024 * 1024;

async function tcpConnect(host: string, port: number): Promise<ClientConn> {
  const conn = await Deno.connect({ hostname: host, port, transport: "tcp" });
  conn.setNoDelay(true);
  return conn;
}

export class ChatClient {
  readonly options: ClientOptions;
  state: ConnectionState = "disconnected";
  readonly #servers: readonly ServerAddress[];
  /** Index into #servers of the server in use, or being tried. */
  #at = 0;
  #emit: (e: ClientEvent) => void;
  #session: ClientSession;
  #journal: Journal;
  #conn: ClientConn | null = null;
  #outbox: Outbox | null = null;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastReceived = 0;
  #lastSent = 0;
  #stopping = false;
  #deadConn: ClientConn | null = null;
  #exit!: (e: ClientExit) => void;
  #ackWaiters: Array<() => void> = [];
  /** Round trips waiting for their PONG, by token. */
  #pongWaiters = new Map<number, () => void>();
  #roundTrips = 0;
  #paceTimer: ReturnType<typeof setTimeout> | undefined;
  #paceAt = 0;
  #lastPending = 0;
  /** Ends the wait before the next connection attempt early (a manual reconnect, a quit). */
  #wake: (() => void) | null = null;
  /** While waiting to reconnect: the attempt waited for and why the last one failed. */
  #retrying: { attempt: number; reason: string } | null = null;
  /** Resolves when the client stops for good (a new promise after {@linkcode reconnect}). */
  done: Promise<ClientExit>;
  #quitting = false;

  constructor(options: ClientOptions, emit: (e: ClientEvent) => void) {
    if (options.servers.length === 0) throw new RangeError("ChatClient needs at least one server");
    this.options = options;
    this.#servers = options.servers;
    this.#emit = emit;
    this.done = new Promise((r) => this.#exit = r);
    this.#journal = options.journal ?? new MemoryJournal();
    this.#session = new ClientSession({
      server: this.server,
      name: options.name,
      rooms: options.rooms,
      saved: this.#journal.state,
      now: Date.now(),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.adminToken !== undefined ? { adminToken: options.adminToken } : {}),
      ...(options.transient ? { transient: true, idStart: transientIdStart(randomUnit()) } : {}),
    });
  }

  /** The server in use (host:port), or the one being tried. */
  get server(): string {
    return serverLabel(this.#servers[this.#at]);
  }

  /** Rooms in join order; the first is the current room. */
  get rooms(): string[] {
    return this.#session.rooms;
  }

  /** My name as the server knows it. */
  get name(): string {
    return this.#session.name;
  }

  /** The messages sent and not yet acknowledged, oldest first (restored from the journal at start). */
  get outbox(): readonly PendingSend[] {
    return this.#session.outbox;
  }

  /** The lowest sequence passed on in `room` since start, or undefined: where older history begins. */
  oldestSeq(room: string): number | undefined {
    return this.#session.oldestSeq(room);
  }

  /** Members of `room` as last reported by the server. */
  members(room: string): readonly string[] {
    return this.#session.members(room);
  }

  /** True when the server of this connection announced `feature` (WELCOME FEATURES). */
  supports(feature: string): boolean {
    return this.#session.features.has(feature);
  }

  /** The longest message text the server accepts, in UTF-8 bytes (a longer text is split: split.ts). */
  get maxText(): number {
    return this.#session.maxText;
  }

  /** Messages sent and not yet acknowledged. */
  get pending(): number {
    return this.#session.pending;
  }

  /** Messages the server refused (errors with a ref). */
  get failed(): number {
    return this.#session.failed;
  }

  /**
   * Connects and completes the handshake; throws {@linkcode ClientError} if
   * it fails with every server. The servers are tried in order, each once, a
   * failure moving on to the next at once; a refusal for good (a ban, a wrong
   * password, a taken name) ends it, since every node of a cluster would say
   * the same.
   * With `retryUntil` (epoch ms), a failure that may pass by itself (nothing
   * listening yet, a server restarting or full) is tried again, a round over
   * the servers at a time at the reconnection pace, until then.
   */
  async start(options: { retryUntil?: number } = {}): Promise<void> {
    const started = Date.now();
    const n = this.#servers.length;
    let tries = 0;
    for (let round = 1;; round++) {
      const failed: Failure[] = [];
      for (let i = 0; i < n; i++) {
        if (i > 0 && this.#stopping) break;
        this.#at = i;
        if (round === 1 || n > 1) {
          this.#setState({ type: "status", state: "connecting", server: this.server });
        }
        tries++;
        try {
          await this.#connectOnce();
          return;
        } catch (err) {
          if (!(err instanceof ClientError)) throw err;
          if (CLUSTER_REFUSALS.has(err.code)) throw err;
          failed.push({ server: this.server, err });
        }
      }
      const err = summary(failed);
      const until = options.retryUntil;
      if (until === undefined || !failed.some((f) => TRANSIENT_CODES.has(f.err.code))) throw err;
      const left = until - Date.now();
      if (left <= 0 || this.#stopping) {
        throw new ClientError(
          err.code,
          `${err.message} (${tries} attempt${tries === 1 ? "" : "s"} in ${Date.now() - started} ms)`,
        );
      }
      await this.#sleep(Math.min(left, this.#delay(round, failed)));
    }
  }

  /**
   * Queues a message for `room` (default: the current room) and returns its
   * id. It is on disk (with a file journal) before it goes on the wire, and
   * is sent again after every reconnect until acknowledged.
   */
  send(text: string, options: { room?: string; action?: boolean } = {}): number {
    return this.#queue(options.room ?? this.rooms[0], text, options.action);
  }

  /** Queues a direct message to `to`; acknowledged like a room message. */
  msg(to: string, text: string, options: { action?: boolean } = {}): number {
    return this.#queue(DIRECT_PREFIX + to, text, options.action);
  }

  #queue(room: string, text: string, action = false): number {
    const id = this.#session.newId();
    this.#perform(
      this.#session.queue({ id, room, flags: action ? MessageFlags.ACTION : 0, text }, Date.now()),
    );
    return id;
  }

  /** The requests below return false when not connected: nothing is queued for them. */
  join(room: string): boolean {
    if (!this.#write({ type: "join", room })) return false;
    this.#session.joining(room);
    return true;
  }

  leave(room: string): boolean {
    return this.#write({ type: "leave", room });
  }

  who(room = this.rooms[0]): boolean {
    return this.#write({ type: "who", room });
  }

  nick(name: string): boolean {
    return this.#write({ type: "nick", name });
  }

  away(text: string): boolean {
    return this.#write({ type: "away", text });
  }

  /** Lists the server's rooms (rooms events, page by page); false when not connected or already listing. */
  list(): boolean {
    return this.#request(this.#session.list());
  }

  /** Asks for `room`'s topic (a topic event answers), or sets it to `text` ("" clears it). */
  topic(room: string, text?: string): boolean {
    return this.#request(this.#session.topic(room, text));
  }

  /** Performs a request's step; false when there was none to perform (not connected). */
  #request(step: Step | null): boolean {
    if (!step || !this.#outbox || this.state !== "connected") return false;
    this.#perform(step);
    return true;
  }

  /** Asks for up to `limit` stored messages of `room` older than `before` (for scrollback). */
  history(room: string, before: number, limit: number): boolean {
    if (!this.#outbox || this.state !== "connected") return false;
    const step = this.#session.fetchOlder(room, before, limit);
    if (!step) return false;
    this.#perform(step);
    return true;
  }

  /** Registers the current name with `password` (servers with --allow-register). */
  register(password: string): boolean {
    return this.#write({ type: "register", password });
  }

  /** Operator commands: kick, ban, unban, mute, unmute. */
  moderate(action: ModerationAction, target: string, durationMs = 0, reason = ""): boolean {
    return this.#write({ type: "moderate", action, target, durationMs, reason });
  }

  /**
   * Tries to connect now: while waiting for the next attempt, makes it at
   * once; after the client gave up (refused for good), starts again, keeping
   * everything pending. Does nothing while connected or connecting.
   */
  reconnect(): void {
    if (this.#quitting) return;
    if (this.#wake) {
      if (this.#retrying) {
        this.#setState({
          type: "status",
          state: "reconnecting",
          server: this.server,
          attempt: this.#retrying.attempt,
          of: this.options.reconnectAttempts,
          delayMs: 0,
          reason: this.#retrying.reason,
        });
      }
      this.#wake();
      return;
    }
    if (!this.#stopping) return;
    this.#stopping = false;
    this.done = new Promise((r) => this.#exit = r);
    void this.#reconnect(new ClientError(ClientErrorCode.DISCONNECTED, "reconnecting on request"), true);
  }

  /**
   * Resolves true once nothing is pending and the client has received its
   * own copy of every acknowledged message, or false when `timeoutMs` passes
   * without a message acknowledged: a long outbox sent at the server's rate
   * is waited for as long as it moves. `fixed`: `timeoutMs` is the whole wait.
   */
  async waitAcked(timeoutMs: number, options: { fixed?: boolean } = {}): Promise<boolean> {
    let deadline = Date.now() + timeoutMs;
    let pending = this.#session.pending;
    while (!this.#session.settled) {
      if (!options.fixed && this.#session.pending < pending) {
        pending = this.#session.pending;
        deadline = Date.now() + timeoutMs;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.#stopping) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#ackWaiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return true;
  }

  /**
   * Waits until the server has answered everything sent so far (a PING behind it, and its PONG: the server
   * answers a connection's frames in order). False when not connected, or after `timeoutMs`.
   */
  async roundTrip(timeoutMs: number): Promise<boolean> {
    // Tokens of their own, apart from the heartbeat's (which are the clock's low bits).
    const token = (0x8000_0000 | (this.#roundTrips++ & 0x7fff_ffff)) >>> 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answered = new Promise<boolean>((resolve) => {
      this.#pongWaiters.set(token, () => resolve(true));
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    if (!this.#write({ type: "ping", token })) {
      this.#pongWaiters.delete(token);
      clearTimeout(timer);
      return false;
    }
    const ok = await answered;
    clearTimeout(timer);
    this.#pongWaiters.delete(token);
    return ok;
  }

  /** Says BYE with `reason`, flushes, and stops for good. */
  async quit(reason = ""): Promise<void> {
    if (this.#quitting) return;
    this.#quitting = true;
    this.#stopping = true;
    this.#wake?.();
    if (this.state === "connected" && this.#outbox) {
      this.#outbox.enqueue(encodeMessage({ type: "bye", reason }));
      await Promise.race([this.#outbox.flushed(), new Promise((r) => setTimeout(r, 1000))]);
    }
    this.#teardown();
    this.#journal.close();
    this.#setState({ type: "status", state: "disconnected", server: this.server, reason: "quit" });
    this.#exit({ ok: true });
  }

  /** Writes a request that needs no bookkeeping; false when not connected. */
  #write(msg: ClientMessage): boolean {
    if (!this.#outbox || this.state !== "connected") return false;
    this.#lastSent = Date.now();
    return this.#outbox.enqueue(encodeMessage(msg));
  }

  /** Does what the session asked: events, then journal entries, then frames, then timers. */
  #perform(step: Step): void {
    for (const e of step.events) {
      if (e.type === "status") this.state = e.state;
      else if (e.type === "message") this.options.onMessage?.(e);
      else if (e.type === "direct" && e.seq !== undefined) {
        this.options.onMessage?.(conversationMessage(e, this.#session.name)!);
      }
      this.#emit(e);
    }
    for (const entry of step.journal) record(this.#journal, entry);
    if (step.send.length > 0 && this.#outbox) {
      this.#lastSent = Date.now();
      for (const m of step.send) this.#outbox.enqueue(encodeMessage(m));
    }
    if (step.wakeAt !== null) this.#wakeAt(step.wakeAt);
    if (step.pong !== null) {
      this.#pongWaiters.get(step.pong)?.();
      this.#pongWaiters.delete(step.pong);
    }
    // Waiters look again when the outbox shrank (their clock restarts) or all is settled.
    const pending = this.#session.pending;
    if (this.#ackWaiters.length > 0 && (this.#session.settled || pending < this.#lastPending)) {
      this.#wakeAckWaiters();
    }
    this.#lastPending = pending;
  }

  /** Calls the session's tick() at `at` (epoch ms); one timer, set for the earliest time asked. */
  #wakeAt(at: number): void {
    if (this.#paceTimer !== undefined && this.#paceAt <= at) return;
    clearTimeout(this.#paceTimer);
    this.#paceAt = at;
    this.#paceTimer = setTimeout(() => {
      this.#paceTimer = undefined;
      this.#perform(this.#session.tick(Date.now()));
    }, Math.max(0, at - Date.now()));
  }

  #setState(e: ClientEvent & { type: "status" }): void {
    this.state = e.state;
    this.#emit(e);
  }

  #teardown(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    clearTimeout(this.#paceTimer);
    this.#paceTimer = undefined;
    this.#session.lost();
    this.#outbox?.close();
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = null;
    this.#outbox = null;
  }

  /**
   * Opens one connection and runs it. Resolves once the handshake is done;
   * rejects with ClientError if the connection or handshake fails. After the
   * welcome, a lost connection leads to {@linkcode #reconnect}.
   */
  #connectOnce(): Promise<void> {
    const connect = this.options.connect ?? tcpConnect;
    const target = this.#servers[this.#at];
    const server = serverLabel(target);
    return new Promise<void>((resolve, reject) => {
      let welcomed = false;
      let settled = false;
      const fail = (err: ClientError) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
      };
      const opening = connect(target.host, target.port);
      let opened: ClientConn | null = null;
      // One deadline from connect to welcome. A host that drops what is sent to it never refuses, and a hung
      // server accepts (the kernel does) and says nothing: without it, the system's connect timeout (minutes),
      // or a server that answers pings but never welcomes, would hold the client instead of the next server.
      const limitMs = this.options.attemptTimeoutMs ?? this.options.timeoutMs;
      const deadline = setTimeout(() => {
        fail(
          new ClientError(
            ClientErrorCode.TIMEOUT,
            opened
              ? `no welcome from ${server} within ${limitMs} ms`
              : `cannot connect to ${server}: no answer within ${limitMs} ms`,
          ),
        );
        // Torn down now, not when its read loop ends: by then the next server's connection may be in use.
        if (opened) this.#teardown();
        else opening.then((late) => late.close(), () => {});
      }, limitMs);
      opening.then((conn) => {
        if (settled) return;
        opened = conn;
        this.#conn = conn;
        this.#outbox = new Outbox(conn, CLIENT_OUTBOX_BYTES);
        this.#lastReceived = Date.now();
        this.#lastSent = Date.now();
        this.#outbox.enqueue(encodeMessage(this.#session.hello(server)));
        // The handshake has the same deadline as any silence.
        this.#heartbeat = setInterval(
          () => this.#beat(),
          Math.max(50, Math.floor(this.options.timeoutMs / 6)),
        );
        let lastError: ClientError | null = null;
        const onStep = (step: Step) => {
          this.#perform(step);
          if (step.fatal) lastError = new ClientError(step.fatal.code, step.fatal.message);
          if (step.welcomed && !welcomed) {
            clearTimeout(deadline);
            welcomed = true;
            settled = true;
            resolve();
          }
        };
        this.#readLoop(conn, onStep).then((why) => {
          clearTimeout(deadline);
          // Torn down already (its deadline passed, or a quit): the connection in use now, if any, is another.
          if (this.#conn !== conn) return;
          this.#teardown();
          if (this.#stopping) return;
          if (!welcomed) {
            fail(lastError ?? why);
            return;
          }
          void this.#reconnect(lastError ?? why);
        });
      }, (err: unknown) => {
        clearTimeout(deadline);
        // A connector's own refusal (TLS: untrusted or changed certificate) keeps its code and words.
        if (err instanceof ClientError) return fail(err);
        const refused = err instanceof Deno.errors.ConnectionRefused;
        fail(
          new ClientError(
            refused ? ClientErrorCode.CONNECTION_REFUSED : ClientErrorCode.CONNECTION_FAILED,
            `cannot connect to ${server}: ${refused ? "connection refused" : (err as Error).message}`,
          ),
        );
      });
    });
  }

  /** Reads and decodes frames and hands them to the session until the connection ends; returns why it ended. */
  async #readLoop(conn: ClientConn, onStep: (step: Step) => void): Promise<ClientError> {
    const decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
    const buf = new Uint8Array(64 * 1024);
    let first = true;
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (err) {
        if (this.#deadConn === conn) {
          return new ClientError(
            ClientErrorCode.TIMEOUT,
            `no data from ${this.server} for ${this.options.timeoutMs} ms`,
          );
        }
        if (this.#stopping || this.#conn !== conn) {
          return new ClientError(ClientErrorCode.DISCONNECTED, "closed");
        }
        return new ClientError(ClientErrorCode.DISCONNECTED, `connection lost: ${(err as Error).message}`);
      }
      if (n === null) {
        return new ClientError(ClientErrorCode.DISCONNECTED, "the server closed the connection");
      }
      this.#lastReceived = Date.now();
      if (first && buf[0] !== 0) {
        // Not a frame: probably another service's banner. Show its first line.
        const text = new TextDecoder().decode(buf.subarray(0, Math.min(n, 200))).split(/\r?\n/)[0];
        return new ClientError(
          ClientErrorCode.NOT_CHAT_SERVER,
          // Quoted with every terminal control escaped (\u009b, not a raw CSI): a reader sees what it sent.
          `${this.server} is not a chat server (it said: ${jsonLine(text)})`,
        );
      }
      first = false;
      const msgs: ServerMessage[] = [];
      try {
        for (const frame of decoder.push(buf.subarray(0, n))) {
          try {
            // A client-to-server frame from a server is bad data (UNEXPECTED_FRAME), like a malformed one.
            msgs.push(decodeServerMessage(frame));
          } catch (err) {
            // A newer server may send frame types we do not know: skip them, like the server does.
            if (!(err instanceof ProtocolError) || err.code !== ErrorCode.UNKNOWN_TYPE) throw err;
          }
        }
        if (decoder.error) throw decoder.error;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        return new ClientError(err.code, `bad data from server: ${err.message}`);
      }
      for (const m of msgs) onStep(this.#session.receive(m, Date.now()));
    }
  }

  #wakeAckWaiters(): void {
    const waiters = this.#ackWaiters;
    this.#ackWaiters = [];
    for (const w of waiters) w();
  }

  /** Heartbeat: ping when quiet, and declare the server dead when it has been silent past the timeout. */
  #beat(): void {
    const now = Date.now();
    if (now - this.#lastReceived > this.options.timeoutMs) {
      // Closing makes the read loop end, which starts the reconnect.
      this.#deadConn = this.#conn;
      try {
        this.#conn?.close();
      } catch { /* already closed */ }
      return;
    }
    if (this.state === "connected" && now - this.#lastSent >= Math.floor(this.options.timeoutMs / 3)) {
      this.#write({ type: "ping", token: now >>> 0 });
    }
  }

  /**
   * The wait before round `round` over the servers, after a round that failed as `last` says: soon when
   * every server refused (they are up, and nothing listens yet).
   */
  #delay(round: number, last: readonly Failure[]): number {
    const pace = this.options.pace ?? DEFAULT_PACE;
    return reconnectDelay(round, pace, last.every((f) => f.err.code === ClientErrorCode.CONNECTION_REFUSED));
  }

  /** Waits `ms`, or less if {@linkcode reconnect} or {@linkcode quit} wakes it. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /**
   * Reconnects after a lost connection until it works, the client quits,
   * `reconnectAttempts` rounds have failed, `giveUpAt` passes or the server
   * refuses for good. A round tries every server once, starting with the one
   * after the server lost and ending with it. With one server a round waits
   * the backoff (backoff.ts) before it starts; with several the first round
   * starts at once (the next node is likely up: that is failover) and each
   * later one waits the backoff of the round before. `now`: the first round
   * at once (a reconnect the user asked for).
   */
  async #reconnect(why: ClientError, now = false): Promise<void> {
    const until = this.options.giveUpAt;
    const max = this.options.reconnectAttempts;
    const n = this.#servers.length;
    const lost = this.#at;
    let last = why;
    // The loss is what the first round's wait goes by: a lost connection was not refused.
    let previous: Failure[] = [{ server: this.server, err: why }];
    rounds: for (let attempt = 1; max === 0 || attempt <= max; attempt++) {
      const failed: Failure[] = [];
      for (let k = 1; k <= n; k++) {
        if (this.#stopping) return;
        // Kicked, banned, or refused our password: trying again, on any node, would only be refused again.
        if (FINAL_CODES.has(last.code)) break rounds;
        const asked = now && attempt === 1;
        const left = until === undefined || asked ? Infinity : until - Date.now();
        if (left <= 0) break rounds;
        this.#at = (lost + k) % n;
        if (asked) {
          this.#setState({ type: "status", state: "connecting", server: this.server });
        } else {
          const waits = k === 1 && (n === 1 || attempt > 1);
          const delayMs = waits ? Math.min(left, this.#delay(n === 1 ? attempt : attempt - 1, previous)) : 0;
          this.#setState({
            type: "status",
            state: "reconnecting",
            server: this.server,
            attempt,
            of: max,
            delayMs,
            reason: last.message,
          });
          if (waits) {
            this.#retrying = { attempt, reason: last.message };
            await this.#sleep(delayMs);
            this.#retrying = null;
            if (this.#stopping) return;
          }
        }
        try {
          await this.#connectOnce();
          return;
        } catch (err) {
          last = err as ClientError;
          failed.push({ server: this.server, err: last });
        }
      }
      previous = failed;
    }
    this.#stopping = true;
    this.#setState({ type: "status", state: "disconnected", server: this.server, reason: last.message });
    this.#wakeAckWaiters();
    this.#exit({
      ok: false,
      code: last.code,
      message: `gave up reconnecting to ${serversLabel(this.#servers)}: ${last.message}`,
    });
  }
}

/** One failed try: which server, and why. */
interface Failure {
  server: string;
  err: ClientError;
}

/**
 * What a round in which every server failed reports: with one server its error as it is; with several, every
 * server's, under the code of the first that will not pass by itself (a certificate, say: what the user must
 * fix), else of the last.
 */
function summary(failed: readonly Failure[]): ClientError {
  if (failed.length === 1) return failed[0].err;
  const lasting = failed.find((f) => !TRANSIENT_CODES.has(f.err.code));
  const code = (lasting ?? failed[failed.length - 1]).err.code;
  const each = failed.map((f) =>
    f.err.message.includes(f.server) ? f.err.message : `${f.server}: ${f.err.message}`
  );
  return new ClientError(code, each.join("; "));
}

/** A random number in [0, 1) from the system's secure generator (53 bits, like Math.random's range). */
function randomUnit(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return ((hi >>> 11) * 2 ** 32 + lo) / 2 ** 53;
}
