/**
 * Reconnection schedule: exponential backoff with jitter, so a server
 * restart is not met by every client at the same instant.
 *
 * @module
 */

export interface BackoffOptions {
  /** Delay before the first retry, before jitter. */
  baseMs: number;
  /** Largest delay, before jitter. */
  maxMs: number;
  /** Fraction of the delay randomised either way: 0.2 gives delay * [0.8, 1.2]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, jitter: 0.2 };

/**
 * Delay before retry number `attempt` (1-based). `random` returns a number in
 * [0, 1), so tests can pin it.
 */
export function backoffDelay(
  attempt: number,
  options = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be >= 1, got ${attempt}`);
  const raw = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt - 1, 30));
  const spread = raw * options.jitter;
  return Math.max(0, Math.round(raw - spread + random() * 2 * spread));
}
