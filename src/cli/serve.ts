/**
 * `chat serve`: runs the broker until SIGINT or SIGTERM.
 *
 * @module
 */

import { type LogLevel, stderrLogger } from "../net/log.ts";
import { ChatServer } from "../net/server.ts";
import type { MessageStore } from "../store/log.ts";
import { MemoryStore } from "../store/memory.ts";
import { SqliteStore } from "../store/sqlite.ts";
import type { Resolved } from "./options.ts";
import { dataDir } from "./paths.ts";
import { CONFIG_SPEC, HELP_SPEC, parseCommand } from "./command.ts";
import { formatOptions, UsageError } from "./options.ts";
import { ALL_CONFIG_KEYS, SERVE_SPECS } from "./specs.ts";
import type { CommandIo } from "./command.ts";

export const SERVE_HELP = `Usage: chat serve [options]

Runs the chat server: accepts clients over TCP, relays messages between
them, and logs to stderr. Stops gracefully on SIGINT or SIGTERM.

Options:
${formatOptions([...SERVE_SPECS, CONFIG_SPEC, HELP_SPEC])}

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
  const maxText = o.maxText as number;
  // A MESSAGE frame carries the text plus room, sender and fixed fields: keep 1 KiB for them.
  if (maxText + 1024 > maxFrame) {
    throw new UsageError(
      `--max-text ${maxText} does not fit --max-frame ${maxFrame} (leave 1024 bytes for the other fields)`,
    );
  }
  const logger = stderrLogger(o.logLevel as LogLevel);
  const store = openStore(o, io);
  if (store instanceof Error) {
    io.stderr(`chat serve: ${store.message}`);
    return 1;
  }
  const server = new ChatServer({
    store,
    historyLimit: o.history as number,
    graceMs: o.grace as number,
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
  });
  let addr: Deno.NetAddr;
  try {
    addr = server.listen();
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      io.stderr(`chat serve: cannot listen on ${o.host}:${o.port}: address already in use`);
    } else {
      io.stderr(`chat serve: cannot listen on ${o.host}:${o.port}: ${(err as Error).message}`);
    }
    store.close();
    return 1;
  }
  // Listen for signals before announcing the port: a script that stops the server as soon as it reads
  // the port must get a clean shutdown, not the default action of an unhandled SIGTERM.
  const stop = io.stopSignal();
  // Printed whatever the log level: scripts and people read the bound port from it.
  io.stderr(
    `chat serve: listening on ${addr.hostname}:${addr.port} (max ${o.maxClients} clients, timeout ${o.timeout} ms, pid ${Deno.pid})`,
  );
  const serving = server.serve();
  const signal = await stop;
  logger.info(`received ${signal}: shutting down`);
  await server.shutdown();
  await serving;
  store.close();
  logger.info("stopped");
  return 0;
}

/** Opens the store the options ask for, or returns the error to report (a bad data dir fails at start, not later). */
function openStore(o: Resolved, io: ServeIo): MessageStore | Error {
  const retention = {
    maxMessages: o.retentionMessages as number,
    maxAgeMs: (o.retentionDays as number) * 24 * 3600 * 1000,
  };
  if (o.ephemeral) return new MemoryStore(retention);
  const base = dataDir(io.env);
  const dir = (o.dataDir as string | undefined) ?? (base && `${base}/server`);
  if (!dir) return new Error("no data directory: set --data-dir, CHAT_DATA_DIR or HOME (or use --ephemeral)");
  try {
    return new SqliteStore(dir, retention, { maxBytes: (o.maxStoreMb as number) * 1024 * 1024 });
  } catch (err) {
    return err as Error;
  }
}
