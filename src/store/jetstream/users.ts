/**
 * Accounts and bans shared by every node of a cluster: two NATS KV buckets,
 * watched into memory so that the handshake reads them at once (the broker
 * reads accounts and bans on every HELLO). A write changes this node's copy
 * at once and the bucket right after; every node's watcher then takes it in.
 *
 * @module
 */

import { connect, type NatsConnection } from "npm:@nats-io/transport-node@3.4.0";
import { type KV, Kvm } from "npm:@nats-io/kv@3.4.0";
import type { Account, AccountStore, Ban, BanStore } from "../../chat/ports.ts";
import { streamName } from "./log.ts";
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

/**
 * A cluster's accounts as `chat user` manages them: read from and written to the bucket directly, each write
 * awaited, without joining the cluster. Every node's watcher takes a change in at once.
 */
export class ClusterAccounts {
  readonly #nc: NatsConnection;
  readonly #kv: KV;

  private constructor(nc: NatsConnection, kv: KV) {
    this.#nc = nc;
    this.#kv = kv;
  }

  /** Connects to `servers` and opens the accounts bucket of cluster `name`, which a node must have made. */
  static async open(servers: string[], name: string): Promise<ClusterAccounts> {
    const nc = await connect({ servers, name: `chat user ${name}`, noAsyncTraces: true });
    const bucket = `${streamName(name)}_accounts`;
    try {
      const kv = await new Kvm(nc).open(bucket);
      // open() binds without asking: ask once, so a cluster never started says so here.
      await kv.status();
      return new ClusterAccounts(nc, kv);
    } catch (err) {
      await nc.close();
      const why = (err as Error).message;
      throw new Error(
        /not found|no responders/i.test(why)
          ? `no cluster "${name}" on that NATS (bucket ${bucket} is missing): start a node with --cluster first`
          : why,
      );
    }
  }

  async account(key: string): Promise<Account | undefined> {
    const e = await this.#kv.get(keyOf(key));
    return e && e.operation === "PUT" ? JSON.parse(e.string()) as Account : undefined;
  }

  async putAccount(account: Account): Promise<void> {
    await this.#kv.put(keyOf(account.key), JSON.stringify(account));
  }

  async removeAccount(key: string): Promise<boolean> {
    if (await this.account(key) === undefined) return false;
    await this.#kv.delete(keyOf(key));
    return true;
  }

  async accounts(): Promise<Account[]> {
    const out: Account[] = [];
    for await (const k of await this.#kv.keys()) {
      const e = await this.#kv.get(k);
      if (e && e.operation === "PUT") out.push(JSON.parse(e.string()) as Account);
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async close(): Promise<void> {
    await this.#nc.close();
  }
}
