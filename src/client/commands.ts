/**
 * The slash commands of every front end, as one registry: each command's
 * name, aliases, usage, one-line help, whether it is for operators or needs
 * the server, and how its arguments parse into a typed {@linkcode Action}.
 * The line modes, the terminal client (and, later, the browser client)
 * parse, list (/help) and complete commands from this table and only
 * perform the actions, each in its own way. Pure: no I/O, nothing of Deno
 * or of a terminal, so it runs in a browser as it is.
 *
 * @module
 */

import { ErrorCode } from "../protocol/errors.ts";
import type { Feature } from "../protocol/extensions.ts";
import { MAX_FETCH } from "../protocol/limits.ts";
import type { ModerationAction } from "../protocol/messages.ts";
import { checkName, checkRoom } from "../protocol/names.ts";

/** Messages /history fetches when no N is given. */
export const HISTORY_PAGE = 50;
/** The most /history asks for at once: the server's cap on one FETCH. */
export const MAX_HISTORY_PAGE = MAX_FETCH;

/**
 * The errors a JOIN is refused with (they carry no ref): the server answers in order, so each one is the
 * answer to the oldest join not yet confirmed.
 */
export const JOIN_REFUSED: ReadonlySet<string> = new Set([ErrorCode.TOO_MANY_ROOMS, ErrorCode.INVALID_ROOM]);

/** A window or conversation named in a command: a room, a person ("@bob"), or a window number. */
export type Target =
  | { kind: "room"; room: string }
  | { kind: "peer"; name: string }
  /** 1-based, as /rooms numbers them. */
  | { kind: "index"; index: number };

/** What a command asks the front end to do: one member per command, with its arguments checked. */
export type Action =
  | { kind: "help" }
  /** Who is in `room`; none: the current room. */
  | { kind: "who"; room?: string }
  | { kind: "join"; room: string }
  /** Leave a room, or close a direct-message window; none: the current one. */
  | { kind: "leave"; target?: Target }
  | { kind: "rooms" }
  | { kind: "switch"; target: Target }
  | { kind: "me"; text: string }
  | { kind: "msg"; to: string; text: string }
  /** Make the conversation with `to` current; with text, send it there too. */
  | { kind: "query"; to: string; text: string }
  | { kind: "nick"; name: string }
  /** Empty text: back. */
  | { kind: "away"; text: string }
  | { kind: "history"; count: number }
  | { kind: "register"; password: string }
  | { kind: "moderate"; action: ModerationAction; target: string; durationMs: number; reason: string }
  | { kind: "reconnect" }
  | { kind: "clear" }
  | { kind: "quit"; reason: string }
  /** What this client knows of a user. */
  | { kind: "whois"; name: string }
  /** Search the current window's scrollback. */
  | { kind: "lastlog"; text: string }
  /** Ignore `name`; none: list who is ignored. */
  | { kind: "ignore"; name?: string }
  | { kind: "unignore"; name: string }
  /** Show or hide join and leave lines in `room` ("*": everywhere); no `hide`: say what is hidden. */
  | { kind: "joins"; hide?: boolean; room?: string }
  /** Needs the server: public rooms with their sizes. */
  | { kind: "list" }
  /** Needs the server: the current room's topic; with text, set it; `clear`: remove it. */
  | { kind: "topic"; text: string; clear?: true };

/** The argument of /topic that clears the topic (as in irssi and WeeChat). */
export const TOPIC_DELETE = "-delete";

/** Capabilities a command needs from the server, beyond protocol version 1: WELCOME's FEATURES. */
export type ServerFeature = Feature;

/** What a front end says when the server cannot do what a command asks. */
export function notSupported(what: string): string {
  return `${what} is not supported by this server yet`;
}

/** Every room, in /joins. */
export const ALL_ROOMS = "*";

/** The outcome of parsing a command's arguments: an action, or what is wrong, in words for the user. */
export type Parsed = { ok: true; action: Action } | { ok: false; error: string };

/** What Tab completes in a command's first argument. */
export type ArgKind = "room" | "name" | "target";

export interface CommandSpec {
  name: string;
  aliases: readonly string[];
  /** Shown in /help and the README: "/join ROOM". */
  usage: string;
  /** One line, shown after the usage. */
  help: string;
  /** Only operators may (the server refuses everyone else). */
  operator: boolean;
  /** Asks the server: without a connection there is nobody to ask (messages are queued instead). */
  online: boolean;
  /** What Tab completes after the command name. */
  arg?: ArgKind;
  /**
   * A line that is this command without its slash ("msg carol hi") gets a second look before it is sent
   * as a message: sent to the room, it would make public what was meant for one person, or a password.
   */
  guarded: boolean;
  /** A capability the server must announce (WELCOME FEATURES); front ends say so when it does not. */
  needs?: ServerFeature;
  /** Turns the text after the command name (trimmed) into an action. */
  parse(arg: string): Parsed;
}

const ok = (action: Action): Parsed => ({ ok: true, action });
const fail = (error: string): Parsed => ({ ok: false, error });

/** A room argument: "#Dev" and "dev" name the same room. */
export function roomArg(arg: string): ReturnType<typeof checkRoom> {
  return checkRoom(arg.trim().replace(/^#/, ""));
}

/** A person argument: "@bob" and "bob:" (as completion leaves it) name bob. */
export function nameArg(arg: string): ReturnType<typeof checkName> {
  return checkName(arg.trim().replace(/^@/, "").replace(/:$/, ""));
}

/** A window argument: a number, "@NAME" or a room. */
export function targetArg(arg: string): { ok: true; value: Target } | { ok: false; reason: string } {
  const a = arg.trim();
  if (/^\d+$/.test(a)) return { ok: true, value: { kind: "index", index: Number(a) } };
  if (a.startsWith("@")) {
    const name = nameArg(a);
    return name.ok ? { ok: true, value: { kind: "peer", name: name.value } } : name;
  }
  const room = roomArg(a);
  return room.ok ? { ok: true, value: { kind: "room", room: room.value } } : room;
}

/** Splits "FIRST REST": the first word and the (trimmed) rest. */
function firstWord(arg: string): [string, string] {
  const m = arg.match(/^(\S*)\s*([\s\S]*)$/)!;
  return [m[1], m[2].trim()];
}

/** Parses "NAME TEXT" for /msg (text required) and /query (text optional). */
function nameAndText(command: string, usage: string, needText: boolean, arg: string): Parsed {
  const [who, text] = firstWord(arg);
  if (who === "" || (needText && text === "")) return fail(`usage: ${usage}`);
  const name = nameArg(who);
  if (!name.ok) return fail(`/${command}: ${name.reason}`);
  return command === "msg"
    ? ok({ kind: "msg", to: name.value, text })
    : ok({ kind: "query", to: name.value, text });
}

/** Parses the arguments of a moderation command: a target, then (ban, mute) an optional duration, then a reason. */
function moderation(action: ModerationAction, usage: string, arg: string): Parsed {
  const [target, rest] = firstWord(arg);
  if (target === "") return fail(`usage: ${usage}`);
  const [maybe, after] = firstWord(rest);
  const duration = action === "ban" || action === "mute" ? parseDuration(maybe) : null;
  return ok({
    kind: "moderate",
    action,
    target,
    durationMs: duration ?? 0,
    reason: duration !== null ? after : rest,
  });
}

interface Entry {
  name: string;
  aliases?: readonly string[];
  usage: string;
  help: string;
  operator?: boolean;
  online?: boolean;
  arg?: ArgKind;
  guarded?: boolean;
  needs?: ServerFeature;
  parse(arg: string, usage: string): Parsed;
}

const ENTRIES: readonly Entry[] = [
  {
    name: "help",
    usage: "/help",
    help: "list commands (and, in the terminal client, keys)",
    parse: () => ok({ kind: "help" }),
  },
  {
    name: "who",
    // /w is /who in irssi and WeeChat alike (their /whois is /wi), and /names is IRC's word for it.
    aliases: ["names", "w"],
    usage: "/who [ROOM]",
    help: "who is online in ROOM (default: the current room; also one you are not in), with away messages",
    online: true,
    arg: "room",
    parse: (arg) => {
      if (arg === "") return ok({ kind: "who" });
      const room = roomArg(arg);
      return room.ok ? ok({ kind: "who", room: room.value }) : fail(`/who: ${room.reason}`);
    },
  },
  {
    name: "join",
    guarded: true,
    aliases: ["j"],
    usage: "/join ROOM",
    help: "join ROOM and make it the current room",
    online: true,
    arg: "room",
    parse: (arg, usage) => {
      if (arg === "") return fail(`usage: ${usage}`);
      const room = roomArg(arg);
      return room.ok ? ok({ kind: "join", room: room.value }) : fail(`/join: ${room.reason}`);
    },
  },
  {
    name: "leave",
    aliases: ["part", "close"],
    usage: "/leave [ROOM|@NAME]",
    help: "leave ROOM (default: the current room); @NAME closes that direct-message window",
    arg: "target",
    parse: (arg) => {
      if (arg === "") return ok({ kind: "leave" });
      const target = targetArg(arg);
      return target.ok ? ok({ kind: "leave", target: target.value }) : fail(`/leave: ${target.reason}`);
    },
  },
  {
    name: "rooms",
    usage: "/rooms",
    help: "list your rooms and direct-message windows, numbered",
    parse: () => ok({ kind: "rooms" }),
  },
  {
    name: "switch",
    aliases: ["window"],
    usage: "/switch ROOM|@NAME|N",
    help: "make a room, a direct-message window or window N (as /rooms numbers them) current",
    arg: "target",
    parse: (arg, usage) => {
      if (arg === "") return fail(`usage: ${usage}`);
      const target = targetArg(arg);
      return target.ok ? ok({ kind: "switch", target: target.value }) : fail(`/switch: ${target.reason}`);
    },
  },
  {
    name: "me",
    usage: "/me ACTION",
    help: "send an action: * you ACTION",
    parse: (arg, usage) => (arg === "" ? fail(`usage: ${usage}`) : ok({ kind: "me", text: arg })),
  },
  {
    // Direct messages go to a window per person ("@bob"), as irssi's query windows and WeeChat's private
    // buffers do: a window of its own keeps the conversation together and is answered by typing in it.
    name: "msg",
    guarded: true,
    aliases: ["m"],
    usage: "/msg NAME TEXT",
    help: "send a direct message; it shows in the @NAME window, where typing replies",
    arg: "name",
    parse: (arg, usage) => nameAndText("msg", usage, true, arg),
  },
  {
    name: "query",
    guarded: true,
    aliases: ["q"],
    usage: "/query NAME [TEXT]",
    help: "make the @NAME window current, so what you type goes to NAME; with TEXT, send it too",
    arg: "name",
    parse: (arg, usage) => nameAndText("query", usage, false, arg),
  },
  {
    name: "nick",
    guarded: true,
    usage: "/nick NEWNAME",
    help: "change your name",
    online: true,
    parse: (arg, usage) => {
      if (arg === "") return fail(`usage: ${usage}`);
      const name = checkName(arg);
      return name.ok ? ok({ kind: "nick", name: name.value }) : fail(`/nick: ${name.reason}`);
    },
  },
  {
    name: "away",
    usage: "/away [TEXT]",
    help: "set an away message, shown in /who and to people who message you; without TEXT, you are back",
    online: true,
    parse: (arg) => ok({ kind: "away", text: arg }),
  },
  {
    name: "back",
    usage: "/back",
    help: "you are back: clears your away message (as /away without TEXT)",
    online: true,
    parse: () => ok({ kind: "away", text: "" }),
  },
  {
    name: "history",
    usage: "/history [N]",
    help:
      `fetch N (default ${HISTORY_PAGE}) messages older than the oldest one seen in the current room or stored conversation`,
    online: true,
    parse: (arg) => {
      const count = arg === "" ? HISTORY_PAGE : Number(arg);
      return Number.isInteger(count) && count >= 1 && count <= MAX_HISTORY_PAGE
        ? ok({ kind: "history", count })
        : fail(`usage: /history [N], N from 1 to ${MAX_HISTORY_PAGE}`);
    },
  },
  {
    name: "register",
    guarded: true,
    usage: "/register PASSWORD",
    help: "register your name with PASSWORD (servers with --allow-register)",
    online: true,
    parse: (arg, usage) => (arg === "" ? fail(`usage: ${usage}`) : ok({ kind: "register", password: arg })),
  },
  {
    name: "kick",
    usage: "/kick NAME [REASON]",
    help: "disconnect NAME",
    operator: true,
    online: true,
    arg: "name",
    parse: (arg, usage) => moderation("kick", usage, arg),
  },
  {
    name: "ban",
    usage: "/ban NAME|ADDRESS [DURATION] [REASON]",
    help: "ban a name or an address; DURATION like 30m, 2h, 7d, none for ever",
    operator: true,
    online: true,
    arg: "name",
    parse: (arg, usage) => moderation("ban", usage, arg),
  },
  {
    name: "unban",
    usage: "/unban NAME|ADDRESS",
    help: "lift a ban",
    operator: true,
    online: true,
    parse: (arg, usage) => moderation("unban", usage, arg),
  },
  {
    name: "mute",
    usage: "/mute NAME [DURATION] [REASON]",
    help: "refuse NAME's messages for a while (none: until unmuted)",
    operator: true,
    online: true,
    arg: "name",
    parse: (arg, usage) => moderation("mute", usage, arg),
  },
  {
    name: "unmute",
    usage: "/unmute NAME",
    help: "lift a mute",
    operator: true,
    online: true,
    arg: "name",
    parse: (arg, usage) => moderation("unmute", usage, arg),
  },
  {
    name: "whois",
    aliases: ["wi"],
    usage: "/whois NAME",
    help: "what this client knows of NAME: the rooms you share, the away message",
    arg: "name",
    parse: (arg, usage) => {
      if (arg === "") return fail(`usage: ${usage}`);
      const name = nameArg(arg);
      return name.ok ? ok({ kind: "whois", name: name.value }) : fail(`/whois: ${name.reason}`);
    },
  },
  {
    name: "lastlog",
    usage: "/lastlog TEXT",
    help: "show the messages in the current window's scrollback that contain TEXT, or are from TEXT",
    parse: (arg, usage) => (arg === "" ? fail(`usage: ${usage}`) : ok({ kind: "lastlog", text: arg })),
  },
  {
    name: "ignore",
    usage: "/ignore [NAME]",
    help: "hide NAME's messages and direct messages, kept across restarts; without NAME, list who is ignored",
    arg: "name",
    parse: (arg) => {
      if (arg === "") return ok({ kind: "ignore" });
      const name = nameArg(arg);
      return name.ok ? ok({ kind: "ignore", name: name.value }) : fail(`/ignore: ${name.reason}`);
    },
  },
  {
    name: "unignore",
    usage: "/unignore NAME",
    help: "show NAME's messages again",
    arg: "name",
    parse: (arg, usage) => {
      if (arg === "") return fail(`usage: ${usage}`);
      const name = nameArg(arg);
      return name.ok ? ok({ kind: "unignore", name: name.value }) : fail(`/unignore: ${name.reason}`);
    },
  },
  {
    name: "joins",
    usage: "/joins [show|hide] [ROOM|*]",
    help: "show or hide join and leave lines in ROOM (default: this room; *: all), kept across restarts",
    arg: "room",
    parse: (arg, usage) => {
      const words = arg.split(/\s+/).filter((w) => w !== "");
      if (words.length === 0) return ok({ kind: "joins" });
      const verb = words[0].toLowerCase();
      if ((verb !== "show" && verb !== "hide") || words.length > 2) return fail(`usage: ${usage}`);
      const hide = verb === "hide";
      if (words.length === 1) return ok({ kind: "joins", hide });
      if (words[1] === ALL_ROOMS) return ok({ kind: "joins", hide, room: ALL_ROOMS });
      const room = roomArg(words[1]);
      return room.ok ? ok({ kind: "joins", hide, room: room.value }) : fail(`/joins: ${room.reason}`);
    },
  },
  {
    name: "list",
    usage: "/list",
    help: "list the public rooms and how many are in each (needs a server that supports it)",
    online: true,
    needs: "list",
    parse: () => ok({ kind: "list" }),
  },
  {
    name: "topic",
    usage: "/topic [TEXT|-delete]",
    help:
      "show the current room's topic; with TEXT, set it; -delete clears it (needs a server that supports it)",
    online: true,
    needs: "topic",
    parse: (arg) =>
      ok(arg === TOPIC_DELETE ? { kind: "topic", text: "", clear: true } : { kind: "topic", text: arg }),
  },
  {
    name: "reconnect",
    usage: "/reconnect",
    help: "try to reconnect now (while waiting for the next attempt, or after the client gave up)",
    parse: () => ok({ kind: "reconnect" }),
  },
  {
    name: "clear",
    usage: "/clear",
    help: "clear the current window (the terminal client; line mode has none)",
    parse: () => ok({ kind: "clear" }),
  },
  {
    name: "quit",
    aliases: ["exit"],
    usage: "/quit [REASON]",
    help: "wait until the server has confirmed what you sent, say goodbye (with REASON) and exit",
    parse: (arg) => ok({ kind: "quit", reason: arg }),
  },
];

/** Every command, in /help order. */
export const COMMANDS: readonly CommandSpec[] = ENTRIES.map((e) => ({
  name: e.name,
  aliases: e.aliases ?? [],
  usage: e.usage,
  help: e.help,
  operator: e.operator ?? false,
  online: e.online ?? false,
  guarded: e.guarded ?? false,
  ...(e.arg ? { arg: e.arg } : {}),
  ...(e.needs ? { needs: e.needs } : {}),
  parse: (arg: string) => e.parse(arg.trim(), e.usage),
}));

/** The escape for text that starts with a slash, listed in /help after the commands. */
export const SLASH_ESCAPE: readonly [string, string] = ["//TEXT", "send TEXT starting with a single /"];

/** The command called `name` or one of its aliases (any case), or undefined. */
export function findCommand(name: string): CommandSpec | undefined {
  const n = name.toLowerCase();
  return COMMANDS.find((c) => c.name === n || c.aliases.includes(n));
}

/** What one submitted line is. */
export type Line =
  /** Nothing to do (blank). */
  | { kind: "empty" }
  /** Text to send to the current room or person ("//x" arrives here as "/x"). */
  | { kind: "text"; text: string }
  | { kind: "command"; command: CommandSpec; action: Action }
  /** A known command with bad arguments: `error` says what is wrong. */
  | { kind: "invalid"; command: CommandSpec; error: string }
  | { kind: "unknown"; name: string };

/** Parses one line as typed: text, or a command with its action. */
export function parseLine(line: string): Line {
  if (line.trim() === "") return { kind: "empty" };
  if (!line.startsWith("/")) return { kind: "text", text: line };
  if (line.startsWith("//")) return { kind: "text", text: line.slice(1) };
  const [name, arg] = firstWord(line.slice(1));
  const command = findCommand(name);
  if (!command) return { kind: "unknown", name };
  const parsed = command.parse(arg);
  return parsed.ok
    ? { kind: "command", command, action: parsed.action }
    : { kind: "invalid", command, error: parsed.error };
}

/**
 * The command `text` looks like when it lost its slash (an Escape typed just before "/" used to eat it):
 * its first word names a guarded command and the rest is valid for it, as in "msg carol hi" or "join ops".
 * Ordinary sentences ("join us for lunch", "nick is here") do not parse, so they pass.
 */
export function lostSlash(text: string): CommandSpec | undefined {
  const [word, rest] = firstWord(text.trim());
  const command = findCommand(word);
  return command?.guarded && command.parse(rest).ok ? command : undefined;
}

/** The usage and help of each command for /help and the README, operators' marked, and the // escape last. */
export function helpRows(): Array<[string, string]> {
  return [
    ...COMMANDS.map((c): [string, string] => [c.usage, c.operator ? `operators: ${c.help}` : c.help]),
    [...SLASH_ESCAPE],
  ];
}

/** Every command name and alias with its slash, sorted: what Tab completes at the start of a line. */
export function commandNames(): string[] {
  return COMMANDS.flatMap((c) => [c.name, ...c.aliases]).map((n) => `/${n}`).sort();
}

/** What Tab completes at the cursor in `line`: the argument kind of the command it follows, if any. */
export function argumentKind(lineBeforeWord: string): ArgKind | undefined {
  const m = lineBeforeWord.match(/^\/(\S+)\s+$/);
  return m ? findCommand(m[1])?.arg : undefined;
}

/**
 * Parses a moderation duration: "90s", "15m", "2h", "7d", "1w" or plain
 * milliseconds. Returns null when it is not one.
 */
export function parseDuration(text: string): number | null {
  const m = text.trim().match(/^(\d+)(ms|s|m|h|d|w)?$/);
  if (!m) return null;
  const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[(m[2] ?? "ms") as "ms"];
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : null;
}
