/**
 * Accounts and bans shared by every node of a cluster: two NATS KV buckets,
 * watched into memory so that the handshake reads them at once (the broker
 * reads accounts and bans on every HELLO). A write changes this node's copy
 * at once and the bucket right after; every node's watcher then takes it in.
 *
 * @module
 */

import type { KV } from "npm:@nats-io/kv@3.4.0";
import type { Account, AccountStore, Ban, BanStore } from "../../chat/ports.ts";
import { keyOf, watchBucket } from "./watch.ts";

export class KvUsers implements AccountStore, BanStore {
  #accounts = new Map<string, Account>();
  #bans = new Map<string, Ban>();
  /** Moves with every change of the bans, here or on another node. */
  version = 0;
  #accountsKv: KV;
  #bansKv: KV;
  #warn: (line: string) => void;

  private constructor(accounts: KV, bans: KV, warn: (line: string) => void) {
    this.#accountsKv = accounts;
    this.#bansKv = bans;
    this.#warn = warn;
  }

  /** Opens both buckets and resolves once their current contents are in memory. */
  static async open(accounts: KV, bans: KV, warn: (line: string) => void): Promise<KvUsers> {
    const users = new KvUsers(accounts, bans, warn);
    await Promise.all([
      watchBucket(accounts, {
        put: (v) => {
          const a = v as Account;
          users.#accounts.set(a.key, a);
        },
        del: (k) => users.#accounts.delete(k),
        warn,
      }),
      watchBucket(bans, {
        put: (v) => {
          const b = v as Ban;
          users.#bans.set(b.target, b);
          users.version++;
        },
        del: (k) => {
          users.#bans.delete(k);
          users.version++;
        },
        warn,
      }),
    ]);
    return users;
  }

  #write(kv: KV, key: string, value: unknown): void {
    kv.put(keyOf(key), JSON.stringify(value)).catch((err) =>
      this.#warn(`cluster: cannot share ${key} with the other nodes: ${(err as Error).message}`)
    );
  }

  #remove(kv: KV, key: string): void {
    kv.delete(keyOf(key)).catch((err) =>
      this.#warn(`cluster: cannot share the removal of ${key}: ${(err as Error).message}`)
    );
  }

  account(key: string): Account | undefined {
    return this.#accounts.get(key);
  }
  putAccount(account: Account): void {
    this.#accounts.set(account.key, account);
    this.#write(this.#accountsKv, account.key, account);
  }
  removeAccount(key: string): boolean {
    const had = this.#accounts.delete(key);
    if (had) this.#remove(this.#accountsKv, key);
    return had;
  }
  accounts(): Account[] {
    return [...this.#accounts.values()].sort((a, b) => a.key.localeCompare(b.key));
  }
  bans(now: number): Ban[] {
    return [...this.#bans.values()].filter((b) => b.until === 0 || b.until > now);
  }
  putBan(ban: Ban): void {
    this.version++;
    this.#bans.set(ban.target, ban);
    this.#write(this.#bansKv, ban.target, ban);
  }
  removeBan(target: string): boolean {
    this.version++;
    const had = this.#bans.delete(target);
    if (had) this.#remove(this.#bansKv, target);
    return had;
  }
}
