/**
 * What the terminal client does with each command of the registry in
 * src/client/commands.ts (which parses them, lists them for /help and
 * names them for Tab): {@linkcode perform} applies one action to the state
 * and the narrow {@linkcode ClientPort}, so tests run it with a fake client.
 *
 * @module
 */

import {
  type Action,
  ALL_ROOMS,
  helpRows,
  lostSlash,
  notSupported,
  parseLine,
  type Target,
} from "../client/commands.ts";
import { lastlog, lastlogHeading } from "../client/lastlog.ts";
import { splitText } from "../client/split.ts";
import { describeIgnored, describeJoins, isIgnored, withIgnored, withJoins } from "../client/prefs.ts";
import { type Known, whoisText } from "../client/whois.ts";
import type { PendingSend } from "../client/journal.ts";
import { Feature } from "../protocol/extensions.ts";
import { MessageFlags } from "../protocol/messages.ts";
import { nameKey } from "../protocol/names.ts";
import { clock } from "../client/clock.ts";
import type { ChatEntry } from "./entries.ts";
import {
  addEntry,
  type ClientPort,
  closeWindow,
  currentWindow,
  DIRECT_PREFIX,
  directPeer,
  directWindow,
  findDirect,
  hasHistory,
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
  /** Done; clear the input line (and, with `savePrefs`, keep the changed `state.prefs` on disk). */
  | { kind: "done"; savePrefs?: true }
  /** Not done (e.g. a command that needs the server while there is none): keep the input line. */
  | { kind: "keep" }
  | { kind: "quit"; reason: string };

const DONE: CommandResult = { kind: "done" };
const KEEP: CommandResult = { kind: "keep" };
const SAVE: CommandResult = { kind: "done", savePrefs: true };

/** What /whois reads from the state: the rooms joined with their members, and away messages. */
function known(state: TuiState): Known {
  return {
    me: state.me,
    rooms: state.windows.filter((w) => w.joined && directPeer(w) === null).map((w) => ({
      room: w.room,
      members: w.members,
      quiet: w.quiet,
    })),
    away: (
      name,
    ) => (nameKey(name) === nameKey(state.me) ? state.myAway : state.away.get(nameKey(name)) ?? ""),
  };
}

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
 * Texts that go as this many messages or more are sent only when Enter is
 * pressed on them a second time: two parts are a long line, three or more a
 * paste worth a second look (irssi asks from 5 lines, WeeChat from 2).
 */
export const CONFIRM_PARTS = 3;

/**
 * `text` in the parts it is sent as (longer than the server takes in one
 * message: split at lines, words, then characters, see client/split.ts), or
 * null when it makes CONFIRM_PARTS or more and was not confirmed yet: the
 * line is kept, and Enter on it again sends it.
 */
function partsOf(ctx: CommandContext, text: string): string[] | null {
  const { state, client } = ctx;
  const parts = splitText(text, client.maxText);
  if (parts.length >= CONFIRM_PARTS && state.longText !== text) {
    state.longText = text;
    failed(
      ctx,
      `this text is ${parts.length} messages long (the server takes ${client.maxText} bytes at a time): ` +
        "Enter sends them all, in order; Ctrl-U clears the line",
    );
    return null;
  }
  state.longText = null;
  return parts;
}

/**
 * Sends `text` to the current window (its room, or its person) and shows it
 * as pending until the server confirms it; a text longer than the server
 * takes in one message goes as several, in order. While disconnected,
 * ChatClient keeps it in its outbox (on disk, with a journal) and sends it
 * once it is connected again, so the text is never refused for being offline.
 */
export function sendText(ctx: CommandContext, text: string, action = false): CommandResult {
  const { state, client, now } = ctx;
  const w = currentWindow(state);
  if (!w.joined) {
    notify(state, `you are not in #${w.room}: /join a room first`, now, "error");
    return KEEP;
  }
  const parts = partsOf(ctx, text);
  if (parts === null) return KEEP;
  const peer = directPeer(w);
  // Scroll back down: you want to see what you just said.
  w.scroll = 0;
  w.below = 0;
  for (const part of parts) {
    const id = peer !== null
      ? client.msg(peer, part, { action })
      : client.send(part, { room: w.room, action });
    showPending(state, w, { id, text: part, action }, now);
  }
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
  const where = directPeer(w) === null ? `#${w.room}` : `the conversation with ${directPeer(w)}`;
  if (before === undefined || before <= 1) {
    notify(state, `no older messages in ${where}`, now, "info", w);
    return false;
  }
  // Answers to an earlier request may still be on their way: keep them going into place too.
  w.historyBefore = Math.max(w.historyBefore, before);
  w.historyAsked = before;
  client.history(w.room, before, n);
  notify(state, `fetching up to ${n} messages of ${where} before seq ${before}...`, now, "info", w);
  return true;
}

/** The window `target` names, or -1. */
function findWindow(state: TuiState, target: Target): number {
  switch (target.kind) {
    case "index":
      return target.index >= 1 && target.index <= state.windows.length ? target.index - 1 : -1;
    case "peer": {
      const w = findDirect(state, target.name);
      return w ? state.windows.indexOf(w) : -1;
    }
    case "room":
      return state.windows.findIndex((w) => w.room === target.room);
  }
}

/** How a target was written, for messages. */
function targetText(target: Target): string {
  return target.kind === "index"
    ? String(target.index)
    : target.kind === "peer"
    ? `@${target.name}`
    : `#${target.room}`;
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

/** Says what went wrong and keeps the line, so it can be fixed rather than typed again. */
function failed(ctx: CommandContext, text: string): CommandResult {
  notify(ctx.state, text, ctx.now, "error");
  return KEEP;
}

/** Performs one parsed command. */
export function perform(ctx: CommandContext, action: Action): CommandResult {
  const { state, client, now } = ctx;
  switch (action.kind) {
    case "help":
      notify(state, helpText(), now);
      return DONE;
    case "who": {
      const peer = directPeer(currentWindow(state));
      if (action.room === undefined && peer !== null) {
        const away = state.away.get(nameKey(peer));
        notify(
          state,
          `direct messages with ${peer}${away ? ` (away: ${away})` : ""}; /who ROOM lists a room`,
          now,
        );
        return DONE;
      }
      const room = action.room ?? currentWindow(state).room;
      if (!state.windows.some((w) => w.room === room && w.joined) && !client.supports(Feature.WHO_ANY)) {
        return failed(
          ctx,
          `/who #${room}: ${
            notSupported("asking about a room you are not in")
          } (/join it to see who is there)`,
        );
      }
      state.whoAsked.add(room);
      client.who(room);
      return DONE;
    }
    case "join": {
      const i = state.windows.findIndex((w) => w.room === action.room && w.joined);
      if (i >= 0) {
        showWindow(state, i);
        return DONE;
      }
      // The room is current at once: the next line typed goes there, after the JOIN on the same connection.
      const w = windowFor(state, action.room);
      w.joined = true;
      w.joining = true;
      showWindow(state, state.windows.indexOf(w));
      client.join(action.room);
      notify(state, `joining #${action.room}...`, now, "info", w);
      return DONE;
    }
    case "leave": {
      const i = action.target ? findWindow(state, action.target) : state.current;
      const w = state.windows[i];
      if (w && directPeer(w) !== null) {
        closeDirect(state, i);
        return DONE;
      }
      if (w && !w.joined) {
        // Left already (or its join was refused): nothing to tell the server, just close it.
        closeWindow(state, w.room);
        return DONE;
      }
      if (state.connection.state !== "connected") {
        return failed(ctx, "/leave needs a connection to the server; try again once connected");
      }
      if (!w) return failed(ctx, `/leave: no window ${targetText(action.target!)}`);
      client.leave(w.room);
      // Like a join, a leave takes effect at once; the window closes when the server confirms it.
      w.joined = false;
      w.joining = false;
      if (i === state.current && state.windows.length > 1) {
        showWindow(state, i + 1 < state.windows.length ? i + 1 : i - 1);
      }
      return DONE;
    }
    case "rooms":
      notify(
        state,
        ["rooms:", ...state.windows.map((w, i) => describeWindow(w, i, i === state.current))].join("\n"),
        now,
      );
      return DONE;
    case "switch": {
      const i = findWindow(state, action.target);
      if (i < 0) {
        return failed(
          ctx,
          `/switch: no window ${targetText(action.target)} (windows: ${
            state.windows.map((w) => (directPeer(w) === null ? `#${w.room}` : w.room)).join(", ")
          })`,
        );
      }
      showWindow(state, i);
      return DONE;
    }
    case "me":
      return sendText(ctx, action.text, true);
    case "msg":
      return sendDirect(ctx, action.to, action.text);
    case "query": {
      const w = directWindow(state, action.to);
      showWindow(state, state.windows.indexOf(w));
      return action.text ? sendText(ctx, action.text) : DONE;
    }
    case "nick":
      client.nick(action.name);
      return DONE;
    case "away":
      if (action.text === "" && state.myAway === "") {
        notify(state, "you are not away (/away TEXT sets an away message)", now);
        return DONE;
      }
      client.away(action.text);
      return DONE;
    case "history": {
      const w = currentWindow(state);
      if (!hasHistory(w)) {
        return failed(
          ctx,
          directPeer(w) !== null
            ? "/history works in a stored conversation (both names registered), and this one is not stored"
            : "/history works in a room you are in",
        );
      }
      requestHistory(state, client, w, action.count, now);
      return DONE;
    }
    case "register":
      client.register(action.password);
      return DONE;
    case "moderate":
      client.moderate(action.action, action.target, action.durationMs, action.reason);
      return DONE;
    case "reconnect": {
      // Waiting for the next attempt or given up: try now. A try under way or a connection: nothing to do.
      const c = state.connection;
      if (c.state === "connected" || c.state === "connecting") {
        notify(state, c.state === "connected" ? "already connected" : "already connecting", now);
        return DONE;
      }
      client.reconnect();
      return DONE;
    }
    case "clear": {
      const w = currentWindow(state);
      w.entries = [];
      w.marker = null;
      w.scroll = 0;
      w.below = 0;
      return DONE;
    }
    case "quit":
      return { kind: "quit", reason: action.reason };
    case "whois":
      notify(state, whoisText(action.name, known(state)), now);
      return DONE;
    case "lastlog": {
      const w = currentWindow(state);
      const lines = w.entries.filter((e): e is ChatEntry => e.kind === "chat");
      const found = lastlog(lines, action.text);
      const where = directPeer(w) === null ? `#${w.room}` : w.room;
      notify(
        state,
        [
          lastlogHeading(action.text, where, found),
          ...found.shown.map((e) => `  ${clock(e.ts)} ${e.action ? `* ${e.from}` : `<${e.from}>`} ${e.text}`),
        ].join("\n"),
        now,
      );
      return DONE;
    }
    case "ignore":
      if (action.name === undefined) {
        notify(state, describeIgnored(state.prefs), now);
        return DONE;
      }
      if (nameKey(action.name) === nameKey(state.me)) {
        return failed(ctx, "/ignore: you cannot ignore yourself");
      }
      state.prefs = withIgnored(state.prefs, action.name, true);
      notify(state, `ignoring ${action.name}: their messages and direct messages are not shown`, now);
      return SAVE;
    case "unignore":
      if (!isIgnored(state.prefs, action.name)) {
        return failed(ctx, `/unignore: ${action.name} is not ignored`);
      }
      state.prefs = withIgnored(state.prefs, action.name, false);
      notify(state, `no longer ignoring ${action.name}`, now);
      return SAVE;
    case "joins": {
      if (action.hide === undefined) {
        notify(state, describeJoins(state.prefs), now);
        return DONE;
      }
      const w = currentWindow(state);
      const room = action.room ?? (directPeer(w) === null ? w.room : ALL_ROOMS);
      state.prefs = withJoins(state.prefs, action.hide, room === ALL_ROOMS ? null : room);
      notify(
        state,
        `join and leave lines are ${action.hide ? "hidden" : "shown"} ${
          room === ALL_ROOMS ? "in every room" : `in #${room}`
        }`,
        now,
      );
      return SAVE;
    }
    case "list":
      if (!client.supports(Feature.LIST)) return failed(ctx, `/list: ${notSupported("listing rooms")}`);
      if (!client.list()) return failed(ctx, "/list: a listing is under way; wait for it to finish");
      state.listed = [];
      notify(state, "listing the rooms...", now);
      return DONE;
    case "topic": {
      if (!client.supports(Feature.TOPIC)) return failed(ctx, `/topic: ${notSupported("room topics")}`);
      const w = currentWindow(state);
      if (directPeer(w) !== null) {
        return failed(ctx, "/topic: direct messages have no topic; use it in a room");
      }
      if (action.text === "" && !action.clear) {
        state.topicAsked.add(w.room);
        client.topic(w.room);
        return DONE;
      }
      if (!w.joined) return failed(ctx, `/topic: you are not in #${w.room}; /join it to set its topic`);
      client.topic(w.room, action.text);
      return DONE;
    }
    default: {
      const never: never = action;
      return never;
    }
  }
}

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

/**
 * Sends a direct message from any window. It is shown in the "@NAME" window
 * (created if needed, not switched to) and, when that is not the window on
 * screen, confirmed by one line here, so you see it left without losing your
 * place.
 */
function sendDirect(ctx: CommandContext, to: string, text: string): CommandResult {
  const { state, client, now } = ctx;
  const parts = partsOf(ctx, text);
  if (parts === null) return KEEP;
  const w = directWindow(state, to);
  for (const part of parts) {
    showPending(state, w, { id: client.msg(to, part), text: part, action: false }, now);
  }
  if (w !== currentWindow(state)) {
    notify(state, `-> @${to}: ${text} (window ${state.windows.indexOf(w) + 1})`, now);
  }
  return DONE;
}

/** Key bindings, for /help (and the README). */
export const KEY_HELP: ReadonlyArray<[string, string]> = [
  ["Enter", "send; Alt-Enter inserts a newline, pasting several lines sends one message"],
  ["Enter on an empty line", "reconnect now (while waiting for the next attempt, or offline)"],
  [
    "Tab",
    "complete a nickname, a command, or a room (after /join, /who, /leave, or #); again for the next match",
  ],
  ["Up/Down", "input history (kept per server; /register lines are not)"],
  ["PgUp/PgDn", "scroll back (PgUp at the top fetches older messages); Esc jumps to the newest"],
  ["Alt-1..9, Ctrl-N/P", "show window 1..9 (a room or @NAME), next/previous window"],
  ["Ctrl-A/E, Home/End", "start/end of line"],
  ["Alt-B/F, Ctrl-Left/Right", "word left/right"],
  ["Ctrl-U/K/W, Ctrl-Y", "cut to start/end/previous word, paste it back"],
  ["Ctrl-L", "redraw the screen"],
  ["Ctrl-C, Ctrl-D", "quit (Ctrl-D on an empty line)"],
];

/** The /help text: the command registry's rows, then the keys. */
export function helpText(): string {
  const rows = helpRows();
  const w = Math.max(...rows.map(([u]) => u.length), ...KEY_HELP.map(([k]) => k.length)) + 2;
  return [
    "commands:",
    ...rows.map(([u, h]) => `  ${u.padEnd(w)}${h}`),
    "keys:",
    ...KEY_HELP.map(([k, h]) => `  ${k.padEnd(w)}${h}`),
  ].join("\n");
}

/** Runs one submitted line: a command, or text to send. */
export function runLine(ctx: CommandContext, line: string): CommandResult {
  // Several lines (a paste, or Alt-Enter) are one message, even when the first starts with a slash: a pasted
  // log whose first line reads "/quit" must not quit (README: pasting several lines sends one message).
  if (line.includes("\n")) {
    ctx.state.unslashed = null;
    return sendText(ctx, line);
  }
  const parsed = parseLine(line);
  const confirmed = ctx.state.unslashed === line;
  ctx.state.unslashed = null;
  switch (parsed.kind) {
    case "empty":
      return DONE;
    case "text": {
      const like = line.startsWith("/") ? undefined : lostSlash(line);
      if (like && !confirmed) {
        ctx.state.unslashed = line;
        const w = currentWindow(ctx.state);
        const where = directPeer(w) === null ? `#${w.room}` : w.room;
        return failed(
          ctx,
          `this looks like /${like.name} without its slash: Enter sends it to ${where} as a message anyway; ` +
            "Ctrl-A and / make it the command",
        );
      }
      return sendText(ctx, parsed.text);
    }
    case "unknown":
      return failed(ctx, `unknown command /${parsed.name} (try /help)`);
    case "invalid":
      return failed(ctx, parsed.error);
    case "command":
      if (parsed.command.online && ctx.state.connection.state !== "connected") {
        return failed(
          ctx,
          `/${parsed.command.name} needs a connection to the server; try again once connected`,
        );
      }
      return perform(ctx, parsed.action);
  }
}
