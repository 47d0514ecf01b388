/**
 * Messages: a SEND is checked and handed to the message log; once the log
 * says it is stored, its sender gets the ACK and the room gets the message
 * ({@linkcode delivered}: the same path whether this node or another one
 * stored it). Direct messages go straight to their recipient. Mutes and the
 * rate limit apply here; a resend of a stored message costs nothing.
 *
 * @module
 */

import {
  checkName,
  ErrorCode,
  MessageFlags,
  nameKey,
  type Private,
  type Send,
  utf8Length,
} from "../protocol/mod.ts";
import type { LogOutcome } from "./commit.ts";
import { type Context, refuse, send } from "./context.ts";
import type { Effect } from "./effects.ts";
import { DEFAULT_RATE, TokenBucket } from "./guard.ts";
import { drop, fail } from "./handshake.ts";
import { mutedText } from "./moderation.ts";
import type { StoredMessage } from "./ports.ts";
import { memberRoom } from "./rooms.ts";
import type { Session } from "./session.ts";

/** Direct-message ids remembered for dedupe: DMs are not stored, so this in-memory window is their guard. */
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

/** Why a text of a message with id `ref` is refused (too large, blank), or null. */
function textRefusal(ctx: Context, s: Session, text: string, ref: number): Effect[] | null {
  const size = textBytes(text, ctx.options.maxText);
  if (size > ctx.options.maxText) {
    return refuse(s, ErrorCode.TOO_LARGE, ref, `message text is ${size} bytes, limit ${ctx.options.maxText}`);
  }
  if (isBlank(text)) return refuse(s, ErrorCode.INVALID_TEXT, ref, "message text is empty");
  return null;
}

export function sendMessage(ctx: Context, s: Session, msg: Send, now: number): Effect[] {
  if (msg.id === 0) return fail(ctx, s, ErrorCode.BAD_FRAME, "SEND id must not be 0", "bad_frame", now);
  const room = memberRoom(ctx, s, msg.room, msg.id);
  if (Array.isArray(room)) return room;
  const refused = textRefusal(ctx, s, msg.text, msg.id);
  if (refused) return refused;
  const sender = { key: s.key, id: msg.id };
  // Refused by a mute or the rate limit: unless the log already has it (a resend costs nothing), say so.
  if (mutedText(ctx, s, now) !== null) return [{ kind: "probe", sender, from: s.id, verdict: "muted" }];
  s.bucket ??= new TokenBucket(ctx.options.rate ?? DEFAULT_RATE, now);
  const verdict = s.bucket.take(now);
  if (verdict !== "ok") return [{ kind: "probe", sender, from: s.id, verdict }];
  return [{
    kind: "append",
    draft: {
      room: room.name,
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
    const { sender, verdict } = outcome.job;
    if (outcome.receipt) {
      s.bucket?.forgive();
      return [send(s, { type: "ack", id: sender.id, ...outcome.receipt })];
    }
    if (verdict === "flood") return drop(ctx, s, "flood", now, "sending too fast");
    if (verdict === "muted") {
      return refuse(s, ErrorCode.MUTED, sender.id, mutedText(ctx, s, now) ?? "you are muted");
    }
    return refuse(
      s,
      ErrorCode.RATE_LIMITED,
      sender.id,
      "too many messages too fast; this one was dropped, retry later",
    );
  }
  const { result, job } = outcome;
  const id = job.draft.sender.id;
  switch (result.kind) {
    case "stored": {
      // The ACK goes first: the sender learns the seq of its message before its own copy arrives.
      const { room, seq, ts } = result.message;
      const ack: Effect[] = ready ? [send(s, { type: "ack", id, room, seq, ts })] : [];
      return [...ack, delivered(result.message)];
    }
    case "duplicate":
      if (!ready) return [];
      // Stored before: the token this resend took goes back.
      s.bucket?.refund();
      return [send(s, { type: "ack", id, ...result.receipt })];
    case "failed": {
      if (!ready) return [];
      const why = result.error.kind === "full" ? "disk full" : "storage failure";
      return refuse(
        s,
        ErrorCode.STORAGE_ERROR,
        id,
        `message not stored (${why}); it was not delivered, retry later`,
      );
    }
  }
}

/** A stored message, to every member of its room: on the node that stored it, and on any other that learns of it. */
export function delivered(message: StoredMessage): Effect {
  return { kind: "broadcast", room: message.room, msg: { type: "message", ...message }, except: 0 };
}

export function privateMessage(ctx: Context, s: Session, msg: Private, now: number): Effect[] {
  if (msg.id === 0) return fail(ctx, s, ErrorCode.BAD_FRAME, "PRIVATE id must not be 0", "bad_frame", now);
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
    return refuse(
      s,
      ErrorCode.RATE_LIMITED,
      msg.id,
      "too many messages too fast; this one was dropped, retry later",
    );
  }
  const to = checkName(msg.to);
  if (!to.ok) return refuse(s, ErrorCode.INVALID_NAME, msg.id, `Invalid name: ${to.reason}`);
  const target = ctx.names.holder(nameKey(to.value));
  if (!target || target.state !== "ready") {
    return refuse(s, ErrorCode.NO_SUCH_USER, msg.id, `"${to.value}" is not online`);
  }
  const refused = textRefusal(ctx, s, msg.text, msg.id);
  if (refused) return refused;
  ctx.directReceipts.set(dedupeKey, now);
  if (ctx.directReceipts.size > DIRECT_RECEIPTS) {
    ctx.directReceipts.delete(ctx.directReceipts.keys().next().value!);
  }
  const direct = send(target, {
    type: "direct",
    from: s.name,
    to: target.name,
    ts: now,
    flags: msg.flags & MessageFlags.ACTION,
    text: msg.text,
  });
  const effects: Effect[] = [direct];
  if (target !== s) effects.push({ ...direct, to: s.id });
  if (target.away !== "") {
    effects.push(send(s, {
      type: "presence",
      room: "",
      event: "away",
      name: target.name,
      reason: "",
      text: target.away,
      ts: now,
    }));
  }
  effects.push(ack(now));
  return effects;
}
