/**
 * The terminal client's behaviour, without a terminal: {@linkcode onKey}
 * applies a key press and {@linkcode onEvent} a ChatClient event to the
 * state, and each returns what the caller must do that the state cannot
 * (ring the bell, persist a history line, quit). Tests drive it with keys
 * and events and compare the rendered text.
 *
 * @module
 */

import type { ClientEvent } from "../client/events.ts";
import { nameKey } from "../protocol/names.ts";
import { commandNames, runLine } from "./commands.ts";
import { complete } from "./complete.ts";
import { cleanInput, editKey, editorWith, EMPTY_EDITOR, insert } from "./editor.ts";
import { type ChatEntry, type Entry, mentions } from "./entries.ts";
import { historyAdd, historyDown, historyUp } from "./history.ts";
import type { Key } from "./keys.ts";
import {
  addEntry,
  type ClientPort,
  closeWindow,
  completionNicks,
  currentWindow,
  entryRows,
  messageRows,
  notify,
  replaceEntry,
  showWindow,
  type Size,
  type TuiState,
  type Window,
  windowFor,
} from "./state.ts";

/** What a key or event asks of the caller, beyond the state change. */
export interface Outcome {
  /** Stop: say goodbye with `reason` and exit with `code`. */
  quit?: { reason: string; code: number };
  /** Ring the terminal bell (someone mentioned you). */
  bell?: boolean;
  /** Repaint every row (Ctrl-L). */
  redraw?: boolean;
  /** Suspend to the shell (Ctrl-Z). */
  suspend?: boolean;
  /** A line was submitted: append it to the history file. */
  submitted?: string;
}

/** How long the status line shows a notice such as "reconnected". */
export const NOTICE_MS = 10_000;

/** Applies one key press. */
export function onKey(state: TuiState, key: Key, client: ClientPort, now: number): Outcome {
  if (key.kind === "key" && key.name === "tab" && !key.ctrl && !key.alt) {
    const w = currentWindow(state);
    const c = complete(
      state.editor,
      state.completion,
      { commands: commandNames(), nicks: completionNicks(state, w) },
      key.shift,
    );
    if (c) {
      state.editor = c.result;
      state.completion = c;
    }
    return {};
  }
  state.completion = null;
  if (key.kind === "paste") {
    // A paste is one message: its lines stay together, and a trailing newline does not send it.
    state.editor = insert(state.editor, cleanInput(key.text).replace(/\n+$/, ""));
    return {};
  }
  if (key.kind === "key") {
    const { name, ctrl, alt } = key;
    const plain = !ctrl && !alt;
    if (name === "enter" && plain) return submit(state, client, now);
    if (ctrl && !alt && name === "c") return { quit: { reason: "", code: 130 } };
    if (ctrl && !alt && name === "d" && state.editor.text === "") return { quit: { reason: "", code: 0 } };
    if (ctrl && !alt && name === "d") {
      state.editor = editKey(state.editor, {
        kind: "key",
        name: "delete",
        ctrl: false,
        alt: false,
        shift: false,
      })!;
      return {};
    }
    if (ctrl && !alt && name === "l") return { redraw: true };
    if (ctrl && !alt && name === "z") return { suspend: true };
    if (plain && name === "up") {
      const r = historyUp(state.history, state.editor.text);
      if (r) {
        state.history = r.history;
        state.editor = editorWith(r.text);
      }
      return {};
    }
    if (plain && name === "down") {
      const r = historyDown(state.history);
      if (r) {
        state.history = r.history;
        state.editor = editorWith(r.text);
      }
      return {};
    }
    if (!ctrl && (name === "pageup" || name === "pagedown")) {
      scrollBy(
        state,
        currentWindow(state),
        (name === "pageup" ? 1 : -1) * Math.max(1, messageRows(state) - 1),
      );
      return {};
    }
    if (plain && name === "escape") {
      scrollBy(state, currentWindow(state), -Infinity);
      return {};
    }
    if (alt && !ctrl && /^[0-9]$/.test(name)) {
      showWindow(state, name === "0" ? 9 : Number(name) - 1);
      return {};
    }
    if (ctrl && !alt && (name === "n" || name === "p")) {
      const n = state.windows.length;
      showWindow(state, (state.current + (name === "n" ? 1 : n - 1)) % n);
      return {};
    }
  }
  const next = editKey(state.editor, key);
  if (next) state.editor = next;
  return {};
}

function submit(state: TuiState, client: ClientPort, now: number): Outcome {
  const line = state.editor.text;
  if (line.trim() === "") return {};
  state.history = historyAdd(state.history, line);
  const result = runLine({ state, client, now }, line);
  if (result.kind !== "keep") state.editor = EMPTY_EDITOR;
  const out: Outcome = { submitted: line };
  if (result.kind === "quit") out.quit = { reason: result.reason, code: 0 };
  return out;
}

/** Rows of the whole window, with the read marker: the limit for scrolling back. */
function totalRows(state: TuiState, w: Window): number {
  let n = w.marker !== null && w.marker < w.entries.length ? 1 : 0;
  for (const e of w.entries) n += entryRows(state, e).length;
  return n;
}

/** Scrolls `w` by `delta` rows (positive: back in time), within its content. */
export function scrollBy(state: TuiState, w: Window, delta: number): void {
  const max = Math.max(0, totalRows(state, w) - messageRows(state));
  w.scroll = Math.max(0, Math.min(max, w.scroll + delta));
  if (w.scroll === 0) w.below = 0;
}

/** Applies a new terminal size. */
export function resize(state: TuiState, size: Size): void {
  state.size = size;
  for (const w of state.windows) scrollBy(state, w, 0);
}

function isMe(state: TuiState, name: string): boolean {
  return nameKey(name) === nameKey(state.me);
}

/** Names listed in a notice before "and N more": a big room's list would fill the screen. */
const LISTED_NAMES = 50;

function listNames(names: readonly string[]): string {
  if (names.length === 0) return "nobody";
  const shown = names.slice(0, LISTED_NAMES).join(", ");
  return names.length > LISTED_NAMES ? `${shown} and ${names.length - LISTED_NAMES} more` : shown;
}

/** The oldest of my pending messages in `w` with this text: what a server echo confirms. */
function pendingEcho(w: Window, text: string, action: boolean): ChatEntry | null {
  for (const e of w.entries) {
    if (e.kind === "chat" && e.mine && e.delivery === "pending" && e.text === text && e.action === action) {
      return e;
    }
  }
  return null;
}

function findSent(w: Window, id: number): ChatEntry | null {
  for (let i = w.entries.length - 1; i >= 0; i--) {
    const e = w.entries[i];
    if (e.kind === "chat" && e.id === id) return e;
  }
  return null;
}

/** Applies one ChatClient event. */
export function onEvent(state: TuiState, e: ClientEvent, now: number): Outcome {
  switch (e.type) {
    case "status":
      switch (e.state) {
        case "connecting":
          state.connection = { state: "connecting" };
          return {};
        case "connected":
          state.connection = { state: "connected" };
          return {};
        case "reconnecting":
          if (state.connection.state !== "reconnecting") {
            notify(state, `connection lost${e.reason ? `: ${e.reason}` : ""}; reconnecting`, now, "error");
          }
          state.connection = {
            state: "reconnecting",
            attempt: e.attempt ?? 1,
            of: e.of ?? 0,
            retryAt: now + (e.delayMs ?? 0),
            reason: e.reason ?? "",
          };
          return {};
        case "disconnected":
          if (e.reason === "quit") return {};
          state.connection = { state: "offline", reason: e.reason ?? "" };
          notify(state, `disconnected from ${e.server}${e.reason ? `: ${e.reason}` : ""}`, now, "error");
          return {};
      }
      return {};
    case "welcome": {
      state.me = e.name;
      state.connection = { state: "connected" };
      for (const w of state.windows) w.joined = e.rooms.includes(w.room);
      for (const room of e.rooms) windowFor(state, room);
      const first = state.windows.find((w) => w.room === e.room)!;
      first.members = [...e.online];
      if (e.reconnected) {
        const rooms = e.rooms.map((r) => `#${r}`).join(", ");
        for (const w of state.windows) {
          if (w.joined) notify(state, `reconnected to ${e.server}; rejoined ${rooms}`, now, "info", w);
        }
        state.notice = { text: `reconnected, rejoined ${rooms}`, until: now + NOTICE_MS };
      } else {
        notify(
          state,
          `connected to ${e.server} as ${e.name}; in #${e.room}: ${listNames(e.online)}`,
          now,
          "info",
          first,
        );
      }
      return {};
    }
    case "members": {
      const existed = state.windows.some((w) => w.room === e.room && w.joined);
      const w = windowFor(state, e.room);
      w.joined = true;
      w.members = [...e.online];
      if (state.whoAsked.delete(e.room)) {
        notify(state, `online in #${e.room} (${e.online.length}): ${listNames(e.online)}`, now);
      } else if (!existed) {
        notify(
          state,
          `you joined #${e.room}; online (${e.online.length}): ${listNames(e.online)}`,
          now,
          "info",
          w,
        );
      }
      if (state.switchTo === e.room) {
        state.switchTo = null;
        showWindow(state, state.windows.indexOf(w));
      }
      return {};
    }
    case "presence": {
      if (e.event === "nick" || e.event === "away") {
        const w = state.windows.find((x) => x.room === e.room);
        if (e.event === "nick") {
          for (const x of state.windows) x.members = x.members.map((n) => (n === e.name ? e.text : n));
          if (isMe(state, e.name)) state.me = e.text;
        }
        // One notice per user change: the first room that reports it (or the current window).
        const text = e.event === "nick"
          ? `${e.name} is now known as ${e.text}`
          : e.text
          ? `${e.name} is away: ${e.text}`
          : `${e.name} is back`;
        if (
          !w ||
          w ===
            state.windows.find((x) => x.joined && x.members.includes(e.event === "nick" ? e.text : e.name))
        ) {
          notify(state, text, now, "info", w);
        }
        return {};
      }
      const w = state.windows.find((x) => x.room === e.room);
      if (!w) return {};
      const entry: Entry = {
        kind: "presence",
        ts: e.ts,
        event: e.event,
        name: e.name,
        room: e.room,
        reason: e.reason,
        text: e.text,
      };
      if (e.event === "join") {
        if (!w.members.includes(e.name)) w.members.push(e.name);
        addEntry(state, w, entry);
        return {};
      }
      w.members = w.members.filter((n) => n !== e.name);
      if (isMe(state, e.name) && e.reason === "left") {
        closeWindow(state, e.room);
        notify(state, `you left #${e.room}`, now);
        return {};
      }
      addEntry(state, w, entry);
      return {};
    }
    case "direct": {
      const mine = isMe(state, e.from);
      notify(
        state,
        `${mine ? `-> ${e.to}` : `<- ${e.from}`} (private): ${e.action ? `* ${e.from} ` : ""}${e.text}`,
        now,
      );
      // A direct message is meant for you: it rings like a mention.
      return mine ? {} : { bell: true };
    }
    case "message": {
      const w = windowFor(state, e.room);
      const mine = isMe(state, e.from);
      if (mine && !e.history) {
        const sent = pendingEcho(w, e.text, e.action);
        if (sent) {
          replaceEntry(w, sent, { ...sent, delivery: "delivered", ts: e.ts });
          return {};
        }
      }
      const mention = !mine && mentions(e.text, state.me);
      addEntry(state, w, {
        kind: "chat",
        ts: e.ts,
        from: e.from,
        text: e.text,
        action: e.action,
        mine,
        mention,
        history: e.history,
      });
      return mention && !e.history ? { bell: true } : {};
    }
    case "ack": {
      const w = state.sent.get(e.id);
      state.sent.delete(e.id);
      const sent = w && findSent(w, e.id);
      if (w && sent && sent.delivery === "pending") {
        replaceEntry(w, sent, { ...sent, delivery: "delivered", ts: e.ts });
      }
      return {};
    }
    case "error": {
      const w = e.ref !== undefined ? state.sent.get(e.ref) : undefined;
      if (w && e.ref !== undefined) {
        state.sent.delete(e.ref);
        const sent = findSent(w, e.ref);
        if (sent) replaceEntry(w, sent, { ...sent, delivery: "refused", error: `${e.code}: ${e.message}` });
      } else {
        state.switchTo = null;
      }
      notify(
        state,
        `${e.code}: ${e.message}${e.fatal ? " (the server closed the connection)" : ""}`,
        now,
        "error",
      );
      return {};
    }
  }
}
