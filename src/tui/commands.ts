/**
 * The slash commands of the terminal client, as a registry: /help and Tab
 * completion are generated from it, and a new command (/msg, /nick, /away)
 * is one more entry. Each command works on the state and the narrow
 * {@linkcode ClientPort}, so tests run them with a fake client.
 *
 * @module
 */

import { checkRoom } from "../protocol/names.ts";
import type { ChatEntry } from "./entries.ts";
import {
  addEntry,
  type ClientPort,
  currentWindow,
  notify,
  showWindow,
  type TuiState,
  type Window,
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
  /** Not done (e.g. cannot send while offline for good): keep the input line. */
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

/** Sends `text` to the current window's room and shows it as pending until the server confirms it. */
export function sendText(ctx: CommandContext, text: string, action = false): CommandResult {
  const { state, client, now } = ctx;
  const w = currentWindow(state);
  if (!w.joined) {
    notify(state, `you are not in #${w.room}: /join a room first`, now, "error");
    return { kind: "keep" };
  }
  if (state.connection.state === "offline") {
    notify(
      state,
      "offline: the client gave up reconnecting, so this cannot be sent (/quit and start again)",
      now,
      "error",
    );
    return { kind: "keep" };
  }
  const id = client.send(text, { room: w.room, action });
  const entry: ChatEntry = {
    kind: "chat",
    ts: now,
    from: state.me,
    text,
    action,
    mine: true,
    mention: false,
    history: false,
    id,
    delivery: "pending",
  };
  state.sent.set(id, w);
  // Scroll back down: you want to see what you just said.
  w.scroll = 0;
  w.below = 0;
  addEntry(state, w, entry);
  return DONE;
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
  const room = roomArg(a);
  return room.ok ? state.windows.findIndex((w) => w.room === room.value) : -1;
}

function describeWindow(w: Window, i: number, current: boolean): string {
  const bits = [`${w.members.length} online`];
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
    help: "who is online in ROOM (default: this room)",
    online: true,
    run: ({ state, client, now }, arg) => {
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
    usage: "/leave [ROOM]",
    help: "leave ROOM (default: this room)",
    online: true,
    run: ({ state, client, now }, arg) => {
      const i = arg ? findWindow(state, arg) : state.current;
      const w = state.windows[i];
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
    help: "list your rooms (Alt-number shows one)",
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
    usage: "/switch ROOM|N",
    help: "show a joined room (also Alt-1..Alt-9, Ctrl-N/Ctrl-P)",
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

/** Key bindings, for /help (and the README). */
export const KEY_HELP: ReadonlyArray<[string, string]> = [
  ["Enter", "send; Alt-Enter inserts a newline, pasting several lines sends one message"],
  ["Tab", "complete a nickname or command (again for the next match)"],
  ["Up/Down", "input history"],
  ["PgUp/PgDn", "scroll back; Esc jumps to the newest message"],
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
