/**
 * Direct messages as stored conversations. A conversation between two
 * registered names is a room of the message log (`@<keyA>+<keyB>`, see
 * {@linkcode conversationRoom}): its messages are numbered, deduped,
 * retained and read like a room's, and reach their two parties wherever and
 * whenever they connect. Each party sees it as room `@` and the other's name.
 *
 * Why only registered names: an unregistered name is not an identity.
 * Whoever takes "alice" after she leaves would read her stored messages, so a
 * conversation is stored only when both names are registered accounts, and
 * only a session that proved it owns its name (gave the account's password,
 * or registered it) sends, receives or reads one. Between other names a
 * direct message is delivered live, as DIRECT, and kept nowhere; a user in
 * the grace period of a dropped connection gets it on resume (held here, in
 * memory, a bounded number, dropped when the grace period ends).
 *
 * Clients that do not list the `dms` feature see every direct message as
 * DIRECT, live, as before the feature existed.
 *
 * @module
 */

import {
  checkName,
  type ConversationEntry,
  type Direct,
  ErrorCode,
  Feature,
  type Fetch,
  MAX_CONVERSATIONS,
  MAX_FETCH,
  MAX_SHORT_STRING,
  nameKey,
  utf8Length,
} from "../protocol/mod.ts";
import { type Context, refuse, send } from "./context.ts";
import type { Effect } from "./effects.ts";
import { fetchAnswer, readFailed, readPages } from "./history.ts";
import {
  conversationKeys,
  conversationRoom,
  type ConversationTail,
  type Page,
  type SendReceipt,
  type StoredMessage,
} from "./ports.ts";
import type { Session } from "./session.ts";

/** Direct messages held for one user in a grace period: a burst while reconnecting, not a mailbox. */
export const MAX_HELD = 100;

/** Peers one session is told about (messages not stored) before it is told again: a bound on memory. */
const MAX_TOLD = 1000;

/** True when the client of `s` listed the `dms` feature in its HELLO. */
export function speaksDms(s: Session): boolean {
  return s.features.has(Feature.DMS);
}

/** True when `s` proved its name is its own and that name is registered: a party of stored conversations. */
function party(ctx: Context, s: Session): boolean {
  return s.verified !== "" && s.verified === s.key && ctx.options.accounts.account(s.key) !== undefined;
}

/** How a name key is shown as a conversation's peer: its registered spelling, else the key itself. */
function peerName(ctx: Context, key: string): string {
  return ctx.options.accounts.account(key)?.name ?? key;
}

/**
 * Where messages from `s` to `peerKey` (shown as `peer`) are stored: the log room of their conversation,
 * or why they are not (said from `s`'s side).
 */
export function storageOf(
  ctx: Context,
  s: Session,
  peerKey: string,
  peer: string,
): { room: string } | { why: string } {
  if (!party(ctx, s)) return { why: `you are not signed in as a registered name` };
  if (ctx.options.accounts.account(peerKey) === undefined) return { why: `${peer} is not a registered name` };
  const room = conversationRoom(s.key, peerKey);
  // A room is a str8 on the wire and in the cluster's records: two names of 32 four-byte letters do not fit.
  if (utf8Length(room) > MAX_SHORT_STRING) return { why: "the two names are too long to store" };
  return { room };
}

/**
 * The conversation `room` as `s` sees it (`@` and the other party's name), or null when `room` is not a
 * conversation of `s`'s.
 */
function shownTo(ctx: Context, s: Session, room: string): string | null {
  const keys = conversationKeys(room);
  if (!keys || (keys[0] !== s.key && keys[1] !== s.key)) return null;
  return `@${peerName(ctx, keys[0] === s.key ? keys[1] : keys[0])}`;
}

/**
 * The ACK of a SEND or PRIVATE `id` stored as `receipt`. A stored direct message is acknowledged with its
 * conversation (`@peer`) and seq to a client that speaks `dms`; to any other, as direct messages always were
 * (room "", seq 0).
 */
export function ackOf(ctx: Context, s: Session, id: number, receipt: SendReceipt): Effect {
  const { room, seq, ts } = receipt;
  if (conversationKeys(room) === null) return send(s, { type: "ack", id, room, seq, ts });
  const shown = speaksDms(s) ? shownTo(ctx, s, room) : null;
  return send(
    s,
    shown ? { type: "ack", id, room: shown, seq, ts } : { type: "ack", id, room: "", seq: 0, ts },
  );
}

/**
 * A stored message of a conversation, to its parties connected to this node: as MESSAGE in room `@peer`
 * to a client that speaks `dms`, as DIRECT to any other. A party in its grace period whose client does not
 * speak `dms` gets the DIRECT held for its resume; one that does fetches it on resume (CONVERSATIONS).
 * Sessions of other nodes are their own node's to serve: every node learns of every stored message.
 */
export function deliverConversation(ctx: Context, message: StoredMessage): Effect[] {
  const keys = conversationKeys(message.room);
  if (!keys) return [];
  const effects: Effect[] = [];
  for (const key of keys[0] === keys[1] ? [keys[0]] : keys) {
    const s = ctx.names.holder(key);
    // Only the session that proved the name is its own: a holder that did not (registered meanwhile, by
    // `chat user add`) is not the person the conversation is with.
    if (!s || s.remote !== "" || s.verified !== key) continue;
    const other = keys[0] === key ? keys[1] : keys[0];
    if (s.state === "ready" && speaksDms(s)) {
      effects.push(send(s, { type: "message", ...message, room: `@${peerName(ctx, other)}` }));
      continue;
    }
    const direct: Direct = {
      type: "direct",
      from: message.from,
      to: nameKey(message.from) === key ? peerName(ctx, other) : s.name,
      ts: message.ts,
      flags: message.flags,
      text: message.text,
    };
    if (s.state === "ready") effects.push(send(s, direct));
    else if (s.state === "ghost" && !speaksDms(s)) hold(s, direct);
  }
  return effects;
}

/**
 * Keeps `direct` for ghost `g` until it resumes; false when it holds {@linkcode MAX_HELD} already. What a
 * ghost holds is dropped with it when its grace period ends.
 */
export function hold(g: Session, direct: Direct): boolean {
  g.held ??= [];
  if (g.held.length >= MAX_HELD) return false;
  g.held.push(direct);
  return true;
}

/** What ghost `g` held, for `s`, the session that takes its name over (a resume, here or on another node). */
export function handOver(g: Session, s: Session): Effect[] {
  const held = g.held ?? [];
  g.held = null;
  return held.map((d) => send(s, d));
}

/**
 * Said once per peer to a client that speaks `dms`: its messages with `peer` are not stored, and why. A
 * client that does not speak `dms` expects nothing else, so it is told nothing.
 */
export function unstoredNotice(s: Session, peerKey: string, peer: string, why: string): Effect[] {
  if (!speaksDms(s) || s.remote !== "") return [];
  s.toldUnstored ??= new Set();
  if (s.toldUnstored.has(peerKey)) return [];
  if (s.toldUnstored.size >= MAX_TOLD) s.toldUnstored.clear();
  s.toldUnstored.add(peerKey);
  return [send(s, {
    type: "notice",
    kind: "unstored",
    text: `messages with ${peer} are not stored (${why}): ` +
      `they reach ${peer} only while connected, and no history keeps them`,
  })];
}

/** The list read for a HELLO, when the client is to get its conversations after the welcome; else undefined. */
export function listFor(
  ctx: Context,
  key: string,
  features: readonly string[] | undefined,
  transient: boolean,
): { key: string; limit: number } | undefined {
  if (transient || !features?.includes(Feature.DMS) || ctx.options.accounts.account(key) === undefined) {
    return undefined;
  }
  return { key, limit: MAX_CONVERSATIONS };
}

/**
 * When the account `key` was created: a party sees nothing of a conversation older than that. A name whose
 * account was removed and registered again (by someone else, perhaps) does not inherit what was said to the
 * earlier holder; the peer, still the same person, keeps the whole conversation.
 */
function partySince(ctx: Context, key: string): number {
  return ctx.options.accounts.account(key)?.created ?? Number.MAX_SAFE_INTEGER;
}

/** `page` as the account created at `since` may see it, and the seq below which nothing is (for `more`). */
function visible(page: Page, since: number, after: number): { page: Page; after: number } {
  let floor = after;
  const messages: StoredMessage[] = [];
  for (const m of page.messages) {
    if (m.ts < since) floor = Math.max(floor, m.seq);
    else messages.push(m);
  }
  return floor === after ? { page, after } : { page: { ...page, messages }, after: floor };
}

/** The CONVERSATIONS frame for `s` from what the log listed (conversations of its name, newest first). */
export function conversationsFor(ctx: Context, s: Session, tails: readonly ConversationTail[]): Effect {
  const conversations: ConversationEntry[] = [];
  const since = partySince(ctx, s.key);
  for (const t of tails.slice(0, MAX_CONVERSATIONS)) {
    if (t.ts < since) continue; // all of it was said before this account existed
    const shown = shownTo(ctx, s, t.room);
    if (shown !== null) conversations.push({ peer: shown.slice(1), lastSeq: t.lastSeq, ts: t.ts });
  }
  return send(s, { type: "conversations", conversations });
}

/**
 * FETCH of a conversation, `@peer`: only a party of it may read it, so the room is made from the reader's
 * own name and the one it names; a session that did not prove a registered name has none to read.
 */
export function fetchConversation(ctx: Context, s: Session, msg: Fetch): Effect[] {
  const raw = msg.room.slice(1);
  if (!party(ctx, s)) {
    return refuse(
      s,
      ErrorCode.FORBIDDEN,
      0,
      `cannot read ${msg.room}: conversations are stored only between registered names, and you are not ` +
        "signed in as one",
    );
  }
  const peer = checkName(raw);
  if (!peer.ok) {
    // "@alice+bob", the log's own name of a conversation, is not a way in either.
    return refuse(
      s,
      ErrorCode.FORBIDDEN,
      0,
      `cannot read ${msg.room}: name a conversation by its peer, "@name"`,
    );
  }
  const room = conversationRoom(s.key, nameKey(peer.value));
  const shown = `@${peerName(ctx, nameKey(peer.value))}`;
  const query = { after: msg.after, before: msg.before, limit: Math.min(msg.limit, MAX_FETCH) };
  return readPages(ctx, s, [{ room, query }], (answer) => {
    if (s.state !== "ready") return [];
    if (answer instanceof Error) return readFailed(s, shown);
    const seen = visible(answer[0], partySince(ctx, s.key), msg.after);
    return fetchAnswer(s, shown, seen.page, seen.after, msg.before > 0, query.limit);
  });
}
