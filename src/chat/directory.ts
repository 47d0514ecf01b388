/**
 * What anyone may learn of the rooms, member or not: the list of rooms
 * (LIST, answered page by page in name order), each room's topic (TOPIC,
 * kept in the room settings store, told to joiners and to the members when
 * it changes), and who is in a room the asker is not in (WHO, for clients
 * that list the `who-any` feature). In a cluster the room table holds every
 * node's sessions, so sizes are the cluster's; a topic set on another node
 * arrives as {@linkcode topicChanged}.
 *
 * @module
 */

import {
  checkRoom,
  ErrorCode,
  Feature,
  type List,
  MAX_LIST_PAGE,
  MAX_TOPIC_BYTES,
  type RoomEntry,
  type ServerMessage,
  type Topic,
  type TopicIs,
  utf8Length,
} from "../protocol/mod.ts";
import { type Context, refuse, send } from "./context.ts";
import type { Effect } from "./effects.ts";
import { DEFAULT_RATE, TokenBucket } from "./guard.ts";
import { drop } from "./handshake.ts";
import { type RoomTopic, StoreError } from "./ports.ts";
import { memberRoom, members, type RoomTable } from "./rooms.ts";
import type { Room, Session } from "./session.ts";

/** Bytes kept free in a ROOMS frame for its header, flags and count. */
const ROOMS_OVERHEAD = 16;

/** A ROOMS entry's bytes besides its room name and topic: their length prefixes, members and quiet. */
const ROOM_ENTRY_FIXED = 1 + 4 + 1 + 2;

/** Line breaks a topic may not hold: a topic is one line (of a status bar, a window title). */
const LINE_BREAKS = /[\r\n\u0085\u2028\u2029]+/g;

/**
 * Takes one token of `s`'s message rate for a request that costs the server
 * as much as a message (a page of rooms, a topic told to a whole room):
 * null when it may go ahead, else the refusal (or, sustained, the drop).
 */
function rateRefusal(ctx: Context, s: Session, now: number, what: string): Effect[] | null {
  s.bucket ??= new TokenBucket(ctx.options.rate ?? DEFAULT_RATE, now);
  const verdict = s.bucket.take(now);
  if (verdict === "ok") return null;
  if (verdict === "flood") return drop(ctx, s, "flood", now, "sending too fast");
  return refuse(s, ErrorCode.RATE_LIMITED, 0, `${what} too fast; wait a moment and try again`);
}

/** Orders strings by code point (as their UTF-8 bytes compare), not by UTF-16 unit as `<` does. */
export function compareRooms(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** The room names of `table` in {@linkcode compareRooms} order, sorted again only after rooms come or go. */
const sorted = new WeakMap<RoomTable, { version: number; names: string[] }>();

function sortedNames(table: RoomTable): string[] {
  const cached = sorted.get(table);
  if (cached && cached.version === table.version) return cached.names;
  const names = [...table.names()].sort(compareRooms);
  sorted.set(table, { version: table.version, names });
  return names;
}

/** The index of the first name after `after` in `names` (sorted): a binary search. */
function firstAfter(names: readonly string[], after: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareRooms(names[mid], after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * LIST: one page of the rooms that have someone in them (a room of only
 * transient sessions is not listed: they are invisible), in name order after
 * `after`, each with its size, quiet flag and topic; at most `limit` (0:
 * the page size) and at most what fits one frame.
 */
export function list(ctx: Context, s: Session, msg: List, now: number): Effect[] {
  const refused = rateRefusal(ctx, s, now, "listing rooms");
  if (refused) return refused;
  const names = sortedNames(ctx.rooms);
  const limit = msg.limit === 0 ? MAX_LIST_PAGE : Math.min(msg.limit, MAX_LIST_PAGE);
  const budget = ctx.options.maxFrame - ROOMS_OVERHEAD;
  const rooms: RoomEntry[] = [];
  let bytes = 0;
  let i = firstAfter(names, msg.after);
  for (; i < names.length; i++) {
    const room = ctx.rooms.get(names[i]);
    if (!room || room.size === 0) continue;
    const topic = topicOf(ctx, room.name)?.text ?? "";
    const size = ROOM_ENTRY_FIXED + utf8Length(room.name) + utf8Length(topic);
    if (rooms.length >= limit || bytes + size > budget) break;
    rooms.push({ room: room.name, members: room.size, quiet: room.quiet, topic });
    bytes += size;
  }
  // The loop stops early only at a room it would list: more remain exactly then.
  return [send(s, { type: "rooms", more: i < names.length, rooms })];
}

/**
 * WHO for a room `s` is not in, from a client that lists `who-any`: the
 * member list flagged LISTING (and the away status of its members), an empty
 * one for a room nobody is in, or, for a quiet room, only its size (a ROOM
 * frame flagged LISTING): nobody outside a crowd gets its whole list.
 * Returns null for a name that is not a room (the caller refuses it).
 */
export function whoElsewhere(ctx: Context, s: Session, raw: string): Effect[] | null {
  const checked = checkRoom(raw);
  if (!checked.ok) return null;
  const room = ctx.rooms.get(checked.value);
  if (!room || room.size === 0) {
    return [send(s, { type: "members", room: checked.value, more: false, listing: true, names: [] })];
  }
  if (room.quiet) {
    return [send(s, { type: "room", room: room.name, members: room.size, quiet: true, listing: true })];
  }
  return members(ctx, s, room, true);
}

/** The topic of `room` as stored; a store that cannot be read now counts as none (a join goes on). */
function topicOf(ctx: Context, room: string): RoomTopic | undefined {
  try {
    return ctx.options.roomSettings.topic(room);
  } catch (err) {
    if (err instanceof StoreError) return undefined;
    throw err;
  }
}

function topicFrame(room: string, t: RoomTopic | undefined): TopicIs {
  return { type: "topicIs", room, text: t?.text ?? "", by: t?.by ?? "", ts: t?.ts ?? 0 };
}

/**
 * What a joiner of `room` learns of its topic, when its client lists `topic`: a TOPIC_IS, empty when the
 * room has none, so a client that rejoins after a reconnect knows a topic cleared meanwhile is gone.
 */
export function topicForJoiner(ctx: Context, s: Session, room: string): Effect[] {
  if (s.remote !== "" || !s.features.has(Feature.TOPIC)) return [];
  return [send(s, topicFrame(room, topicOf(ctx, room)))];
}

/** A topic, to every member of `room` on this node whose client lists `topic`. */
function tellMembers(room: Room, msg: ServerMessage, also: Session | null): Effect[] {
  const effects: Effect[] = [];
  for (const m of room.members) {
    if (m.remote === "" && m.features.has(Feature.TOPIC) && m !== also) effects.push(send(m, msg));
  }
  if (also) effects.push(send(also, msg));
  return effects;
}

/** A topic as set: one line (line breaks become spaces), without the blanks around it. */
export function cleanTopic(text: string): string {
  return text.replace(LINE_BREAKS, " ").trim();
}

/**
 * TOPIC: asks for a room's topic (any room: topics are public, as LIST
 * shows), or sets it (a member, not a transient session, and an operator
 * on a server with operator-only topics). A change is stored and told to
 * every member whose client lists `topic`, and to the setter in any case.
 */
export function topic(ctx: Context, s: Session, msg: Topic, now: number): Effect[] {
  if (!msg.set) {
    const checked = checkRoom(msg.room);
    if (!checked.ok) return refuse(s, checked.code, 0, `Invalid room: ${checked.reason}`);
    return [send(s, topicFrame(checked.value, topicOf(ctx, checked.value)))];
  }
  const room = memberRoom(ctx, s, msg.room);
  if (Array.isArray(room)) return room;
  if (s.transient) {
    return refuse(s, ErrorCode.FORBIDDEN, 0, "a transient session (chat send, chat tail) cannot set a topic");
  }
  if (ctx.options.operatorTopics && !s.admin) {
    return refuse(s, ErrorCode.FORBIDDEN, 0, "on this server only operators set room topics");
  }
  const text = cleanTopic(msg.text);
  const bytes = utf8Length(text);
  if (bytes > MAX_TOPIC_BYTES) {
    return refuse(s, ErrorCode.TOO_LARGE, 0, `topic is ${bytes} bytes, limit ${MAX_TOPIC_BYTES}`);
  }
  const before = topicOf(ctx, room.name);
  // The same topic again changes nothing: the setter is told what holds, nobody else hears of it.
  if ((before?.text ?? "") === text) return [send(s, topicFrame(room.name, before))];
  const refused = rateRefusal(ctx, s, now, "changing topics");
  if (refused) return refused;
  const t: RoomTopic = { room: room.name, text, by: s.name, ts: now };
  try {
    ctx.options.roomSettings.putTopic(t);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    return refuse(s, ErrorCode.STORAGE_ERROR, 0, `topic not kept: ${err.message}`);
  }
  return tellMembers(room, topicFrame(room.name, t), s);
}

/** In a cluster: another node's member set `t`: this node's members of the room hear it. */
export function topicChanged(ctx: Context, t: RoomTopic): Effect[] {
  const room = ctx.rooms.get(t.room);
  return room ? tellMembers(room, topicFrame(t.room, t), null) : [];
}
