/**
 * Top-level dispatch: `chat --help`, `chat --version`, and the subcommands.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { bench } from "./bench.ts";
import { history } from "./history.ts";
import { join } from "./join.ts";
import { send } from "./send.ts";
import { tail } from "./tail.ts";
import { user } from "./user.ts";
import { UsageError } from "./options.ts";
import { VersionRequest } from "./command.ts";
import { serve } from "./serve.ts";
import { processIo } from "./io.ts";
import { sanitize } from "../text/sanitize.ts";

export const MAIN_HELP = `chat ${VERSION}: real-time terminal chat in one binary

Usage: chat <command> [options]

Commands:
  serve    run a chat server
  join     join a server: a full-screen client on a terminal, plain lines
           in a pipe or with --plain, JSON lines with --json
  send     send one message and wait until the server has stored it
  tail     follow a room and print each message once, from a saved cursor
  history  print the local transcript of a server
  user     add, remove, list registered names and change passwords
  bench    load a server and report throughput, latency and memory

Options:
  -h, --help       show this help
  -V, --version    print the version

Run 'chat <command> --help' for the options of a command.`;

type Io = ReturnType<typeof processIo>;

const COMMANDS: Record<string, (argv: string[], io: Io) => Promise<number>> = {
  serve,
  join,
  send,
  tail,
  history,
  user,
  bench,
};

/** Runs the program with `args`; returns the exit code. */
export async function run(args: string[], io: Io = processIo()): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined) {
    // No command is a usage error: the usage goes where errors go.
    io.stderr(MAIN_HELP);
    return 2;
  }
  if (first === "-h" || first === "--help" || first === "help") {
    io.stdout(MAIN_HELP);
    return 0;
  }
  if (first === "-V" || first === "--version" || first === "version") {
    io.stdout(`chat ${VERSION}`);
    return 0;
  }
  const command = COMMANDS[first];
  if (!command) {
    const what = first.startsWith("-") ? `unknown flag ${first}` : `unknown command "${first}"`;
    io.stderr(`chat: ${what} (run 'chat --help' for usage)`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (err) {
    if (err instanceof VersionRequest) {
      io.stdout(`chat ${VERSION}`);
      return 0;
    }
    if (err instanceof UsageError) {
      io.stderr(`chat ${first}: ${err.message} (run 'chat ${first} --help' for usage)`);
      return 2;
    }
    throw err;
  }
}

/** The line for an error no command caught (a bug): its message may quote the network, so it is sanitised. */
export function internalErrorLine(err: unknown): string {
  return `chat: internal error: ${sanitize(err instanceof Error ? err.message : String(err))}`;
}
