/**
 * The option tables of every subcommand, in one place so that help, the
 * README and config-file validation agree.
 *
 * @module
 */

import { LIMITS, MAX_NODES, MAX_SOURCES, MINIMA, SCENARIOS, TARGETS } from "../bench/config.ts";
import { DEFAULT_RATE } from "../chat/guard.ts";
import { QUICK_ATTEMPTS } from "../client/backoff.ts";
import {
  DEFAULT_GRACE_MS,
  DEFAULT_HISTORY,
  DEFAULT_MAX_ROOMS,
  DEFAULT_MAX_ROOMS_PER_CLIENT,
  DEFAULT_PRESENCE_LIMIT,
} from "../chat/broker.ts";
import { DEFAULT_OUTBOX_BYTES } from "../net/outbox.ts";
import { DEFAULT_MEMORY_BYTES } from "../store/message_budget.ts";
import { LOG_LEVELS } from "../net/log.ts";
import { DEFAULT_MAX_FRAME, DEFAULT_MAX_TEXT, DEFAULT_ROOM, MAX_FRAME_CEILING } from "../protocol/mod.ts";
import type { OptionSpec } from "./options.ts";

const PORT: OptionSpec = {
  key: "port",
  flag: "port",
  short: "p",
  env: "PORT",
  type: "int",
  default: 3000,
  min: 0,
  max: 65535,
  value: "N",
  help: "TCP port (0 picks a free one)",
};

const TIMEOUT: OptionSpec = {
  key: "timeout",
  flag: "timeout",
  env: "CHAT_TIMEOUT",
  type: "int",
  default: 5000,
  min: 100,
  max: 3_600_000,
  value: "MS",
  help: "milliseconds of silence before a peer counts as dead; also the handshake deadline",
};

const LOG_LEVEL: OptionSpec = {
  key: "logLevel",
  flag: "log-level",
  env: "CHAT_LOG_LEVEL",
  type: "string",
  default: "info",
  choices: LOG_LEVELS,
  value: "LEVEL",
  help: `stderr log level: ${LOG_LEVELS.join(", ")}`,
};

/** join and tail: when they give up reconnecting (by default never). The pace is src/client/backoff.ts. */
const RECONNECT_ATTEMPTS: OptionSpec = {
  key: "reconnectAttempts",
  flag: "reconnect-attempts",
  env: "CHAT_RECONNECT_ATTEMPTS",
  type: "int",
  default: 0,
  min: 0,
  max: 1_000_000,
  value: "N",
  help: `reconnection attempts after a lost connection before giving up; 0: never give up. The first ` +
    `${QUICK_ATTEMPTS} come 0.5, 1 and 2 s apart, later ones 5 s apart growing to 30 s (2 s while refused)`,
};

/** `chat serve` TLS: one port serves both TLS and plaintext, unless --require-tls. See docs/SECURITY.md. */
export const SERVE_TLS_SPECS: readonly OptionSpec[] = [
  {
    key: "tlsCert",
    flag: "tls-cert",
    env: "CHAT_TLS_CERT",
    type: "string",
    value: "FILE",
    help: "serve TLS with this PEM certificate chain, leaf first (needs --tls-key)",
  },
  {
    key: "tlsKey",
    flag: "tls-key",
    env: "CHAT_TLS_KEY",
    type: "string",
    value: "FILE",
    help: "the PEM private key of --tls-cert",
  },
  {
    key: "tlsSelfSigned",
    flag: "tls-self-signed",
    env: "CHAT_TLS_SELF_SIGNED",
    type: "bool",
    default: false,
    help: "serve TLS with a self-signed certificate, made on first start and kept in the data dir " +
      "(the state dir with --ephemeral); clients trust it with --tofu or --ca",
  },
  {
    key: "requireTls",
    flag: "require-tls",
    env: "CHAT_REQUIRE_TLS",
    type: "bool",
    default: false,
    help: "refuse clients that do not use TLS (TLS_REQUIRED); without it TLS and plaintext share the port",
  },
];

/** `chat serve` HTTP on the chat port: the web client, its WebSocket, /healthz and /metrics. See README, "Web client and HTTP". */
export const SERVE_WEB_SPECS: readonly OptionSpec[] = [
  {
    key: "noWeb",
    flag: "no-web",
    env: "CHAT_NO_WEB",
    type: "bool",
    default: false,
    help:
      "serve no HTTP: no web client, WebSocket, /healthz or /metrics; an HTTP request gets the not-chat line",
  },
  {
    key: "webOrigin",
    flag: "web-origin",
    env: "CHAT_WEB_ORIGIN",
    type: "list",
    value: "ORIGIN",
    help:
      "an origin whose pages may open the WebSocket, like https://chat.example.org; repeat (or comma-separate) " +
      "for several (default: the page's own origin only)",
  },
  {
    key: "trustProxy",
    flag: "trust-proxy",
    env: "CHAT_TRUST_PROXY",
    type: "list",
    value: "CIDR",
    help:
      "a reverse proxy's address or range, like 10.0.0.0/8: its X-Forwarded-For names the client, for limits, " +
      "bans and logs; repeat (or comma-separate) for several",
  },
];

/** Client TLS, for join, send and tail. */
export const CLIENT_TLS_SPECS: readonly OptionSpec[] = [
  {
    key: "tls",
    flag: "tls",
    env: "CHAT_TLS",
    type: "bool",
    default: false,
    help: "connect with TLS, verifying the server's certificate against the default trusted roots",
  },
  {
    key: "tlsCa",
    flag: "ca",
    env: "CHAT_TLS_CA",
    type: "string",
    value: "FILE",
    help: "trust only the PEM certificates in FILE, e.g. a self-signed server's own (implies --tls)",
  },
  {
    key: "tofu",
    flag: "tofu",
    env: "CHAT_TLS_TOFU",
    type: "bool",
    default: false,
    help:
      "trust on first use (implies --tls): a certificate that does not verify is accepted the first time, " +
      "its fingerprint pinned per server in $XDG_STATE_HOME/chat/known_servers, and any other refused later",
  },
];

/** --cluster and --cluster-name, as `chat serve` and `chat user` take them, each command with its own help. */
function clusterSpecs(urlHelp: string, nameHelp: string): OptionSpec[] {
  return [
    {
      key: "cluster",
      flag: "cluster",
      env: "CHAT_CLUSTER",
      type: "list",
      default: [],
      value: "URL",
      help: urlHelp,
    },
    {
      key: "clusterName",
      flag: "cluster-name",
      env: "CHAT_CLUSTER_NAME",
      type: "string",
      default: "chat",
      value: "NAME",
      help: nameHelp,
    },
  ];
}

export const SERVE_SPECS: readonly OptionSpec[] = [
  {
    key: "host",
    flag: "host",
    env: "CHAT_HOST",
    type: "string",
    default: "0.0.0.0",
    value: "ADDR",
    help: "address to listen on",
  },
  PORT,
  {
    key: "maxClients",
    flag: "max-clients",
    env: "CHAT_MAX_CLIENTS",
    type: "int",
    default: 100,
    min: 1,
    max: 1_000_000,
    value: "N",
    help: "most clients online at once; the next gets SERVER_FULL",
  },
  TIMEOUT,
  {
    key: "maxFrame",
    flag: "max-frame",
    env: "CHAT_MAX_FRAME",
    type: "int",
    default: DEFAULT_MAX_FRAME,
    min: 4096,
    max: MAX_FRAME_CEILING,
    value: "BYTES",
    help: "largest frame accepted (type byte + payload)",
  },
  {
    key: "maxText",
    flag: "max-text",
    env: "CHAT_MAX_TEXT",
    type: "int",
    default: DEFAULT_MAX_TEXT,
    min: 1,
    max: MAX_FRAME_CEILING - 1024,
    value: "BYTES",
    help:
      "largest message text in UTF-8 bytes; at most --max-frame minus 1024 (room for the other fields): left at its default, it shrinks to fit",
  },
  {
    key: "maxRoomsPerClient",
    flag: "max-rooms-per-client",
    env: "CHAT_MAX_ROOMS_PER_CLIENT",
    type: "int",
    default: DEFAULT_MAX_ROOMS_PER_CLIENT,
    min: 1,
    max: 32,
    value: "N",
    help: "rooms one client may be in at once",
  },
  {
    key: "maxRooms",
    flag: "max-rooms",
    env: "CHAT_MAX_ROOMS",
    type: "int",
    default: DEFAULT_MAX_ROOMS,
    min: 1,
    max: 10_000_000,
    value: "N",
    help: "rooms the server tracks in all",
  },
  {
    key: "outboxBytes",
    flag: "outbox-bytes",
    env: "CHAT_OUTBOX_BYTES",
    type: "int",
    default: DEFAULT_OUTBOX_BYTES,
    min: 65536,
    max: 1024 * 1024 * 1024,
    value: "BYTES",
    help: "outbound queue per client; a client that lets more pile up is dropped as a slow consumer",
  },
  {
    key: "dataDir",
    flag: "data-dir",
    env: "CHAT_DATA_DIR",
    type: "string",
    value: "DIR",
    help: "where messages are stored (SQLite, WAL); default $XDG_DATA_HOME/chat/server",
  },
  {
    key: "ephemeral",
    flag: "ephemeral",
    env: "CHAT_EPHEMERAL",
    type: "bool",
    default: false,
    help: "keep messages in memory only (at most --memory-store-mb): nothing survives a restart",
  },
  ...clusterSpecs(
    "join a cluster through NATS JetStream (nats://HOST:PORT; repeat or comma-separate for several): every node with the same NATS and --cluster-name serves the same chat (docs/CLUSTER.md)",
    "with --cluster: which chat on that NATS this node serves (names its stream and buckets)",
  ),
  {
    key: "clusterReplicas",
    flag: "cluster-replicas",
    env: "CHAT_CLUSTER_REPLICAS",
    type: "int",
    default: 1,
    min: 1,
    max: 5,
    value: "N",
    help: "with --cluster: copies JetStream keeps of every message (3 on a 3-server NATS cluster)",
  },
  {
    key: "history",
    flag: "history",
    env: "CHAT_HISTORY",
    type: "int",
    default: DEFAULT_HISTORY,
    min: 0,
    max: 500,
    value: "N",
    help: "recent messages sent to a client joining a room",
  },
  {
    key: "grace",
    flag: "grace",
    env: "CHAT_GRACE",
    type: "int",
    default: DEFAULT_GRACE_MS,
    min: 0,
    max: 3_600_000,
    value: "MS",
    help: "after an unclean disconnect, how long the name is held before the leave is announced",
  },
  {
    key: "presenceLimit",
    flag: "presence-limit",
    env: "CHAT_PRESENCE_LIMIT",
    type: "int",
    default: DEFAULT_PRESENCE_LIMIT,
    min: 0,
    max: 1_000_000,
    value: "N",
    help: "bigger rooms go quiet: no join/leave events, a count for the member list (0: never)",
  },
  {
    key: "retentionMessages",
    flag: "retention-messages",
    env: "CHAT_RETENTION_MESSAGES",
    type: "int",
    default: 0,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    value: "N",
    help: "messages kept per room (0: no limit)",
  },
  {
    key: "retentionDays",
    flag: "retention-days",
    env: "CHAT_RETENTION_DAYS",
    type: "int",
    default: 0,
    min: 0,
    max: 100_000,
    value: "N",
    help: "days messages are kept (0: no limit)",
  },
  {
    key: "maxStoreMb",
    flag: "max-store-mb",
    env: "CHAT_MAX_STORE_MB",
    type: "int",
    default: 0,
    min: 0,
    max: 10_000_000,
    value: "MB",
    help: "cap on the database size; past it messages are refused with STORAGE_ERROR (0: no cap)",
  },
  {
    key: "memoryStoreMb",
    flag: "memory-store-mb",
    env: "CHAT_MEMORY_STORE_MB",
    type: "int",
    default: DEFAULT_MEMORY_BYTES / (1024 * 1024),
    min: 1,
    max: 1_000_000,
    value: "MB",
    help: "with --ephemeral (and a cluster node's recent history): memory for messages; past it the oldest " +
      "go first, those of the rooms quiet longest",
  },
  {
    key: "passwordFile",
    flag: "password-file",
    type: "string",
    value: "FILE",
    help: "require this server password (first line of FILE; or set CHAT_PASSWORD) from unregistered names",
  },
  {
    key: "allowRegister",
    flag: "allow-register",
    env: "CHAT_ALLOW_REGISTER",
    type: "bool",
    default: false,
    help: "let users register their name with /register",
  },
  {
    key: "adminTokenFile",
    flag: "admin-token-file",
    type: "string",
    value: "FILE",
    help:
      "operator token (first line of FILE; or set CHAT_ADMIN_TOKEN): clients presenting it may /kick, /ban, /mute",
  },
  {
    key: "operatorTopics",
    flag: "operator-topics",
    env: "CHAT_OPERATOR_TOPICS",
    type: "bool",
    default: false,
    help: "only operators may set room topics (/topic TEXT); without it any member of a room may",
  },
  {
    key: "motd",
    flag: "motd",
    env: "CHAT_MOTD",
    type: "string",
    value: "FILE",
    help: "message of the day: the text of FILE is shown to each client on welcome",
  },
  {
    key: "rateLimit",
    flag: "rate-limit",
    env: "CHAT_RATE_LIMIT",
    type: "int",
    default: DEFAULT_RATE.perSecond,
    min: 0,
    max: 1_000_000,
    value: "N",
    help: "messages per second per client, sustained; over it: RATE_LIMITED, then disconnect (0: no limit)",
  },
  {
    key: "rateBurst",
    flag: "rate-burst",
    env: "CHAT_RATE_BURST",
    type: "int",
    default: DEFAULT_RATE.burst,
    min: 1,
    max: 1_000_000,
    value: "N",
    help: "messages a client may send at once before the rate limit applies",
  },
  {
    key: "maxConnsPerIp",
    flag: "max-conns-per-ip",
    env: "CHAT_MAX_CONNS_PER_IP",
    type: "int",
    default: 20,
    min: 1,
    max: 1_000_000,
    value: "N",
    help: "connections open at once from one address",
  },
  {
    key: "connRatePerIp",
    flag: "conn-rate-per-ip",
    env: "CHAT_CONN_RATE_PER_IP",
    type: "int",
    default: 120,
    min: 1,
    max: 1_000_000,
    value: "N",
    help: "new connections per minute from one address",
  },
  {
    key: "limitLoopback",
    flag: "limit-loopback",
    env: "CHAT_LIMIT_LOOPBACK",
    type: "bool",
    default: false,
    help:
      "apply the per-address limits to 127.0.0.1 and ::1 too (off: a local TLS proxy shares that address)",
  },
  ...SERVE_TLS_SPECS,
  ...SERVE_WEB_SPECS,
  LOG_LEVEL,
];

/** Client credentials: never a flag with the secret itself, so it stays out of shell history and `ps`. */
export const CLIENT_SECRET_SPECS: readonly OptionSpec[] = [
  {
    key: "passwordFile",
    flag: "password-file",
    type: "string",
    value: "FILE",
    help: "read your password (account or server) from the first line of FILE; or set CHAT_PASSWORD",
    flagOnly: true,
  },
  {
    key: "adminTokenFile",
    flag: "admin-token-file",
    type: "string",
    value: "FILE",
    help: "read an operator token from FILE; or set CHAT_ADMIN_TOKEN",
    flagOnly: true,
  },
  {
    key: "askPassword",
    flag: "ask-password",
    type: "bool",
    default: false,
    help:
      "ask for your password on the terminal, without echo (the terminal client also asks after AUTH_FAILED)",
    flagOnly: true,
  },
];

/**
 * join, send, tail (and history, which names a transcript by it): one server, or the nodes of a cluster in
 * order of preference. The client takes the first that answers and moves on to the next when it goes away
 * (src/client/client.ts); what it keeps on disk is kept per list.
 */
const SERVER_HOST: OptionSpec = {
  key: "host",
  flag: "host",
  env: "CHAT_HOST",
  type: "list",
  default: ["127.0.0.1"],
  value: "HOST[:PORT],...",
  help: "server to connect to; for a cluster, several (comma-separated or repeated, the port defaults to " +
    "--port): the first that answers, then the next whenever the one in use goes away",
};

const NAME: OptionSpec = {
  key: "name",
  flag: "name",
  short: "n",
  env: "CHAT_NAME",
  type: "string",
  value: "NAME",
  help: "your name: 1-32 letters, digits, '_', '-', '.'",
};

export const JOIN_SPECS: readonly OptionSpec[] = [
  {
    ...NAME,
    help: `${NAME.help}; the full-screen client asks for it when missing, the line modes need it`,
  },
  SERVER_HOST,
  { ...PORT, min: 1, help: "server port (of each --host given without one)" },
  {
    key: "room",
    flag: "room",
    short: "r",
    env: "CHAT_ROOM",
    type: "list",
    default: [DEFAULT_ROOM],
    value: "ROOM",
    help: "room to join; repeat (or comma-separate) for several, the first is current",
  },
  TIMEOUT,
  RECONNECT_ATTEMPTS,
  { key: "plain", flag: "plain", type: "bool", default: false, help: "print one readable line per event" },
  {
    key: "json",
    flag: "json",
    type: "bool",
    default: false,
    help: "print one JSON object per event (for bots)",
  },
  {
    key: "noColor",
    flag: "no-color",
    type: "bool",
    default: false,
    help: "no colours in output (also when NO_COLOR is set)",
  },
  ...CLIENT_SECRET_SPECS,
  ...CLIENT_TLS_SPECS,
];

export const HISTORY_SPECS: readonly OptionSpec[] = [
  {
    ...SERVER_HOST,
    help: "server whose transcript to read; several: the transcript of that list, as join --host wrote it",
  },
  { ...PORT, min: 1, help: "server port (of each --host given without one)" },
  {
    flagOnly: true,
    key: "room",
    flag: "room",
    short: "r",
    type: "string",
    value: "ROOM",
    help: "only this room, or @NAME: only your stored conversation with NAME (default: every room)",
  },
  {
    ...NAME,
    help: "whose conversations to read (default: CHAT_NAME; needed only when several people on this " +
      "machine talk with the same NAME)",
  },
  {
    flagOnly: true,
    key: "grep",
    flag: "grep",
    type: "string",
    value: "TEXT",
    help: "only messages containing TEXT (case-insensitive) or sent by TEXT",
  },
  {
    flagOnly: true,
    key: "since",
    flag: "since",
    type: "string",
    value: "WHEN",
    help: "only messages since a duration ago (30m, 2h, 7d) or an ISO date",
  },
  {
    flagOnly: true,
    key: "limit",
    flag: "limit",
    type: "int",
    default: 0,
    min: 0,
    max: 1_000_000,
    value: "N",
    help: "only the last N matches (0: all)",
  },
  { flagOnly: true, key: "json", flag: "json", type: "bool", default: false, help: "print JSON lines" },
];

/** `chat bench`: flags only, so a config file never changes what a benchmark measures. */
export const BENCH_SPECS: readonly OptionSpec[] = [
  {
    flagOnly: true,
    key: "host",
    flag: "host",
    type: "list",
    default: ["127.0.0.1"],
    value: "HOST[:PORT]",
    help:
      "server to load (ignored with --spawn); for a cluster, its nodes (comma-separated or repeated, the port defaults to --port): the connections are spread over them",
  },
  {
    flagOnly: true,
    key: "port",
    flag: "port",
    short: "p",
    type: "int",
    min: 1,
    max: 65535,
    value: "N",
    help: "server port (default: the target's usual port, 3000 for chat)",
  },
  {
    flagOnly: true,
    key: "spawn",
    flag: "spawn",
    type: "bool",
    default: false,
    help: "start the server as a child process on a free loopback port, and measure its CPU and memory",
  },
  {
    flagOnly: true,
    key: "durable",
    flag: "durable",
    type: "bool",
    default: false,
    help:
      "with --spawn --target chat: store messages in SQLite (a temporary data dir) instead of --ephemeral",
  },
  {
    flagOnly: true,
    key: "nodes",
    flag: "nodes",
    type: "int",
    min: 1,
    max: MAX_NODES,
    value: "N",
    help:
      "with --spawn --target chat: start nats-server with JetStream and N chat nodes as one cluster, and spread the connections over the nodes",
  },
  {
    flagOnly: true,
    key: "serverFlag",
    flag: "server-flag",
    type: "list",
    default: [],
    value: "FLAG",
    help:
      "with --spawn: pass FLAG to the server, e.g. --server-flag=--timeout=60000 (repeat or comma-separate)",
  },
  {
    flagOnly: true,
    key: "pid",
    flag: "pid",
    type: "int",
    min: 1,
    max: 2 ** 31 - 1,
    value: "PID",
    help: "measure the CPU and memory of this server process (one started elsewhere)",
  },
  {
    flagOnly: true,
    key: "target",
    flag: "target",
    type: "string",
    default: "chat",
    choices: TARGETS,
    value: "NAME",
    help: `server kind: ${TARGETS.join(", ")} (redis or nats pub/sub, or the naive Node chat of bench/peers)`,
  },
  {
    flagOnly: true,
    key: "scenario",
    flag: "scenario",
    type: "string",
    default: "fanout",
    choices: SCENARIOS,
    value: "NAME",
    help: `preset load: ${SCENARIOS.join(", ")}; the flags below override it`,
  },
  ...([
    ["clients", "N", "receiving connections"],
    ["senders", "N", "sending clients"],
    ["rooms", "N", "rooms the clients are spread over"],
    ["rate", "N", "messages per second per sender; 0 = as fast as the window allows"],
    ["window", "N", "unacknowledged messages per sender at max rate"],
    ["size", "BYTES", "bytes of message text"],
    ["duration", "S", "seconds of sending (idle: of holding the connections)"],
  ] as const).map(([key, value, help]): OptionSpec => ({
    flagOnly: true,
    key,
    flag: key,
    type: "int",
    min: MINIMA[key],
    max: LIMITS[key],
    value,
    help: `${help} (default: per scenario)`,
  })),
  {
    flagOnly: true,
    key: "sources",
    flag: "sources",
    type: "int",
    min: 0,
    max: MAX_SOURCES,
    value: "N",
    help:
      "spread the connections over N loopback source addresses (127.0.0.2, 127.0.0.3, ...), each with its own ephemeral ports; 0: none (default: none while one address's ports suffice, else enough that each binds a sixteenth of its ports)",
  },
  {
    flagOnly: true,
    key: "json",
    flag: "json",
    type: "bool",
    default: false,
    help: "print the result as one JSON object instead of a table",
  },
];

const ONE_ROOM: OptionSpec = {
  key: "room",
  flag: "room",
  short: "r",
  type: "string",
  default: DEFAULT_ROOM,
  value: "ROOM",
  help: "the room",
  flagOnly: true,
};

export const SEND_SPECS: readonly OptionSpec[] = [
  { ...NAME, help: `${NAME.help} (default: CHAT_NAME, else "send")` },
  SERVER_HOST,
  { ...PORT, min: 1, help: "server port (of each --host given without one)" },
  { ...ONE_ROOM, help: "room to send to" },
  { ...TIMEOUT, help: "milliseconds to wait for the server's acknowledgement (and to connect)" },
  {
    key: "action",
    flag: "me",
    type: "bool",
    default: false,
    help: "send as an action (/me)",
    flagOnly: true,
  },
  ...CLIENT_SECRET_SPECS,
  ...CLIENT_TLS_SPECS,
];

export const USER_SPECS: readonly OptionSpec[] = [
  {
    key: "dataDir",
    flag: "data-dir",
    env: "CHAT_DATA_DIR",
    type: "string",
    value: "DIR",
    help: "the server's data directory; default $XDG_DATA_HOME/chat/server",
  },
  ...clusterSpecs(
    "manage the accounts of the cluster on this NATS (nats://HOST:PORT; repeat or comma-separate for several) instead of a data directory",
    "with --cluster: which chat on that NATS (the nodes' --cluster-name)",
  ),
  {
    key: "admin",
    flag: "admin",
    type: "bool",
    default: false,
    help: "make the account an operator",
    flagOnly: true,
  },
  {
    key: "passwordFile",
    flag: "password-file",
    type: "string",
    value: "FILE",
    help: "read the new password from the first line of FILE; or set CHAT_PASSWORD",
    flagOnly: true,
  },
];

export const TAIL_SPECS: readonly OptionSpec[] = [
  { ...NAME, help: `${NAME.help}; the cursor is saved per name (default: CHAT_NAME, else "tail")` },
  SERVER_HOST,
  { ...PORT, min: 1, help: "server port (of each --host given without one)" },
  { ...ONE_ROOM, help: "room to follow" },
  {
    key: "since",
    flag: "since",
    type: "int",
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    value: "SEQ",
    help: "print messages after this sequence number (default: after the saved cursor, else recent history)",
    flagOnly: true,
  },
  TIMEOUT,
  RECONNECT_ATTEMPTS,
  { key: "json", flag: "json", type: "bool", default: false, help: "print JSON lines", flagOnly: true },
  ...CLIENT_SECRET_SPECS,
  ...CLIENT_TLS_SPECS,
];

/** Every key any command accepts in a config file. */
export const ALL_CONFIG_KEYS: ReadonlySet<string> = new Set(
  [...SERVE_SPECS, ...JOIN_SPECS, ...HISTORY_SPECS, ...SEND_SPECS, ...TAIL_SPECS].filter((s) => !s.flagOnly)
    .map((s) => s.key),
);

/** The commands whose flag tables README.md carries, generated by scripts/readme_tables.ts. */
export const README_TABLES: Record<string, readonly OptionSpec[]> = {
  serve: SERVE_SPECS,
  join: JOIN_SPECS,
  send: SEND_SPECS,
  tail: TAIL_SPECS,
  history: HISTORY_SPECS,
  user: USER_SPECS,
  bench: BENCH_SPECS,
};
