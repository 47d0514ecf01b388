/**
 * `chat join`: connects to a server and runs one of the front ends. This
 * issue's front ends are line based: plain lines (the default when stdout or
 * stdin is not a terminal, or with --plain) and JSON lines (--json). Both
 * send each stdin line as a message and treat lines starting with "/" as
 * commands.
 *
 * @module
 */

import { ChatClient, ClientError } from "../client/client.ts";
import type { ClientEvent } from "../client/events.ts";
import type { Prefs } from "../client/prefs.ts";
import { checkName, ErrorCode } from "../protocol/mod.ts";
import { type CommandIo, CONFIG_SPEC, HELP_SPEC, parseCommand, VERSION_SPEC } from "./command.ts";
import { type LineOut, runLine } from "./line_mode.ts";
import { type LineView, lineView, onEvent, shown } from "./line_view.ts";
import { errorLine, formatLine, joinedLine } from "./lines.ts";
import { jsonLine } from "../text/json_line.ts";
import { openClientStorage } from "./persist.ts";
import { prefsPath, prefsStore } from "./prefs_file.ts";
import { authFailedHint, readClientSecrets } from "./secrets.ts";
import { checkedRooms, checkedServers, formatOptions, UsageError } from "./options.ts";
import { ALL_CONFIG_KEYS, JOIN_SPECS } from "./specs.ts";
import { clientTls } from "./tls.ts";
import { fullScreenRefusal, joinTui, wantsTui } from "./tui.ts";

export const JOIN_HELP = `Usage: chat join [--name NAME] [options]

Joins a chat server. Each line read from stdin is sent as a message to the
current room; lines starting with "/" are commands (/help lists them). On
end of input, waits until every message sent is acknowledged by the server,
then exits.

When stdin and stdout are both a terminal and neither --plain nor --json is
given, runs the full-screen client instead (asking for a name if --name is
missing; /help inside lists its commands and keys). The line modes need
--name (or CHAT_NAME).

Output: with --json, one JSON object per event on stdout (see
docs/PROTOCOL.md, "JSON lines"); otherwise one timestamped line per event.
Errors and diagnostics go to stderr.

Options:
${formatOptions([...JOIN_SPECS, CONFIG_SPEC, HELP_SPEC, VERSION_SPEC])}

After a lost connection it keeps trying to reconnect (by default until it
quits; --reconnect-attempts N gives up after N): quickly at first, then up
to 30 s apart.

With several servers in --host (the nodes of a cluster: --host a,b:4000) it
connects to the first that answers and, when that one goes away, moves on to
the next at once, resuming where it was; it waits only between full rounds
over the list (an attempt is a round). See README.md, "Clusters".

Exit codes: 0 done (every message acknowledged), 1 could not connect, gave
up reconnecting, refused by the server for good (kicked, banned, a wrong
password, replaced by a newer copy of itself), or messages not confirmed,
2 bad usage, 130/143 interrupted by SIGINT/SIGTERM.`;

export interface JoinIo extends CommandIo {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Lines of standard input, without line endings. */
  stdinLines(): AsyncIterable<string>;
  /** Resolves with the signal name on SIGINT/SIGTERM. */
  stopSignal(): Promise<string>;
  /** True when stdin and stdout are both terminals: then the interactive client runs. */
  isTerminal?(): boolean;
}

/** Runs `chat join`; returns the exit code. */
export async function join(argv: string[], io: JoinIo): Promise<number> {
  const cmd = await parseCommand("join", argv, JOIN_SPECS, ALL_CONFIG_KEYS, io);
  if (cmd.help) {
    io.stdout(JOIN_HELP);
    return 0;
  }
  const o = cmd.options;
  if (o.plain && o.json) throw new UsageError("--plain and --json cannot be combined");
  if (wantsTui(o, io)) {
    const refusal = fullScreenRefusal(io.env);
    if (refusal === null) return await joinTui(o, io);
    io.stderr(`chat join: ${refusal}`);
  }
  const rawName = o.name as string | undefined;
  if (rawName === undefined || rawName === "") throw new UsageError("--name is required (or set CHAT_NAME)");
  const name = checkName(rawName);
  if (!name.ok) throw new UsageError(`invalid --name: ${name.reason}`);
  const rooms = checkedRooms(o.room as string[]);
  const servers = checkedServers(o);

  const json = o.json as boolean;
  const prefs = prefsStore(prefsPath(io.env, servers, name.value));
  const loaded = prefs.load();
  if (loaded.warning) io.stderr(`chat join: warning: ${loaded.warning}`);
  const view = lineView(rooms, name.value, loaded.prefs);
  // The fatal error last printed to stderr: a refused handshake must not print its reason twice.
  let shownFatal: string | null = null;
  // What to do next, after a refusal whose cause is on this side.
  const hint = (code: string | undefined) =>
    code === ErrorCode.AUTH_FAILED ? authFailedHint(o, io.env) : null;
  const emit = (event: ClientEvent) => {
    // Whether the connection is encrypted is known here, where TLS was chosen: every welcome says it.
    const e = event.type === "welcome" ? { ...event, tls: encrypted } : event;
    const seen = onEvent(view, e);
    const joined = seen === "joined";
    if (!shown(view, e, json) || (seen === "unchanged" && !json)) return;
    if (json) {
      io.stdout(jsonLine(e));
      return;
    }
    const line = joined && e.type === "members" ? joinedLine(e, Date.now()) : formatLine(e, Date.now());
    if (line === null) return;
    if (e.type === "error") {
      io.stderr(`chat join: ${line}`);
      if (e.fatal) {
        shownFatal = `${e.code}: ${e.message}`;
        const h = hint(e.code);
        if (h) io.stderr(`chat join: ${h}`);
      }
    } else io.stdout(line);
  };
  const timeoutMs = o.timeout as number;
  const secrets = await readClientSecrets(o, io);
  const tls = await clientTls(o, io, (line) => io.stderr(`chat join: ${line}`));
  const encrypted = tls.connect !== undefined;
  const storage = openClientStorage(io.env, servers, name.value);
  if (storage.warning) io.stderr(`chat join: warning: ${storage.warning}`);
  const client = new ChatClient({
    servers,
    name: name.value,
    rooms,
    timeoutMs,
    reconnectAttempts: o.reconnectAttempts as number,
    journal: storage.journal,
    onMessage: storage.onMessage,
    ...secrets,
    ...tls,
  }, emit);
  try {
    return await runClient(client, io, view, (p) => prefs.save(p), timeoutMs, () => shownFatal, hint);
  } finally {
    storage.close();
  }
}

/** Runs a started-or-starting client against stdin until it ends; returns the exit code. */
async function runClient(
  client: ChatClient,
  io: JoinIo,
  view: LineView,
  savePrefs: (p: Prefs) => void,
  timeoutMs: number,
  shownFatal: () => string | null,
  hint: (code: string | undefined) => string | null,
): Promise<number> {
  // Listen for signals before connecting: once the welcome is printed, a SIGINT or SIGTERM must quit
  // cleanly (BYE, exit 130/143), not take the default action because no listener is there yet.
  const stopped = io.stopSignal();
  const interrupt = async (signal: string): Promise<number> => {
    await client.quit(`interrupted (${signal})`);
    return signal === "SIGINT" ? 130 : 143;
  };
  try {
    const signal = await Promise.race([client.start().then(() => null), stopped]);
    if (signal !== null) return await interrupt(signal);
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    if (shownFatal() !== `${err.code}: ${err.message}`) {
      io.stderr(`chat join: ${errorLine(err)}`);
      const h = hint(err.code);
      if (h) io.stderr(`chat join: ${h}`);
    }
    return 1;
  }

  const finish = async (reason: string): Promise<number> => {
    const acked = await client.waitAcked(timeoutMs);
    // Answers to the last commands (/who, /topic, /join) still on their way are shown before the BYE.
    if (acked) await client.roundTrip(timeoutMs);
    const unconfirmed = client.pending;
    const refused = client.failed;
    await client.quit(reason);
    if (!acked || unconfirmed > 0) {
      io.stderr(`chat join: ${unconfirmed} message(s) not acknowledged within ${timeoutMs} ms`);
      return 1;
    }
    if (refused > 0) {
      io.stderr(`chat join: ${refused} message(s) refused by the server`);
      return 1;
    }
    return 0;
  };

  const out: LineOut = { info: io.stderr, error: (text) => io.stderr(`chat join: ${text}`), savePrefs };
  const input = (async (): Promise<number> => {
    for await (const line of io.stdinLines()) {
      const result = runLine(line, client, view, out);
      if (result !== null) return await finish(result);
    }
    return await finish("");
  })();
  // `done` is ok only after our own quit(), whose caller (finish or interrupt) returns the exit code:
  // settling here too would race it and could turn 1 or 130 into 0. Only a lost connection ends the run here.
  const lost = client.done.then((exit) => {
    if (exit.ok) return new Promise<number>(() => {});
    io.stderr(`chat join: ${errorLine(exit)}`);
    return 1;
  });
  const interrupted = stopped.then(interrupt);
  return await Promise.race([input, lost, interrupted]);
}
