/**
 * The server, put together: the broker and the stores it is given, the
 * effect runner and its log queue, admission, the listener, and one
 * {@linkcode Connection} pipeline per accepted connection. The timers
 * (heartbeat, retention) live here too.
 *
 * @module
 */

import { Broker, type BrokerOptions, tickInterval } from "../chat/broker.ts";
import type { AccountStore, BanStore, MessageLog, RoomSettings } from "../chat/ports.ts";
import { encodeMessage, ErrorCode } from "../protocol/mod.ts";
import { Admission, type ConnectionLimits } from "./admission.ts";
import type { Authenticator } from "./auth.ts";
import { Connection, type ConnectionOptions, READ_BUFFER, type Stream } from "./connection.ts";
import type { Logger } from "./log.ts";
import { logStats, renderMetrics, timedLog } from "./metrics.ts";
import type { CidrSet } from "./proxy.ts";
import { rawConn } from "./raw_conn.ts";
import { ReadSlots } from "./read_slots.ts";
import { Runner } from "./runner.ts";
import { TcpListener } from "./tcp_listener.ts";
import type { TlsAcceptor } from "./tls_server.ts";
import { WebFront } from "./web.ts";
import type { WebAssets } from "./web_routes.ts";

export type { ConnectionLimits } from "./admission.ts";

export interface ServerOptions extends Omit<BrokerOptions, "accounts" | "bans" | "roomSettings" | "logId"> {
  /** Where messages, accounts, bans and room topics are kept (memory or SQLite: the CLI decides). */
  store: MessageLog & AccountStore & BanStore & RoomSettings;
  /** Password checks; absent for an open server. */
  auth?: Authenticator;
  connectionLimits?: ConnectionLimits;
  host: string;
  port: number;
  /** Outbound byte budget per connection. */
  outboxBytes: number;
  logger: Logger;
  /** TLS on the same port (a connection's first byte decides); absent: plaintext only. */
  tls?: TlsAcceptor;
  /** HTTP on the same port (the first bytes decide): the web client, its WebSocket, /healthz, /metrics. Absent: none. */
  web?: WebOptions;
  /** A check composed into {@linkcode ChatServer.health} (a cluster's link to NATS): null while fine, else why not. */
  health?: () => string | null;
}

export interface WebOptions {
  /** The web client's files (the CLI passes src/web/assets_gen.ts: net/ does not import web/). */
  assets: WebAssets;
  /** Origins allowed to open the WebSocket, normalised; empty: the page's own. */
  origins: readonly string[];
  /** Proxies whose X-Forwarded-For names the client (`--trust-proxy`). */
  trustProxy: CidrSet;
}

/** How often retention runs: deleting old rows is cheap but need not be continuous. */
const PRUNE_EVERY_MS = 60_000;

/** How long a refusal before any protocol work may take to reach its peer. */
const REFUSAL_MS = 2000;

export class ChatServer {
  readonly broker: Broker;
  readonly runner: Runner;
  readonly options: ServerOptions;
  #listener: TcpListener | null = null;
  #log: Logger;
  #admission: Admission;
  #timer: ReturnType<typeof setInterval> | undefined;
  #pruneTimer: ReturnType<typeof setInterval> | undefined;
  #stopping = false;
  #connections = new Set<Connection>();
  // Resolves the shutdown's wait once the last connection has closed.
  #allClosed: (() => void) | null = null;
  // Every connection's read buffer while it is quiet.
  #slots = new ReadSlots(READ_BUFFER);
  // Settings shared by every TCP/TLS connection, and by every WebSocket: one object each, not one per connection.
  #tcpOptions: ConnectionOptions;
  #wsOptions: ConnectionOptions;
  #web: WebFront | null = null;
  #websockets = new Set<Connection>();
  #logStats = logStats();

  constructor(options: ServerOptions) {
    this.options = options;
    const store = options.store;
    this.broker = new Broker({
      ...options,
      accounts: store,
      bans: store,
      roomSettings: store,
      logId: store.id,
    });
    this.#log = options.logger;
    this.#admission = new Admission(options.connectionLimits);
    const auth = options.auth;
    this.runner = new Runner({
      broker: this.broker,
      log: timedLog(store, this.#logStats),
      logger: options.logger,
      hash: auth ? (password) => auth.hash(password) : undefined,
    });
    const shared = {
      maxFrame: options.maxFrame,
      outboxBytes: options.outboxBytes,
      auth: options.auth,
      tlsRequired: options.tls?.required ?? false,
      logger: this.#log,
      slots: this.#slots,
    };
    if (options.web) {
      const admission = this.#admission;
      this.#web = new WebFront({
        ...options.web,
        timeoutMs: options.timeoutMs,
        tlsRequired: shared.tlsRequired,
        maxFrame: options.maxFrame,
        logger: this.#log,
        health: () => this.health(),
        metrics: () => this.metrics(),
        admit: (ip) => admission.admit(ip, Date.now()),
        release: (ip) => admission.release(ip, Date.now()),
        upgraded: (ws, address, onEnd) => {
          const c = this.#open(ws, address, this.#wsOptions, null, () => {
            this.#websockets.delete(c);
            onEnd();
          });
          this.#websockets.add(c);
        },
      });
    }
    this.#tcpOptions = { ...shared, web: this.#web ?? undefined };
    this.#wsOptions = { ...shared, framed: true };
  }

  /** Null while the server accepts clients; else why not (`GET /healthz` answers 503 with it). */
  health(): string | null {
    if (this.#stopping) return "shutting down";
    return this.options.health?.() ?? null;
  }

  /** The `GET /metrics` page: the counters, and gauges gathered now. */
  metrics(): string {
    const connections = { tcp: 0, tls: 0, websocket: 0 };
    let outboxBytes = 0;
    let outboxesOver = 0;
    for (const c of this.#connections) {
      // A connection handed to the web front has no session left: it is counted as HTTP.
      if (c.session.state !== "handshake" && c.session.state !== "ready") continue;
      connections[this.#websockets.has(c) ? "websocket" : c.secure ? "tls" : "tcp"]++;
      outboxBytes += c.outbox.queuedBytes;
      if (c.outbox.over) outboxesOver++;
    }
    return renderMetrics({
      connections,
      httpConnections: this.#web?.open ?? 0,
      users: this.broker.online,
      rooms: this.broker.rooms,
      outboxBytes,
      outboxesOver,
      log: this.#logStats,
      runner: this.runner.counters,
      httpResponses: this.#web?.responses ?? new Map(),
      healthy: this.health() === null,
    });
  }

  /** Read slots held by open connections: one per connection whose read loop runs, none once it ends. */
  get readSlotsInUse(): number {
    return this.#slots.inUse;
  }

  /** Binds the listener; throws Deno.errors.AddrInUse when the port is taken. */
  listen(): Deno.NetAddr {
    this.#listener = new TcpListener(this.options.host, this.options.port, this.#log);
    this.#timer = setInterval(() => this.runner.tick(Date.now()), tickInterval(this.broker.heartbeatMs));
    this.#pruneTimer = setInterval(() => void this.#prune(), PRUNE_EVERY_MS);
    void this.#prune();
    return this.#listener.addr;
  }

  /** Accepts connections until {@linkcode shutdown}. */
  async serve(): Promise<void> {
    if (!this.#listener) throw new Error("listen() must be called before serve()");
    await this.#listener.serve((conn, remote) => this.#accepted(conn, remote));
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
    this.#listener?.close();
    this.#web?.shutdown();
    // Whatever was accepted is stored (and acknowledged) before everyone is told to go.
    await this.runner.queue.drained();
    this.runner.perform(this.broker.shutdown(Date.now()));
    if (this.#connections.size > 0) await new Promise<void>((r) => this.#allClosed = r);
  }

  /**
   * Admits an accepted connection and starts its pipeline. The pipeline gets
   * the socket as a {@linkcode RawConn} where the runtime allows, and never
   * the TcpConn: what an idle connection keeps alive is what it needs.
   */
  #accepted(conn: Deno.TcpConn, remote: Deno.NetAddr): void {
    const address = `${remote.hostname}:${remote.port}`;
    try {
      conn.setNoDelay(true);
    } catch { /* not fatal */ }
    if (this.#stopping) {
      conn.close();
      return;
    }
    const ip = remote.hostname;
    // A trusted proxy carries many clients: its WebSockets are admitted by forwarded address (src/net/web.ts).
    const proxy = this.#web !== null && this.options.web!.trustProxy.has(ip);
    const refusal = proxy ? null : this.#admission.admit(ip, Date.now());
    if (refusal) {
      void this.#refuse(conn, address, refusal);
      return;
    }
    const tls = this.options.tls;
    const stream = tls ? tls.wrap(conn) : rawConn(conn);
    this.#open(stream, address, this.#tcpOptions, proxy ? null : ip, null);
  }

  /**
   * Starts the pipeline of a connection. When it ends, admission forgets it
   * (`admitted`: the address it was counted under, if any) and `ended` runs.
   * One closure per connection, as before the web side existed.
   */
  #open(
    stream: Stream,
    address: string,
    options: ConnectionOptions,
    admitted: string | null,
    ended: (() => void) | null,
  ): Connection {
    const connection = new Connection(this.runner, stream, address, options, () => {
      if (admitted !== null) this.#admission.release(admitted, Date.now());
      ended?.();
      this.#connections.delete(connection);
      if (this.#connections.size === 0) this.#allClosed?.();
    });
    this.#connections.add(connection);
    this.#log.debug(`connect ${address} #${connection.session.id}`);
    connection.start();
    return connection;
  }

  /** Refused before any protocol work (and already uncounted by admission): one error frame, best effort, then close. */
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
    await Promise.race([
      conn.write(bytes).catch(() => 0),
      new Promise((r) => timer = setTimeout(r, REFUSAL_MS)),
    ]);
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }

  async #prune(): Promise<void> {
    try {
      const n = await this.options.store.prune(Date.now());
      if (n > 0) this.#log.debug(`store: retention deleted ${n} message(s)`);
    } catch (err) {
      this.#log.warn(`store: ${(err as Error).message}`);
    }
  }
}
