/**
 * The terminal client's state: one window per room and one per person you
 * exchange direct messages with (its entries, members, unread count, read
 * marker and scroll position), the connection status, away messages, and
 * the input line. Plain data plus the small helpers that keep
 * its invariants (bounded scrollback, unread counts, the read marker);
 * keys and client events change it in {@linkcode ./view.ts}.
 *
 * @module
 */

import type { ServerFeature } from "../client/commands.ts";
import type { ListedRoom } from "../client/events.ts";
import { DEFAULT_PREFS, type Prefs } from "../client/prefs.ts";
import type { ModerationAction } from "../protocol/messages.ts";
import { nameKey } from "../protocol/names.ts";
import type { Completion } from "../client/complete.ts";
import { type EditorState, EMPTY_EDITOR } from "./editor.ts";
import { type ChatEntry, type Entry, layoutEntry } from "./entries.ts";
import { historyOf, type HistoryState } from "./history.ts";
import type { Span } from "./style.ts";

/** Entries kept per window: a long day in a busy room, without growing forever. */
export const MAX_SCROLLBACK = 5000;

/** What the client UI needs from ChatClient: narrow, so tests pass a small fake. */
export interface ClientPort {
  /** Queues a message (also while disconnected) and returns its id. */
  send(text: string, options: { room: string; action?: boolean }): number;
  /** Queues a direct message (also while disconnected) and returns its id. */
  msg(to: string, text: string, options?: { action?: boolean }): number;
  join(room: string): void;
  leave(room: string): void;
  who(room: string): void;
  nick(name: string): void;
  away(text: string): void;
  /** Asks for up to `limit` stored messages of `room` older than `before`. */
  history(room: string, before: number, limit: number): void;
  /** The lowest sequence the client passed on in `room` since it started. */
  oldestSeq(room: string): number | undefined;
  /** After the client gave up reconnecting: try again. */
  reconnect(): void;
  /** Registers the current name with `password`. */
  register(password: string): void;
  /** Operators: kick, ban, unban, mute or unmute `target`. */
  moderate(action: ModerationAction, target: string, durationMs: number, reason: string): void;
  /** Lists the server's rooms (answered by rooms events); false when a listing is under way. */
  list(): boolean;
  /** Asks for `room`'s topic, or (with `text`; "" clears it) sets it. */
  topic(room: string, text?: string): void;
  /** Whether the server announced `feature`. */
  supports(feature: ServerFeature): boolean;
  /** The longest message text the server accepts, in UTF-8 bytes: longer texts are sent in parts. */
  readonly maxText: number;
}

/** Window names of direct conversations start with this; room names cannot. */
export const DIRECT_PREFIX = "@";

export type Connection =
  | { state: "connecting" }
  | { state: "connected" }
  | { state: "reconnecting"; attempt: number; of: number; retryAt: number; reason: string }
  | { state: "offline"; reason: string };

export interface Window {
  /** Canonical room name, or "@" and the other person's name for direct messages (renamed with them). */
  room: string;
  entries: Entry[];
  /** Who is online in the room, in the order the server listed them. */
  members: string[];
  /** A quiet room (too large for presence): `members` is not kept current, `size` is its last known size. */
  quiet: boolean;
  size: number;
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
  /**
   * Joined with /join and not yet confirmed by the server. The window is shown and typed in at once: the
   * JOIN goes out before what is typed next, and the server handles a connection's frames in order.
   */
  joining: boolean;
  /** Chat entries shown, by the message's sequence number: a copy of one of them from the server is skipped. */
  bySeq: Map<number, ChatEntry>;
  /** The `before` of the first /history asked for: older history messages are put in seq order, not appended. */
  historyBefore: number;
  /** The `before` of the last /history asked for: PgUp does not ask for the same page twice. */
  historyAsked: number;
  /** The room's topic as last heard ("" none), or null before the server said. */
  topic: { text: string; by: string; ts: number } | null;
}

export interface Size {
  cols: number;
  rows: number;
}

export interface TuiState {
  me: string;
  /** The server in use, or being tried (host:port): the status line ends with it. */
  server: string;
  /** True when connections are encrypted: the status line says "(TLS)" after the server. */
  tls: boolean;
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
  completion: Completion<EditorState> | null;
  /** Who is ignored and where join and leave lines are hidden (loaded and saved by the app). */
  prefs: Prefs;
  /** Every room this session has had a window for: what Tab completes after /join. */
  knownRooms: Set<string>;
  /** A line that looked like a command without its slash, refused once: the same line again is sent. */
  unslashed: string | null;
  /** Rooms asked about with /who, whose next member list is printed. */
  whoAsked: Set<string>;
  /** Rooms whose topic was asked for with /topic: the answer is printed even when it is not news. */
  topicAsked: Set<string>;
  /** The rooms of a /list under way, gathered until its last part, or null. */
  listed: ListedRoom[] | null;
  /**
   * A text refused once for being long enough to go as several messages: the same line again is sent,
   * in parts (a paste confirmed).
   */
  longText: string | null;
  /** Window of each message sent and not yet acknowledged, by ChatClient id. */
  sent: Map<number, Window>;
  /** Away messages of other people, by name key; someone not in it is here. */
  away: Map<string, string>;
  /** My own away message; empty when I am here. */
  myAway: string;
  /**
   * The last notice that listed a room's members: the server reports who is away right after a member
   * list, so the notice is rewritten as those reports arrive.
   */
  memberList: { w: Window; room: string; entry: Entry; prefix: string; names: string[] } | null;
}

export interface StateOptions {
  me: string;
  server: string;
  tls?: boolean;
  rooms: readonly string[];
  colour: boolean;
  size: Size;
  history?: readonly string[];
  prefs?: Prefs;
}

export function createState(o: StateOptions): TuiState {
  return {
    me: o.me,
    server: o.server,
    tls: o.tls ?? false,
    colour: o.colour,
    size: o.size,
    connection: { state: "connecting" },
    notice: null,
    windows: o.rooms.map(newWindow),
    current: 0,
    editor: EMPTY_EDITOR,
    history: historyOf(o.history ?? []),
    completion: null,
    prefs: o.prefs ?? DEFAULT_PREFS,
    knownRooms: new Set(o.rooms),
    unslashed: null,
    whoAsked: new Set(),
    topicAsked: new Set(),
    listed: null,
    longText: null,
    sent: new Map(),
    away: new Map(),
    myAway: "",
    memberList: null,
  };
}

function newWindow(room: string): Window {
  return {
    room,
    entries: [],
    members: [],
    quiet: false,
    size: 0,
    unread: 0,
    mentions: 0,
    marker: null,
    scroll: 0,
    below: 0,
    joined: true,
    joining: false,
    bySeq: new Map(),
    historyBefore: 0,
    historyAsked: 0,
    topic: null,
  };
}

/** The other person of a direct-message window, or null for a room. */
export function directPeer(w: Window): string | null {
  return w.room.startsWith(DIRECT_PREFIX) ? w.room.slice(DIRECT_PREFIX.length) : null;
}

/** The direct-message window with `peer` (names compared case-insensitively), or undefined. */
export function findDirect(state: TuiState, peer: string): Window | undefined {
  const key = nameKey(peer);
  return state.windows.find((w) => {
    const p = directPeer(w);
    return p !== null && nameKey(p) === key;
  });
}

/** The direct-message window with `peer`, created at the end (not shown) if there is none. */
export function directWindow(state: TuiState, peer: string): Window {
  let w = findDirect(state, peer);
  if (!w) {
    w = newWindow(DIRECT_PREFIX + peer);
    state.windows.push(w);
  }
  return w;
}

/** A room joined, or a stored conversation (its messages are numbered): the server keeps older messages. */
export function hasHistory(w: Window): boolean {
  return directPeer(w) === null ? w.joined : w.bySeq.size > 0;
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
    state.knownRooms.add(room);
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

/** Records that `e` shows message `seq` of the window's room. */
function index(w: Window, e: Entry): void {
  if (e.kind !== "chat" || e.seq === undefined) return;
  w.bySeq.set(e.seq, e);
}

function unindex(w: Window, e: Entry): void {
  if (e.kind === "chat" && e.seq !== undefined && w.bySeq.get(e.seq) === e) w.bySeq.delete(e.seq);
}

/** Forgets which sequence numbers are shown: they belonged to a store the server no longer has. */
export function forgetSeqs(w: Window): void {
  w.bySeq.clear();
}

/** Drops the oldest entries beyond MAX_SCROLLBACK. */
function trim(w: Window): void {
  if (w.entries.length <= MAX_SCROLLBACK) return;
  const drop = w.entries.length - MAX_SCROLLBACK;
  for (const e of w.entries.splice(0, drop)) unindex(w, e);
  if (w.marker !== null) w.marker = Math.max(0, w.marker - drop);
}

/** Appends `e` to `w`, keeping the scrollback bounded and a scrolled-up view still. */
export function addEntry(state: TuiState, w: Window, e: Entry): void {
  w.entries.push(e);
  index(w, e);
  trim(w);
  const shown = w === currentWindow(state);
  if (w.scroll > 0) {
    w.scroll += entryRows(state, e).length;
    w.below++;
  }
  if (e.kind === "chat" && !e.mine && !e.history && !e.earlier && !shown) {
    w.unread++;
    // A direct message is addressed to you: it counts like a mention.
    if (e.mention || directPeer(w) !== null) w.mentions++;
    if (w.marker === null) w.marker = w.entries.length - 1;
  }
}

/**
 * Puts an older message `e` (an answer to /history) where its sequence number
 * belongs: before the first shown message with a higher one. Rows added above
 * the view leave a scrolled-up view where it is, since scrolling counts rows
 * from the bottom.
 */
export function insertBySeq(state: TuiState, w: Window, e: ChatEntry & { seq: number }): void {
  const at = w.entries.findIndex((x) =>
    x.kind === "chat" && x.seq !== undefined && x.seq > e.seq && w.bySeq.get(x.seq) === x
  );
  if (at < 0) {
    addEntry(state, w, e);
    return;
  }
  // A full scrollback has no room above: what would be inserted is what trimming drops first.
  if (w.entries.length >= MAX_SCROLLBACK) return;
  w.entries.splice(at, 0, e);
  index(w, e);
  if (w.marker !== null && w.marker >= at) w.marker++;
}

/** Replaces `old` with `next` in `w` (entries are immutable so layouts can be cached). */
export function replaceEntry(w: Window, old: Entry, next: Entry): void {
  const i = w.entries.lastIndexOf(old);
  if (i < 0) return;
  unindex(w, old);
  w.entries[i] = next;
  index(w, next);
}

/** Removes `e` from `w` (a pending copy of a message the server has shown already). */
export function removeEntry(state: TuiState, w: Window, e: Entry): void {
  const i = w.entries.lastIndexOf(e);
  if (i < 0) return;
  // Below a scrolled-up view, the rows it took no longer push the view up.
  const rows = entryRows(state, e).length;
  w.entries.splice(i, 1);
  unindex(w, e);
  if (w.marker !== null && w.marker > i) w.marker--;
  if (w.scroll > 0) w.scroll = Math.max(0, w.scroll - rows);
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
    state.windows[0].quiet = false;
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
  const peer = directPeer(w);
  if (peer !== null) return nameKey(peer) === me ? [] : [peer];
  const recent: string[] = [];
  for (let i = w.entries.length - 1; i >= 0 && recent.length < 50; i--) {
    const e = w.entries[i];
    if (e.kind === "chat" && !recent.includes(e.from)) recent.push(e.from);
  }
  const online = new Set(w.members);
  const ordered = [...recent.filter((n) => online.has(n)), ...[...w.members].sort()];
  return [...new Set(ordered)].filter((n) => nameKey(n) !== me);
}

/** Everyone the client knows of, for completing a /msg recipient: this window's people first. */
export function allNicks(state: TuiState, w: Window): string[] {
  const me = nameKey(state.me);
  const names = [...completionNicks(state, w)];
  for (const x of state.windows) {
    const peer = directPeer(x);
    for (const n of peer !== null ? [peer] : [...x.members].sort()) {
      if (nameKey(n) !== me && !names.some((m) => nameKey(m) === nameKey(n))) names.push(n);
    }
  }
  return names;
}

/** The oldest sequence number shown in `w`, or undefined. */
export function oldestShown(w: Window): number | undefined {
  let oldest: number | undefined;
  for (const seq of w.bySeq.keys()) if (oldest === undefined || seq < oldest) oldest = seq;
  return oldest;
}

/** How many are in a room window: the list's length, or a quiet room's reported size. */
export function onlineCount(w: Window): string {
  return w.quiet ? `${w.size} members, quiet` : `${w.members.length} online`;
}
