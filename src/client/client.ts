/**
 * The protocol client shared by every front end: connects, performs the
 * handshake, keeps the heartbeat, reconnects with backoff, and keeps every
 * message it sent until the server acknowledges it (resending after a
 * reconnect is safe: the server dedupes by message id).
 *
 * @module
 */

import {
  decodeMessage,
  encodeMessage,
  FrameDecoder,
  MAX_FRAME_CEILING,
  type Message,
  MessageFlags,
  PROTOCOL_VERSION,
  ProtocolError,
} from "../protocol/mod.ts";
import { Outbox } from "../net/outbox.ts";
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import type { ClientEvent, ConnectionState } from "./events.ts";

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
}

interface PendingSend {
  id: number;
  room: string;
  flags: number;
  text: string;
}

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
  /** Resolves when the client stops for good. */
  readonly done: Promise<ClientExit>;

  constructor(options: ClientOptions, emit: (e: ClientEvent) => void) {
    this.options = options;
    this.server = `${options.host}:${options.port}`;
    this.rooms = [...options.rooms];
    this.name = options.name;
    this.#emit = emit;
    this.done = new Promise((r) => this.#exit = r);
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

  /** Queues a message for `room` (default: the current room) and returns its id. */
  send(text: string, options: { room?: string; action?: boolean } = {}): number {
    const id = this.#nextId++;
    const p: PendingSend = {
      id,
      room: options.room ?? this.rooms[0],
      flags: options.action ? MessageFlags.ACTION : 0,
      text,
    };
    this.#pending.set(id, p);
    if (this.state === "connected") this.#write({ type: "send", ...p });
    return id;
  }

  join(room: string): void {
    this.#write({ type: "join", room });
  }

  leave(room: string): void {
    this.#write({ type: "leave", room });
  }

  who(room = this.rooms[0]): void {
    this.#write({ type: "who", room });
  }

  /** Resolves true once nothing is pending, or false when `timeoutMs` passes first. */
  async waitAcked(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.size > 0) {
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
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.state === "connected" && this.#outbox) {
      this.#outbox.enqueue(encodeMessage({ type: "bye", reason }));
      await Promise.race([this.#outbox.flushed(), new Promise((r) => setTimeout(r, 1000))]);
    }
    this.#teardown();
    this.#setState({ type: "status", state: "disconnected", server: this.server, reason: "quit" });
    this.#exit({ ok: true });
  }

  #write(msg: Message): void {
    if (!this.#outbox || this.state !== "connected") return;
    this.#lastSent = Date.now();
    this.#outbox.enqueue(encodeMessage(msg));
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
          extensions: [],
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
          for (const p of this.#pending.values()) this.#write({ type: "send", ...p });
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
          `${this.server} is not a chat server (it said: ${JSON.stringify(text)})`,
        );
      }
      first = false;
      let msgs: Message[];
      try {
        msgs = decoder.push(buf.subarray(0, n)).map(decodeMessage);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        return new ClientError(err.code, `bad data from server: ${err.message}`);
      }
      for (const m of msgs) {
        switch (m.type) {
          case "welcome":
            welcome = { name: m.name, rooms: m.rooms };
            this.name = m.name;
            this.rooms = [...m.rooms];
            break;
          case "members": {
            const acc = pendingMembers.get(m.room) ?? [];
            acc.push(...m.names);
            if (m.more) {
              pendingMembers.set(m.room, acc);
              break;
            }
            pendingMembers.delete(m.room);
            this.#members.set(m.room, acc);
            if (!this.rooms.includes(m.room)) this.rooms.push(m.room);
            if (welcome && m.room === welcome.rooms[0] && this.state !== "connected") {
              onWelcome();
              this.#emit({
                type: "welcome",
                name: welcome.name,
                room: m.room,
                rooms: welcome.rooms,
                online: acc,
                server: this.server,
                reconnected,
              });
            } else {
              this.#emit({ type: "members", room: m.room, online: acc });
            }
            break;
          }
          case "message":
            this.#emit({
              type: "message",
              room: m.room,
              seq: m.seq,
              ts: m.ts,
              from: m.from,
              text: m.text,
              action: (m.flags & MessageFlags.ACTION) !== 0,
              history: (m.flags & MessageFlags.HISTORY) !== 0,
            });
            break;
          case "ack":
            if (this.#pending.delete(m.id)) {
              this.#emit({ type: "ack", id: m.id, room: m.room, seq: m.seq, ts: m.ts });
              this.#wakeAckWaiters();
            }
            break;
          case "presence":
            if (m.event === "leave" && m.name === this.name && m.reason === "left") {
              this.rooms = this.rooms.filter((r) => r !== m.room);
              this.#members.delete(m.room);
            }
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
            if (m.ref && this.#pending.delete(m.ref)) {
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
          default:
            // Client-bound frames only; anything else from a server is ignored.
            break;
        }
      }
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

  async #reconnect(why: ClientError): Promise<void> {
    const max = this.options.reconnectAttempts;
    const backoff = this.options.backoff ?? DEFAULT_BACKOFF;
    let last = why;
    for (let attempt = 1; max === 0 || attempt <= max; attempt++) {
      if (this.#stopping) return;
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
