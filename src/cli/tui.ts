/**
 * `chat join` on a terminal: validates the options the interactive client
 * needs (a missing --name is asked for on the terminal instead of being an
 * error), picks colour, the history file, the journal and the transcript,
 * and runs the client.
 *
 * @module
 */

import { promptHidden, readClientSecrets } from "./secrets.ts";
import { checkedRooms, checkedServers } from "./options.ts";
import { storageKey } from "../client/servers.ts";
import { readTranscript, transcriptDir } from "../client/transcript.ts";
import { checkName } from "../protocol/mod.ts";
import { runTui } from "../tui/app.ts";
import { historyFileName } from "../tui/history.ts";
import { processTerminal, type Terminal } from "../tui/terminal.ts";
import type { Resolved } from "./options.ts";
import { UsageError } from "./options.ts";
import { dataDir, type Env, stateDir } from "./paths.ts";
import { openClientStorage } from "./persist.ts";
import { prefsPath, prefsStore } from "./prefs_file.ts";
import { clientTls } from "./tls.ts";

export interface TuiCliIo {
  env: Env;
  stderr(line: string): void;
  stopSignal(): Promise<string>;
  /** True when stdin and stdout are both terminals. */
  isTerminal?(): boolean;
  /** The terminal to run on; defaults to the process's. */
  terminal?(): Terminal;
  /** Reads --ca; defaults to the file system. */
  readTextFile?(path: string): Promise<string>;
}

/** True when `chat join` should run the interactive client rather than a line mode. */
export function wantsTui(o: Resolved, io: Pick<TuiCliIo, "isTerminal">): boolean {
  return !o.plain && !o.json && io.isTerminal?.() === true;
}

/**
 * Why this terminal cannot run the full-screen client, or null when it can.
 * TERM=dumb (Emacs shell buffers, some CI consoles) moves no cursor and
 * clears no screen: the client falls back to line mode and says so.
 */
export function fullScreenRefusal(env: Env): string | null {
  return env.TERM === "dumb"
    ? "TERM=dumb: this terminal cannot show the full-screen client; using line mode (as with --plain)"
    : null;
}

/** Colour unless --no-color or a non-empty NO_COLOR (https://no-color.org). */
export function colourWanted(o: Resolved, env: Env): boolean {
  return !o.noColor && !(env.NO_COLOR !== undefined && env.NO_COLOR !== "");
}

/** Runs the interactive client with resolved `chat join` options; returns the exit code. */
export async function joinTui(o: Resolved, io: TuiCliIo): Promise<number> {
  const rawName = o.name as string | undefined;
  let name: string | undefined;
  if (rawName !== undefined && rawName !== "") {
    const checked = checkName(rawName);
    if (!checked.ok) throw new UsageError(`invalid --name: ${checked.reason}`);
    name = checked.value;
  }
  const rooms = checkedRooms(o.room as string[]);
  const servers = checkedServers(o);
  const dir = stateDir(io.env);
  const data = dataDir(io.env);
  const files = {
    env: io.env,
    readTextFile: (path: string) => io.readTextFile?.(path) ?? Deno.readTextFile(path),
  };
  const secrets = await readClientSecrets(o, files);
  // A certificate pinned on first use is reported during the first connect, just before the full screen
  // covers stderr: the line goes to stderr (seen again after exit) and into the client's window.
  let show: ((line: string) => void) | undefined;
  const tls = await clientTls(o, files, (line) => {
    io.stderr(`chat join: ${line}`);
    show?.(line);
  });
  return await runTui(
    {
      servers,
      name,
      rooms,
      timeoutMs: o.timeout as number,
      reconnectAttempts: o.reconnectAttempts as number,
      colour: colourWanted(o, io.env),
      historyPath: dir ? `${dir}/${historyFileName(storageKey(servers))}` : undefined,
      // The same journal and transcript as the line mode: a message typed in either survives a restart of both.
      storage: (name) => openClientStorage(io.env, servers, name),
      prefs: (name) => prefsStore(prefsPath(io.env, servers, name)),
      transcript: (room, me) => (data ? readTranscript(transcriptDir(data, servers), room, me) : []),
      ...secrets,
      // Asked after AUTH_FAILED: say which password, and how to give up.
      askPassword: () =>
        promptHidden(
          "Password (the server's, or the one your name was registered with; Enter alone gives up): ",
        ),
      ...tls,
      tls: tls.connect !== undefined,
      onNotice: (f) => show = f,
    },
    io,
    io.terminal?.() ?? processTerminal(),
  );
}
