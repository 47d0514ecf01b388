/**
 * Checks a HELLO's password before the broker sees it. Account passwords
 * are scrypt hashes, slow by design (~0.5 s and 128 MiB each), so checks run
 * on node:crypto's worker pool, at most a few at a time: a crowd of login
 * attempts queues instead of exhausting memory, and a full queue fails fast.
 *
 * @module
 */

import { hashPassword, sameSecret, verifyPassword } from "../auth/passwords.ts";
import type { SessionAuth } from "../chat/session.ts";
import { type Hello, nameKey } from "../protocol/mod.ts";
import type { AccountStore } from "../chat/ports.ts";

/** scrypt checks at once: one per core of a small server; each needs 128 MiB. */
export const MAX_CONCURRENT_CHECKS = 2;
/** Checks allowed to wait: beyond this, logins fail at once rather than pile up. */
export const MAX_QUEUED_CHECKS = 64;

export interface AuthOptions {
  /** The server password, when the server requires one. */
  serverPassword?: string;
  /** The operator token, when one is configured. */
  adminToken?: string;
  users: AccountStore;
}

export class Authenticator {
  readonly options: AuthOptions;
  #running = 0;
  #queue: Array<() => void> = [];
  // A hash to verify against when the name has no account, so timing does not tell registered names apart.
  #decoy: Promise<string> | null = null;

  constructor(options: AuthOptions) {
    this.options = options;
  }

  /** True when `hello` needs a check at all; open servers skip the async path entirely. */
  needed(hello: Hello): boolean {
    return this.options.serverPassword !== undefined || this.options.adminToken !== undefined ||
      hello.password !== undefined ||
      this.options.users.account(nameKey(hello.name.normalize("NFC"))) !== undefined;
  }

  async check(hello: Hello): Promise<SessionAuth> {
    const password = hello.password ?? null;
    const token = hello.adminToken ?? null;
    const admin = token !== null && this.options.adminToken !== undefined &&
      sameSecret(token, this.options.adminToken);
    const account = this.options.users.account(nameKey(hello.name.normalize("NFC")));
    if (account) {
      if (password === null) return { password: "wrong", admin };
      const ok = await this.#slow(() => verifyPassword(password, account.hash));
      return { password: ok ? "ok" : "wrong", admin: admin || (ok && account.admin) };
    }
    if (this.options.serverPassword !== undefined) {
      if (password !== null) {
        // Spend what an account check would cost, so a wrong guess looks the same either way.
        await this.#slow(async () => verifyPassword(password, await (this.#decoy ??= hashPassword("decoy"))));
      }
      const ok = password !== null && sameSecret(password, this.options.serverPassword);
      return { password: ok ? "ok" : "wrong", admin };
    }
    return { password: "none", admin };
  }

  /** Hashes a /register password, under the same concurrency limit. */
  hash(password: string): Promise<string> {
    return this.#slow(() => hashPassword(password));
  }

  async #slow<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= MAX_CONCURRENT_CHECKS) {
      if (this.#queue.length >= MAX_QUEUED_CHECKS) throw new Error("too many password checks waiting");
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    }
    this.#running++;
    try {
      return await fn();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }
}
