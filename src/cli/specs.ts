/**
 * The option tables of every subcommand, in one place so that help, the
 * README and config-file validation agree.
 *
 * @module
 */

import { DEFAULT_MAX_ROOMS, DEFAULT_MAX_ROOMS_PER_CLIENT } from "../chat/broker.ts";
import { DEFAULT_OUTBOX_BYTES } from "../net/outbox.ts";
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
    help: "largest message text in UTF-8 bytes",
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
  LOG_LEVEL,
];

export const JOIN_SPECS: readonly OptionSpec[] = [
  {
    key: "name",
    flag: "name",
    short: "n",
    env: "CHAT_NAME",
    type: "string",
    value: "NAME",
    help: "your name (required): 1-32 letters, digits, '_', '-', '.'",
  },
  {
    key: "host",
    flag: "host",
    env: "CHAT_HOST",
    type: "string",
    default: "127.0.0.1",
    value: "HOST",
    help: "server to connect to",
  },
  { ...PORT, min: 1, help: "server port" },
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
  {
    key: "reconnectAttempts",
    flag: "reconnect-attempts",
    env: "CHAT_RECONNECT_ATTEMPTS",
    type: "int",
    default: 3,
    min: 0,
    max: 1_000_000,
    value: "N",
    help: "reconnection attempts after a lost connection; 0 keeps trying forever",
  },
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
];

/** Every key any command accepts in a config file. */
export const ALL_CONFIG_KEYS: ReadonlySet<string> = new Set(
  [...SERVE_SPECS, ...JOIN_SPECS].filter((s) => !s.flagOnly).map((s) => s.key),
);
