/**
 * Stored history: the recent messages a joiner gets, and FETCH pages. Every
 * read goes to the message log as a job and comes back as an input, in
 * order with the appends around it (src/chat/commit.ts), so what a reader
 * gets and what it is sent live afterwards meet without a gap or an overlap.
 *
 * @module
 */

import {
  ErrorCode,
  type Fetch,
  MAX_FETCH,
  MessageFlags,
  type ServerMessage,
  utf8Length,
} from "../protocol/mod.ts";
import { type Context, type ReadThen, refuse, send } from "./context.ts";
import type { Effect } from "./effects.ts";
import type { ConversationTail, Page, PageQuery } from "./ports.ts";
import { fetchConversation } from "./conversations.ts";
import { memberRoom } from "./rooms.ts";
import type { Session } from "./session.ts";

/** Default history on join: a screenful of context. */
export const DEFAULT_HISTORY = 50;

/** Bytes of MESSAGE frames one FETCH answer may queue: a page stays well within the outbox budget. */
export const FETCH_BYTES = 256 * 1024;

/**
 * A MESSAGE frame's bytes besides its room, sender and text: the header (5),
 * seq and ts (8 each), flags (1) and the three length prefixes (1, 1, 4).
 */
const MESSAGE_FIXED = 28;

/** Larger than any sequence number: "the newest messages" as a page query. */
const NEWEST = Number.MAX_SAFE_INTEGER;

/** The page a joiner gets: the newest `historyLimit` messages (possibly none, but always the room's last seq). */
export function recentQuery(ctx: Context): PageQuery {
  return { after: 0, before: NEWEST, limit: ctx.historyLimit };
}

/**
 * Asks the log for pages for session `s`; `then` runs with them once the log
 * answers (the network layer holds the session's further input until then).
 */
export function readPages(
  ctx: Context,
  s: Session,
  reads: Array<{ room: string; query: PageQuery }>,
  then: ReadThen,
  conversations?: { key: string; limit: number },
): Effect[] {
  const token = ctx.nextReadToken++;
  ctx.reads.set(token, then);
  return [{ kind: "read", to: s.id, token, reads, ...(conversations ? { conversations } : {}) }];
}

/** A read came back: runs what was waiting for it. */
export function readDone(
  ctx: Context,
  token: number,
  answer: Page[] | Error,
  now: number,
  conversations?: ConversationTail[],
): Effect[] {
  const then = ctx.reads.get(token);
  if (!then) return [];
  ctx.reads.delete(token);
  return then(answer, now, conversations);
}

/**
 * A stored message as history: flagged so the client tells it from live ones, in `room` as the client
 * names it (a conversation is `@peer` to each of its parties).
 */
function historical(m: Page["messages"][number], room = m.room): ServerMessage {
  return { type: "message", ...m, room, flags: m.flags | MessageFlags.HISTORY };
}

/**
 * A joiner's recent history, flagged HISTORY, then a FETCHED carrying the
 * room's last seq: the joiner knows where the room stands even when it is
 * empty, so a reconnect can resume from there.
 */
export function historyFor(s: Session, room: string, page: Page): Effect[] {
  const effects: Effect[] = page.messages.map((m) => send(s, historical(m)));
  effects.push(
    send(s, { type: "fetched", room, count: page.messages.length, more: false, lastSeq: page.lastSeq }),
  );
  return effects;
}

/** The answer when the log could not be read: the request failed, the connection stays. */
export function readFailed(s: Session, room: string): Effect[] {
  return refuse(s, ErrorCode.STORAGE_ERROR, 0, `cannot read the history of ${room} now; try again later`);
}

export function fetch(ctx: Context, s: Session, msg: Fetch): Effect[] {
  // "@": a stored conversation (rooms cannot start with it).
  if (msg.room.startsWith("@")) return fetchConversation(ctx, s, msg);
  const room = memberRoom(ctx, s, msg.room);
  if (Array.isArray(room)) return room;
  const name = room.name;
  const query = { after: msg.after, before: msg.before, limit: Math.min(msg.limit, MAX_FETCH) };
  return readPages(ctx, s, [{ room: name, query }], (answer) => {
    if (s.state !== "ready") return [];
    if (answer instanceof Error) return readFailed(s, name);
    return fetchAnswer(s, name, answer[0], msg.after, msg.before > 0, query.limit);
  });
}

/**
 * A FETCH page of `room` (as the client names it), kept within FETCH_BYTES: the oldest messages going
 * forwards, the newest going backwards. `limit` is what the store was asked for: a store that found fewer
 * going backwards found all there is down to `after`, whatever gap in the seqs retention left.
 */
export function fetchAnswer(
  s: Session,
  room: string,
  page: Page,
  after: number,
  backwards: boolean,
  limit: number,
): Effect[] {
  const found = page.messages;
  const roomBytes = utf8Length(room);
  let bytes = 0;
  let n = 0;
  while (n < found.length) {
    const m = found[backwards ? found.length - 1 - n : n];
    const size = MESSAGE_FIXED + roomBytes + utf8Length(m.from) + utf8Length(m.text);
    if (n > 0 && bytes + size > FETCH_BYTES) break;
    bytes += size;
    n++;
  }
  const picked = backwards ? found.slice(found.length - n) : found.slice(0, n);
  // More match than were sent: older ones below the oldest sent (backwards), newer ones after the newest (forwards).
  const more = backwards
    ? n < found.length || (found.length >= limit && picked.length > 0 && picked[0].seq > after + 1)
    : (picked.length > 0 ? picked[picked.length - 1].seq : after) < page.lastSeq;
  const effects: Effect[] = picked.map((m) => send(s, historical(m, room)));
  effects.push(send(s, { type: "fetched", room, count: n, more, lastSeq: page.lastSeq }));
  return effects;
}
