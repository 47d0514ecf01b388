/**
 * Admission: limits on connections per remote address, checked before any
 * protocol work (src/net/server.ts asks before a connection gets a session).
 *
 * @module
 */

/** Limits on connections per remote address. */
export interface ConnectionLimits {
  /** Connections open at once from one address. */
  perAddress: number;
  /** New connections per minute from one address. */
  perMinute: number;
  /** Apply the limits to loopback too (off by default: a local proxy makes every client look like 127.0.0.1). */
  loopback: boolean;
}

/** The window of the per-minute limit. */
const MINUTE_MS = 60_000;

export class Admission {
  readonly limits: ConnectionLimits | undefined;
  // Open connections and recent connection times per remote address.
  #perAddress = new Map<string, { open: number; starts: number[] }>();
  #sweptAt = 0;

  constructor(limits?: ConnectionLimits) {
    this.limits = limits;
  }

  /** Counts a new connection from `ip`, or says why it is refused (and then does not count it). */
  admit(ip: string, now: number): string | null {
    this.#sweep(now);
    const limits = this.limits;
    let entry = this.#perAddress.get(ip);
    if (!entry) this.#perAddress.set(ip, entry = { open: 0, starts: [] });
    entry.open++;
    if (!limits || (!limits.loopback && isLoopback(ip))) return null;
    entry.starts = entry.starts.filter((t) => now - t < MINUTE_MS);
    entry.starts.push(now);
    if (entry.open > limits.perAddress) {
      this.release(ip, now);
      return `too many connections from ${ip} (limit ${limits.perAddress})`;
    }
    if (entry.starts.length > limits.perMinute) {
      this.release(ip, now);
      return `too many new connections from ${ip} (limit ${limits.perMinute} a minute)`;
    }
    return null;
  }

  /** A connection from `ip` ended. */
  release(ip: string, now: number): void {
    const entry = this.#perAddress.get(ip);
    if (!entry) return;
    entry.open--;
    // Forget quiet addresses, so the table stays as small as the set of active ones.
    if (entry.open <= 0 && entry.starts.every((t) => now - t >= MINUTE_MS)) this.#perAddress.delete(ip);
  }

  /**
   * Forgets, at most once a minute, the addresses with nothing open and no
   * start in the last minute: release() keeps one that closes within its
   * minute (its start still counts), and nothing else would remove it.
   */
  #sweep(now: number): void {
    if (now - this.#sweptAt < MINUTE_MS) return;
    this.#sweptAt = now;
    for (const [ip, entry] of this.#perAddress) {
      if (entry.open <= 0 && entry.starts.every((t) => now - t >= MINUTE_MS)) this.#perAddress.delete(ip);
    }
  }

  /** Addresses tracked (for tests). */
  get addresses(): number {
    return this.#perAddress.size;
  }
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1" || ip === "::ffff:127.0.0.1";
}
