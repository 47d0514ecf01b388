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
import { checkName, checkRoom, ErrorCode, type ModerationAction } from "../protocol/mod.ts";
import { type CommandIo, CONFIG_SPEC, HELP_SPEC, parseCommand } from "./command.ts";
import { formatLine } from "./lines.ts";
import { openClientStorage } from "./persist.ts";
import { authFailedHint, readClientSecrets } from "./secrets.ts";
import { parseDuration } from "../chat/guard.ts";
import { checkedRooms, formatOptions, UsageError } from "./options.ts";
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
${formatOptions([...JOIN_SPECS, CONFIG_SPEC, HELP_SPEC])}

Exit codes: 0 done (every message acknowledged), 1 connection refused or
lost, refused by the server, or messages not confirmed, 2 bad usage,
130/143 interrupted by SIGINT/SIGTERM.`;

/** Commands understood on stdin; /help prints this list. */
export const LINE_COMMANDS: ReadonlyArray<[string, string]> = [
  ["/help", "list commands"],
  ["/who [ROOM]", "who is online in ROOM (default: current room)"],
  ["/join ROOM", "join ROOM and make it current"],
  ["/leave [ROOM]", "leave ROOM (default: current room)"],
  ["/switch ROOM", "make a joined ROOM current"],
  ["/rooms", "list joined rooms"],
  ["/me ACTION", "send an action: * you ACTION"],
  ["/msg NAME TEXT", "send a direct message to NAME"],
  ["/nick NEWNAME", "change your name"],
  ["/away [TEXT]", "set an away message; without TEXT, you are back"],
  ["/register PASSWORD", "register your name (when the server allows it)"],
  ["/kick NAME [REASON]", "operators: disconnect NAME"],
  ["/ban NAME|ADDR [DURATION] [REASON]", "operators: ban (DURATION like 30m, 2h, 7d; none: until unbanned)"],
  ["/unban NAME|ADDR", "operators: lift a ban"],
  ["/mute NAME [DURATION] [REASON]", "operators: refuse NAME's messages for a while"],
  ["/unmute NAME", "operators: lift a mute"],
  ["/history [N]", "fetch the N (default 50) messages before the oldest seen in the current room"],
  ["/quit [REASON]", "wait for acknowledgements, say goodbye and exit"],
  ["//TEXT", "send TEXT starting with a single /"],
];

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

  const json = o.json as boolean;
  // The fatal error last printed to stderr: a refused handshake must not print its reason twice.
  let shownFatal: string | null = null;
  // What to do next, after a refusal whose cause is on this side.
  const hint = (code: string | undefined) =>
    code === ErrorCode.AUTH_FAILED ? authFailedHint(o, io.env) : null;
  const emit = (event: ClientEvent) => {
    // Whether the connection is encrypted is known here, where TLS was chosen: every welcome says it.
    const e = event.type === "welcome" ? { ...event, tls: encrypted } : event;
    if (json) {
      io.stdout(JSON.stringify(e));
      return;
    }
    const line = formatLine(e, Date.now());
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
  const storage = openClientStorage(io.env, o.host as string, o.port as number, name.value);
  if (storage.warning) io.stderr(`chat join: warning: ${storage.warning}`);
  const client = new ChatClient({
    host: o.host as string,
    port: o.port as number,
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
    return await runClient(client, io, rooms, timeoutMs, () => shownFatal, hint);
  } finally {
    storage.close();
  }
}

/** Runs a started-or-starting client against stdin until it ends; returns the exit code. */
async function runClient(
  client: ChatClient,
  io: JoinIo,
  rooms: string[],
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
      io.stderr(`chat join: ${err.code}: ${err.message}`);
      const h = hint(err.code);
      if (h) io.stderr(`chat join: ${h}`);
    }
    return 1;
  }

  const finish = async (reason: string): Promise<number> => {
    const acked = await client.waitAcked(timeoutMs);
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

  const view: View = { current: rooms[0] };
  const input = (async (): Promise<number> => {
    for await (const line of io.stdinLines()) {
      const result = runLine(line, client, io, view);
      if (result !== null) return await finish(result);
    }
    return await finish("");
  })();
  // `done` is ok only after our own quit(), whose caller (finish or interrupt) returns the exit code:
  // settling here too would race it and could turn 1 or 130 into 0. Only a lost connection ends the run here.
  const lost = client.done.then((exit) => {
    if (exit.ok) return new Promise<number>(() => {});
    io.stderr(`chat join: ${exit.code}: ${exit.message}`);
    return 1;
  });
  const interrupted = stopped.then(interrupt);
  return await Promise.race([input, lost, interrupted]);
}

/** The front end's own state: which room plain lines go to. */
interface View {
  current: string;
}

/** Handles one input line. Returns a quit reason when the line asks to quit, otherwise null. */
function runLine(line: string, client: ChatClient, io: JoinIo, view: View): string | null {
  const current = () => (client.rooms.includes(view.current) ? view.current : client.rooms[0]);
  const text = line.replace(/\r$/, "");
  if (text.trim() === "") return null;
  if (!text.startsWith("/") || text.startsWith("//")) {
    client.send(text.startsWith("//") ? text.slice(1) : text, { room: current() });
    return null;
  }
  const [command, ...rest] = text.slice(1).split(" ");
  const arg = rest.join(" ").trim();
  switch (command.toLowerCase()) {
    case "quit":
    case "exit":
      return arg;
    case "help":
      io.stderr(LINE_COMMANDS.map(([c, h]) => `  ${c.padEnd(16)}${h}`).join("\n"));
      return null;
    case "who":
      client.who(arg || current());
      return null;
    case "me":
      if (arg) client.send(arg, { room: current(), action: true });
      else io.stderr("chat join: /me needs an action");
      return null;
    case "msg": {
      const [to, ...words] = arg.split(" ");
      const body = words.join(" ").trim();
      if (!to || !body) io.stderr("chat join: usage: /msg NAME TEXT");
      else client.msg(to, body);
      return null;
    }
    case "register":
      if (!arg) io.stderr("chat join: usage: /register PASSWORD");
      else client.register(arg);
      return null;
    case "kick":
    case "ban":
    case "unban":
    case "mute":
    case "unmute": {
      const [target, ...more] = arg.split(" ").filter((w) => w !== "");
      if (!target) {
        io.stderr(
          `chat join: usage: /${command} NAME${
            command === "ban" || command === "unban" ? "|ADDRESS" : ""
          } ...`,
        );
        return null;
      }
      // An optional duration first (ban, mute), then the reason.
      const duration = command === "ban" || command === "mute" ? parseDuration(more[0] ?? "") : null;
      const reason = (duration !== null ? more.slice(1) : more).join(" ");
      client.moderate(command.toLowerCase() as ModerationAction, target, duration ?? 0, reason);
      return null;
    }
    case "nick":
      if (!arg) io.stderr("chat join: usage: /nick NEWNAME");
      else client.nick(arg);
      return null;
    case "away":
      client.away(arg);
      return null;
    case "history": {
      const n = arg === "" ? 50 : Number(arg);
      if (!Number.isInteger(n) || n < 1) io.stderr("chat join: usage: /history [N]");
      else client.history(current(), oldestSeen(client, current()), n);
      return null;
    }
    case "join": {
      const room = checkRoom(arg);
      if (!room.ok) io.stderr(`chat join: /join: ${room.reason}`);
      else {
        client.join(room.value);
        view.current = room.value;
      }
      return null;
    }
    case "leave":
      client.leave(arg || current());
      return null;
    case "switch": {
      const room = checkRoom(arg);
      if (room.ok && client.rooms.includes(room.value)) view.current = room.value;
      else io.stderr(`chat join: /switch: not in room "${arg}" (joined: ${client.rooms.join(", ")})`);
      return null;
    }
    case "rooms":
      io.stderr(`rooms: ${client.rooms.map((r) => (r === current() ? `*${r}` : r)).join(", ")}`);
      return null;
    default:
      io.stderr(`chat join: unknown command /${command} (try /help)`);
      return null;
  }
}

/** Before which sequence /history fetches: the oldest message passed on in `room` so far, or the newest. */
function oldestSeen(client: ChatClient, room: string): number {
  return client.oldestSeq(room) ?? 0;
}
