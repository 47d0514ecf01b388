/**
 * A small seeded pseudo-random generator for randomized tests: the same seed
 * gives the same sequence on every run and machine, so a failure printed with
 * its seed can be replayed exactly.
 *
 * @module
 */

/** A generator of uniform numbers in [0, 1), plus the helpers tests draw with. */
export class Prng {
  /** The seed this generator started from, for failure messages. */
  readonly seed: number;
  #state: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** Next number in [0, 1) (mulberry32: 32 bits of state, good enough for tests). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [min, max], both included. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/**
 * The seed for a randomized test: `FUZZ_SEED` when it is set and readable
 * (an unsigned 32-bit integer, or "random" for a fresh one), else `fallback`.
 * Reading the variable needs `--allow-env`; without it the fallback is used,
 * so the test still runs with `--allow-read` alone.
 */
export function testSeed(fallback: number): number {
  const granted = Deno.permissions.querySync({ name: "env", variable: "FUZZ_SEED" }).state === "granted";
  const raw = granted ? Deno.env.get("FUZZ_SEED") : undefined;
  if (raw === undefined || raw === "") return fallback >>> 0;
  if (raw === "random") return crypto.getRandomValues(new Uint32Array(1))[0];
  const seed = Number(raw);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new RangeError(`FUZZ_SEED must be an integer in 0..4294967295 or "random", got ${raw}`);
  }
  return seed;
}
