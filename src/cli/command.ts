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
  const table = [HELP_SPEC, CONFIG_SPEC, ...specs];
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
    parsed = parseArgs({ args: argv, options: parseOptions, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(describeParseError(err as Error));
  }
  if (parsed.values.help) return { help: true, options: {}, positionals: [] };
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

/** Turns node:util parseArgs errors into one line naming the flag. */
function describeParseError(err: Error): string {
  const m = err.message;
  const unknown = m.match(/Unknown option '([^']+)'/);
  if (unknown) return `unknown flag ${unknown[1]}`;
  const missing = m.match(/Option '([^']+?)(?: <value>)?' argument missing/);
  if (missing) return `flag ${missing[1].replace(/^-\w, /, "")} needs a value`;
  const bool = m.match(/Option '([^']+)' does not take an argument/);
  if (bool) return `flag ${bool[1].replace(/^-\w, /, "")} takes no value`;
  return m.split("\n")[0];
}
