/**
 * Reconnection schedule: exponential backoff with jitter, so a server
 * restart is not met by every client at the same instant.
 *
 * A lost connection is retried quickly a few times (a blip, a server that
 * restarts in a second), then slowly for as long as the client runs (a
 * server that is down for a while, a laptop offline). Whenever the last try
 * was refused (the host is up but nothing listens on the port, which is what
 * a restarting server looks like), the next try comes soon whatever the
 * phase: asking again costs one round trip, and the client is back the
 * moment the server is.
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

/** The quick pace: 0.5, 1, 2, 4 s ... up to 30 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, jitter: 0.2 };

/** The slow pace, after the quick attempts: 5, 10, 20 s, then every 30 s. */
export const SLOW_BACKOFF: BackoffOptions = { baseMs: 5_000, maxMs: 30_000, jitter: 0.2 };

/**
 * Quick attempts (0.5, 1 and 2 s after the loss) before the slow pace: the
 * original design's RECONNECT_ATTEMPTS 3, which were all a client made before
 * giving up. Now they are the first of as many as `--reconnect-attempts`
 * allows (by default, no limit).
 */
export const QUICK_ATTEMPTS = 3;

/** Longest wait, before jitter, after a try that found nothing listening: never a tight loop, never long. */
export const REFUSED_RETRY_MS = 2_000;

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

export interface ReconnectPace {
  /** Attempts at the quick pace before the slow one; 0: the quick pace throughout (it still grows to its cap). */
  quick: number;
  /** The quick pace; {@linkcode DEFAULT_BACKOFF} unless given. */
  backoff?: BackoffOptions;
  /** The slow pace; {@linkcode SLOW_BACKOFF} unless given. */
  slow?: BackoffOptions;
}

/** How a client paces its reconnection attempts unless told otherwise: quick ones first, then slow ones. */
export const DEFAULT_PACE: ReconnectPace = { quick: QUICK_ATTEMPTS };

/**
 * Delay before reconnection attempt `attempt` (1-based): the quick pace for
 * the first `pace.quick` attempts, the slow pace after them, and at most
 * about {@linkcode REFUSED_RETRY_MS} when the last try was refused.
 */
export function reconnectDelay(
  attempt: number,
  pace: ReconnectPace,
  refused: boolean,
  random: () => number = Math.random,
): number {
  const quick = pace.backoff ?? DEFAULT_BACKOFF;
  const delay = pace.quick === 0 || attempt <= pace.quick
    ? backoffDelay(attempt, quick, random)
    : backoffDelay(attempt - pace.quick, pace.slow ?? SLOW_BACKOFF, random);
  if (!refused) return delay;
  return Math.min(
    delay,
    backoffDelay(1, { ...quick, baseMs: REFUSED_RETRY_MS, maxMs: REFUSED_RETRY_MS }, random),
  );
}
