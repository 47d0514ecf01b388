/**
 * Declarative option tables and their resolution: flags > environment >
 * config file > defaults. Pure: the caller passes argv, the environment and
 * the parsed config file, so precedence is tested without touching a process.
 *
 * @module
 */

import { parseServers, type ServerAddress } from "../client/servers.ts";
import { checkRoom } from "../protocol/mod.ts";

export type OptionType = "int" | "string" | "bool" | "list";

export interface OptionSpec {
  /** Config-file key, camelCase. */
  key: string;
  /** Long flag without dashes. */
  flag: string;
  short?: string;
  env?: string;
  type: OptionType;
  default?: number | string | boolean | string[];
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** Shown in --help. */
  help: string;
  /** Placeholder for the value in --help ("N", "HOST"). */
  value?: string;
  /** Not read from config files (e.g. --config itself). */
  flagOnly?: boolean;
}

export type OptionValue = number | string | boolean | string[] | undefined;
export type Resolved = Record<string, OptionValue>;

/** A bad flag, environment variable or config key; the message names which. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function convert(spec: OptionSpec, raw: unknown, source: string): OptionValue {
  switch (spec.type) {
    case "bool": {
      if (typeof raw === "boolean") return raw;
      if (typeof raw === "string" && /^(1|true|yes|on)$/i.test(raw)) return true;
      if (typeof raw === "string" && /^(0|false|no|off|)$/i.test(raw)) return false;
      throw new UsageError(`${source} must be true or false, got ${JSON.stringify(raw)}`);
    }
    case "int": {
      const n = typeof raw === "number"
        ? raw
        : typeof raw === "string" && /^-?\d+$/.test(raw.trim())
        ? Number(raw)
        : NaN;
      if (!Number.isSafeInteger(n)) {
        throw new UsageError(`${source} must be an integer, got ${JSON.stringify(raw)}`);
      }
      if (spec.min !== undefined && n < spec.min) {
        throw new UsageError(`${source} must be at least ${spec.min}, got ${n}`);
      }
      if (spec.max !== undefined && n > spec.max) {
        throw new UsageError(`${source} must be at most ${spec.max}, got ${n}`);
      }
      return n;
    }
    case "string": {
      if (typeof raw !== "string") {
        throw new UsageError(`${source} must be a string, got ${JSON.stringify(raw)}`);
      }
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new UsageError(
          `${source} must be one of ${spec.choices.join(", ")}, got ${JSON.stringify(raw)}`,
        );
      }
      return raw;
    }
    case "list": {
      const items = typeof raw === "string"
        ? raw.split(",")
        : Array.isArray(raw) && raw.every((x) => typeof x === "string")
        ? raw as string[]
        : null;
      if (!items) {
        throw new UsageError(`${source} must be a string or a list of strings, got ${JSON.stringify(raw)}`);
      }
      return items.map((s) => s.trim()).filter((s) => s !== "");
    }
  }
}

/** Describes where a value came from, for error messages. */
function sourceName(spec: OptionSpec, where: "flag" | "env" | "file", file?: string): string {
  if (where === "flag") return `--${spec.flag}`;
  if (where === "env") return `${spec.env}`;
  return `config key "${spec.key}"${file ? ` in ${file}` : ""}`;
}

export interface ResolveInput {
  /** Parsed flags (from parseArgs), keyed by flag name. */
  flags: Record<string, unknown>;
  env: Record<string, string | undefined>;
  /** The config file's settings for this command (already merged from its sections). */
  file?: Record<string, unknown>;
  fileName?: string;
}

/** The keys of each resolved set of options that no flag, variable or file gave: they hold their defaults. */
const DEFAULTED = new WeakMap<Resolved, Set<string>>();

/** True when option `key` of `o` was left at its default (given by no flag, environment variable or file). */
export function isDefault(o: Resolved, key: string): boolean {
  return DEFAULTED.get(o)?.has(key) ?? false;
}

/** Resolves every option in `specs`, highest-precedence source first. */
export function resolveOptions(specs: readonly OptionSpec[], input: ResolveInput): Resolved {
  const out: Resolved = {};
  const defaulted = new Set<string>();
  DEFAULTED.set(out, defaulted);
  for (const spec of specs) {
    const flag = input.flags[spec.flag];
    if (flag !== undefined && !(Array.isArray(flag) && flag.length === 0)) {
      out[spec.key] = spec.type === "list" && Array.isArray(flag)
        ? convert(spec, (flag as string[]).join(","), sourceName(spec, "flag"))
        : convert(spec, flag, sourceName(spec, "flag"));
      continue;
    }
    const env = spec.env ? input.env[spec.env] : undefined;
    if (env !== undefined && env !== "") {
      out[spec.key] = convert(spec, env, sourceName(spec, "env"));
      continue;
    }
    if (!spec.flagOnly && input.file && Object.hasOwn(input.file, spec.key)) {
      out[spec.key] = convert(spec, input.file[spec.key], sourceName(spec, "file", input.fileName));
      continue;
    }
    out[spec.key] = spec.default;
    defaulted.add(spec.key);
  }
  return out;
}

/**
 * Picks this command's settings from a parsed config file: top-level keys
 * apply to every command, a section named after the command overrides them.
 * A key that no command knows is an error (a typo should not pass silently).
 */
export function configFor(
  command: string,
  file: unknown,
  knownKeys: ReadonlySet<string>,
  commands: readonly string[],
  fileName: string,
): Record<string, unknown> {
  if (typeof file !== "object" || file === null || Array.isArray(file)) {
    throw new UsageError(`${fileName} must hold a JSON object`);
  }
  const top: Record<string, unknown> = {};
  let section: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(file)) {
    if (commands.includes(k)) {
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        throw new UsageError(`config key "${k}" in ${fileName} must be an object`);
      }
      for (const inner of Object.keys(v)) {
        if (!knownKeys.has(inner)) throw new UsageError(`unknown config key "${k}.${inner}" in ${fileName}`);
      }
      if (k === command) section = v as Record<string, unknown>;
    } else if (!knownKeys.has(k)) {
      throw new UsageError(`unknown config key "${k}" in ${fileName}`);
    } else {
      top[k] = v;
    }
  }
  return { ...top, ...section };
}

/** Formats the option table for --help. */
export function formatOptions(specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const left = `${s.short ? `-${s.short}, ` : "    "}--${s.flag}${
      s.type === "bool" ? "" : ` ${s.value ?? "VALUE"}`
    }`;
    const extra: string[] = [];
    if (s.env) extra.push(`env ${s.env}`);
    if (s.default !== undefined && s.default !== false && !(Array.isArray(s.default) && !s.default.length)) {
      extra.push(`default ${Array.isArray(s.default) ? s.default.join(",") : s.default}`);
    }
    return [left, `${s.help}${extra.length ? ` (${extra.join("; ")})` : ""}`];
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`).join("\n");
}

/** The canonical rooms of `--room` values, duplicates dropped; a UsageError names the first bad one. */
export function checkedRooms(raw: readonly string[]): string[] {
  const rooms: string[] = [];
  for (const r of raw) {
    const room = checkRoom(r);
    if (!room.ok) throw new UsageError(`invalid --room: ${room.reason}`);
    if (!rooms.includes(room.value)) rooms.push(room.value);
  }
  if (rooms.length === 0) throw new UsageError("--room needs at least one room");
  return rooms;
}

/**
 * The servers of a client command's resolved `--host` (a list of `HOST[:PORT]`, or one string) and `--port`
 * (the port of entries without one); a UsageError says which entry is wrong.
 */
export function checkedServers(o: Resolved): ServerAddress[] {
  const raw = o.host;
  const parsed = parseServers(typeof raw === "string" ? raw.split(",") : raw as string[], o.port as number);
  if (!parsed.ok) throw new UsageError(`invalid --host: ${parsed.reason}`);
  return parsed.servers;
}
