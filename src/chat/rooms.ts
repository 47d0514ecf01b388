/**
 * Rooms and presence: the room table, joining (after the joiner's history
 * is read), leaving, member lists, quiet rooms, and the presence events a
 * room hears (joins, leaves, nick and away changes).
 *
 * @module
 */

import {
  checkRoom,
  ErrorCode,
  Feature,
  MAX_MEMBERS_PER_FRAME,
  MAX_NAME_CHARS,
  type PresenceEvent,
  type ServerMessage,
  utf8Length,
} from "../protocol/mod.ts";
import { type Context, refuse, send, share } from "./context.ts";
import { topicForJoiner, whoElsewhere } from "./directory.ts";
import { hostOf, ROOM_CREATION, TokenBucket } from "./guard.ts";
import type { BroadcastEffect, Effect } from "./effects.ts";
import { historyFor, readFailed, readPages, recentQuery } from "./history.ts";
import { Room, type Session, setAway } from "./session.ts";

/**
 * Default room size above which presence stops. Announcing every join to
 * every member and listing every member to every joiner is quadratic: 10,000
 * joins to one room would cost 50 million frames. Below this size presence is
 * what people expect; above it a join or leave is noise nobody reads.
 */
export const DEFAULT_PRESENCE_LIMIT = 200;

/** Default rooms per client: several channels open, not a crawl of every room. */
export const DEFAULT_MAX_ROOMS_PER_CLIENT = 16;
/** Default room count: bounded so creating rooms cannot exhaust memory. */
export const DEFAULT_MAX_ROOMS = 10_000;

/** Bytes kept free in a MEMBERS frame for its room, flags and count fields. */
const MEMBERS_OVERHEAD = 300;

/** Every room the server tracks, by canonical name. */
export class RoomTable {
  #rooms = new Map<string, Room>();
  /** Moves whenever a room is opened or forgotten: a sorted list of names (LIST) is made again only then. */
  version = 0;

  get size(): number {
    return this.#rooms.size;
  }

  /** The names of the rooms held, in no particular order. */
  names(): IterableIterator<string> {
    return this.#rooms.keys();
  }

  get(name: string): Room | undefined {
    return this.#rooms.get(name);
  }

  /** The room called `name`, created when new. */
  open(name: string): Room {
    let room = this.#rooms.get(name);
    if (!room) {
      this.#rooms.set(name, room = new Room(name));
      this.version++;
    }
    return room;
  }

  /**
   * Forgets `room` once nobody is in it: the table holds only rooms in use,
   * so JOIN and LEAVE in a loop cannot fill it. Nothing is lost: the log keeps
   * the room's messages and numbers them on, and a later join opens it again.
   */
  forgetIfEmpty(room: Room): void {
    if (room.empty && this.#rooms.get(room.name) === room) {
      this.#rooms.delete(room.name);
      this.version++;
    }
  }
}

/** The room `raw` names if `s` is in it, or the error effects to send instead. */
export function memberRoom(ctx: Context, s: Session, raw: string, ref = 0): Room | Effect[] {
  // Clients name rooms the way the server spelled them: a canonical name needs no normalising.
  const known = ctx.rooms.get(raw);
  if (known !== undefined && known.members.has(s)) return known;
  const checked = checkRoom(raw);
  if (!checked.ok) return refuse(s, checked.code, ref, `Invalid room: ${checked.reason}`);
  const room = ctx.rooms.get(checked.value);
  if (!room || !room.members.has(s)) {
    return refuse(s, ErrorCode.NOT_IN_ROOM, ref, `not in room "${checked.value}"`);
  }
  return room;
}

/**
 * Why `s` may not join `name` now, or null. Checked when the JOIN arrives
 * and again when its history is read: other joins may have landed meanwhile.
 */
function joinRefusal(ctx: Context, s: Session, name: string): Effect[] | null {
  if (s.rooms.size >= ctx.options.maxRoomsPerClient) {
    return refuse(s, ErrorCode.TOO_MANY_ROOMS, 0, `already in ${s.rooms.size} rooms, the limit`);
  }
  if (!ctx.rooms.get(name) && ctx.rooms.size >= ctx.options.maxRooms) {
    return refuse(s, ErrorCode.TOO_MANY_ROOMS, 0, "the server holds its maximum number of rooms");
  }
  return null;
}

/** A room creation by `s` over its own or its address's rate, refused; or null, the creation counted. */
function creationRefusal(ctx: Context, s: Session, now: number): Effect[] | null {
  s.roomBucket ??= new TokenBucket(ROOM_CREATION, now);
  if (s.roomBucket.take(now) !== "ok") {
    return refuse(
      s,
      ErrorCode.RATE_LIMITED,
      0,
      "creating rooms too fast; join an existing room or wait a moment",
    );
  }
  if (!ctx.roomCreations.take(hostOf(s.address), now)) {
    s.roomBucket.refund();
    return refuse(s, ErrorCode.RATE_LIMITED, 0, "too many rooms created from your address; wait a moment");
  }
  return null;
}

export function join(ctx: Context, s: Session, raw: string, now: number): Effect[] {
  const checked = checkRoom(raw);
  if (!checked.ok) return refuse(s, checked.code, 0, `Invalid room: ${checked.reason}`);
  const name = checked.value;
  const existing = ctx.rooms.get(name);
  const member = existing?.members.has(s) === true;
  const refused = member
    ? null
    : joinRefusal(ctx, s, name) ?? (existing ? null : creationRefusal(ctx, s, now));
  if (refused) return refused;
  // Already in: no history again, only where the room stands (a read of no messages).
  const query = member ? { after: 0, before: 0, limit: 0 } : recentQuery(ctx);
  return readPages(ctx, s, [{ room: name, query }], (answer, now) => {
    if (s.state !== "ready") return [];
    if (answer instanceof Error) return readFailed(s, name);
    const room = ctx.rooms.get(name);
    // Every JOIN that is not refused ends with one FETCHED: the signal that the join is complete.
    if (room?.members.has(s)) {
      return [
        ...listFor(ctx, s, room),
        ...topicForJoiner(ctx, s, name),
        ...historyFor(s, name, { ...answer[0], messages: [] }),
      ];
    }
    return joinRefusal(ctx, s, name) ??
      [...joinRoom(ctx, s, name, now, { history: answer[0], announce: true }), ...share(ctx, s)];
  });
}

/**
 * Seats `s` in room `name`: the room may go quiet, `s` gets its member list
 * (or size), then `history` when given, and the others hear the join when
 * `announce`. From here on `s` receives the room's live messages.
 */
export function joinRoom(
  ctx: Context,
  s: Session,
  name: string,
  now: number,
  how: { history?: Parameters<typeof historyFor>[2]; announce: boolean },
): Effect[] {
  const room = ctx.rooms.open(name);
  room.members.add(s);
  s.rooms.add(room);
  // A session of another node gets its member list there.
  const effects = [
    ...grew(ctx, room, s),
    ...(s.remote === "" ? listFor(ctx, s, room) : []),
    ...topicForJoiner(ctx, s, name),
  ];
  if (how.history) effects.push(...historyFor(s, name, how.history));
  if (how.announce && !s.transient) effects.push(...presence(room, "join", s.name, "", "", now, s));
  return effects;
}

export function leave(ctx: Context, s: Session, raw: string, now: number): Effect[] {
  const room = memberRoom(ctx, s, raw);
  if (Array.isArray(room)) return room;
  // The leaver gets its own leave as confirmation, even from a quiet room; the others only from a loud one.
  const msg: ServerMessage = {
    type: "presence",
    room: room.name,
    event: "leave",
    name: s.name,
    reason: "left",
    text: "",
    ts: now,
  };
  const heard = !room.quiet && !s.transient;
  room.members.delete(s);
  s.rooms.delete(room);
  const effects: Effect[] = [
    send(s, msg),
    ...(heard ? [{ kind: "broadcast" as const, room: room.name, msg, except: s.id }] : []),
    ...shrank(ctx, room),
    ...share(ctx, s),
  ];
  ctx.rooms.forgetIfEmpty(room);
  return effects;
}

export function who(ctx: Context, s: Session, raw: string): Effect[] {
  const room = memberRoom(ctx, s, raw);
  if (!Array.isArray(room)) return members(ctx, s, room);
  // A room the client is not in: answered to clients that know the answer's LISTING flag (src/chat/directory.ts).
  return (s.features.has(Feature.WHO_ANY) ? whoElsewhere(ctx, s, raw) : null) ?? room;
}

/** What a joiner learns of `room`: its member list, or in a quiet room only its size. */
export function listFor(ctx: Context, s: Session, room: Room): Effect[] {
  if (!room.quiet) return members(ctx, s, room);
  return [send(s, roomFrame(room))];
}

/**
 * MEMBERS frames for `room`, then the away status of its members (for WHO and loud rooms); flagged
 * LISTING for a client not in the room.
 */
export function members(ctx: Context, s: Session, room: Room, listing = false): Effect[] {
  const listed = listOf(room, ctx.options.maxFrame);
  if (listed !== null) {
    const { names, away } = listed;
    const effects: Effect[] = [
      send(s, {
        type: "members",
        room: room.name,
        more: false,
        ...(listing ? { listing: true } : {}),
        names,
      }),
    ];
    for (const m of away) if (m !== s) effects.push(send(s, awayFrame(room, m)));
    return effects;
  }
  const effects: Effect[] = memberFrames(room, ctx.options.maxFrame, listing).map((msg) => send(s, msg));
  // Away members: the joiner learns their status the way everyone else did, as presence events. (forEach: a
  // for-of over the Members subclass took the generic iterator, an object per member, in a burst of joins.)
  room.members.forEach((m) => {
    if (m.away !== "" && m !== s && !m.transient) effects.push(send(s, awayFrame(room, m)));
  });
  return effects;
}

/** After `room` grew: above the limit it goes quiet, and its members (but `joiner`) are told once. */
export function grew(ctx: Context, room: Room, joiner: Session): Effect[] {
  if (room.quiet || ctx.presenceLimit === 0 || room.size <= ctx.presenceLimit) return [];
  room.quiet = true;
  return [{ kind: "broadcast", room: room.name, msg: roomFrame(room), except: joiner.id }];
}

/**
 * After `room` shrank: at half the limit it is loud again, and every member
 * gets the fresh member list (the gap between the two sizes keeps a room
 * near the limit from flapping).
 */
export function shrank(ctx: Context, room: Room): Effect[] {
  if (!room.quiet || room.size > Math.floor(ctx.presenceLimit / 2)) return [];
  room.quiet = false;
  const effects: Effect[] = [{ kind: "broadcast", room: room.name, msg: roomFrame(room), except: 0 }];
  for (const msg of memberFrames(room, ctx.options.maxFrame)) {
    effects.push({ kind: "broadcast", room: room.name, msg, except: 0 });
  }
  for (const m of room.members) {
    if (m.away !== "") {
      effects.push({ kind: "broadcast", room: room.name, msg: awayFrame(room, m), except: m.id });
    }
  }
  return effects;
}

/** A presence event for everyone in `room` (but `except`); nothing in a quiet room. */
export function presence(
  room: Room,
  event: PresenceEvent,
  name: string,
  reason: string,
  text: string,
  ts: number,
  except: Session | null,
): BroadcastEffect[] {
  if (room.quiet) return [];
  return [{
    kind: "broadcast",
    room: room.name,
    msg: { type: "presence", room: room.name, event, name, reason, text, ts },
    except: except?.id ?? 0,
  }];
}

/**
 * One broadcast per loud room of `s`; or, in no room that hears it (none,
 * or only quiet ones), the event for `s` alone: its confirmation.
 */
export function toMyRooms(
  s: Session,
  event: PresenceEvent,
  name: string,
  text: string,
  now: number,
): Effect[] {
  const loud = [...s.rooms].filter((room) => !room.quiet);
  if (loud.length > 0) return loud.flatMap((room) => presence(room, event, name, "", text, now, null));
  return [send(s, { type: "presence", room: "", event, name, reason: "", text, ts: now })];
}

/** Longest away message or /quit reason relayed to a room: a sentence, not a message body. */
export const MAX_REASON_CHARS = 200;

export function away(ctx: Context, s: Session, raw: string, now: number): Effect[] {
  const text = [...raw].slice(0, MAX_REASON_CHARS).join("");
  if (text === s.away) return [];
  setAway(s, text);
  return [...toMyRooms(s, "away", s.name, text, now), ...share(ctx, s)];
}

function roomFrame(room: Room): ServerMessage {
  return { type: "room", room: room.name, members: room.size, quiet: room.quiet };
}

/** Bytes a name may take in UTF-8, at the most. */
const MAX_NAME_BYTES = MAX_NAME_CHARS * 4;

/**
 * What a joiner of `room` is told of its members when their names surely fit
 * one MEMBERS frame (no ghosts, few enough members): the names, and who is
 * away; else null. Kept on the room for its members' version, and grown by
 * the last joiner when that was the only change: a burst of joins to a loud
 * room then lists its members without a walk over them per join.
 */
function listOf(room: Room, maxFrame: number): { names: string[]; away: Session[] } | null {
  const members = room.members;
  const listed = members.size - members.transients;
  if (room.ghosts.size > 0 || listed > MAX_MEMBERS_PER_FRAME) return null;
  if (listed * (MAX_NAME_BYTES + 1) > maxFrame - MEMBERS_OVERHEAD) return null;
  const kept = room.listed;
  if (kept !== null && kept.version === members.version) return kept;
  const added = members.added;
  let next: { version: number; names: string[]; away: Session[] };
  if (kept !== null && added !== null && kept.version === members.version - 1) {
    next = added.transient ? { ...kept, version: members.version } : {
      version: members.version,
      names: [...kept.names, added.name],
      away: added.away === "" ? kept.away : [...kept.away, added],
    };
  } else {
    next = { version: members.version, names: [], away: [] };
    members.forEach((m) => {
      if (m.transient) return;
      next.names.push(m.name);
      if (m.away !== "") next.away.push(m);
    });
  }
  return room.listed = next;
}

/** `room`'s member list as MEMBERS frames, split so each fits the frame limit. */
function memberFrames(room: Room, maxFrame: number, listing = false): ServerMessage[] {
  const frames: ServerMessage[] = [];
  const budget = maxFrame - MEMBERS_OVERHEAD;
  let names: string[] = [];
  let bytes = 0;
  const flush = (more: boolean) => {
    frames.push({ type: "members", room: room.name, more, ...(listing ? { listing: true } : {}), names });
    names = [];
    bytes = 0;
  };
  const add = (m: Session) => {
    if (m.transient) return;
    const size = utf8Length(m.name) + 1;
    if (names.length > 0 && (bytes + size > budget || names.length >= MAX_MEMBERS_PER_FRAME)) flush(true);
    names.push(m.name);
    bytes += size;
  };
  room.members.forEach(add);
  room.ghosts.forEach(add);
  flush(false);
  return frames;
}

/** The PRESENCE away event that tells a joiner `m` is away (ts 0: not news, a status). */
function awayFrame(room: Room, m: Session): ServerMessage {
  return { type: "presence", room: room.name, event: "away", name: m.name, reason: "", text: m.away, ts: 0 };
}
