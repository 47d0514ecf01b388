/**
 * The terminal client's state: one window per room (its entries,
 * members, unread count, read marker and scroll position), the connection
 * status, and the input line. Plain data plus the small helpers that keep
 * its invariants (bounded scrollback, unread counts, the read marker);
 * keys and client events change it in {@linkcode ./view.ts}.
 *
 * @module
 */

import { nameKey } from "../protocol/names.ts";
import type { Completion } from "./complete.ts";
import { type EditorState, EMPTY_EDITOR } from "./editor.ts";
import { type Entry, layoutEntry } from "./entries.ts";
import { historyOf, type HistoryState } from "./history.ts";
import type { Span } from "./style.ts";

/** Entries kept per window: a long day in a busy room, without growing forever. */
export const MAX_SCROLLBACK = 5000;

/** What the client UI needs from ChatClient: narrow, so tests pass a two-line fake. */
export interface ClientPort {
  send(text: string, options: { room: string; action?: boolean }): number;
  join(room: string): void;
  leave(room: string): void;
  who(room: string): void;
}

export type Connection =
  | { state: "connecting" }
  | { state: "connected" }
  | { state: "reconnecting"; attempt: number; of: number; retryAt: number; reason: string }
  | { state: "offline"; reason: string };

export interface Window {
  /** Canonical room name. */
  readonly room: string;
  entries: Entry[];
  /** Who is online in the room, in the order the server listed them. */
  members: string[];
  /** Chat messages that arrived while another window was shown. */
  unread: number;
  /** Of those, how many mention this user. */
  mentions: number;
  /** Index of the first entry not yet seen when the window was last left; the marker goes above it. */
  marker: number | null;
  /** Rows scrolled up from the bottom; 0 follows new messages. */
  scroll: number;
  /** Entries that arrived below the view while scrolled up. */
  below: number;
  /** False after leaving the room (the last window stays, so there is somewhere to type /join). */
  joined: boolean;
}

export interface Size {
  cols: number;
  rows: number;
}

export interface TuiState {
  me: string;
  server: string;
  colour: boolean;
  size: Size;
  connection: Connection;
  /** A short status-line notice ("reconnected, rejoined 2 rooms") and when it expires. */
  notice: { text: string; until: number } | null;
  windows: Window[];
  /** Index into `windows` of the window shown. */
  current: number;
  editor: EditorState;
  history: HistoryState;
  completion: Completion | null;
  /** Rooms asked for with /join and not yet confirmed: the window to show once they are. */
  switchTo: string | null;
  /** Rooms asked about with /who, whose next member list is printed. */
  whoAsked: Set<string>;
  /** Window of each message sent and not yet acknowledged, by ChatClient id. */
  sent: Map<number, Window>;
}

export interface StateOptions {
  me: string;
  server: string;
  rooms: readonly string[];
  colour: boolean;
  size: Size;
  history?: readonly string[];
}

export function createState(o: StateOptions): TuiState {
  return {
    me: o.me,
    server: o.server,
    colour: o.colour,
    size: o.size,
    connection: { state: "connecting" },
    notice: null,
    windows: o.rooms.map(newWindow),
    current: 0,
    editor: EMPTY_EDITOR,
    history: historyOf(o.history ?? []),
    completion: null,
    switchTo: null,
    whoAsked: new Set(),
    sent: new Map(),
  };
}

function newWindow(room: string): Window {
  return {
    room,
    entries: [],
    members: [],
    unread: 0,
    mentions: 0,
    marker: null,
    scroll: 0,
    below: 0,
    joined: true,
  };
}

export function currentWindow(state: TuiState): Window {
  return state.windows[state.current];
}

/** The window of `room`, created (at the end) if there is none. */
export function windowFor(state: TuiState, room: string): Window {
  let w = state.windows.find((x) => x.room === room);
  if (!w) {
    // A window kept only as a place to type in is reused for the next room.
    const idle = state.windows.length === 1 && !state.windows[0].joined ? state.windows[0] : null;
    w = newWindow(room);
    if (idle) state.windows[0] = w;
    else state.windows.push(w);
  }
  return w;
}

/** Rows of the message area: the screen less the status line and the input line. */
export function messageRows(state: TuiState): number {
  return Math.max(0, state.size.rows - 2);
}

const layoutCache = new WeakMap<Entry, { width: number; me: string; rows: Span[][] }>();

/** The rows of `e` at the current width (cached: entries are replaced, never changed in place). */
export function entryRows(state: TuiState, e: Entry): Span[][] {
  const width = state.size.cols;
  const hit = layoutCache.get(e);
  if (hit && hit.width === width && hit.me === state.me) return hit.rows;
  const rows = layoutEntry(e, width, state.me);
  layoutCache.set(e, { width, me: state.me, rows });
  return rows;
}

/** Appends `e` to `w`, keeping the scrollback bounded and a scrolled-up view still. */
export function addEntry(state: TuiState, w: Window, e: Entry): void {
  w.entries.push(e);
  if (w.entries.length > MAX_SCROLLBACK) {
    const drop = w.entries.length - MAX_SCROLLBACK;
    w.entries.splice(0, drop);
    if (w.marker !== null) w.marker = Math.max(0, w.marker - drop);
  }
  const shown = w === currentWindow(state);
  if (w.scroll > 0) {
    w.scroll += entryRows(state, e).length;
    w.below++;
  }
  if (e.kind === "chat" && !e.mine && !e.history && !shown) {
    w.unread++;
    if (e.mention) w.mentions++;
    if (w.marker === null) w.marker = w.entries.length - 1;
  }
}

/** Replaces `old` with `next` in `w` (entries are immutable so layouts can be cached). */
export function replaceEntry(w: Window, old: Entry, next: Entry): void {
  const i = w.entries.lastIndexOf(old);
  if (i >= 0) w.entries[i] = next;
}

/** Adds a client notice to `w` (default: the current window). */
export function notify(
  state: TuiState,
  text: string,
  now: number,
  level: "info" | "error" = "info",
  w?: Window,
) {
  addEntry(state, w ?? currentWindow(state), { kind: "notice", ts: now, text, level });
}

/** Shows window `index`: the one left keeps its place as the read marker; the one shown counts as read. */
export function showWindow(state: TuiState, index: number): boolean {
  if (index < 0 || index >= state.windows.length || index === state.current) return false;
  const left = currentWindow(state);
  left.marker = null;
  state.current = index;
  markRead(currentWindow(state));
  return true;
}

/** The window is on screen: its unread messages count as seen (the marker stays until it is left). */
function markRead(w: Window): void {
  if (w.unread === 0) w.marker = null;
  w.unread = 0;
  w.mentions = 0;
}

/** Removes the window of `room` after leaving it; the last window stays, marked as left. */
export function closeWindow(state: TuiState, room: string): void {
  const i = state.windows.findIndex((w) => w.room === room);
  if (i < 0) return;
  if (state.windows.length === 1) {
    state.windows[0].joined = false;
    state.windows[0].members = [];
    return;
  }
  const wasCurrent = i === state.current;
  state.windows.splice(i, 1);
  if (wasCurrent) {
    state.current = Math.min(i, state.windows.length - 1);
    markRead(currentWindow(state));
  } else if (i < state.current) {
    state.current--;
  }
}

/** Nicknames in `w` for completion: everyone but me, people who spoke recently first. */
export function completionNicks(state: TuiState, w: Window): string[] {
  const me = nameKey(state.me);
  const recent: string[] = [];
  for (let i = w.entries.length - 1; i >= 0 && recent.length < 50; i--) {
    const e = w.entries[i];
    if (e.kind === "chat" && !recent.includes(e.from)) recent.push(e.from);
  }
  const online = new Set(w.members);
  const ordered = [...recent.filter((n) => online.has(n)), ...[...w.members].sort()];
  return [...new Set(ordered)].filter((n) => nameKey(n) !== me);
}
