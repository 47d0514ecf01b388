/**
 * Logging to stderr, one line per event worth knowing. Data never goes here.
 *
 * @module
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = typeof LOG_LEVELS[number];

/** What code that logs asks for: tests pass a fake that records lines. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** True when `level` shows lines of level `lvl`. */
export function shows(level: LogLevel, lvl: LogLevel): boolean {
  return RANK[lvl] >= RANK[level];
}

/** A logger writing `2026-01-01T00:00:00.000Z level message` lines to stderr. */
export function stderrLogger(level: LogLevel): Logger {
  const encoder = new TextEncoder();
  const at = (lvl: LogLevel) => (msg: string) => {
    if (!shows(level, lvl)) return;
    Deno.stderr.writeSync(encoder.encode(`${new Date().toISOString()} ${lvl.padEnd(5)} ${msg}\n`));
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
