/**
 * Shared command-line plumbing: flag parsing against an option table, the
 * config file, and --help. Subcommands describe their options; this turns
 * argv into validated settings or a UsageError.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { configFor, type OptionSpec, type Resolved, resolveOptions, UsageError } from "./options.ts";
import { configDir, type Env } from "./paths.ts";

/** Options every command has. */
export const HELP_SPEC: OptionSpec = {
  key: "help",
  flag: "help",
  short: "h",
  type: "bool",
  help: "show this help",
  flagOnly: true,
};
/** `--version` after a command prints the program's version, as `chat --version` does. */
export const VERSION_SPEC: OptionSpec = {
  key: "version",
  flag: "version",
  type: "bool",
  help: "print the version",
  flagOnly: true,
};

/** Thrown by {@linkcode parseCommand} for `--version`: the top level prints the version and exits 0. */
export class VersionRequest extends Error {}

export const CONFIG_SPEC: OptionSpec = {
  key: "config",
  flag: "config",
  env: "CHAT_CONFIG",
  type: "string",
  value: "FILE",
  help: "JSON config file (default $XDG_CONFIG_HOME/chat/config.json if it exists)",
  flagOnly: true,
};

/** Every command that may have a section in the config file. */
export const COMMANDS = ["serve", "join", "history", "send", "tail", "user", "bench"] as const;

/** What a command needs from the process: injected so tests can run commands in-process. */
export interface CommandIo {
  env: Env;
  readTextFile(path: string): Promise<string>;
}

export interface ParsedCommand {
  help: boolean;
  options: Resolved;
  positionals: string[];
}

/**
 * Parses argv for `command`, then resolves each option from flags, env,
 * config file and defaults. `allKeys` is every config key of every command.
 */
export async function parseCommand(
  command: string,
  argv: string[],
  specs: readonly OptionSpec[],
  allKeys: ReadonlySet<string>,
  io: CommandIo,
  allowPositionals = false,
): Promise<ParsedCommand> {
  const table = [HELP_SPEC, VERSION_SPEC, CONFIG_SPEC, ...specs];
  const parseOptions: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const s of table) {
    parseOptions[s.flag] = {
      type: s.type === "bool" ? "boolean" : "string",
      ...(s.short ? { short: s.short } : {}),
      ...(s.type === "list" ? { multiple: true } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: attachNegativeNumbers(argv, table),
      options: parseOptions,
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(describeParseError(err as Error, table));
  }
  if (parsed.values.help) return { help: true, options: {}, positionals: [] };
  if (parsed.values.version) throw new VersionRequest();
  if (!allowPositionals && parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  }
  const fileName = (parsed.values.config as string | undefined) ?? (io.env.CHAT_CONFIG || undefined);
  let file: Record<string, unknown> | undefined;
  const path = fileName ?? defaultConfigPath(io.env);
  if (path) {
    let text: string | undefined;
    try {
      text = await io.readTextFile(path);
    } catch (err) {
      // The default file is optional; one that was named must exist.
      if (fileName !== undefined || !(err instanceof Deno.errors.NotFound)) {
        throw new UsageError(`cannot read config file ${path}: ${(err as Error).message}`);
      }
    }
    if (text !== undefined) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new UsageError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
      }
      file = configFor(command, json, allKeys, COMMANDS, path);
    }
  }
  const options = resolveOptions(specs, { flags: parsed.values, env: io.env, file, fileName: path });
  return { help: false, options, positionals: parsed.positionals };
}

function defaultConfigPath(env: Env): string | undefined {
  const dir = configDir(env);
  return dir && `${dir}/config.json`;
}

/**
 * Glues a negative number to the flag before it (`--port -1` and `-p -1` become
 * `--port=-1`). parseArgs refuses a separate value that starts with "-" as
 * ambiguous, since it might be a flag; no flag starts with a digit, so here it
 * is a value, and it then gets the same range message as any other bad number.
 */
export function attachNegativeNumbers(argv: readonly string[], specs: readonly OptionSpec[]): string[] {
  const takesValue = new Map<string, string>();
  for (const s of specs) {
    if (s.type === "bool") continue;
    takesValue.set(`--${s.flag}`, s.flag);
    if (s.short) takesValue.set(`-${s.short}`, s.flag);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const flag = takesValue.get(arg);
    const next = argv[i + 1];
    if (flag !== undefined && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`--${flag}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Turns node:util parseArgs errors into one line naming the flag. */
function describeParseError(err: Error, specs: readonly OptionSpec[]): string {
  const m = err.message;
  const ambiguous = m.match(/Option '([^']+)' argument is ambiguous/);
  if (ambiguous) {
    // "--name --json": most likely a forgotten value; a value that really starts with "-" needs "=".
    const typed = ambiguous[1];
    const spec = specs.find((s) => `--${s.flag}` === typed || `-${s.short}` === typed);
    const long = spec ? `--${spec.flag}` : typed;
    return `flag ${long} needs a value; one that starts with "-" is written ${long}=VALUE`;
  }
  const unknown = m.match(/Unknown option '([^']+)'/);
  if (unknown) return `unknown flag ${unknown[1]}`;
  const missing = m.match(/Option '([^']+?)(?: <value>)?' argument missing/);
  if (missing) return `flag ${missing[1].replace(/^-\w, /, "")} needs a value`;
  const bool = m.match(/Option '([^']+)' does not take an argument/);
  if (bool) return `flag ${bool[1].replace(/^-\w, /, "")} takes no value`;
  return m.split("\n")[0];
}
