/**
 * Line mode's own state, kept in step with the client's events: where plain
 * lines go, the rooms they may go to, what /whois and /lastlog answer from
 * (away messages, recent messages), and the user's preferences (who is
 * ignored, where join and leave lines are hidden), with what each event
 * means for the output. Pure.
 *
 * The room list is the front end's own: a command that changes the current
 * room changes it when typed (see line_mode.ts), and the server's answers
 * correct it (a refused join).
 *
 * @module
 */

import { JOIN_REFUSED } from "../client/commands.ts";
import type { ClientEvent, DirectEvent, MessageEvent } from "../client/events.ts";
import { DEFAULT_PREFS, isIgnored, joinsHidden, type Prefs } from "../client/prefs.ts";
import { nameKey } from "../protocol/names.ts";

/** Messages kept per conversation for /lastlog: a long session, without growing forever. */
export const LINE_SCROLLBACK = 1000;

/** Conversations with a person are named "@" and their name; rooms cannot start with it. */
export const DIRECT = "@";

export interface LineView {
  /** A room, or "@" and a person (after /query). */
  current: string;
  /** The rooms joined or being joined, in join order. */
  rooms: string[];
  /** Rooms asked for with /join and not yet confirmed, in the order asked (the server answers in order). */
  joining: string[];
  /** Quiet rooms (too large for presence): their member lists are not kept. */
  quiet: Set<string>;
  me: string;
  myAway: string;
  /** Other people's away messages, by name key. */
  away: Map<string, string>;
  /** Recent messages per conversation (a room, or "@" and a person), oldest first. */
  scrollback: Map<string, Array<MessageEvent | DirectEvent>>;
  prefs: Prefs;
  /** Each room's topic as last heard: a join tells it again on every reconnect, which is not news. */
  topics: Map<string, string>;
  /** Rooms whose topic was asked for with /topic: the answer is shown even when it is not news. */
  topicAsked: Set<string>;
}

/** The view at start: in `rooms`, the first one current. */
export function lineView(rooms: readonly string[], me = "", prefs: Prefs = DEFAULT_PREFS): LineView {
  return {
    current: rooms[0] ?? "",
    rooms: [...rooms],
    joining: [],
    quiet: new Set(),
    me,
    myAway: "",
    away: new Map(),
    scrollback: new Map(),
    prefs,
    topics: new Map(),
    topicAsked: new Set(),
  };
}

/** Takes `room` out of the view; the current room moves to the first one left. */
export function dropRoom(view: LineView, room: string): void {
  view.rooms = view.rooms.filter((r) => r !== room);
  view.joining = view.joining.filter((r) => r !== room);
  if (view.current === room) view.current = view.rooms[0] ?? "";
}

function isMe(view: LineView, name: string): boolean {
  return nameKey(name) === nameKey(view.me);
}

function remember(view: LineView, where: string, e: MessageEvent | DirectEvent): void {
  let list = view.scrollback.get(where);
  if (!list) view.scrollback.set(where, list = []);
  list.push(e);
  if (list.length > LINE_SCROLLBACK) list.splice(0, list.length - LINE_SCROLLBACK);
}

/**
 * Keeps the view in step with what the server says. Returns "joined" for
 * the member list that confirms a /join (plain mode says so in its own
 * words), and "unchanged" for a topic that is no news (plain mode leaves it
 * out; --json prints every event).
 */
export function onEvent(view: LineView, e: ClientEvent): "joined" | "unchanged" | null {
  switch (e.type) {
    case "welcome":
      view.me = e.name;
      view.rooms = [...e.rooms, ...view.joining.filter((r) => !e.rooms.includes(r))];
      if (!view.current.startsWith(DIRECT) && !view.rooms.includes(view.current)) {
        view.current = view.rooms[0];
      }
      if (e.quiet) view.quiet.add(e.room);
      return null;
    case "members": {
      if (e.quiet) view.quiet.add(e.room);
      else view.quiet.delete(e.room);
      // A quiet room's answer has its size instead of a list: a members event all the same.
      const i = view.joining.indexOf(e.room);
      if (i < 0) return null;
      view.joining.splice(i, 1);
      return "joined";
    }
    case "room":
      if (e.quiet) view.quiet.add(e.room);
      else view.quiet.delete(e.room);
      return null;
    case "error":
      if (e.ref !== undefined || !JOIN_REFUSED.has(e.code) || view.joining.length === 0) return null;
      dropRoom(view, view.joining.shift()!);
      return null;
    case "presence":
      onPresence(view, e);
      return null;
    case "topic": {
      const before = view.topics.get(e.room);
      view.topics.set(e.room, e.text);
      const asked = view.topicAsked.delete(e.room);
      return asked || (before === undefined ? e.text !== "" : before !== e.text) ? null : "unchanged";
    }
    case "message":
      if (!isIgnored(view.prefs, e.from) || isMe(view, e.from)) remember(view, e.room, e);
      return null;
    case "direct": {
      const mine = isMe(view, e.from);
      if (!mine && isIgnored(view.prefs, e.from)) return null;
      remember(view, `${DIRECT}${mine ? e.to : e.from}`, e);
      return null;
    }
    default:
      return null;
  }
}

function onPresence(view: LineView, e: ClientEvent & { type: "presence" }): void {
  const key = nameKey(e.name);
  switch (e.event) {
    case "join":
      // A new session starts out present.
      view.away.delete(key);
      return;
    case "away":
      if (isMe(view, e.name)) view.myAway = e.text;
      else if (e.text) view.away.set(key, e.text);
      else view.away.delete(key);
      return;
    case "nick": {
      if (isMe(view, e.name)) view.me = e.text;
      const away = view.away.get(key);
      if (away !== undefined) {
        view.away.delete(key);
        view.away.set(nameKey(e.text), away);
      }
      return;
    }
    case "leave":
      return;
  }
}

/**
 * Whether `e` is shown: not the messages of someone ignored (in every line
 * mode), and not join and leave lines where they are hidden (in plain mode:
 * --json is for programs, which track members by them).
 */
export function shown(view: LineView, e: ClientEvent, json: boolean): boolean {
  switch (e.type) {
    case "message":
    case "direct":
      return isMe(view, e.from) || !isIgnored(view.prefs, e.from);
    case "presence":
      return json || (e.event !== "join" && e.event !== "leave") || !joinsHidden(view.prefs, e.room);
    default:
      return true;
  }
}
