/**
 * Names: who holds which name online (ghosts included), look-alikes, and
 * /nick. A name is held by its case-folded key, and refused when its
 * skeleton matches another online name's (src/protocol/names.ts).
 *
 * @module
 */

import { checkName, ErrorCode, nameKey, nameSkeletons } from "../protocol/mod.ts";
import { type Context, refuse, share } from "./context.ts";
import type { Effect } from "./effects.ts";
import { hostOf } from "./guard.ts";
import { banOf } from "./moderation.ts";
import { toMyRooms } from "./rooms.ts";
import { rename, type Session } from "./session.ts";

/** Online (and ghost) sessions by name key and by every skeleton of their name (src/protocol/names.ts). */
export class NameRegistry {
  #byKey = new Map<string, Session>();
  #bySkeleton = new Map<string, Session>();

  /** Names held. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The session holding name key `key`. */
  holder(key: string): Session | undefined {
    return this.#byKey.get(key);
  }

  /** A session whose name looks like `name` (a skeleton in common), other than those `mine` accepts as the same user. */
  lookalike(name: string, mine: (s: Session) => boolean = () => false): Session | undefined {
    for (const k of nameSkeletons(name)) {
      const s = this.#bySkeleton.get(k);
      if (s !== undefined && !mine(s)) return s;
    }
    return undefined;
  }

  /** `s` holds its name (s.name, s.key) from now on. */
  claim(s: Session): void {
    this.#byKey.set(s.key, s);
    for (const k of nameSkeletons(s.name)) this.#bySkeleton.set(k, s);
  }

  /** `s` no longer holds its name (if it did). */
  release(s: Session): void {
    if (this.#byKey.get(s.key) === s) this.#byKey.delete(s.key);
    for (const k of nameSkeletons(s.name)) if (this.#bySkeleton.get(k) === s) this.#bySkeleton.delete(k);
  }
}

export function nick(ctx: Context, s: Session, raw: string, now: number): Effect[] {
  const name = checkName(raw);
  if (!name.ok) return refuse(s, name.code, 0, `Invalid name: ${name.reason}`);
  const key = nameKey(name.value);
  const holder = ctx.names.holder(key);
  if (holder && holder !== s) {
    return refuse(s, ErrorCode.NAME_TAKEN, 0, `name "${name.value}" is already online`);
  }
  if (name.value === s.name) return [];
  const lookalike = ctx.names.lookalike(name.value, (x) => x === s);
  if (lookalike) {
    return refuse(
      s,
      ErrorCode.NAME_TAKEN,
      0,
      `name "${name.value}" looks too much like "${lookalike.name}", who is online`,
    );
  }
  if (ctx.options.accounts.account(key) !== undefined && key !== s.key) {
    return refuse(
      s,
      ErrorCode.AUTH_FAILED,
      0,
      `"${name.value}" is registered: reconnect with its password to use it`,
    );
  }
  const registered = key === s.key ? undefined : ctx.lookalikes.registered(name.value, key, now);
  if (registered !== undefined) {
    return refuse(
      s,
      ErrorCode.NAME_TAKEN,
      0,
      `name "${name.value}" looks too much like "${registered}", a registered name`,
    );
  }
  if (banOf(ctx, key, hostOf(s.address), now, name.value) !== undefined) {
    return refuse(s, ErrorCode.BANNED, 0, `"${name.value}" is banned`);
  }
  const old = s.name;
  ctx.names.release(s);
  rename(s, name.value);
  s.key = key;
  ctx.names.claim(s);
  return [...toMyRooms(s, "nick", old, s.name, now), ...share(ctx, s)];
}
