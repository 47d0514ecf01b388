/**
 * The terminal client's behaviour, without a terminal: {@linkcode onKey}
 * applies a key press and {@linkcode onEvent} a ChatClient event to the
 * state, and each returns what the caller must do that the state cannot
 * (ring the bell, persist a history line, quit). Tests drive it with keys
 * and events and compare the rendered text.
 *
 * @module
 */

import type {
  ClientEvent,
  DirectEvent,
  ListedRoom,
  MembersEvent,
  MessageEvent,
  PresenceEvent,
  RoomsEvent,
  TopicEvent,
} from "../client/events.ts";
import { nameKey } from "../protocol/names.ts";
import { argumentKind, commandNames, HISTORY_PAGE, JOIN_REFUSED } from "../client/commands.ts";
import { requestHistory, runLine } from "./commands.ts";
import { complete } from "../client/complete.ts";
import { cleanInput, editKey, editorWith, EMPTY_EDITOR, insert } from "./editor.ts";
import type { ChatEntry, Entry } from "./entries.ts";
import { mentions } from "../client/mention.ts";
import { isIgnored, joinsHidden, type Prefs } from "../client/prefs.ts";
import { historyAdd, historyDown, historyUp, holdsSecret } from "./history.ts";
import type { Key } from "./keys.ts";
import {
  addEntry,
  allNicks,
  type ClientPort,
  closeWindow,
  completionNicks,
  currentWindow,
  directPeer,
  directWindow,
  entryRows,
  findDirect,
  forgetSeqs,
  hasHistory,
  insertBySeq,
  messageRows,
  notify,
  oldestShown,
  removeEntry,
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
  /** The user's preferences changed (/ignore, /joins): keep them on disk. */
  prefs?: Prefs;
}

/**
 * The characters that make an Alt key after ESC: Alt-0..9 show a window, and the editor's Alt-B, Alt-F
 * and Alt-D. The key decoder reads ESC and any other character as Escape and then that character, so a
 * quick Escape and "/" keeps its slash.
 */
export const ALT_KEYS: ReadonlySet<string> = new Set([..."0123456789", ..."bfd"]);

/** How long the status line shows a notice such as "reconnected". */
export const NOTICE_MS = 10_000;

/** Applies one key press. */
export function onKey(state: TuiState, key: Key, client: ClientPort, now: number): Outcome {
  if (key.kind === "key" && key.name === "tab" && !key.ctrl && !key.alt) {
    const w = currentWindow(state);
    const before = state.editor.text.slice(0, state.editor.cursor);
    const arg = argumentKind(before.slice(0, before.search(/\S*$/)));
    const rooms = [...state.knownRooms].sort();
    const peers = state.windows.flatMap((x) => directPeer(x) ?? []).map((p) => `@${p}`);
    // After /join, /who and the like: rooms; after /switch or /leave also people's windows; after /msg,
    // /query, /kick: anyone we know of, not only someone in this room.
    const words = arg === "room"
      ? rooms
      : arg === "target"
      ? [...rooms, ...peers]
      : arg === "name"
      ? allNicks(state, w)
      : completionNicks(state, w);
    const c = complete(
      state.editor,
      state.completion,
      { commands: commandNames(), nicks: words, rooms },
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
      const w = currentWindow(state);
      const before = w.scroll;
      scrollBy(state, w, (name === "pageup" ? 1 : -1) * Math.max(1, messageRows(state) - 1));
      if (name === "pageup" && w.scroll === before) fetchOlder(state, client, w, now);
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

/**
 * PgUp at the top of a room's scrollback asks the server for the page before
 * it, once per oldest message shown (holding PgUp does not flood the server).
 */
function fetchOlder(state: TuiState, client: ClientPort, w: Window, now: number): void {
  if (state.connection.state !== "connected" || !hasHistory(w)) return;
  const oldest = oldestShown(w);
  if (oldest === undefined || oldest <= 1 || w.historyAsked === oldest) return;
  requestHistory(state, client, w, HISTORY_PAGE, now);
}

function submit(state: TuiState, client: ClientPort, now: number): Outcome {
  const line = state.editor.text;
  if (line.trim() === "") {
    // Offline or waiting for the next attempt, Enter on an empty line is the quickest way to try now.
    if (state.connection.state === "offline" || state.connection.state === "reconnecting") client.reconnect();
    return {};
  }
  const secret = holdsSecret(line);
  if (!secret) state.history = historyAdd(state.history, line);
  const result = runLine({ state, client, now }, line);
  if (result.kind !== "keep") state.editor = EMPTY_EDITOR;
  const out: Outcome = secret ? {} : { submitted: line };
  if (result.kind === "quit") out.quit = { reason: result.reason, code: 0 };
  if (result.kind === "done" && result.savePrefs) out.prefs = state.prefs;
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

/** A member list for a notice, each away member with their message: "alice, bob (away: lunch)". */
function listNames(state: TuiState, names: readonly string[]): string {
  if (names.length === 0) return "nobody";
  const shown = names.slice(0, LISTED_NAMES).map((n) => {
    const away = isMe(state, n) ? state.myAway : state.away.get(nameKey(n));
    return away ? `${n} (away: ${away})` : n;
  }).join(", ");
  return names.length > LISTED_NAMES ? `${shown} and ${names.length - LISTED_NAMES} more` : shown;
}

/** Adds a notice listing `names` of `room`, remembered so away reports that follow can update it. */
/** What a quiet room leaves out. */
const QUIET = "a quiet room, joins and leaves are not shown";

function quietText(w: Window): string {
  return `${w.size} members (${QUIET})`;
}

/** Takes a welcome's or members event's word on whether the room is quiet. */
function setQuiet(w: Window, e: { online: string[]; members?: number; quiet?: true }): void {
  w.quiet = e.quiet === true;
  w.size = e.members ?? e.online.length;
}

function memberNotice(
  state: TuiState,
  w: Window,
  room: string,
  prefix: string,
  names: string[],
  now: number,
) {
  notify(state, prefix + listNames(state, names), now, "info", w);
  const entry = w.entries[w.entries.length - 1];
  state.memberList = { w, room, entry, prefix, names: [...names] };
}

/** Rewrites the last member list after an away report for its room. */
function refreshMemberNotice(state: TuiState, room: string): void {
  const m = state.memberList;
  if (!m || m.room !== room || m.entry.kind !== "notice") return;
  const next = { ...m.entry, text: m.prefix + listNames(state, m.names) };
  replaceEntry(m.w, m.entry, next);
  m.entry = next;
}

function findSent(w: Window, id: number): ChatEntry | null {
  for (let i = w.entries.length - 1; i >= 0; i--) {
    const e = w.entries[i];
    if (e.kind === "chat" && e.id === id) return e;
  }
  return null;
}

/** The oldest of my pending direct messages in `w` with this text: what the server's copy confirms. */
function pendingDirect(w: Window, text: string, action: boolean): ChatEntry | null {
  for (const e of w.entries) {
    if (e.kind === "chat" && e.mine && e.delivery === "pending" && e.text === text && e.action === action) {
      return e;
    }
  }
  return null;
}

/** The same message: the sequence number alone is not proof, since a reset server numbers from 1 again. */
function sameMessage(shown: ChatEntry, m: { ts: number; from: string }): boolean {
  return shown.ts === m.ts && nameKey(shown.from) === nameKey(m.from);
}

/** Shows the transcript of earlier sessions at the top of `w`, marked as earlier. */
export function showEarlier(state: TuiState, w: Window, entries: readonly Entry[]): void {
  for (const e of entries) {
    if (e.kind === "chat" && !e.mine && isIgnored(state.prefs, e.from)) continue;
    addEntry(state, w, e);
  }
}

/**
 * Applies one ChatClient event. `client` is for the follow-ups an event calls
 * for (saying again after a reconnect that I am away, which the server's new
 * session does not know).
 */
export function onEvent(
  state: TuiState,
  e: ClientEvent,
  now: number,
  client?: Pick<ClientPort, "away">,
): Outcome {
  switch (e.type) {
    case "status": {
      const was = state.connection.state;
      // With several servers (a cluster's nodes) the one in use, or being tried, changes: the status line follows.
      state.server = e.server;
      // A notice such as "reconnected, rejoined #lobby" is about the connection that just ended.
      if (e.state !== "connected") state.notice = null;
      switch (e.state) {
        case "connecting":
          // A reconnect the user asked for: it starts at once, and nothing was lost.
          state.connection = { state: "connecting" };
          return {};
        case "connected":
          state.connection = { state: "connected" };
          return {};
        case "reconnecting":
          if (was === "connected") {
            notify(state, `connection lost${e.reason ? `: ${e.reason}` : ""}; reconnecting`, now, "error");
          } else if (was === "connecting") {
            notify(state, `cannot reconnect${e.reason ? `: ${e.reason}` : ""}; trying again`, now, "error");
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
          notify(
            state,
            `disconnected from ${e.server}${e.reason ? `: ${e.reason}` : ""}; ` +
              "Enter on an empty line or /reconnect tries again, /quit exits",
            now,
            "error",
          );
          return {};
      }
      return {};
    }
    case "welcome": {
      state.me = e.name;
      state.server = e.server;
      state.connection = { state: "connected" };
      for (const w of state.windows) {
        if (directPeer(w) !== null) continue;
        w.joined = e.rooms.includes(w.room);
        // A join lost with the old connection is not coming: the window shows as left, to /join again.
        if (!w.joined) w.joining = false;
      }
      for (const room of e.rooms) windowFor(state, room);
      const first = state.windows.find((w) => w.room === e.room)!;
      first.members = [...e.online];
      setQuiet(first, e);
      if (e.reconnected) {
        const rooms = e.rooms.map((r) => `#${r}`).join(", ");
        for (const w of state.windows) {
          if (w.joined && directPeer(w) === null) {
            notify(state, `reconnected to ${e.server}; rejoined ${rooms}`, now, "info", w);
          }
        }
        state.notice = { text: `reconnected, rejoined ${rooms}`, until: now + NOTICE_MS };
        // A new session starts out present: tell the server again that I am away.
        if (state.myAway !== "") client?.away(state.myAway);
      } else if (e.quiet) {
        notify(
          state,
          `connected to ${e.server} as ${e.name}; in #${e.room}: ${quietText(first)}`,
          now,
          "info",
          first,
        );
      } else {
        memberNotice(
          state,
          first,
          e.room,
          `connected to ${e.server} as ${e.name}; in #${e.room}: `,
          e.online,
          now,
        );
      }
      return {};
    }
    case "room": {
      const w = state.windows.find((x) => x.room === e.room && x.joined);
      if (!w) return {};
      w.quiet = e.quiet;
      w.size = e.members;
      notify(
        state,
        e.quiet
          ? `#${e.room} has ${e.members} members: ${QUIET}`
          : `#${e.room} is down to ${e.members} members: joins and leaves are shown again`,
        now,
        "info",
        w,
      );
      return {};
    }
    case "members": {
      if (e.listing) return onListing(state, e, now);
      const existed = state.windows.some((w) => w.room === e.room && w.joined && !w.joining);
      const w = windowFor(state, e.room);
      w.joined = true;
      w.joining = false;
      w.members = [...e.online];
      // A list answers /who in a quiet room too: the room stays quiet, with a fresh size.
      if (e.quiet || !w.quiet || !state.whoAsked.has(e.room)) setQuiet(w, e);
      else w.size = e.online.length;
      if (e.quiet && !existed) {
        notify(state, `you joined #${e.room}: ${quietText(w)}`, now, "info", w);
      } else if (state.whoAsked.delete(e.room)) {
        memberNotice(
          state,
          currentWindow(state),
          e.room,
          `online in #${e.room} (${e.online.length}): `,
          e.online,
          now,
        );
      } else if (!existed) {
        memberNotice(state, w, e.room, `you joined #${e.room}; online (${e.online.length}): `, e.online, now);
      }
      return {};
    }
    case "presence":
      switch (e.event) {
        case "nick":
          return onNick(state, e, now);
        case "away":
          return onAway(state, e, now);
        case "join":
        case "leave":
          return onJoinLeave(state, e, now);
      }
      return {};
    case "direct":
      return onDirect(state, e, now);
    case "topic":
      return onTopic(state, e, now);
    case "rooms":
      return onRooms(state, e, now);
    case "message":
      return onMessage(state, e);
    case "notice":
      // Information from the server (message of the day, results of commands): shown where you are.
      notify(state, e.text, now);
      return {};
    case "ack": {
      const w = state.sent.get(e.id);
      state.sent.delete(e.id);
      const sent = w && findSent(w, e.id);
      if (!w || !sent || sent.delivery !== "pending") return {};
      if (e.room === "") {
        // A direct message that is not stored: no sequence number.
        replaceEntry(w, sent, { ...sent, delivery: "delivered", ts: e.ts });
        return {};
      }
      const shown = w.bySeq.get(e.seq);
      if (shown && sameMessage(shown, { ts: e.ts, from: sent.from })) {
        // The server's copy came first (a resend answered from history): it stands for this one.
        removeEntry(state, w, sent);
        return {};
      }
      if (shown) forgetSeqs(w);
      // The ACK comes before the server's copy of the message: (room, seq) now identifies that copy.
      replaceEntry(w, sent, { ...sent, delivery: "delivered", ts: e.ts, seq: e.seq });
      return {};
    }
    case "error": {
      const w = e.ref !== undefined ? state.sent.get(e.ref) : undefined;
      if (w && e.ref !== undefined) {
        state.sent.delete(e.ref);
        const sent = findSent(w, e.ref);
        if (sent) replaceEntry(w, sent, { ...sent, delivery: "refused", error: `${e.code}: ${e.message}` });
      } else if (JOIN_REFUSED.has(e.code)) {
        // The server answers in order: the oldest join still on its way is the one refused.
        const w = state.windows.find((x) => x.joining);
        if (w) {
          w.joining = false;
          w.joined = false;
          notify(state, `could not join #${w.room}: ${e.code}: ${e.message}`, now, "error", w);
          return {};
        }
      }
      notify(
        state,
        `${e.code}: ${e.message}${e.fatal ? " (the server closed the connection)" : ""}`,
        now,
        "error",
      );
      return {};
    }
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** The answer to /who for a room this client is not in: said where you are, no window made for it. */
function onListing(state: TuiState, e: MembersEvent, now: number): Outcome {
  state.whoAsked.delete(e.room);
  if (e.quiet) {
    notify(
      state,
      `#${e.room} has ${e.members} members (a quiet room: its names are listed to members only)`,
      now,
    );
    return {};
  }
  memberNotice(
    state,
    currentWindow(state),
    e.room,
    `in #${e.room} (${e.online.length}; you are not in it): `,
    e.online,
    now,
  );
  return {};
}

/** "2026-01-02 09:30": when a topic was set. */
function dateTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${
    two(d.getMinutes())
  }`;
}

/** A topic as it stands: "topic of #lobby: be kind (set by alice, 2026-01-02 09:30)". */
function topicText(e: TopicEvent): string {
  if (e.text === "") return `#${e.room} has no topic`;
  const by = e.by ? ` (set by ${e.by}${e.ts ? `, ${dateTime(e.ts)}` : ""})` : "";
  return `topic of #${e.room}: ${e.text}${by}`;
}

/**
 * A room's topic: kept for the status line; shown when it is news (the first
 * one heard, or a change) or was asked for with /topic. A join tells it
 * again on every reconnect: the same topic again says nothing.
 */
function onTopic(state: TuiState, e: TopicEvent, now: number): Outcome {
  const w = state.windows.find((x) => x.room === e.room && directPeer(x) === null);
  const asked = state.topicAsked.delete(e.room);
  const before = w?.topic ?? null;
  if (w) w.topic = { text: e.text, by: e.by, ts: e.ts };
  const changed = before === null
    ? e.text !== ""
    : before.text !== e.text || before.by !== e.by || before.ts !== e.ts;
  if (!asked && !changed) return {};
  const text = asked || before === null
    ? topicText(e)
    : e.text === ""
    ? (e.by ? `${e.by} cleared the topic of #${e.room}` : `the topic of #${e.room} was cleared`)
    : `${e.by} set the topic of #${e.room}: ${e.text}`;
  notify(state, text, now, "info", w);
  return {};
}

/** Rooms of /list shown at most in one notice: the rest are counted. */
const LISTED_ROOMS = 500;

function listedRoom(r: ListedRoom): string {
  const size = r.quiet ? `${r.members} members, quiet` : `${r.members}`;
  return `  #${r.room} (${size})${r.topic ? `: ${r.topic}` : ""}`;
}

/** A part of /list: gathered until the last, then shown as one notice, biggest rooms first. */
function onRooms(state: TuiState, e: RoomsEvent, now: number): Outcome {
  const listed = [...state.listed ?? [], ...e.rooms];
  if (e.more) {
    state.listed = listed;
    return {};
  }
  state.listed = null;
  if (listed.length === 0) {
    notify(state, "no rooms: nobody is in any room you could join", now);
    return {};
  }
  const rows = [...listed].sort((a, b) => b.members - a.members || (a.room < b.room ? -1 : 1));
  const more = rows.length > LISTED_ROOMS ? [`  and ${rows.length - LISTED_ROOMS} more`] : [];
  const stopped = e.truncated ? ["  (the list stops here: the server has more rooms)"] : [];
  notify(
    state,
    [
      `${listed.length} room(s), by size:`,
      ...rows.slice(0, LISTED_ROOMS).map(listedRoom),
      ...more,
      ...stopped,
    ]
      .join("\n"),
    now,
  );
  return {};
}

function onMessage(state: TuiState, e: MessageEvent): Outcome {
  if (isIgnored(state.prefs, e.from) && !isMe(state, e.from)) return {};
  const w = windowFor(state, e.room);
  const shown = w.bySeq.get(e.seq);
  if (shown && sameMessage(shown, e)) return {};
  // A number already used by another message: the server's messages were reset, and the numbers shown so
  // far belong to a store it no longer has.
  if (shown) forgetSeqs(w);
  const mine = isMe(state, e.from);
  const mention = !mine && mentions(e.text, state.me);
  const entry: ChatEntry & { seq: number } = {
    kind: "chat",
    ts: e.ts,
    from: e.from,
    text: e.text,
    action: e.action,
    mine,
    mention,
    history: e.history,
    seq: e.seq,
  };
  if (e.history && e.seq < w.historyBefore) {
    insertBySeq(state, w, entry);
    return {};
  }
  addEntry(state, w, entry);
  return mention && !e.history ? { bell: true } : {};
}

function onDirect(state: TuiState, e: DirectEvent, now: number): Outcome {
  const mine = isMe(state, e.from);
  if (!mine && isIgnored(state.prefs, e.from)) return {};
  const peer = mine ? e.to : e.from;
  const existed = findDirect(state, peer) !== undefined;
  const w = directWindow(state, peer);
  const entry: ChatEntry = {
    kind: "chat",
    ts: e.ts,
    from: e.from,
    text: e.text,
    action: e.action,
    mine,
    mention: !mine && mentions(e.text, state.me),
    history: false,
  };
  if (e.seq !== undefined) {
    // A stored conversation: numbered like a room, so a copy of what is shown (the transcript of an earlier
    // run, the own message its ACK numbered) is recognised by its seq.
    const shown = w.bySeq.get(e.seq);
    if (shown && sameMessage(shown, e)) return {};
    if (shown) forgetSeqs(w);
    if (e.history && e.seq < w.historyBefore) {
      // An older page asked for with /history or PgUp: in order, above what is shown.
      insertBySeq(state, w, { ...entry, history: true, seq: e.seq });
      return {};
    }
    // Anything else is news, fetched or not: messages sent while this client was away are read now.
    addEntry(state, w, { ...entry, seq: e.seq });
  } else {
    if (mine) {
      // The server's copy of a direct message carries no id (the ACK that has it comes after), so it is
      // matched by text to the oldest pending one; being delivered is what it confirms.
      const sent = pendingDirect(w, e.text, e.action);
      if (sent) {
        replaceEntry(w, sent, { ...sent, delivery: "delivered", ts: e.ts });
        return {};
      }
    }
    addEntry(state, w, entry);
  }
  if (mine) return {};
  if (!existed && w !== currentWindow(state)) {
    notify(
      state,
      `direct message from ${e.from} in window ${state.windows.indexOf(w) + 1} ` +
        `(Alt-${state.windows.indexOf(w) + 1} or /switch @${e.from})`,
      now,
    );
  }
  // A direct message is meant for you: it rings like a mention.
  return { bell: true };
}

function onJoinLeave(state: TuiState, e: PresenceEvent, now: number): Outcome {
  const w = state.windows.find((x) => x.room === e.room);
  if (!w) return {};
  const entry: Entry = {
    kind: "presence",
    ts: e.ts,
    event: e.event as "join" | "leave",
    name: e.name,
    room: e.room,
    reason: e.reason,
    text: e.text,
  };
  // /joins hide: the member list stays current, the line is not shown.
  const shown = !joinsHidden(state.prefs, e.room);
  if (e.event === "join") {
    // A new session starts out present: whatever away message we knew was the old one's.
    state.away.delete(nameKey(e.name));
    if (!w.members.includes(e.name)) w.members.push(e.name);
    if (shown) addEntry(state, w, entry);
    return {};
  }
  w.members = w.members.filter((n) => n !== e.name);
  if (isMe(state, e.name) && e.reason === "left") {
    // Joined again before the leave was confirmed: the window stays for the new join.
    if (w.joining) return {};
    closeWindow(state, e.room);
    notify(state, `you left #${e.room}`, now);
    return {};
  }
  if (shown) addEntry(state, w, entry);
  return {};
}

/** Where a user-wide change (nick, away) reported for `room` is shown: that room's window, or the current one. */
function reportWindow(state: TuiState, room: string): Window | undefined {
  return state.windows.find((x) => x.room === room && directPeer(x) === null);
}

// Nick and away changes come once per room the user shares with us: the first report changes what we know
// and is shown; the others find nothing left to change and say nothing.

function onNick(state: TuiState, e: PresenceEvent, now: number): Outcome {
  const me = isMe(state, e.name);
  const dm = me ? undefined : findDirect(state, e.name);
  const known = me || dm !== undefined || state.windows.some((x) => x.members.includes(e.name));
  if (!known) return {};
  for (const x of state.windows) x.members = x.members.map((n) => (n === e.name ? e.text : n));
  if (me) state.me = e.text;
  const away = state.away.get(nameKey(e.name));
  if (away !== undefined) {
    state.away.delete(nameKey(e.name));
    state.away.set(nameKey(e.text), away);
  }
  if (me) {
    notify(state, `you are now known as ${e.text}`, now);
    return {};
  }
  // The conversation follows the person: "@bob" becomes "@robert".
  if (dm) {
    dm.room = `@${e.text}`;
    notify(state, `${e.name} is now known as ${e.text}`, now, "info", dm);
  }
  const w = reportWindow(state, e.room);
  if (w || !dm) notify(state, `${e.name} is now known as ${e.text}`, now, "info", w);
  return {};
}

function onAway(state: TuiState, e: PresenceEvent, now: number): Outcome {
  const me = isMe(state, e.name);
  const key = nameKey(e.name);
  const before = me ? state.myAway : state.away.get(key) ?? "";
  if (me) state.myAway = e.text;
  else if (e.text) state.away.set(key, e.text);
  else state.away.delete(key);
  // ts 0: not a change but the status of a member, reported right after a member list.
  if (e.ts === 0) {
    refreshMemberNotice(state, e.room);
    return {};
  }
  const text = me
    ? e.text ? `you are away: ${e.text}` : "you are back"
    : e.text
    ? `${e.name} is away: ${e.text}`
    : `${e.name} is back`;
  if (e.room === "" && !me) {
    // The answer to a direct message to someone away: say it where the conversation is, every time.
    notify(state, text, now, "info", findDirect(state, e.name));
    return {};
  }
  if (before === e.text) return {};
  notify(state, text, now, "info", me ? undefined : reportWindow(state, e.room));
  return {};
}
