/**
 * Messages: a SEND is checked and handed to the message log; once the log
 * says it is stored, its sender gets the ACK and the room gets the message
 * ({@linkcode delivered}: the same path whether this node or another one
 * stored it). A PRIVATE between two registered names takes the same path into
 * its conversation (src/chat/conversations.ts); any other goes straight to its
 * recipient. Mutes and the rate limit apply here; a resend of a stored message
 * costs nothing.
 *
 * @module
 */

import {
  checkName,
  type Direct,
  ErrorCode,
  MessageFlags,
  nameKey,
  type Private,
  type Send,
  utf8Length,
} from "../protocol/mod.ts";
import type { LogOutcome, ProbeJob } from "./commit.ts";
import { type Context, refuse, send } from "./context.ts";
import { ackOf, deliverConversation, hold, MAX_HELD, storageOf, unstoredNotice } from "./conversations.ts";
import type { Effect } from "./effects.ts";
import { DEFAULT_RATE, TokenBucket } from "./guard.ts";
import { drop, fail } from "./handshake.ts";
import { mutedText } from "./moderation.ts";
import { conversationKeys, type StoredMessage } from "./ports.ts";
import { memberRoom } from "./rooms.ts";
import type { Session } from "./session.ts";

/** Ids of direct messages delivered live, remembered for dedupe: those are not stored, so this window is their guard. */
const DIRECT_RECEIPTS = 100_000;

/** True when `text` has nothing but whitespace (what trim() removes), found without copying it. */
function isBlank(text: string): boolean {
  return !/\S/.test(text);
}

/**
 * The UTF-8 size of `text` when it may exceed `limit`; otherwise any figure
 * within the limit. A UTF-16 unit is at most 3 UTF-8 bytes, so most lines
 * need no counting (counting was 5% of the server at a 20-receiver fan-out).
 */
function textBytes(text: string, limit: number): number {
  return text.length * 3 <= limit ? text.length : utf8Length(text);
}

/** Why the text of a message is refused (too large, blank), or null. */
function textRefusal(ctx: Context, text: string): { code: ErrorCode; message: string } | null {
  const size = textBytes(text, ctx.options.maxText);
  if (size > ctx.options.maxText) {
    return {
      code: ErrorCode.TOO_LARGE,
      message: `message text is ${size} bytes, limit ${ctx.options.maxText}`,
    };
  }
  if (isBlank(text)) return { code: ErrorCode.INVALID_TEXT, message: "message text is empty" };
  return null;
}

const RATE_TEXT = "too many messages too fast; this one was dropped, retry later";

export function sendMessage(ctx: Context, s: Session, msg: Send, now: number): Effect[] {
  if (msg.id === 0) return fail(ctx, s, ErrorCode.BAD_FRAME, "SEND id must not be 0", "bad_frame", now);
  const room = memberRoom(ctx, s, msg.room, msg.id);
  if (Array.isArray(room)) return room;
  return toLog(ctx, s, msg, room.name, now);
}

/**
 * A SEND (or a PRIVATE to a stored conversation) for log room `room`, past the checks of its kind: refused
 * by the text limits, a mute or the rate limit unless the log has it already (a resend is always
 * acknowledged, and costs nothing; the log answers that), else appended.
 */
function toLog(ctx: Context, s: Session, msg: Send | Private, room: string, now: number): Effect[] {
  const sender = { key: s.key, id: msg.id };
  const probe = (refusal: ProbeJob["refusal"]): Effect[] => [{ kind: "probe", sender, from: s.id, refusal }];
  const refused = textRefusal(ctx, msg.text);
  if (refused) return probe(refused);
  const muted = mutedText(ctx, s, now);
  if (muted !== null) return probe({ code: ErrorCode.MUTED, message: muted });
  s.bucket ??= new TokenBucket(ctx.options.rate ?? DEFAULT_RATE, now);
  const verdict = s.bucket.take(now);
  if (verdict !== "ok") {
    return probe(verdict === "flood" ? "flood" : { code: ErrorCode.RATE_LIMITED, message: RATE_TEXT });
  }
  return [{
    kind: "append",
    draft: {
      room,
      ts: now,
      flags: msg.flags & MessageFlags.ACTION,
      from: s.name,
      text: msg.text,
      sender,
    },
    from: s.id,
  }];
}

/** What the log said of an append or a probe: the ACK, the refusal, and the message for its room. */
export function logged(
  ctx: Context,
  outcome: LogOutcome & { kind: "append" | "probe" },
  now: number,
): Effect[] {
  const s = ctx.byId.get(outcome.job.from);
  const ready = s !== undefined && s.state === "ready";
  if (outcome.kind === "probe") {
    if (!ready) return [];
    const { sender, refusal } = outcome.job;
    if (outcome.receipt) {
      if (refusal !== "flood" && refusal.code === ErrorCode.RATE_LIMITED) s.bucket?.forgive();
      return [ackOf(ctx, s, sender.id, outcome.receipt)];
    }
    if (refusal === "flood") return drop(ctx, s, "flood", now, "sending too fast");
    return refuse(s, refusal.code, sender.id, refusal.message);
  }
  const { result, job } = outcome;
  const id = job.draft.sender.id;
  switch (result.kind) {
    case "stored": {
      // The ACK goes first: the sender learns the seq of its message before its own copy arrives. A stored
      // direct message to someone away tells the sender so, just before.
      const ack: Effect[] = ready
        ? [...peerAway(ctx, s, result.message.room, now), ackOf(ctx, s, id, result.message)]
        : [];
      // In a cluster the message reaches its room from the shared log, on every node alike.
      if (ctx.options.deliverOnAppend === false) return ack;
      return [...ack, ...delivered(ctx, result.message)];
    }
    case "duplicate":
      if (!ready) return [];
      // Stored before: the token this resend took goes back.
      s.bucket?.refund();
      return [ackOf(ctx, s, id, result.receipt)];
    case "failed": {
      if (!ready) return [];
      const why = result.error.kind === "unavailable"
        ? result.error.message
        : result.error.kind === "full"
        ? "disk full"
        : result.error.kind === "limit"
        ? "the server's message store reached its size limit; its operator can raise --max-store-mb or keep less history"
        : "storage failure";
      return refuse(
        s,
        ErrorCode.STORAGE_ERROR,
        id,
        `message not stored (${why}); it was not delivered, retry later`,
      );
    }
  }
}

/**
 * A stored message, to every member of its room, or to the parties of its conversation: on the node that
 * stored it, and on any other that learns of it.
 */
export function delivered(ctx: Context, message: StoredMessage): Effect[] {
  if (conversationKeys(message.room) !== null) return deliverConversation(ctx, message);
  return [{ kind: "broadcast", room: message.room, msg: { type: "message", ...message }, except: 0 }];
}

/**
 * A PRIVATE: stored in its conversation when both names are registered (src/chat/conversations.ts), else
 * delivered live to the recipient, or held for it while it is in its grace period.
 */
export function privateMessage(ctx: Context, s: Session, msg: Private, now: number): Effect[] {
  if (msg.id === 0) return fail(ctx, s, ErrorCode.BAD_FRAME, "PRIVATE id must not be 0", "bad_frame", now);
  const to = checkName(msg.to);
  if (!to.ok) return refuse(s, ErrorCode.INVALID_NAME, msg.id, `Invalid name: ${to.reason}`);
  const peerKey = nameKey(to.value);
  const storage = storageOf(ctx, s, peerKey, to.value);
  if ("room" in storage) {
    // The recipient's away status comes with the ACK of a stored message (logged()), not with a refusal or a
    // resend.
    return toLog(ctx, s, msg, storage.room, now);
  }
  const ack = (ts: number): Effect => send(s, { type: "ack", id: msg.id, room: "", seq: 0, ts });
  const dedupeKey = `${s.key}\u0000${msg.id}`;
  const prior = ctx.directReceipts.get(dedupeKey);
  if (prior !== undefined) return [ack(prior)];
  const muted = mutedText(ctx, s, now);
  if (muted !== null) return refuse(s, ErrorCode.MUTED, msg.id, muted);
  s.bucket ??= new TokenBucket(ctx.options.rate ?? DEFAULT_RATE, now);
  const verdict = s.bucket.take(now);
  if (verdict === "flood") return drop(ctx, s, "flood", now, "sending too fast");
  if (verdict === "limited") {
    return refuse(s, ErrorCode.RATE_LIMITED, msg.id, RATE_TEXT);
  }
  const target = ctx.names.holder(peerKey);
  // A ghost (a dropped connection in its grace period) is still listed in its rooms: it gets the message
  // when it resumes.
  if (!target || (target.state !== "ready" && target.state !== "ghost")) {
    return refuse(
      s,
      ErrorCode.NO_SUCH_USER,
      msg.id,
      `"${to.value}" is not online (${storage.why}, so ` +
        "messages to someone offline are not kept)",
    );
  }
  const refused = textRefusal(ctx, msg.text);
  if (refused) return refuse(s, refused.code, msg.id, refused.message);
  const direct: Direct = {
    type: "direct",
    from: s.name,
    to: target.name,
    ts: now,
    flags: msg.flags & MessageFlags.ACTION,
    text: msg.text,
  };
  const effects: Effect[] = [];
  if (target.state === "ghost") {
    if (!hold(target, direct)) {
      return refuse(
        s,
        ErrorCode.NO_SUCH_USER,
        msg.id,
        `"${target.name}" is reconnecting and has ${MAX_HELD} messages waiting already; try again later`,
      );
    }
  } else {
    const theirs = storageOf(ctx, target, s.key, s.name);
    if ("why" in theirs) effects.push(...unstoredNotice(target, s.key, s.name, theirs.why));
    effects.push(send(target, direct));
  }
  ctx.directReceipts.set(dedupeKey, now);
  if (ctx.directReceipts.size > DIRECT_RECEIPTS) {
    ctx.directReceipts.delete(ctx.directReceipts.keys().next().value!);
  }
  if (target !== s) effects.push(send(s, direct));
  effects.push(...awayOf(s, target, now), ...unstoredNotice(s, peerKey, to.value, storage.why), ack(now));
  return effects;
}

/** Tells the sender of a direct message that its recipient `target` is away, if so. */
/** For a message stored in conversation `room`: the away status of `s`'s party to it, if that party is away. */
function peerAway(ctx: Context, s: Session, room: string, now: number): Effect[] {
  const keys = conversationKeys(room);
  if (keys === null) return [];
  return awayOf(s, ctx.names.holder(keys[0] === s.key ? keys[1] : keys[0]), now);
}

function awayOf(s: Session, target: Session | undefined, now: number): Effect[] {
  if (!target || target.away === "") return [];
  return [send(s, {
    type: "presence",
    room: "",
    event: "away",
    name: target.name,
    reason: "",
    text: target.away,
    ts: now,
  })];
}
