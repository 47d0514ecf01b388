/**
 * The client's side of the server's message rate limit: a token bucket that
 * mirrors the one the server keeps for this client (`perSecond` sustained,
 * `burst` at once, announced in WELCOME), a little slower, so that a long
 * paste or a resent outbox goes out as fast as the server accepts it and no
 * faster: nothing is refused, and nobody is disconnected for flooding. Pure:
 * time is passed in.
 *
 * @module
 */

import type { RateLimit } from "../protocol/mod.ts";

/**
 * The share of the announced rate and burst the client uses. The server
 * starts its bucket when the first message arrives and counts arrivals, which
 * network jitter can bunch up; a tenth in hand absorbs that.
 */
export const PACE_MARGIN = 0.9;

/** How long sending holds after RATE_LIMITED from a server that announced no rate. */
export const RATE_RETRY_MS = 1000;

export class Pacer {
  #rate: RateLimit | null = null;
  #tokens = 0;
  #at = 0;
  #holdUntil = 0;

  /** The rate in force, or null when the server announced none. */
  get rate(): RateLimit | null {
    return this.#rate;
  }

  /**
   * A WELCOME arrived with `rate` (null: none announced). The bucket carries
   * over a reconnect: what was sent just before still counts, and a server
   * that starts a fresh bucket only leaves more room.
   */
  announce(rate: RateLimit | null, now: number): void {
    if (rate === null || rate.perSecond <= 0) {
      this.#rate = null;
      return;
    }
    const fresh = this.#rate === null;
    this.#rate = rate;
    if (fresh) {
      this.#tokens = this.#burst();
      this.#at = now;
    } else {
      this.#refill(now);
    }
  }

  /** Takes a token for one message at `now`; false when the message must wait (see {@linkcode nextAt}). */
  take(now: number): boolean {
    if (now < this.#holdUntil) return false;
    if (this.#rate === null) return true;
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** When the next message may go, after {@linkcode take} said no at `now`. */
  nextAt(now: number): number {
    if (now < this.#holdUntil) return this.#holdUntil;
    if (this.#rate === null) return now;
    this.#refill(now);
    if (this.#tokens >= 1) return now;
    return now + Math.ceil(((1 - this.#tokens) * 1000) / this.#pace());
  }

  /** The server refused a message as RATE_LIMITED at `now`: its bucket is empty, whatever ours says. */
  refused(now: number): void {
    this.#tokens = 0;
    this.#at = now;
    if (this.#rate === null) this.#holdUntil = now + RATE_RETRY_MS;
  }

  #burst(): number {
    const burst = this.#rate!.burst;
    return Math.max(1, Math.floor(burst * PACE_MARGIN));
  }

  #pace(): number {
    return this.#rate!.perSecond * PACE_MARGIN;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst(), this.#tokens + ((now - this.#at) / 1000) * this.#pace());
    }
    this.#at = Math.max(this.#at, now);
  }
}
