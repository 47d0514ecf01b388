/**
 * Operators and accounts: /kick, /ban, /unban, /mute, /unmute, /register,
 * and the ban and mute checks the other modules ask.
 *
 * @module
 */

import {
  checkName,
  ErrorCode,
  MAX_PASSWORD_BYTES,
  type Moderate,
  nameKey,
  utf8Length,
} from "../protocol/mod.ts";
import { type Context, fatal, refuse, send } from "./context.ts";
import type { Effect } from "./effects.ts";
import { hostOf } from "./guard.ts";
import { drop } from "./handshake.ts";
import { type Ban, StoreError } from "./ports.ts";
import { MAX_REASON_CHARS } from "./rooms.ts";
import type { Session } from "./session.ts";

/** Longest ban or mute with an end: ten years; longer ones are stored as "until lifted". */
const MAX_MODERATION_MS = 10 * 365 * 24 * 3600 * 1000;

/** The ban in force on a name key or an address, or on a name that `name` (default: the key) looks like. */
export function banOf(ctx: Context, key: string, ip: string, now: number, name = key): Ban | undefined {
  const bans = bansInForce(ctx, now);
  // Asked on every handshake and name change: with no bans at all, not even the name's look-alike skeletons.
  if (bans.length === 0) return undefined;
  return bans.find((b) => b.target === `name:${key}` || b.target === `addr:${ip}`) ??
    ctx.lookalikes.banned(name, bans);
}

/** Every ban the store held at its `version`: read again (a query, for SQLite) only when the version moved. */
const BANS = new WeakMap<Context, { version: number; all: Ban[] }>();

function bansInForce(ctx: Context, now: number): Ban[] {
  const store = ctx.options.bans;
  let kept = BANS.get(ctx);
  if (kept === undefined || kept.version !== store.version) {
    // At time 0 every ban is still in force: the ones that ran out since are left out below.
    BANS.set(ctx, kept = { version: store.version, all: store.bans(0) });
  }
  return kept.all.length === 0 ? kept.all : kept.all.filter((b) => b.until === 0 || b.until > now);
}

/** What a banned user is told. */
export function banText(ban: Ban): string {
  // A stored ban may come from an older server or a hand-edited database: never let its date throw.
  const date = new Date(ban.until);
  const until = ban.until === 0 || Number.isNaN(date.getTime()) ? "" : ` until ${date.toISOString()}`;
  return `banned${until}${ban.reason ? `: ${ban.reason}` : ""}`;
}

/** Mutes are kept with the bans, as `mute:<key>`. */
const MUTE = "mute:";

/**
 * The mutes in force, by name key, and until when (Infinity: until lifted): read from the ban store again
 * only when its version moved, since this is asked for every message.
 */
function mutes(ctx: Context, now: number): Map<string, number> {
  const store = ctx.options.bans;
  if (ctx.mutes.version !== store.version) {
    ctx.mutes.version = store.version;
    ctx.mutes.until.clear();
    for (const b of store.bans(now)) {
      if (b.target.startsWith(MUTE)) {
        ctx.mutes.until.set(b.target.slice(MUTE.length), b.until === 0 ? Infinity : b.until);
      }
    }
  }
  return ctx.mutes.until;
}

/** Why `s` may not send now because of a mute, or null. */
export function mutedText(ctx: Context, s: Session, now: number): string | null {
  const muted = mutes(ctx, now).get(s.key);
  if (muted === undefined || muted <= now) return null;
  return `you are muted ${
    muted === Infinity ? "until an operator lifts it" : `for ${Math.ceil((muted - now) / 1000)} s`
  }`;
}

function notice(s: Session, text: string): Effect {
  return send(s, { type: "notice", kind: "moderation", text });
}

export function moderate(ctx: Context, s: Session, msg: Moderate, now: number): Effect[] {
  const reply = (text: string): Effect[] => [notice(s, text)];
  if (!s.admin) return refuse(s, ErrorCode.FORBIDDEN, 0, `/${msg.action} is for operators`);
  const reason = [...msg.reason].slice(0, MAX_REASON_CHARS).join("");
  const isAddress = /^[0-9a-f.:]+$/i.test(msg.target) &&
    (msg.target.includes(".") || msg.target.includes(":"));
  const name = isAddress ? null : checkName(msg.target);
  if (name && !name.ok) return refuse(s, name.code, 0, `Invalid name: ${name.reason}`);
  const key = name?.ok ? nameKey(name.value) : "";
  const target = key ? ctx.names.holder(key) : undefined;
  const online = target?.state === "ready" ? target : undefined;
  // Any u64 is legal on the wire; past ten years a ban or mute is simply "until lifted" (0).
  const durationMs = msg.durationMs > MAX_MODERATION_MS ? 0 : msg.durationMs;
  const forHow = durationMs > 0 ? ` for ${Math.round(durationMs / 1000)} s` : "";
  switch (msg.action) {
    case "kick": {
      if (!online) return refuse(s, ErrorCode.NO_SUCH_USER, 0, `"${msg.target}" is not online`);
      return [
        fatal(online, ErrorCode.KICKED, `kicked by ${s.name}${reason ? `: ${reason}` : ""}`),
        ...drop(ctx, online, "kicked", now, reason),
        ...reply(`kicked ${online.name}`),
      ];
    }
    case "ban": {
      const ban: Ban = {
        target: isAddress ? `addr:${msg.target}` : `name:${key}`,
        until: durationMs > 0 ? now + durationMs : 0,
        reason,
        by: s.name,
        created: now,
      };
      try {
        ctx.options.bans.putBan(ban);
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        return refuse(s, ErrorCode.STORAGE_ERROR, 0, err.message);
      }
      const effects: Effect[] = [];
      // Everyone the ban covers leaves now: the named user, or every connection from the address.
      for (const victim of [...ctx.sessions]) {
        if (victim.state !== "ready") continue;
        if (isAddress ? hostOf(victim.address) !== msg.target : victim.key !== key) continue;
        effects.push(
          fatal(victim, ErrorCode.BANNED, banText(ban)),
          ...drop(ctx, victim, "banned", now, reason),
        );
      }
      return [...effects, ...reply(`banned ${msg.target}${forHow}`)];
    }
    case "unban": {
      const removed = ctx.options.bans.removeBan(isAddress ? `addr:${msg.target}` : `name:${key}`);
      return removed
        ? reply(`unbanned ${msg.target}`)
        : refuse(s, ErrorCode.NO_SUCH_USER, 0, `${msg.target} is not banned`);
    }
    case "mute": {
      if (!key) return refuse(s, ErrorCode.INVALID_NAME, 0, "mute takes a name");
      const mute: Ban = {
        target: MUTE + key,
        until: durationMs > 0 ? now + durationMs : 0,
        reason,
        by: s.name,
        created: now,
      };
      try {
        ctx.options.bans.putBan(mute);
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        return refuse(s, ErrorCode.STORAGE_ERROR, 0, err.message);
      }
      const told = online
        ? [notice(online, `you were muted by ${s.name}${forHow}${reason ? `: ${reason}` : ""}`)]
        : [];
      return [...told, ...reply(`muted ${msg.target}${forHow}`)];
    }
    case "unmute": {
      if (!mutes(ctx, now).has(key) || !ctx.options.bans.removeBan(MUTE + key)) {
        return refuse(s, ErrorCode.NO_SUCH_USER, 0, `${msg.target} is not muted`);
      }
      return [
        ...(online ? [notice(online, `you were unmuted by ${s.name}`)] : []),
        ...reply(`unmuted ${msg.target}`),
      ];
    }
  }
}

export function register(ctx: Context, s: Session, password: string): Effect[] {
  const no = (text: string) => refuse(s, ErrorCode.FORBIDDEN, 0, text);
  if (!ctx.options.allowRegister) return no("registration is disabled on this server");
  if (ctx.options.accounts.account(s.key) !== undefined) return no(`"${s.name}" is already registered`);
  if (password.length < 8) return no("the password needs at least 8 characters");
  // The bound chat user sets: scrypt runs over whatever it is given.
  if (utf8Length(password) > MAX_PASSWORD_BYTES) {
    return no(`the password exceeds ${MAX_PASSWORD_BYTES} bytes`);
  }
  return [{ kind: "register", to: s.id, password }];
}

/** Completes /register once the network layer has hashed the password. */
export function registered(ctx: Context, s: Session, hash: string, now: number): Effect[] {
  if (s.state !== "ready") return [];
  if (ctx.options.accounts.account(s.key) !== undefined) {
    return refuse(s, ErrorCode.FORBIDDEN, 0, `"${s.name}" is already registered`);
  }
  try {
    ctx.options.accounts.putAccount({ name: s.name, key: s.key, hash, admin: false, created: now });
    ctx.lookalikes.changed();
    // It chose the password: the name is proven its own (a party of stored conversations from now on).
    s.verified = s.key;
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    return refuse(s, ErrorCode.STORAGE_ERROR, 0, err.message);
  }
  return [
    send(s, {
      type: "notice",
      kind: "registered",
      text: `"${s.name}" is now registered: connect with your password from now on`,
    }),
  ];
}
