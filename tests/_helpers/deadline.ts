/**
 * Waiting with deadlines, for tests that watch real processes and sockets:
 * a condition is re-checked each time new input arrives, and a wait that
 * runs out fails with a message showing what was seen instead.
 *
 * @module
 */

/**
 * How long a test waits for an event that should come promptly. Generous,
 * because a loaded 2-core machine may take a while to start a process; a
 * passing test never waits this long. CHAT_E2E_TIMEOUT_MS overrides it.
 */
export const WAIT_MS = Number(Deno.env.get("CHAT_E2E_TIMEOUT_MS") ?? "") || 10_000;

/** Wakes whoever waits for the next change (a line, a frame, the end of a stream). */
export class Changes {
  #waiters = new Set<() => void>();

  /** Wakes every current waiter. */
  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  /** Resolves at the next {@linkcode notify}, or once `deadline` (epoch ms) has passed. */
  async next(deadline: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake!: () => void;
    try {
      await new Promise<void>((resolve) => {
        wake = resolve;
        this.#waiters.add(resolve);
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      });
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(wake);
    }
  }
}

/** What {@linkcode waitFor} needs from a source of input. */
export interface Watched {
  readonly changes: Changes;
  /** True once no more input can arrive. */
  readonly ended: boolean;
  /** What was seen so far, for the failure message. */
  describe(): string;
}

/**
 * Re-runs `check` after every change of `source` until it returns something
 * other than undefined. Fails when `timeoutMs` passes or the source ends first.
 */
export async function waitFor<T>(
  source: Watched,
  check: () => T | undefined,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (source.ended) throw new Error(`Ended before ${what}; saw:\n${source.describe()}`);
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; saw:\n${source.describe()}`);
    }
    await source.changes.next(deadline);
  }
}

/** Resolves like `promise`, or fails with `describe()` when `timeoutMs` passes first. */
export async function withDeadline<T>(
  promise: Promise<T>,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs} ms: ${describe()}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The last `max` entries of `lines`, indented, for failure messages. */
export function tail(lines: readonly string[], max = 40): string {
  const shown = lines.slice(-max).map((l) => `    ${l}`);
  if (lines.length > max) shown.unshift(`    ... (${lines.length - max} earlier lines)`);
  return shown.length ? shown.join("\n") : "    (nothing)";
}
