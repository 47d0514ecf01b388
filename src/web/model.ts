/**
 * What the browser client shows, as values: its windows (one per room, one
 * per person exchanging direct messages), the lines of each, unread counts
 * and marks, away messages and the connection state. Client events go in
 * ({@linkcode Model.apply}), the DOM is drawn from the result by view.ts.
 * Pure: no DOM, no storage, no clock (times come with the events), so it is
 * tested in Deno by events in, values out.
 *
 * Lines keep text exactly as it came from the wire; the view puts it in the
 * page as text, never as markup.
 *
 * @module
 */

import type { ClientEvent, ListedRoom, StatusEvent } from "../client/events.ts";
import type { PendingSend } from "../client/journal_state.ts";
import { mentions } from "../client/mention.ts";
import { DEFAULT_PREFS, isIgnored, joinsHidden, type Prefs } from "../client/prefs.ts";
import { DIRECT_PREFIX } from "../client/session.ts";
import { JOIN_REFUSED } from "../client/commands.ts";
import { MessageFlags } from "../protocol/messages.ts";
import { nameKey } from "../protocol/names.ts";

/** Lines a window keeps in memory; older ones are dropped (scrolling up fetches them again). */
export const MAX_LINES = 1000;

/** How a message this client sent is doing. */
export type Delivery = "pending" | "delivered" | "refused";

export interface Line {
  /** Unique in its window and stable: `s<seq>` for a room message, `p<id>` for one of ours, `n<k>` else. */
  key: string;
  /** Bumped whenever the line changes, so the view knows to draw it again. */
  rev: number;
  kind: "chat" | "event" | "notice" | "error";
  ts: number;
  from?: string;
  text: string;
  action?: boolean;
  /** Sent by this user. */
  mine?: boolean;
  /** Names this user (someone else's message). */
  mention?: boolean;
  /** A room message's number. */
  seq?: number;
  /** The id this client gave a message it sent. */
  id?: number;
  delivery?: Delivery;
  /** Why the server refused it. */
  error?: string;
}

export interface Win {
  /** `#room`, or `@` and the name key of the person. */
  id: string;
  kind: "room" | "dm";
  /** The room, or the person's name as last seen. */
  target: string;
  lines: Line[];
  /** Messages that arrived while the window was not being looked at. */
  unread: number;
  /** Among them, a mention of this user or a direct message. */
  highlight: boolean;
  /** A quiet room's size (no member list is kept for it), else undefined. */
  quiet?: number;
  /** A room's topic as last heard ("" for none), or undefined before the server said. */
  topic?: string;
  /** Pages of older messages were asked for before this seq: what arrives below it is scrollback. */
  olderBefore?: number;
  /**
   * Just joined: the recent history that follows the member list is context,
   * not news, so it is not counted as unread.
   */
  fresh: boolean;
}

/** A desktop notification the shell may raise (the page decides whether it is looked at). */
export interface Alert {
  window: string;
  title: string;
  body: string;
}

/** The window id of a room. */
export function roomId(room: string): string {
  return `#${room}`;
}

/** The window id of a conversation with `name`. */
export function peerId(name: string): string {
  return `${DIRECT_PREFIX}${nameKey(name)}`;
}

/** The window of a room as the protocol names it: `room`, or `@name` for a conversation. */
export function windowId(room: string): string {
  return room.startsWith(DIRECT_PREFIX) ? peerId(room.slice(DIRECT_PREFIX.length)) : roomId(room);
}

/** The room as the protocol names it of window `w`: the room, or `@name` for a conversation. */
export function protocolRoom(w: Pick<Win, "kind" | "target">): string {
  return w.kind === "room" ? w.target : `${DIRECT_PREFIX}${w.target}`;
}

/** The window (`#room` or `@name`) a pending message belongs to. */
export function outboxWindow(p: PendingSend): string {
  return windowId(p.room);
}

/** What the window list shows for `w`: `#lobby`, `@Bob`. */
export function title(w: Pick<Win, "kind" | "target">): string {
  return w.kind === "room" ? `#${w.target}` : `${DIRECT_PREFIX}${w.target}`;
}

/** The line of a message or direct message from the server. */
function received(
  key: string,
  e: { ts: number; from: string; text: string; action: boolean },
  mine: boolean,
  extra: Partial<Line> = {},
): Line {
  return {
    key,
    rev: 0,
    kind: "chat",
    ts: e.ts,
    from: e.from,
    text: e.text,
    action: e.action,
    ...(mine ? { mine, delivery: "delivered" as const } : {}),
    ...extra,
  };
}

export class Model {
  me: string;
  prefs: Prefs;
  windows: Win[] = [];
  current = "";
  status: StatusEvent | null = null;
  /** Away messages by name key ("" or absent: here). */
  away = new Map<string, string>();
  /** Rooms asked for with /join and not yet answered, oldest first: the answer makes the room current. */
  joining: string[] = [];
  /** Set when something the window list, the member list or the status shows has changed. */
  dirty = true;
  /** Rooms whose topic was asked for with /topic: the answer is shown even when it is not news. */
  topicAsked = new Set<string>();
  /** The rooms of a /list under way, gathered until its last part. */
  #listing: ListedRoom[] = [];
  #serial = 0;

  constructor(me: string, prefs: Prefs = DEFAULT_PREFS) {
    this.me = me;
    this.prefs = prefs;
  }

  /** The window with `id`, if open. */
  get(id: string): Win | undefined {
    return this.windows.find((w) => w.id === id);
  }

  /** The window being looked at. */
  get shown(): Win | undefined {
    return this.get(this.current) ?? this.windows[0];
  }

  /** Opens (or finds) the window `id`; a new one goes after the others of its kind. */
  open(id: string, target: string): Win {
    let w = this.get(id);
    if (w) return w;
    const kind = id.startsWith(DIRECT_PREFIX) ? "dm" : "room";
    w = { id, kind, target, lines: [], unread: 0, highlight: false, fresh: true };
    const at = kind === "room" ? this.windows.filter((x) => x.kind === "room").length : this.windows.length;
    this.windows.splice(at, 0, w);
    if (!this.get(this.current)) this.current = id;
    this.dirty = true;
    return w;
  }

  /** Closes window `id`; the one before it (or the first) becomes current if it was. */
  close(id: string): void {
    const i = this.windows.findIndex((w) => w.id === id);
    if (i < 0) return;
    this.windows.splice(i, 1);
    if (this.current === id) this.current = this.windows[Math.max(0, i - 1)]?.id ?? "";
    this.dirty = true;
  }

  /** Makes `id` the window looked at, and clears its unread count. */
  switchTo(id: string): boolean {
    const w = this.get(id);
    if (!w) return false;
    this.current = id;
    this.seen(w);
    return true;
  }

  /** The user has looked at `w`. */
  seen(w: Win): void {
    if (w.unread === 0 && !w.highlight) return;
    w.unread = 0;
    w.highlight = false;
    this.dirty = true;
  }

  /** A line from the client itself (command output, errors) in the current window. */
  say(text: string, ts: number, level: "notice" | "error" = "notice", where = this.current): void {
    const w = this.get(where) ?? this.shown;
    if (w) this.#append(w, { key: this.#key(), rev: 0, kind: level, ts, text });
  }

  /** A message this user typed, shown as pending until the server acknowledges it. */
  queued(p: PendingSend, ts: number): void {
    const id = outboxWindow(p);
    const w = this.open(id, id.startsWith(DIRECT_PREFIX) ? p.room.slice(DIRECT_PREFIX.length) : p.room);
    if (w.lines.some((l) => l.id === p.id)) return; // restored from the cache already shown, or delivered
    this.#append(w, {
      key: `p${p.id}`,
      rev: 0,
      kind: "chat",
      ts,
      from: this.me,
      text: p.text,
      action: (p.flags & MessageFlags.ACTION) !== 0,
      mine: true,
      id: p.id,
      delivery: "pending",
    });
  }

  /**
   * Applies one client event. `looking` says whether the user can see the
   * page (the tab is shown): what arrives in the current window of a hidden
   * page counts as unread. `now` stamps the lines the client adds itself
   * (errors, notices). Returns the notifications to raise.
   */
  apply(e: ClientEvent, looking: boolean, now: number): Alert[] {
    const alerts: Alert[] = [];
    switch (e.type) {
      case "status":
        this.status = e;
        this.dirty = true;
        break;
      case "welcome": {
        this.me = e.name;
        for (const w of this.windows) if (w.kind === "room") w.fresh = w.lines.length === 0;
        for (const room of e.rooms) this.open(roomId(room), room);
        this.#listed(e.room, e.quiet ? e.members : undefined);
        break;
      }
      case "members":
        // A list of a room this client is not in answers /who (the page says it): no window for it.
        if (!e.listing) this.#listed(e.room, e.quiet ? e.members : undefined);
        else if (e.quiet) {
          this.say(`#${e.room} has ${e.members} members (a quiet room: names for members only)`, now);
        }
        break;
      case "topic":
        this.#topic(e, now);
        break;
      case "rooms":
        this.#rooms(e.rooms, e.more, e.truncated === true, now);
        break;
      case "room": {
        const w = this.get(roomId(e.room));
        if (w) {
          w.quiet = e.quiet ? e.members : undefined;
          this.dirty = true;
        }
        break;
      }
      case "message": {
        const mine = nameKey(e.from) === nameKey(this.me);
        if (!mine && isIgnored(this.prefs, e.from)) break;
        const w = this.open(roomId(e.room), e.room);
        const mention = !mine && mentions(e.text, this.me);
        const added = this.#message(
          w,
          received(`s${e.seq}`, e, mine, { seq: e.seq, ...(mention ? { mention } : {}) }),
        );
        if (!e.history) w.fresh = false;
        if (added === "end" && !mine && !(e.history && w.fresh)) {
          this.#news(w, mention, looking, alerts, `${e.from} in #${e.room}`, e.text);
        }
        break;
      }
      case "direct": {
        const mine = nameKey(e.from) === nameKey(this.me);
        if (!mine && isIgnored(this.prefs, e.from)) break;
        const peer = mine ? e.to : e.from;
        const w = this.open(peerId(peer), peer);
        if (!mine) w.target = peer;
        if (e.seq !== undefined) {
          // A stored conversation: numbered like a room, so a copy of a shown message (our own, which its ACK
          // numbered; one fetched twice) is skipped, and messages missed while away are news; a page of
          // older ones (scrolling up, /history) is not.
          const added = this.#message(w, received(`s${e.seq}`, e, mine, { seq: e.seq }));
          const older = e.history === true && e.seq < (w.olderBefore ?? 0);
          if (added && !mine && !older) {
            this.#news(w, true, looking, alerts, `${e.from} (direct message)`, e.text);
          }
          break;
        }
        const waiting = mine
          ? w.lines.find((l) => l.delivery === "pending" && l.text === e.text && l.mine)
          : undefined;
        if (waiting) {
          this.#update(w, waiting, { delivery: "delivered", ts: e.ts });
          break;
        }
        this.#append(w, received(this.#key(), e, mine));
        if (!mine) this.#news(w, true, looking, alerts, `${e.from} (direct message)`, e.text);
        break;
      }
      case "ack": {
        const found = this.#byId(e.id);
        if (!found) break;
        const [w, line] = found;
        if (e.seq > 0 && w.lines.some((l) => l.seq === e.seq && l !== line)) {
          // Its copy from the server is shown already (fetched after a reconnect, before this ACK).
          this.#remove(w, line);
          const shown = w.lines.find((l) => l.seq === e.seq)!;
          if (shown.id === undefined) shown.id = e.id;
        } else {
          this.#update(w, line, { delivery: "delivered", ts: e.ts, ...(e.seq > 0 ? { seq: e.seq } : {}) });
        }
        break;
      }
      case "error": {
        const found = e.ref !== undefined ? this.#byId(e.ref) : undefined;
        if (found) {
          this.#update(found[0], found[1], { delivery: "refused", error: `${e.code}: ${e.message}` });
          break;
        }
        if (!e.fatal && JOIN_REFUSED.has(e.code)) this.joining.shift();
        this.say(`${e.code}: ${e.message}`, now, "error");
        break;
      }
      case "notice":
        this.say(e.kind === "motd" ? e.text : `${e.kind}: ${e.text}`, now);
        break;
      case "presence":
        this.#presence(e);
        break;
      default: {
        const never: never = e;
        void never;
      }
    }
    return alerts;
  }

  /** The lines worth keeping across a reload: each window's last `n` chat lines. */
  snapshot(n: number): Array<{ id: string; target: string; lines: Line[] }> {
    return this.windows.map((w) => ({
      id: w.id,
      target: w.target,
      lines: w.lines.filter((l) => l.kind === "chat" && l.delivery !== "pending").slice(-n),
    }));
  }

  /** Puts back the windows of a snapshot (before connecting). */
  restore(saved: ReadonlyArray<{ id: string; target: string; lines: Line[] }>): void {
    for (const s of saved) {
      const w = this.open(s.id, s.target);
      w.lines = s.lines.map((l) => ({ ...l, rev: 0 }));
      w.fresh = false;
    }
  }

  /**
   * The server's message store is not the one the shown messages came from
   * (its data was reset): their sequence numbers mean nothing there, and would
   * hide new messages that reuse them. The room windows start over.
   */
  storeReset(now: number): void {
    for (const w of this.windows) {
      if (w.kind !== "room") continue;
      w.lines = w.lines.filter((l) => l.seq === undefined);
      w.fresh = true;
    }
    this.say("the server's message history was reset: earlier messages are gone", now);
  }

  /**
   * The lowest sequence number shown in the window of `room` (as the protocol names it: a room, or `@name`
   * for a stored conversation, whose messages are numbered too): where scrolling up continues. Undefined
   * for a conversation that is not stored.
   */
  oldestSeq(room: string): number | undefined {
    return this.get(windowId(room))?.lines.find((l) => l.seq !== undefined)?.seq;
  }

  /** A page of messages older than `before` was asked for in window `id` (see {@linkcode Win.olderBefore}). */
  olderAsked(id: string, before: number): void {
    const w = this.get(id);
    if (w) w.olderBefore = Math.max(w.olderBefore ?? 0, before);
  }

  #listed(room: string, quiet: number | undefined): void {
    const w = this.open(roomId(room), room);
    w.quiet = quiet;
    const asked = this.joining.indexOf(room);
    if (asked >= 0) {
      this.joining.splice(asked, 1);
      this.switchTo(w.id);
    }
    this.dirty = true;
  }

  /** A room's topic: kept for the title, and said when it is news or was asked for. */
  #topic(e: Extract<ClientEvent, { type: "topic" }>, now: number): void {
    const w = this.get(roomId(e.room));
    const asked = this.topicAsked.delete(e.room);
    const before = w?.topic;
    if (w) w.topic = e.text;
    this.dirty = true;
    const news = before === undefined ? e.text !== "" : before !== e.text;
    if (!asked && !news) return;
    const text = asked || before === undefined
      ? (e.text
        ? `topic of #${e.room}: ${e.text}${e.by ? ` (set by ${e.by})` : ""}`
        : `#${e.room} has no topic`)
      : e.text
      ? `${e.by} set the topic of #${e.room}: ${e.text}`
      : `the topic of #${e.room} was cleared${e.by ? ` by ${e.by}` : ""}`;
    if (w) this.#event(w, e.ts || now, text);
    else this.say(text, now);
  }

  /** A part of /list: gathered, and said as one notice with the last part, biggest rooms first. */
  #rooms(rooms: readonly ListedRoom[], more: boolean, truncated: boolean, now: number): void {
    this.#listing.push(...rooms);
    if (more) return;
    const all = this.#listing.sort((a, b) => b.members - a.members || (a.room < b.room ? -1 : 1));
    this.#listing = [];
    this.say(
      all.length === 0 ? "no rooms: nobody is in any room you could join" : [
        `${all.length} room(s), by size:`,
        ...all.map((r) =>
          `  #${r.room} (${r.quiet ? `${r.members} members, quiet` : r.members})${
            r.topic ? `: ${r.topic}` : ""
          }`
        ),
        ...(truncated ? ["  (the list stops here: the server has more rooms)"] : []),
      ].join("\n"),
      now,
    );
  }

  #presence(e: Extract<ClientEvent, { type: "presence" }>): void {
    const self = nameKey(e.name) === nameKey(this.me);
    const w = e.room ? this.get(roomId(e.room)) : undefined;
    switch (e.event) {
      case "join":
        if (w && !self && !joinsHidden(this.prefs, e.room)) {
          this.#event(w, e.ts, `${e.name} joined #${e.room}`);
        }
        this.dirty = true;
        break;
      case "leave":
        if (self && e.reason === "left") {
          if (w) this.close(w.id);
          break;
        }
        if (w && !joinsHidden(this.prefs, e.room)) {
          const why = [e.reason, e.text].filter((x) => x !== "").join(": ");
          this.#event(w, e.ts, `${e.name} left #${e.room}${why ? ` (${why})` : ""}`);
        }
        this.dirty = true;
        break;
      case "nick": {
        if (self) this.me = e.text;
        const dm = this.get(peerId(e.name));
        if (dm && e.room === "" && !this.get(peerId(e.text))) {
          if (this.current === dm.id) this.current = peerId(e.text);
          dm.id = peerId(e.text);
          dm.target = e.text;
        }
        const away = this.away.get(nameKey(e.name));
        if (away !== undefined) {
          this.away.delete(nameKey(e.name));
          this.away.set(nameKey(e.text), away);
        }
        const where = w ?? this.shown;
        if (where) this.#event(where, e.ts, `${e.name} is now known as ${e.text}`);
        this.dirty = true;
        break;
      }
      case "away": {
        const before = this.away.get(nameKey(e.name)) ?? "";
        if (e.text === "") this.away.delete(nameKey(e.name));
        else this.away.set(nameKey(e.name), e.text);
        this.dirty = true;
        if (e.ts === 0) break; // the status a member list comes with
        const text = e.text ? `${e.name} is away: ${e.text}` : `${e.name} is back`;
        if (e.room === "" && !self) {
          // The server's answer to a direct message to someone away: said in their window every time, known
          // or not (as the terminal client does), since it answers what was just sent.
          const where = this.get(peerId(e.name)) ?? this.shown;
          if (where) this.#event(where, e.ts, text);
          break;
        }
        if (before === e.text) break; // no change
        const where = w ?? this.get(peerId(e.name)) ?? (self ? this.shown : undefined);
        if (where) this.#event(where, e.ts, text);
        break;
      }
    }
  }

  /** Counts a message that arrived in `w`, and asks for a notification if it calls for attention. */
  #news(w: Win, loud: boolean, looking: boolean, alerts: Alert[], title: string, body: string): void {
    const seen = looking && w.id === this.current;
    if (!seen) {
      w.unread++;
      if (loud || w.kind === "dm") w.highlight = true;
      this.dirty = true;
    }
    if ((loud || w.kind === "dm") && !looking) alerts.push({ window: w.id, title, body });
  }

  /** Adds a room message in sequence order; returns where it went, or null when it is shown already. */
  #message(w: Win, line: Line): "end" | "middle" | null {
    const seq = line.seq!;
    // Shown already: fetched twice, or our own message, whose acknowledged line stands for its copy.
    if (w.lines.some((l) => l.seq === seq)) return null;
    const after = w.lines.findIndex((l) => l.delivery === "pending" || (l.seq !== undefined && l.seq > seq));
    if (after < 0 || w.lines[after].delivery === "pending") {
      this.#append(w, line);
      return "end";
    }
    w.lines.splice(after, 0, line);
    this.#trim(w);
    return "middle";
  }

  #event(w: Win, ts: number, text: string): void {
    this.#append(w, { key: this.#key(), rev: 0, kind: "event", ts, text });
  }

  /** Adds `line` after the delivered lines, before those still pending (they stay at the bottom). */
  #append(w: Win, line: Line): void {
    let at = w.lines.length;
    if (line.delivery !== "pending") {
      while (at > 0 && w.lines[at - 1].delivery === "pending") at--;
    }
    w.lines.splice(at, 0, line);
    this.#trim(w);
  }

  #trim(w: Win): void {
    if (w.lines.length > MAX_LINES) w.lines.splice(0, w.lines.length - MAX_LINES);
  }

  #update(w: Win, line: Line, change: Partial<Line>): void {
    const i = w.lines.indexOf(line);
    if (i < 0) return;
    w.lines[i] = { ...line, ...change, rev: line.rev + 1 };
  }

  #remove(w: Win, line: Line): void {
    const i = w.lines.indexOf(line);
    if (i >= 0) w.lines.splice(i, 1);
  }

  #byId(id: number): [Win, Line] | undefined {
    for (const w of this.windows) {
      const line = w.lines.find((l) => l.id === id && l.delivery !== undefined);
      if (line) return [w, line];
    }
    return undefined;
  }

  #key(): string {
    return `n${++this.#serial}`;
  }
}
