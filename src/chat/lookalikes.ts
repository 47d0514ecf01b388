/**
 * Which registered or banned name a new name looks like (online names are
 * src/chat/names.ts's). Look-alikes share a skeleton (src/protocol/names.ts
 * {@linkcode nameSkeletons}); the stores answer only for exact names, so the
 * registered names are indexed here by skeleton, in memory, and the name
 * bans' skeletons remembered.
 *
 * @module
 */

import { nameSkeletons } from "../protocol/mod.ts";
import type { Account, AccountStore, Ban } from "./ports.ts";

/**
 * How long the index of registered names is trusted: `chat user add` may
 * register a name from another process while the server runs. The exact
 * name is protected at once (the store is asked each time); its look-alikes
 * from the next rebuild on, at most this long after.
 */
export const ACCOUNTS_REFRESH_MS = 60_000;

/** Ban skeletons remembered before the memo is cleared: bans are few, but a bound costs nothing. */
const MAX_BAN_MEMO = 10_000;

/** Registered and banned names by skeleton. */
export class StoredLookalikes {
  #store: Pick<AccountStore, "account" | "accounts">;
  #refreshMs: number;
  #accounts = new Map<string, Account[]>();
  #builtAt = 0;
  #stale = true;
  // Ban target key -> its skeletons: the bans are read from the store at each check, their skeletons are not recomputed.
  #banSkeletons = new Map<string, string[]>();

  constructor(store: Pick<AccountStore, "account" | "accounts">, refreshMs = ACCOUNTS_REFRESH_MS) {
    this.#store = store;
    this.#refreshMs = refreshMs;
  }

  /**
   * The registered name `name` looks like, unless `key` (the name's own
   * key) is registered itself: its password is checked on its own.
   */
  registered(name: string, key: string, now: number): string | undefined {
    if (this.#store.account(key) !== undefined) return undefined;
    this.#refresh(now);
    for (const k of nameSkeletons(name)) {
      const other = this.#accounts.get(k)?.find((a) => a.key !== key);
      if (other !== undefined) return other.name;
    }
    return undefined;
  }

  /** The name ban among `bans` whose name `name` looks like. */
  banned(name: string, bans: readonly Ban[]): Ban | undefined {
    const mine = new Set(nameSkeletons(name));
    return bans.find((b) =>
      b.target.startsWith("name:") && this.#skeletonsOf(b.target.slice(5)).some((k) => mine.has(k))
    );
  }

  /** The accounts changed in this process (a /register): rebuild before the next look-up. */
  changed(): void {
    this.#stale = true;
  }

  #refresh(now: number): void {
    if (!this.#stale && now - this.#builtAt < this.#refreshMs && now >= this.#builtAt) return;
    const by = new Map<string, Account[]>();
    for (const a of this.#store.accounts()) {
      for (const k of nameSkeletons(a.name)) {
        const list = by.get(k);
        if (list) list.push(a);
        else by.set(k, [a]);
      }
    }
    this.#accounts = by;
    this.#builtAt = now;
    this.#stale = false;
  }

  #skeletonsOf(key: string): string[] {
    let k = this.#banSkeletons.get(key);
    if (k === undefined) {
      if (this.#banSkeletons.size >= MAX_BAN_MEMO) this.#banSkeletons.clear();
      this.#banSkeletons.set(key, k = nameSkeletons(key));
    }
    return k;
  }
}
