/**
 * `chat serve`: runs the broker until SIGINT or SIGTERM.
 *
 * @module
 */

import { type LogLevel, shows, stderrLogger } from "../net/log.ts";
import { MAX_MEDIUM_STRING, utf8Length } from "../protocol/mod.ts";
import { ChatServer, type WebOptions } from "../net/server.ts";
import { CidrSet } from "../net/proxy.ts";
import { normalizeOrigin } from "../net/web.ts";
import { WEB_ASSETS } from "../web/assets_gen.ts";
import { probeRawConn } from "../net/raw_conn.ts";
import { Authenticator } from "../net/auth.ts";
import { MemoryStore } from "../store/memory.ts";
import { diskHasRoom, openFailureText } from "../store/full.ts";
import { SqliteStore } from "../store/sqlite.ts";
import { ThreadedSqliteStore } from "../store/sqlite_threaded.ts";
import type { Resolved } from "./options.ts";
import type { ClusterStore, openCluster } from "../store/jetstream/mod.ts";
import type { ClusterBus } from "../cluster/mod.ts";
import type { Logger } from "../net/log.ts";
import { dataDir } from "./paths.ts";
import { CONFIG_SPEC, HELP_SPEC, parseCommand, VERSION_SPEC } from "./command.ts";
import { formatOptions, isDefault, UsageError } from "./options.ts";
import { checkClusterUrls } from "./cluster_urls.ts";
import { ALL_CONFIG_KEYS, SERVE_SPECS } from "./specs.ts";
import { checkServeTlsFlags, serveTls, tlsSummary, transportWarnings } from "./tls.ts";
import type { CommandIo } from "./command.ts";

export const SERVE_HELP = `Usage: chat serve [options]

Runs the chat server: accepts clients over TCP, relays messages between
them, and logs to stderr. Stops gracefully on SIGINT or SIGTERM. The same
port serves the web client over HTTP (http://HOST:PORT/, and its WebSocket
at /ws), /healthz and /metrics, unless --no-web.

Options:
${formatOptions([...SERVE_SPECS, CONFIG_SPEC, HELP_SPEC, VERSION_SPEC])}

Exit codes: 0 stopped cleanly, 1 could not start (port taken, ...), 2 bad usage.`;

export interface ServeIo extends CommandIo {
  /** Where the startup line and errors go. */
  stderr(line: string): void;
  stdout(line: string): void;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  stopSignal(): Promise<string>;
}

/** Runs `chat serve`; returns the exit code. */
export async function serve(argv: string[], io: ServeIo): Promise<number> {
  const cmd = await parseCommand("serve", argv, SERVE_SPECS, ALL_CONFIG_KEYS, io);
  if (cmd.help) {
    io.stdout(SERVE_HELP);
    return 0;
  }
  const o = cmd.options;
  const maxFrame = o.maxFrame as number;
  // A MESSAGE frame carries the text plus room, sender and fixed fields: keep 1 KiB for them. Left at its
  // default, --max-text shrinks to fit a small --max-frame; given, it must fit.
  if (isDefault(o, "maxText")) o.maxText = Math.min(o.maxText as number, maxFrame - 1024);
  const maxText = o.maxText as number;
  if (maxText + 1024 > maxFrame) {
    throw new UsageError(
      `--max-text ${maxText} does not fit --max-frame ${maxFrame} (leave 1024 bytes for the other fields)`,
    );
  }
  checkServeTlsFlags(o);
  checkClusterUrls(o.cluster as string[]);
  const web = webOptions(o);
  const logger = stderrLogger(o.logLevel as LogLevel);
  const clustered = (o.cluster as string[]).length > 0;
  // What the store says of itself, logged once the server listens (a server that cannot listen says one line).
  const storeNotes: StoreNote[] = [];
  const store = clustered ? await joinCluster(o, io, logger) : await openStore(o, io, storeNotes);
  if (store instanceof Error) {
    io.stderr(`chat serve: ${store.message}`);
    return 1;
  }
  const secrets = await readSecrets(o, io);
  if (secrets instanceof Error) {
    await store.close();
    io.stderr(`chat serve: ${secrets.message}`);
    return 1;
  }
  // After the store: a self-signed certificate is kept in the directory the store has just made.
  const tls = await serveTls(o, io, logger);
  if (tls instanceof Error) {
    await store.close();
    io.stderr(`chat serve: ${tls.message}`);
    return 1;
  }
  // Which socket path connections take: the runtime's own ops once they prove to behave, else Deno.Conn.
  const path = await probeRawConn(io.env.CHAT_RAW_CONN === "0");
  const server = new ChatServer({
    store,
    tls: tls.acceptor,
    auth: new Authenticator({ ...secrets.auth, users: store }),
    requirePassword: secrets.auth.serverPassword !== undefined,
    allowRegister: o.allowRegister as boolean,
    operatorTopics: o.operatorTopics as boolean,
    motd: secrets.motd,
    // perSecond 0 turns the limit off (and WELCOME then announces none).
    rate: { perSecond: o.rateLimit as number, burst: o.rateBurst as number },
    connectionLimits: {
      perAddress: o.maxConnsPerIp as number,
      perMinute: o.connRatePerIp as number,
      loopback: o.limitLoopback as boolean,
    },
    historyLimit: o.history as number,
    graceMs: o.grace as number,
    presenceLimit: o.presenceLimit as number,
    // In a cluster a stored message reaches its room from the shared log, on every node alike.
    deliverOnAppend: !clustered,
    cluster: clustered,
    host: o.host as string,
    port: o.port as number,
    maxClients: o.maxClients as number,
    timeoutMs: o.timeout as number,
    maxFrame,
    maxText,
    maxRoomsPerClient: o.maxRoomsPerClient as number,
    maxRooms: o.maxRooms as number,
    outboxBytes: o.outboxBytes as number,
    logger,
    web,
    // A node of a cluster serves no one while it cannot reach NATS: /healthz says so, for its load balancer.
    health: "log" in store ? () => store.log.up ? null : "cannot reach NATS" : undefined,
  });
  const bus = "log" in store ? await joinBus(o, store, server, logger) : null;
  if (bus instanceof Error) {
    io.stderr(`chat serve: ${bus.message}`);
    await store.close();
    return 1;
  }
  let addr: Deno.NetAddr;
  try {
    addr = server.listen();
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      io.stderr(`chat serve: cannot listen on ${o.host}:${o.port}: address already in use`);
    } else {
      io.stderr(`chat serve: cannot listen on ${o.host}:${o.port}: ${(err as Error).message}`);
    }
    await store.close();
    return 1;
  }
  // Listen for signals before announcing the port: a script that stops the server as soon as it reads
  // the port must get a clean shutdown, not the default action of an unhandled SIGTERM.
  const stop = io.stopSignal();
  // Printed whatever the log level: scripts and people read the bound port from it.
  const transport = tlsSummary(tls.acceptor);
  io.stderr(
    `chat serve: listening on ${addr.hostname}:${addr.port} (${
      transport ? `${transport}; ` : ""
    }max ${o.maxClients} clients, timeout ${o.timeout} ms, pid ${Deno.pid})`,
  );
  for (const note of tls.notes) logger.info(note);
  for (const note of storeNotes) logger[note.level](note.text);
  if (web) {
    const scheme = tls.acceptor ? "https" : "http";
    const origins = web.origins.length > 0 ? web.origins.join(", ") : "the page's own";
    const proxies = web.trustProxy.size > 0 ? `; trusted proxies: ${web.trustProxy.text.join(", ")}` : "";
    logger.info(
      `web: ${scheme}://${addr.hostname}:${addr.port}/ (WebSocket /ws, /healthz, /metrics; origins: ${origins}${proxies})`,
    );
  }
  logger.info(`sockets: ${path.raw ? "raw runtime ops" : "Deno.Conn"} (${path.why})`);
  if (store instanceof MemoryStore) {
    logger.info(
      `store: in memory only (--ephemeral): at most ${o.memoryStoreMb} MiB of messages (--memory-store-mb), ` +
        "the oldest dropped first; nothing survives a restart",
    );
  }
  const openWarning =
    secrets.auth.serverPassword === undefined && !/^(127\.|::1$|localhost$)/.test(addr.hostname)
      ? [
        `listening on ${addr.hostname}:${addr.port} without authentication: anyone who can reach it may join ` +
        `under any unregistered name (--password-file or CHAT_PASSWORD requires a password)`,
      ]
      : [];
  // Plain lines, not log lines, so that they stand out; but --log-level error or silent asked for none.
  const warnings = [
    ...tls.warnings,
    ...transportWarnings(addr.hostname, addr.port, tls.acceptor),
    ...openWarning,
  ];
  if (shows(o.logLevel as LogLevel, "warn")) {
    for (const w of warnings) io.stderr(`chat serve: warning: ${w}`);
  }
  const serving = server.serve();
  const signal = await stop;
  logger.info(`received ${signal}: shutting down`);
  await server.shutdown();
  await serving;
  await bus?.stop();
  // A store with a thread of its own closes it too: main.ts exits the process once serve() returns.
  await store.close();
  logger.info("stopped");
  return 0;
}

/**
 * Joins the cluster the options name: opens the shared log and users over
 * NATS (and the data dir, which still keeps a self-signed certificate).
 * The NATS client is loaded here, on demand: a server without --cluster
 * never downloads it.
 */
async function joinCluster(o: Resolved, io: ServeIo, logger: Logger): Promise<ClusterStore | Error> {
  const servers = o.cluster as string[];
  const base = dataDir(io.env);
  const dir = (o.dataDir as string | undefined) ?? (base && `${base}/server`);
  if (dir) await Deno.mkdir(dir, { recursive: true, mode: 0o700 }).catch(() => {});
  // A computed specifier: a literal one makes Deno fetch the module's npm dependencies at every start.
  const spec = ["..", "store", "jetstream", "mod.ts"].join("/");
  // layers: lazy ../store/jetstream/mod.ts
  const cluster: { openCluster: typeof openCluster; DEFAULT_REPLAY_MS: number } = await import(spec);
  try {
    return await cluster.openCluster({
      servers,
      name: o.clusterName as string,
      replicas: o.clusterReplicas as number,
      retention: {
        maxMessages: o.retentionMessages as number,
        maxAgeMs: (o.retentionDays as number) * 24 * 3600 * 1000,
      },
      replayMs: cluster.DEFAULT_REPLAY_MS,
      memoryBytes: memoryBytes(o),
      logger,
    });
  } catch (err) {
    return new Error(
      `cannot join the cluster at ${servers.join(", ")}: ${(err as Error).message} ` +
        "(is nats-server running there with JetStream, -js?)",
    );
  }
}

/** --memory-store-mb in bytes. */
function memoryBytes(o: Resolved): number {
  return (o.memoryStoreMb as number) * 1024 * 1024;
}

/** A line the store's opening has for the log. */
interface StoreNote {
  level: "info" | "warn";
  text: string;
}

/** Room the store needs to open: SQLite's shared-memory file (32 KiB) and a first page or two. */
const OPEN_PROBE_BYTES = 64 * 1024;

/**
 * Connects the node to the rest of its cluster: the shared log's messages reach the broker, and the bus
 * (names, presence, frames for other nodes' sessions) joins the runner.
 */
async function joinBus(
  o: Resolved,
  store: ClusterStore,
  server: ChatServer,
  logger: Logger,
): Promise<ClusterBus | Error> {
  const { runner, broker } = server;
  const perform = (effects: ReturnType<typeof broker.tick>) => runner.perform(effects);
  store.log.onDelivered = (messages) => {
    for (const m of messages) perform(broker.delivered(m));
  };
  // A topic another node set: this node's members of the room hear it.
  store.rooms.onChange = (topic) => perform(broker.topicChanged(topic));
  const spec = ["..", "cluster", "mod.ts"].join("/");
  // layers: lazy ../cluster/mod.ts
  const mod: { ClusterBus: typeof ClusterBus } = await import(spec);
  try {
    const bus = await mod.ClusterBus.open({
      nc: store.log.nats,
      prefix: store.log.streamName,
      subjects: store.log.subjects,
      nodeId: store.log.nodeId,
      replicas: o.clusterReplicas as number,
      graceMs: o.grace as number,
      logger,
    }, {
      upsert: (node, shared) => perform(broker.remoteUpsert(node, shared, Date.now())),
      gone: (node, sid, reason, text) => perform(broker.remoteGone(node, sid, reason, text, Date.now())),
      nodeDown: (node) => perform(broker.remoteNodeDown(node, Date.now())),
      deliver: (sid, msg) => perform([{ kind: "send", to: sid, msg }]),
      close: (sid, reason) => {
        const s = broker.session(sid);
        if (s && s.remote === "") perform(broker.drop(s, reason, Date.now()));
      },
    });
    runner.cluster = bus;
    return bus;
  } catch (err) {
    return new Error(`cannot join the cluster's names and presence: ${(err as Error).message}`);
  }
}

/** The web side's settings, or undefined with --no-web; a bad --web-origin or --trust-proxy is a usage error. */
function webOptions(o: Resolved): WebOptions | undefined {
  if (o.noWeb) return undefined;
  const origins: string[] = [];
  for (const text of (o.webOrigin as string[] | undefined) ?? []) {
    try {
      const origin = normalizeOrigin(text);
      if (!origins.includes(origin)) origins.push(origin);
    } catch (err) {
      throw new UsageError(`invalid --web-origin: ${(err as Error).message}`);
    }
  }
  let trustProxy: CidrSet;
  try {
    trustProxy = new CidrSet((o.trustProxy as string[] | undefined) ?? []);
  } catch (err) {
    throw new UsageError(`invalid --trust-proxy: ${(err as Error).message}`);
  }
  return { assets: WEB_ASSETS, origins, trustProxy };
}

/**
 * Opens the store the options ask for, or returns the error to report (a bad data dir fails at start, not
 * later). SQLite's commits run on a worker thread unless CHAT_STORE_WORKER is 0, or the worker cannot start:
 * then on the event loop, as the log says.
 */
async function openStore(
  o: Resolved,
  io: ServeIo,
  notes: StoreNote[],
): Promise<MemoryStore | SqliteStore | ThreadedSqliteStore | Error> {
  const retention = {
    maxMessages: o.retentionMessages as number,
    maxAgeMs: (o.retentionDays as number) * 24 * 3600 * 1000,
  };
  if (o.ephemeral) return new MemoryStore(retention, { maxBytes: memoryBytes(o) });
  const base = dataDir(io.env);
  const dir = (o.dataDir as string | undefined) ?? (base && `${base}/server`);
  if (!dir) return new Error("no data directory: set --data-dir, CHAT_DATA_DIR or HOME (or use --ephemeral)");
  const maxBytes = (o.maxStoreMb as number) * 1024 * 1024;
  let tables: SqliteStore;
  try {
    tables = new SqliteStore(dir, retention, { maxBytes });
  } catch (err) {
    // Name the directory and what to do: a full disk shows up here as SQLite's bare "disk I/O error".
    return new Error(openFailureText(err as Error, dir, diskHasRoom(dir, OPEN_PROBE_BYTES)));
  }
  if (io.env.CHAT_STORE_WORKER === "0") {
    notes.push({ level: "info", text: "store: SQLite commits on the event loop (CHAT_STORE_WORKER=0)" });
    return tables;
  }
  try {
    const store = await ThreadedSqliteStore.open(tables, { dir, retention, maxBytes });
    notes.push({ level: "info", text: "store: SQLite commits on a worker thread" });
    return store;
  } catch (err) {
    notes.push({
      level: "warn",
      text: `store: SQLite commits on the event loop: the worker thread did not start (${
        (err as Error).message
      })`,
    });
    return tables;
  }
}

/** Reads the server password, admin token and MOTD from their files or variables; an unreadable file is an error. */
async function readSecrets(
  o: Resolved,
  io: ServeIo,
): Promise<{ auth: { serverPassword?: string; adminToken?: string }; motd?: string } | Error> {
  const firstLine = async (path: string, what: string): Promise<string | Error> => {
    try {
      const line = (await io.readTextFile(path)).split(/\r?\n/)[0];
      return line === "" ? new Error(`${what} ${path} is empty`) : line;
    } catch (err) {
      return new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const out: { auth: { serverPassword?: string; adminToken?: string }; motd?: string } = { auth: {} };
  if (o.passwordFile !== undefined) {
    const p = await firstLine(o.passwordFile as string, "--password-file");
    if (p instanceof Error) return p;
    out.auth.serverPassword = p;
  } else if (io.env.CHAT_PASSWORD) out.auth.serverPassword = io.env.CHAT_PASSWORD;
  if (o.adminTokenFile !== undefined) {
    const t = await firstLine(o.adminTokenFile as string, "--admin-token-file");
    if (t instanceof Error) return t;
    out.auth.adminToken = t;
  } else if (io.env.CHAT_ADMIN_TOKEN) out.auth.adminToken = io.env.CHAT_ADMIN_TOKEN;
  if (out.auth.adminToken !== undefined && out.auth.adminToken.length < 16) {
    return new Error("the admin token needs at least 16 characters");
  }
  if (o.motd !== undefined) {
    try {
      out.motd = (await io.readTextFile(o.motd as string)).trimEnd();
    } catch (err) {
      return new Error(`cannot read --motd ${o.motd}: ${(err as Error).message}`);
    }
    // It travels as one NOTICE text (a u16 length): a longer one failed every HELLO as an internal error.
    const bytes = utf8Length(out.motd);
    if (bytes > MAX_MEDIUM_STRING) {
      return new Error(
        `--motd ${o.motd} holds ${bytes} bytes, more than the ${MAX_MEDIUM_STRING} a NOTICE carries`,
      );
    }
  }
  return out;
}
