/**
 * The protocol client shared by every front end: connects, performs the
 * handshake, keeps the heartbeat, reconnects with backoff, and keeps every
 * message it sent until the server acknowledges it (resending after a
 * reconnect is safe: the server dedupes by message id).
 *
 * It passes on each room's messages exactly once and in order: it tracks
 * the last sequence number per room, resumes from it after a reconnect
 * (FETCH), and fills any gap it sees. With a file journal, the unacknowledged
 * messages, the sequence numbers and the resume token survive a restart.
 *
 * @module
 */

import {
  type ChatMessage,
  decodeServerMessage,
  encodeMessage,
  ErrorCode,
  FrameDecoder,
  type Hello,
  hex,
  MAX_FETCH,
  MAX_FRAME_CEILING,
  type Message,
  MessageFlags,
  type ModerationAction,
  PROTOCOL_VERSION,
  ProtocolError,
  type ServerMessage,
  unhex,
} from "../protocol/mod.ts";
import { Outbox } from "../net/outbox.ts";
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import type { ClientEvent, ConnectionState, MessageEvent } from "./events.ts";
import { type Journal, MemoryJournal, type PendingSend } from "./journal.ts";
import { RoomSequencer } from "./sequencer.ts";
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
  host: string;
  port: number;
  name: string;
  rooms: string[];
  timeoutMs: number;
  /** Retries after a lost connection; 0 retries forever. */
  reconnectAttempts: number;
  backoff?: BackoffOptions;
  /** Opens the socket; defaults to TCP through Deno.connect. */
  connect?: (host: string, port: number) => Promise<ClientConn>;
  /** Where the outbox, sequence numbers and resume token are kept; in memory by default. */
  journal?: Journal;
  /** Called once for every room message passed on (for a local transcript). */
  onMessage?: (m: MessageEvent) => void;
  /** Sent in every HELLO: the account password, or the server password. */
  password?: string;
  /** Sent in every HELLO: the operator token. */
  adminToken?: string;
}

/** Messages fetched per room after the server's store was reset: what a fresh join would show. */
const RESET_PAGE = 50;

/** Server errors after which reconnecting is pointless: the user must act first. */
const FINAL_CODES: ReadonlySet<string> = new Set([
  ErrorCode.KICKED,
  ErrorCode.BANNED,
  ErrorCode.AUTH_FAILED,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INVALID_NAME,
]);

/** How long a message refused with RATE_LIMITED waits before it is sent again. */
const RATE_RETRY_MS = 1000;

/** A direct message is kept in the outbox with its recipient in `room` behind this prefix. */
const DIRECT_PREFIX = "@";

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
  readonly server: string;
  /** Rooms in join order; the first is the current room. */
  rooms: string[];
  name: string;
  state: ConnectionState = "disconnected";
  #emit: (e: ClientEvent) => void;
  #pending = new Map<number, PendingSend>();
  #failed = 0;
  // Ids start from the clock so a restarted client does not reuse recent ids.
  #nextId = Date.now() * 1000;
  #journal: Journal;
  #sequencers = new Map<string, RoomSequencer<ChatMessage>>();
  #token: Uint8Array | null = null;
  #storeId: string | null = null;
  #oldest = new Map<string, number>();
  #storeReset = false;
  // FETCHes in flight per room, in the order sent (the server answers in order): a gap fill for the
  // sequencer, or a page of older history for the scrollback, which bypasses it.
  #fetches = new Map<string, Array<"gap" | "page">>();
  // Acknowledged messages whose own copy has not come back yet: room -> highest such seq.
  #echoes = new Map<string, number>();
  #conn: ClientConn | null = null;
  #outbox: Outbox | null = null;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastReceived = 0;
  #lastSent = 0;
  #members = new Map<string, string[]>();
  #stopping = false;
  #deadConn: ClientConn | null = null;
  #exit!: (e: ClientExit) => void;
  #ackWaiters: Array<() => void> = [];
  /** Resolves when the client stops for good (a new promise after {@linkcode reconnect}). */
  done: Promise<ClientExit>;
  #quitting = false;

  constructor(options: ClientOptions, emit: (e: ClientEvent) => void) {
    this.options = options;
    this.server = `${options.host}:${options.port}`;
    this.rooms = [...options.rooms];
    this.name = options.name;
    this.#emit = emit;
    this.done = new Promise((r) => this.#exit = r);
    this.#journal = options.journal ?? new MemoryJournal();
    const saved = this.#journal.state;
    for (const p of saved.outbox) {
      this.#pending.set(p.id, p);
      this.#nextId = Math.max(this.#nextId, p.id + 1);
    }
    if (saved.token) this.#token = tokenOf(saved.token);
    this.#storeId = saved.storeId;
    for (const [room, seq] of Object.entries(saved.lastSeq)) {
      this.#sequencers.set(room, new RoomSequencer(seq));
    }
  }

  /** The messages sent and not yet acknowledged, oldest first (restored from the journal at start). */
  get outbox(): readonly PendingSend[] {
    return [...this.#pending.values()];
  }

  /** The lowest sequence passed on in `room` since start, or undefined: where older history begins. */
  oldestSeq(room: string): number | undefined {
    return this.#oldest.get(room);
  }

  /** Members of `room` as last reported by the server. */
  members(room: string): readonly string[] {
    return this.#members.get(room) ?? [];
  }

  /** Messages sent and not yet acknowledged. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Messages the server refused (errors with a ref). */
  get failed(): number {
    return this.#failed;
  }

  /** Connects and completes the handshake; throws {@linkcode ClientError} if either fails. */
  async start(): Promise<void> {
    this.#setState({ type: "status", state: "connecting", server: this.server });
    await this.#connectOnce(false);
  }

  /**
   * Queues a message for `room` (default: the current room) and returns its
   * id. It is on disk (with a file journal) before it goes on the wire, and
   * is sent again after every reconnect until acknowledged.
   */
  send(text: string, options: { room?: string; action?: boolean } = {}): number {
    return this.#queue({
      id: this.#nextId++,
      room: options.room ?? this.rooms[0],
      flags: options.action ? MessageFlags.ACTION : 0,
      text,
    });
  }

  /** Queues a direct message to `to`; acknowledged like a room message. */
  msg(to: string, text: string, options: { action?: boolean } = {}): number {
    return this.#queue({
      id: this.#nextId++,
      room: DIRECT_PREFIX + to,
      flags: options.action ? MessageFlags.ACTION : 0,
      text,
    });
  }

  #queue(p: PendingSend): number {
    this.#journal.send(p);
    this.#pending.set(p.id, p);
    if (this.state === "connected") this.#write(sendFrame(p));
    return p.id;
  }

  /** The requests below return false when not connected: nothing is queued for them. */
  join(room: string): boolean {
    return this.#write({ type: "join", room });
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

  /** Asks for up to `limit` stored messages of `room` older than `before` (for scrollback). */
  history(room: string, before: number, limit: number): boolean {
    const sent = this.#write({ type: "fetch", room, after: 0, before, limit: Math.min(limit, MAX_FETCH) });
    if (sent) this.#fetchQueue(room).push("page");
    return sent;
  }

  #fetchQueue(room: string): Array<"gap" | "page"> {
    let q = this.#fetches.get(room);
    if (!q) this.#fetches.set(room, q = []);
    return q;
  }

  /** Registers the current name with `password` (servers with --allow-register). */
  register(password: string): boolean {
    return this.#write({ type: "register", password });
  }

  /** Operator commands: kick, ban, unban, mute, unmute. */
  moderate(action: ModerationAction, target: string, durationMs = 0, reason = ""): boolean {
    return this.#write({ type: "moderate", action, target, durationMs, reason });
  }

  /** After the client gave up reconnecting: start trying again, keeping everything pending. */
  reconnect(): void {
    if (!this.#stopping || this.#quitting) return;
    this.#stopping = false;
    this.done = new Promise((r) => this.#exit = r);
    void this.#reconnect(new ClientError(ClientErrorCode.DISCONNECTED, "reconnecting on request"));
  }

  /**
   * Resolves true once nothing is pending and the client has received its
   * own copy of every acknowledged message, or false when `timeoutMs` passes.
   */
  async waitAcked(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.size > 0 || this.#echoes.size > 0) {
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

  /** Says BYE with `reason`, flushes, and stops for good. */
  async quit(reason = ""): Promise<void> {
    if (this.#quitting) return;
    this.#quitting = true;
    this.#stopping = true;
    if (this.state === "connected" && this.#outbox) {
      this.#outbox.enqueue(encodeMessage({ type: "bye", reason }));
      await Promise.race([this.#outbox.flushed(), new Promise((r) => setTimeout(r, 1000))]);
    }
    this.#teardown();
    this.#journal.close();
    this.#setState({ type: "status", state: "disconnected", server: this.server, reason: "quit" });
    this.#exit({ ok: true });
  }

  #write(msg: Message): boolean {
    if (!this.#outbox || this.state !== "connected") return false;
    this.#lastSent = Date.now();
    return this.#outbox.enqueue(encodeMessage(msg));
  }

  #setState(e: ClientEvent & { type: "status" }): void {
    this.state = e.state;
    this.#emit(e);
  }

  #teardown(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#outbox?.close();
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = null;
    this.#outbox = null;
  }

  /**
   * Opens one connection and runs it. Resolves once WELCOME has arrived;
   * rejects with ClientError if the connection or handshake fails. After the
   * welcome, a lost connection leads to {@linkcode #reconnect}.
   */
  #connectOnce(reconnected: boolean): Promise<void> {
    const connect = this.options.connect ?? tcpConnect;
    return new Promise<void>((resolve, reject) => {
      let welcomed = false;
      let settled = false;
      const fail = (err: ClientError) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
      };
      connect(this.options.host, this.options.port).then((conn) => {
        this.#conn = conn;
        this.#outbox = new Outbox(conn, CLIENT_OUTBOX_BYTES);
        this.#lastReceived = Date.now();
        this.#lastSent = Date.now();
        this.#outbox.enqueue(encodeMessage({
          type: "hello",
          version: PROTOCOL_VERSION,
          name: this.name,
          rooms: this.rooms,
          ...this.#helloExtensions(),
        }));
        // The handshake has the same deadline as any silence.
        this.#heartbeat = setInterval(
          () => this.#beat(),
          Math.max(50, Math.floor(this.options.timeoutMs / 6)),
        );
        let lastError: ClientError | null = null;
        const onWelcome = () => {
          welcomed = true;
          settled = true;
          this.#setState({ type: "status", state: "connected", server: this.server });
          // Catch up every room we have seen before, then resend what was never acknowledged, in order.
          for (const [room, seq] of this.#sequencers) {
            if (this.rooms.includes(room)) this.#step(room, seq.resume());
          }
          if (this.#storeReset) {
            this.#storeReset = false;
            for (const room of this.rooms) {
              if (
                this.#write({
                  type: "fetch",
                  room,
                  after: 0,
                  before: Number.MAX_SAFE_INTEGER,
                  limit: RESET_PAGE,
                })
              ) {
                this.#fetchQueue(room).push("gap");
              }
            }
          }
          for (const p of this.#pending.values()) this.#write(sendFrame(p));
          resolve();
        };
        this.#readLoop(conn, reconnected, onWelcome, (e) => lastError = e).then((why) => {
          this.#teardown();
          if (this.#stopping) return;
          if (!welcomed) {
            fail(lastError ?? why);
            return;
          }
          void this.#reconnect(lastError ?? why);
        });
      }, (err: unknown) => {
        // A connector's own refusal (TLS: untrusted or changed certificate) keeps its code and words.
        if (err instanceof ClientError) return fail(err);
        const refused = err instanceof Deno.errors.ConnectionRefused;
        fail(
          new ClientError(
            refused ? ClientErrorCode.CONNECTION_REFUSED : ClientErrorCode.CONNECTION_FAILED,
            `cannot connect to ${this.server}: ${refused ? "connection refused" : (err as Error).message}`,
          ),
        );
      });
    });
  }

  /** Reads frames until the connection ends; returns why it ended. */
  async #readLoop(
    conn: ClientConn,
    reconnected: boolean,
    onWelcome: () => void,
    onFatal: (e: ClientError) => void,
  ): Promise<ClientError> {
    const decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
    const buf = new Uint8Array(64 * 1024);
    let welcome: { name: string; rooms: string[] } | null = null;
    let first = true;
    const pendingMembers = new Map<string, string[]>();
    // Rooms whose join was answered (MEMBERS or a quiet ROOM) on this connection: a later ROOM is news.
    const answered = new Set<string>();
    const listed = (room: string, online: string[], size?: number) => {
      answered.add(room);
      this.#members.set(room, online);
      if (!this.rooms.includes(room)) this.rooms.push(room);
      const quiet = size === undefined ? {} : { members: size, quiet: true as const };
      if (welcome && room === welcome.rooms[0] && this.state !== "connected") {
        onWelcome();
        this.#emit({
          type: "welcome",
          name: welcome.name,
          room,
          rooms: welcome.rooms,
          online,
          server: this.server,
          reconnected,
          ...quiet,
        });
      } else {
        this.#emit({ type: "members", room, online, ...quiet });
      }
    };
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
      for (const m of msgs) {
        switch (m.type) {
          case "welcome": {
            // A new connection: nothing is in flight on it.
            this.#fetches.clear();
            welcome = { name: m.name, rooms: m.rooms };
            this.name = m.name;
            this.rooms = [...m.rooms];
            const token = m.resumeToken ?? null;
            const store = m.storeId ? hex(m.storeId) : null;
            if (store !== this.#storeId && this.#storeId !== null) {
              // The server's messages were reset: our sequence numbers mean nothing there any more. Our HELLO
              // named them in SINCE, so the server sent no history: fetch the newest page of each room instead.
              this.#sequencers.clear();
              this.#storeReset = true;
            }
            this.#storeId = store;
            this.#token = token;
            if (token) this.#journal.token(hex(token), store);
            break;
          }
          case "members": {
            const acc = pendingMembers.get(m.room) ?? [];
            acc.push(...m.names);
            if (m.more) {
              pendingMembers.set(m.room, acc);
              break;
            }
            pendingMembers.delete(m.room);
            listed(m.room, acc);
            break;
          }
          case "room":
            if (m.quiet && !answered.has(m.room)) {
              // A quiet room answers a join with its size: no list to wait for.
              listed(m.room, [], m.members);
            } else {
              // The list we hold goes stale from now on (quiet), or a fresh one follows (loud again).
              if (m.quiet) this.#members.set(m.room, []);
              this.#emit({ type: "room", room: m.room, members: m.members, quiet: m.quiet });
            }
            break;
          case "message":
            if ((m.flags & MessageFlags.HISTORY) !== 0 && this.#fetches.get(m.room)?.[0] === "page") {
              // Older than anything passed on: it goes to the scrollback, not through the sequencer.
              this.#step(m.room, { deliver: [m] }, false);
            } else {
              this.#step(m.room, this.#sequencer(m.room).receive(m));
            }
            break;
          case "fetched":
            if (this.#fetches.get(m.room)?.shift() !== "page") {
              const seq = this.#sequencer(m.room);
              const wasBased = seq.based;
              this.#step(m.room, seq.fetched(m));
              if (!wasBased && seq.based) this.#journal.seq(m.room, seq.last);
            }
            break;
          case "notice":
            this.#emit({ type: "notice", kind: m.kind, text: m.text });
            break;
          case "direct":
            this.#emit({
              type: "direct",
              from: m.from,
              to: m.to,
              ts: m.ts,
              text: m.text,
              action: (m.flags & MessageFlags.ACTION) !== 0,
            });
            break;
          case "ack":
            if (this.#pending.delete(m.id)) {
              this.#journal.ack(m.id);
              if (m.seq > 0 && this.rooms.includes(m.room) && this.#sequencer(m.room).last < m.seq) {
                this.#echoes.set(m.room, Math.max(this.#echoes.get(m.room) ?? 0, m.seq));
              }
              this.#emit({ type: "ack", id: m.id, room: m.room, seq: m.seq, ts: m.ts });
              this.#wakeAckWaiters();
            }
            break;
          case "presence":
            if (m.event === "leave" && m.name === this.name && m.reason === "left") {
              this.rooms = this.rooms.filter((r) => r !== m.room);
              this.#members.delete(m.room);
              answered.delete(m.room);
            } else if (m.event === "nick" && m.name === this.name) {
              this.name = m.text;
            }
            this.#trackMembers(m);
            this.#emit({ ...m });
            break;
          case "error": {
            const ev = {
              type: "error" as const,
              code: m.code,
              message: m.message,
              fatal: m.fatal,
              ...(m.ref ? { ref: m.ref } : {}),
            };
            if (m.ref && m.code === ErrorCode.RATE_LIMITED && this.#pending.has(m.ref)) {
              // Not refused for good: send it again a little later, in the outbox's order.
              const ref = m.ref;
              setTimeout(() => {
                const p = this.#pending.get(ref);
                if (p) this.#write(sendFrame(p));
              }, RATE_RETRY_MS);
            } else if (m.ref && this.#pending.delete(m.ref)) {
              this.#journal.ack(m.ref);
              this.#failed++;
              this.#wakeAckWaiters();
            }
            this.#emit(ev);
            if (m.fatal) onFatal(new ClientError(m.code, m.message));
            break;
          }
          case "ping":
            // Answer even mid-handshake: the server's clock runs from connect.
            this.#lastSent = Date.now();
            this.#outbox?.enqueue(encodeMessage({ type: "pong", token: m.token }));
            break;
          case "pong":
            break;
          default: {
            // Every server-to-client type has its case: adding one fails type checking here.
            const unhandled: never = m;
            void unhandled;
          }
        }
      }
    }
  }

  #sequencer(room: string): RoomSequencer<ChatMessage> {
    let s = this.#sequencers.get(room);
    if (!s) this.#sequencers.set(room, s = new RoomSequencer());
    return s;
  }

  /** Passes on what the sequencer released, records progress, and sends the FETCH it asked for. */
  /** `live` is false for pages of older history: they do not move the room's progress. */
  #step(room: string, step: { deliver: ChatMessage[]; fetchAfter?: number }, live = true): void {
    for (const m of step.deliver) {
      if (!(this.#oldest.get(room)! <= m.seq)) this.#oldest.set(room, m.seq);
      const event: MessageEvent = {
        type: "message",
        room: m.room,
        seq: m.seq,
        ts: m.ts,
        from: m.from,
        text: m.text,
        action: (m.flags & MessageFlags.ACTION) !== 0,
        history: (m.flags & MessageFlags.HISTORY) !== 0,
      };
      this.options.onMessage?.(event);
      this.#emit(event);
    }
    if (step.deliver.length && live) {
      const last = step.deliver[step.deliver.length - 1].seq;
      this.#journal.seq(room, last);
      const echo = this.#echoes.get(room);
      if (echo !== undefined && echo <= last) {
        this.#echoes.delete(room);
        this.#wakeAckWaiters();
      }
    }
    if (step.fetchAfter !== undefined) {
      if (this.#write({ type: "fetch", room, after: step.fetchAfter, before: 0, limit: MAX_FETCH })) {
        this.#fetchQueue(room).push("gap");
      }
    }
  }

  /** Keeps member lists current from presence, so completion and counts need no extra WHO. */
  #trackMembers(m: { room: string; event: string; name: string; text: string }): void {
    const list = this.#members.get(m.room);
    if (!list) return;
    if (m.event === "join" && !list.includes(m.name)) list.push(m.name);
    else if (m.event === "leave") this.#members.set(m.room, list.filter((n) => n !== m.name));
    else if (m.event === "nick") this.#members.set(m.room, list.map((n) => (n === m.name ? m.text : n)));
  }

  #helloExtensions(): Pick<Hello, "password" | "adminToken" | "resumeToken" | "since"> {
    const exts: Pick<Hello, "password" | "adminToken" | "resumeToken" | "since"> = {};
    if (this.options.password !== undefined) exts.password = this.options.password;
    if (this.options.adminToken !== undefined) exts.adminToken = this.options.adminToken;
    if (this.#token) exts.resumeToken = this.#token;
    // Rooms we already have messages of: no recent history for them, we FETCH exactly what we missed.
    const since = [...this.#sequencers].filter(([room, s]) => s.based && this.rooms.includes(room));
    if (since.length > 0) exts.since = new Map(since.map(([room, s]) => [room, s.last]));
    return exts;
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

  async #reconnect(why: ClientError): Promise<void> {
    const max = this.options.reconnectAttempts;
    const backoff = this.options.backoff ?? DEFAULT_BACKOFF;
    let last = why;
    for (let attempt = 1; max === 0 || attempt <= max; attempt++) {
      if (this.#stopping) return;
      // Kicked, banned, or refused our password: trying again would only be refused again.
      if (FINAL_CODES.has(last.code)) break;
      const delayMs = backoffDelay(attempt, backoff);
      this.#setState({
        type: "status",
        state: "reconnecting",
        server: this.server,
        attempt,
        of: max,
        delayMs,
        reason: last.message,
      });
      await new Promise((r) => setTimeout(r, delayMs));
      if (this.#stopping) return;
      try {
        await this.#connectOnce(true);
        return;
      } catch (err) {
        last = err as ClientError;
      }
    }
    this.#stopping = true;
    this.#setState({ type: "status", state: "disconnected", server: this.server, reason: last.message });
    this.#wakeAckWaiters();
    this.#exit({
      ok: false,
      code: last.code,
      message: `gave up reconnecting to ${this.server}: ${last.message}`,
    });
  }
}

/** The frame that sends a pending message: SEND to a room, PRIVATE to "@name". */
function sendFrame(p: PendingSend): Message {
  if (p.room.startsWith(DIRECT_PREFIX)) {
    return {
      type: "private",
      id: p.id,
      to: p.room.slice(DIRECT_PREFIX.length),
      flags: p.flags,
      text: p.text,
    };
  }
  return { type: "send", ...p };
}

/** The resume token a journal kept as hex; null when the text is garbled: a new session is all it costs. */
function tokenOf(text: string): Uint8Array | null {
  try {
    return unhex(text);
  } catch {
    return null;
  }
}
