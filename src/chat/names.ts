/**
 * Names: who holds which name online (ghosts included), look-alikes, and
 * /nick. A name is held by its case-folded key, and refused when its
 * skeleton matches another online name's (src/protocol/names.ts).
 *
 * @module
 */

import { checkName, ErrorCode, nameKey, nameSkeleton } from "../protocol/mod.ts";
import { type Context, refuse } from "./context.ts";
import type { Effect } from "./effects.ts";
import { hostOf } from "./guard.ts";
import { banOf } from "./moderation.ts";
import { toMyRooms } from "./rooms.ts";
import type { Session } from "./session.ts";

/** Online (and ghost) sessions by name key and by name skeleton. */
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

  /** The session whose name looks like `name` (same skeleton), if any. */
  lookalike(name: string): Session | undefined {
    return this.#bySkeleton.get(nameSkeleton(name));
  }

  /** `s` holds its name (s.name, s.key) from now on. */
  claim(s: Session): void {
    this.#byKey.set(s.key, s);
    this.#bySkeleton.set(nameSkeleton(s.name), s);
  }

  /** `s` no longer holds its name (if it did). */
  release(s: Session): void {
    if (this.#byKey.get(s.key) === s) this.#byKey.delete(s.key);
    const skeleton = nameSkeleton(s.name);
    if (this.#bySkeleton.get(skeleton) === s) this.#bySkeleton.delete(skeleton);
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
  const lookalike = ctx.names.lookalike(name.value);
  if (lookalike && lookalike !== s) {
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
  if (banOf(ctx, key, hostOf(s.address), now) !== undefined) {
    return refuse(s, ErrorCode.BANNED, 0, `"${name.value}" is banned`);
  }
  const old = s.name;
  ctx.names.release(s);
  s.name = name.value;
  s.key = key;
  ctx.names.claim(s);
  return toMyRooms(s, "nick", old, s.name, now);
}
