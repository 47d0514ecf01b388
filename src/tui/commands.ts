/**
 * The slash commands of the terminal client, as a registry: /help and Tab
 * completion are generated from it, and a new command (/msg, /nick, /away)
 * is one more entry. Each command works on the state and the narrow
 * {@linkcode ClientPort}, so tests run them with a fake client.
 *
 * @module
 */

import type { PendingSend } from "../client/journal.ts";
import { MessageFlags } from "../protocol/messages.ts";
import { checkName, checkRoom, nameKey } from "../protocol/names.ts";
import type { ChatEntry } from "./entries.ts";
import {
  addEntry,
  type ClientPort,
  currentWindow,
  DIRECT_PREFIX,
  directPeer,
  directWindow,
  findDirect,
  notify,
  oldestShown,
  onlineCount,
  showWindow,
  type TuiState,
  type Window,
  windowFor,
} from "./state.ts";

export interface CommandContext {
  state: TuiState;
  client: ClientPort;
  now: number;
}

/** What running a line asks of the caller. */
export type CommandResult =
  /** Done; clear the input line. */
  | { kind: "done" }
  /** Not done (e.g. a command that needs the server while there is none): keep the input line. */
  | { kind: "keep" }
  | { kind: "quit"; reason: string };

export interface Command {
  name: string;
  aliases?: readonly string[];
  /** Shown in /help: "/join ROOM". */
  usage: string;
  help: string;
  /** Needs a live connection: ChatClient drops requests made while disconnected. */
  online?: boolean;
  run(ctx: CommandContext, arg: string): CommandResult;
}

const DONE: CommandResult = { kind: "done" };

/** Messages /history fetches when no N is given. */
export const HISTORY_PAGE = 50;
/** The most /history asks for at once (the server's cap on one FETCH). */
export const MAX_HISTORY_PAGE = 500;

/**
 * Shows a message this client sent (or restored from the journal) as
 * pending in `w`, until the server acknowledges id `id`.
 */
export function showPending(
  state: TuiState,
  w: Window,
  sent: { id: number; text: string; action: boolean },
  now: number,
): void {
  const entry: ChatEntry = {
    kind: "chat",
    ts: now,
    from: state.me,
    text: sent.text,
    action: sent.action,
    mine: true,
    mention: false,
    history: false,
    id: sent.id,
    delivery: "pending",
  };
  state.sent.set(sent.id, w);
  addEntry(state, w, entry);
}

/**
 * Shows the messages ChatClient restored from its journal (typed in an
 * earlier session, never acknowledged) as pending in their windows; the
 * client sends them again once connected, and their ACKs mark them delivered.
 */
export function showRestored(state: TuiState, outbox: readonly PendingSend[], now: number): void {
  const byWindow = new Map<Window, PendingSend[]>();
  for (const p of outbox) {
    const w = p.room.startsWith(DIRECT_PREFIX)
      ? directWindow(state, p.room.slice(DIRECT_PREFIX.length))
      : windowFor(state, p.room);
    byWindow.set(w, [...byWindow.get(w) ?? [], p]);
  }
  for (const [w, list] of byWindow) {
    notify(
      state,
      `${list.length} message(s) from the last session not yet delivered; sending again`,
      now,
      "info",
      w,
    );
    for (const p of list) {
      showPending(state, w, { id: p.id, text: p.text, action: (p.flags & MessageFlags.ACTION) !== 0 }, now);
    }
  }
}

/**
 * Sends `text` to the current window (its room, or its person) and shows it
 * as pending until the server confirms it. While disconnected, ChatClient
 * keeps it in its outbox (on disk, with a journal) and sends it once it is
 * connected again, so the text is never refused for being offline.
 */
export function sendText(ctx: CommandContext, text: string, action = false): CommandResult {
  const { state, client, now } = ctx;
  const w = currentWindow(state);
  if (!w.joined) {
    notify(state, `you are not in #${w.room}: /join a room first`, now, "error");
    return { kind: "keep" };
  }
  const peer = directPeer(w);
  const id = peer !== null ? client.msg(peer, text, { action }) : client.send(text, { room: w.room, action });
  // Scroll back down: you want to see what you just said.
  w.scroll = 0;
  w.below = 0;
  showPending(state, w, { id, text, action }, now);
  if (state.connection.state === "offline") {
    notify(state, "offline: kept in the outbox; Enter on an empty line or /reconnect tries again", now);
  }
  return DONE;
}

/**
 * /history: asks the server for up to `n` messages of `w`'s room older than
 * the oldest one shown (from this session or the transcript). They arrive as
 * history messages and are put in order above what is shown. Returns false
 * when there is nothing older to ask for.
 */
export function requestHistory(
  state: TuiState,
  client: ClientPort,
  w: Window,
  n: number,
  now: number,
): boolean {
  const shown = oldestShown(w);
  const seen = client.oldestSeq(w.room);
  const before = shown === undefined ? seen : seen === undefined ? shown : Math.min(shown, seen);
  if (before === undefined || before <= 1) {
    notify(state, `no older messages in #${w.room}`, now, "info", w);
    return false;
  }
  // Answers to an earlier request may still be on their way: keep them going into place too.
  w.historyBefore = Math.max(w.historyBefore, before);
  w.historyAsked = before;
  client.history(w.room, before, n);
  notify(state, `fetching up to ${n} messages of #${w.room} before seq ${before}...`, now, "info", w);
  return true;
}

/** A room argument: "#Dev" and "dev" name the same room. */
function roomArg(arg: string): ReturnType<typeof checkRoom> {
  return checkRoom(arg.trim().replace(/^#/, ""));
}

function findWindow(state: TuiState, arg: string): number {
  const a = arg.trim();
  if (/^\d+$/.test(a)) {
    const i = Number(a) - 1;
    return i >= 0 && i < state.windows.length ? i : -1;
  }
  if (a.startsWith("@")) {
    const w = findDirect(state, a.slice(1));
    return w ? state.windows.indexOf(w) : -1;
  }
  const room = roomArg(a);
  return room.ok ? state.windows.findIndex((w) => w.room === room.value) : -1;
}

function describeWindow(w: Window, i: number, current: boolean): string {
  const peer = directPeer(w);
  if (peer !== null) {
    const bits = w.unread ? ` (${w.unread} unread)` : "";
    return `${current ? "*" : " "}${i + 1}: @${peer} (direct messages)${bits}`;
  }
  const bits = [onlineCount(w)];
  if (w.unread) bits.push(`${w.unread} unread`);
  if (!w.joined) bits.push("left");
  return `${current ? "*" : " "}${i + 1}: #${w.room} (${bits.join(", ")})`;
}

export const COMMANDS: readonly Command[] = [
  {
    name: "help",
    usage: "/help",
    help: "list commands and keys",
    run: ({ state, now }) => {
      notify(state, helpText(), now);
      return DONE;
    },
  },
  {
    name: "who",
    usage: "/who [ROOM]",
    help: "who is online in ROOM (default: this room), with away messages",
    online: true,
    run: ({ state, client, now }, arg) => {
      const peer = directPeer(currentWindow(state));
      if (!arg && peer !== null) {
        const away = state.away.get(nameKey(peer));
        notify(
          state,
          `direct messages with ${peer}${away ? ` (away: ${away})` : ""}; /who ROOM lists a room`,
          now,
        );
        return DONE;
      }
      const room = arg ? roomArg(arg) : { ok: true as const, value: currentWindow(state).room };
      if (!room.ok) {
        notify(state, `/who: ${room.reason}`, now, "error");
        return DONE;
      }
      state.whoAsked.add(room.value);
      client.who(room.value);
      return DONE;
    },
  },
  {
    name: "join",
    usage: "/join ROOM",
    help: "join ROOM and show it",
    online: true,
    run: ({ state, client, now }, arg) => {
      if (!arg) {
        notify(state, "usage: /join ROOM", now, "error");
        return DONE;
      }
      const room = roomArg(arg);
      if (!room.ok) {
        notify(state, `/join: ${room.reason}`, now, "error");
        return DONE;
      }
      const i = state.windows.findIndex((w) => w.room === room.value && w.joined);
      if (i >= 0) {
        showWindow(state, i);
        return DONE;
      }
      state.switchTo = room.value;
      client.join(room.value);
      notify(state, `joining #${room.value}...`, now);
      return DONE;
    },
  },
  {
    name: "leave",
    aliases: ["part"],
    usage: "/leave [ROOM|@NAME]",
    help: "leave ROOM (default: this room); in a direct-message window, close it",
    run: ({ state, client, now }, arg) => {
      const i = arg ? findWindow(state, arg) : state.current;
      const w = state.windows[i];
      if (w && directPeer(w) !== null) {
        closeDirect(state, i);
        return DONE;
      }
      if (state.connection.state !== "connected") {
        notify(state, "/leave needs a connection to the server; try again once connected", now, "error");
        return { kind: "keep" };
      }
      if (!w || !w.joined) {
        notify(
          state,
          `/leave: not in room ${arg ? `"${arg}"` : `#${currentWindow(state).room}`}`,
          now,
          "error",
        );
        return DONE;
      }
      client.leave(w.room);
      return DONE;
    },
  },
  {
    name: "rooms",
    usage: "/rooms",
    help: "list your windows (Alt-number shows one)",
    run: ({ state, now }) => {
      notify(
        state,
        ["rooms:", ...state.windows.map((w, i) => describeWindow(w, i, i === state.current))].join("\n"),
        now,
      );
      return DONE;
    },
  },
  {
    name: "switch",
    aliases: ["window"],
    usage: "/switch ROOM|@NAME|N",
    help: "show a window (also Alt-1..Alt-9, Ctrl-N/Ctrl-P)",
    run: ({ state, now }, arg) => {
      const i = findWindow(state, arg);
      if (i < 0) {
        notify(
          state,
          `/switch: not in room "${arg}" (rooms: ${state.windows.map((w) => `#${w.room}`).join(", ")})`,
          now,
          "error",
        );
      } else showWindow(state, i);
      return DONE;
    },
  },
  {
    name: "me",
    usage: "/me ACTION",
    help: "send an action: * you ACTION",
    run: (ctx, arg) => {
      if (!arg) {
        notify(ctx.state, "usage: /me ACTION", ctx.now, "error");
        return DONE;
      }
      return sendText(ctx, arg, true);
    },
  },
  {
    // Direct messages go to a window per person ("@bob"), as irssi's query windows and WeeChat's private
    // buffers do: someone who lives in a busy room all day would lose a private line in its scroll, while a
    // window of its own keeps the conversation together, shows in the status line as activity (counted like
    // a mention, with the bell), and is answered by typing in it, with no /msg to repeat.
    name: "msg",
    aliases: ["m"],
    usage: "/msg NAME TEXT",
    help: "send a direct message; it shows in the @NAME window, where typing replies",
    run: (ctx, arg) => {
      const to = nameAndText(ctx, arg, "/msg NAME TEXT", true);
      return to ? sendDirect(ctx, to.name, to.text) : { kind: "keep" };
    },
  },
  {
    name: "query",
    usage: "/query NAME [TEXT]",
    help: "open (and show) the @NAME window; with TEXT, send it too",
    run: (ctx, arg) => {
      const to = nameAndText(ctx, arg, "/query NAME [TEXT]", false);
      if (!to) return { kind: "keep" };
      const w = directWindow(ctx.state, to.name);
      showWindow(ctx.state, ctx.state.windows.indexOf(w));
      return to.text ? sendText(ctx, to.text) : DONE;
    },
  },
  {
    name: "nick",
    usage: "/nick NEWNAME",
    help: "change your name",
    online: true,
    run: ({ state, client, now }, arg) => {
      if (!arg) {
        notify(state, "usage: /nick NEWNAME", now, "error");
        return { kind: "keep" };
      }
      const name = checkName(arg);
      if (!name.ok) {
        notify(state, `/nick: ${name.reason}`, now, "error");
        return { kind: "keep" };
      }
      client.nick(name.value);
      return DONE;
    },
  },
  {
    name: "away",
    usage: "/away [TEXT]",
    help: "set an away message, shown in /who and to people who message you; without TEXT, you are back",
    online: true,
    run: ({ state, client, now }, arg) => {
      if (arg === "" && state.myAway === "") {
        notify(state, "you are not away (/away TEXT sets an away message)", now);
        return DONE;
      }
      client.away(arg);
      return DONE;
    },
  },
  {
    name: "history",
    usage: "/history [N]",
    help: `fetch N (default ${HISTORY_PAGE}) older messages of this room into the scrollback`,
    online: true,
    run: ({ state, client, now }, arg) => {
      const n = arg === "" ? HISTORY_PAGE : Number(arg);
      if (!Number.isInteger(n) || n < 1 || n > MAX_HISTORY_PAGE) {
        notify(state, `usage: /history [N], N from 1 to ${MAX_HISTORY_PAGE}`, now, "error");
        return { kind: "keep" };
      }
      const w = currentWindow(state);
      if (directPeer(w) !== null || !w.joined) {
        notify(state, "/history works in a room you are in (direct messages are not stored)", now, "error");
        return DONE;
      }
      requestHistory(state, client, w, n, now);
      return DONE;
    },
  },
  {
    name: "reconnect",
    usage: "/reconnect",
    help: "after the client gave up reconnecting, try again",
    run: ({ state, client, now }) => {
      const c = state.connection;
      if (c.state !== "offline") {
        notify(state, c.state === "connected" ? "already connected" : "already trying to reconnect", now);
        return DONE;
      }
      client.reconnect();
      return DONE;
    },
  },
  {
    name: "clear",
    usage: "/clear",
    help: "clear this window",
    run: ({ state }) => {
      const w = currentWindow(state);
      w.entries = [];
      w.marker = null;
      w.scroll = 0;
      w.below = 0;
      return DONE;
    },
  },
  {
    name: "quit",
    aliases: ["exit"],
    usage: "/quit [REASON]",
    help: "say goodbye (with REASON) and exit",
    run: (_ctx, arg) => ({ kind: "quit", reason: arg }),
  },
];

/** Closes the direct-message window at `i`: nothing to tell the server, the conversation is only local. */
function closeDirect(state: TuiState, i: number): void {
  if (state.windows.length === 1) return;
  const wasCurrent = i === state.current;
  state.windows.splice(i, 1);
  if (i < state.current || (wasCurrent && state.current === state.windows.length)) state.current--;
  if (wasCurrent) {
    const w = currentWindow(state);
    if (w.unread === 0) w.marker = null;
    w.unread = 0;
    w.mentions = 0;
  }
}

/** Splits "NAME TEXT" and checks NAME against the server's rules; reports what is wrong. */
function nameAndText(
  ctx: CommandContext,
  arg: string,
  usage: string,
  needText: boolean,
): { name: string; text: string } | null {
  const m = arg.match(/^(\S+)\s*([\s\S]*)$/);
  if (!m || (needText && m[2].trim() === "")) {
    notify(ctx.state, `usage: ${usage}`, ctx.now, "error");
    return null;
  }
  const name = checkName(m[1].replace(/^@/, "").replace(/:$/, ""));
  if (!name.ok) {
    notify(ctx.state, `${usage.split(" ")[0]}: ${name.reason}`, ctx.now, "error");
    return null;
  }
  return { name: name.value, text: m[2].trim() };
}

/**
 * Sends a direct message from any window. It is shown in the "@NAME" window
 * (created if needed, not switched to) and, when that is not the window on
 * screen, confirmed by one line here, so you see it left without losing your
 * place.
 */
function sendDirect(ctx: CommandContext, to: string, text: string): CommandResult {
  const { state, client, now } = ctx;
  const w = directWindow(state, to);
  const id = client.msg(to, text);
  showPending(state, w, { id, text, action: false }, now);
  if (w !== currentWindow(state)) {
    notify(state, `-> @${to}: ${text} (window ${state.windows.indexOf(w) + 1})`, now);
  }
  return DONE;
}

/** Key bindings, for /help (and the README). */
export const KEY_HELP: ReadonlyArray<[string, string]> = [
  ["Enter", "send; Alt-Enter inserts a newline, pasting several lines sends one message"],
  ["Enter on an empty line", "reconnect, once the client has given up (offline)"],
  ["Tab", "complete a nickname or command (again for the next match)"],
  ["Up/Down", "input history"],
  ["PgUp/PgDn", "scroll back (PgUp at the top fetches older messages); Esc jumps to the newest"],
  ["Alt-1..9, Ctrl-N/P", "show room 1..9, next/previous room"],
  ["Ctrl-A/E, Home/End", "start/end of line"],
  ["Alt-B/F, Ctrl-Left/Right", "word left/right"],
  ["Ctrl-U/K/W, Ctrl-Y", "cut to start/end/previous word, paste it back"],
  ["Ctrl-L", "redraw the screen"],
  ["Ctrl-C, Ctrl-D", "quit (Ctrl-D on an empty line)"],
];

/** The /help text, generated from the registries. */
export function helpText(): string {
  const rows: Array<[string, string]> = [
    ...COMMANDS.map((c): [string, string] => [c.usage, c.help]),
    ["//TEXT", "send TEXT starting with a single /"],
  ];
  const w = Math.max(...rows.map(([u]) => u.length), ...KEY_HELP.map(([k]) => k.length)) + 2;
  return [
    "commands:",
    ...rows.map(([u, h]) => `  ${u.padEnd(w)}${h}`),
    "keys:",
    ...KEY_HELP.map(([k, h]) => `  ${k.padEnd(w)}${h}`),
  ].join("\n");
}

/** Command names for completion, with their slash. */
export function commandNames(): string[] {
  return COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]).map((n) => `/${n}`).sort();
}

/** Runs one submitted line: a command, or text to send. */
export function runLine(ctx: CommandContext, line: string): CommandResult {
  if (line.trim() === "") return DONE;
  if (!line.startsWith("/") || line.startsWith("//")) {
    return sendText(ctx, line.startsWith("//") ? line.slice(1) : line);
  }
  const m = line.slice(1).match(/^(\S*)\s*([\s\S]*)$/)!;
  const name = m[1].toLowerCase();
  const arg = m[2].trim();
  const command = COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
  if (!command) {
    notify(ctx.state, `unknown command /${name} (try /help)`, ctx.now, "error");
    return { kind: "keep" };
  }
  if (command.online && ctx.state.connection.state !== "connected") {
    notify(
      ctx.state,
      `/${command.name} needs a connection to the server; try again once connected`,
      ctx.now,
      "error",
    );
    return { kind: "keep" };
  }
  return command.run(ctx, arg);
}
