/**
 * Abuse limits the broker applies, as small pure state machines: a token
 * bucket per client for message rate, and a growing penalty per address for
 * failed logins. Time is always passed in.
 *
 * @module
 */

/** Message rate limit: `perSecond` sustained, `burst` at once; `perSecond` 0 is no limit (`--rate-limit 0`). */
export interface RateOptions {
  perSecond: number;
  burst: number;
}

/**
 * Default rate: generous enough for a bot piping a file or a long paste
 * (500 at once, then 50 a second), far below a flood of thousands a second.
 */
export const DEFAULT_RATE: RateOptions = { perSecond: 50, burst: 500 };

/** Messages refused for rate within FLOOD_WINDOW_MS after which the client is disconnected. */
export const FLOOD_STRIKES = 50;
export const FLOOD_WINDOW_MS = 10_000;

/** A token bucket plus a count of recent refusals: over the limit, refuse; sustained, disconnect. */
export class TokenBucket {
  #tokens: number;
  #at: number;
  #strikes = 0;
  #strikeWindow = 0;
  readonly options: RateOptions;

  constructor(options: RateOptions, now: number) {
    this.options = options;
    this.#tokens = options.burst;
    this.#at = now;
  }

  /** "ok" to accept a message now, "limited" to refuse it, "flood" when refusals keep coming. */
  take(now: number): "ok" | "limited" | "flood" {
    const { perSecond, burst } = this.options;
    if (perSecond === 0) return "ok";
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#at) / 1000) * perSecond);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return "ok";
    }
    if (now - this.#strikeWindow > FLOOD_WINDOW_MS) {
      this.#strikeWindow = now;
      this.#strikes = 0;
    }
    return ++this.#strikes >= FLOOD_STRIKES ? "flood" : "limited";
  }

  /** Gives back the token a message took: it turned out to be a resend of one already stored. */
  refund(): void {
    this.#tokens = Math.min(this.options.burst, this.#tokens + 1);
  }

  /** Takes back a refusal's strike: the refused message turned out to be stored already. */
  forgive(): void {
    if (this.#strikes > 0) this.#strikes--;
  }
}

/** First penalty after a failed login, doubled per further failure, capped. */
export const AUTH_DELAY_MS = 500;
export const AUTH_DELAY_MAX_MS = 30_000;
/** Failures are forgotten after this long without one. */
export const AUTH_FORGET_MS = 15 * 60_000;
/** Addresses tracked at most: an attacker with many addresses cannot grow this table without bound. */
const MAX_TRACKED = 10_000;

/** Per-address count of recent failed logins, and the delay the next answer gets. */
export class AuthFailures {
  #by = new Map<string, { count: number; last: number }>();

  /** Records a failure from `address` and returns how long to wait before answering it. */
  fail(address: string, now: number): number {
    const prior = this.#by.get(address);
    const count = prior && now - prior.last < AUTH_FORGET_MS ? prior.count + 1 : 1;
    this.#by.delete(address);
    this.#by.set(address, { count, last: now });
    if (this.#by.size > MAX_TRACKED) this.#by.delete(this.#by.keys().next().value!);
    return Math.min(AUTH_DELAY_MAX_MS, AUTH_DELAY_MS * 2 ** (count - 1));
  }

  /** A successful login clears the address's record. */
  succeed(address: string): void {
    this.#by.delete(address);
  }
}

/**
 * Room creation: a client may create this many rooms at once, and this many a
 * second after; an address (all its clients together) four times as many.
 * A person opens a few channels, not hundreds; a crawler creating rooms is
 * slowed to a walk, and empty rooms are forgotten anyway.
 */
export const ROOM_CREATION: RateOptions = { perSecond: 0.5, burst: 16 };
export const ROOM_CREATION_PER_ADDRESS: RateOptions = { perSecond: 2, burst: 64 };

/** A token bucket per address, for at most MAX_TRACKED addresses (the least recently used is forgotten). */
export class AddressBuckets {
  readonly options: RateOptions;
  #by = new Map<string, TokenBucket>();

  constructor(options: RateOptions) {
    this.options = options;
  }

  /** Takes a token for `address`: true when it had one. */
  take(address: string, now: number): boolean {
    let bucket = this.#by.get(address);
    if (bucket) this.#by.delete(address);
    else bucket = new TokenBucket(this.options, now);
    this.#by.set(address, bucket);
    if (this.#by.size > MAX_TRACKED) this.#by.delete(this.#by.keys().next().value!);
    return bucket.take(now) === "ok";
  }

  /** Gives `address` its token back (the creation did not happen after all). */
  refund(address: string): void {
    this.#by.get(address)?.refund();
  }
}

/** The IP part of "ip:port" (IPv6 included). */
export function hostOf(address: string): string {
  const i = address.lastIndexOf(":");
  return i < 0 ? address : address.slice(0, i);
}
