/**
 * A latency histogram with bounded memory and relative precision, in the
 * spirit of HdrHistogram: values (integer microseconds) fall into buckets
 * whose width grows with the value, so recording is O(1), memory is a fixed
 * array, and every percentile is within 1/64 (1.6%) of the true value.
 *
 * @module
 */

/** Values below this are kept exactly (one bucket per microsecond). */
const LINEAR = 128;
/** Buckets per power of two above LINEAR: sets the relative error to 1 / HALF. */
const HALF = 64;
/** Largest recordable value: 2^31 - 1 microseconds is 35 minutes, longer than any run. */
export const MAX_RECORDABLE_US = 0x7fff_ffff;
/** Bucket count: LINEAR exact buckets, then HALF buckets for each shift 1..24 (msb 7..30). */
const BUCKETS = LINEAR + 24 * HALF;

/** Percentiles reported by every run. */
export const PERCENTILES = [50, 90, 99, 99.9] as const;

/** Summary of a histogram, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Index of the bucket holding `v` (an integer in 0..MAX_RECORDABLE_US). */
export function bucketOf(v: number): number {
  if (v < LINEAR) return v;
  const msb = 31 - Math.clz32(v);
  const shift = msb - 6; // v >> shift lies in [64, 127]
  return LINEAR + (shift - 1) * HALF + ((v >>> shift) - HALF);
}

/** The smallest and largest value a bucket holds. */
export function bucketRange(index: number): [number, number] {
  if (index < LINEAR) return [index, index];
  const k = index - LINEAR;
  const shift = Math.floor(k / HALF) + 1;
  const m = (k % HALF) + HALF;
  return [m * 2 ** shift, (m + 1) * 2 ** shift - 1];
}

export class Histogram {
  #counts = new Float64Array(BUCKETS);
  #count = 0;
  #max = 0;
  #sum = 0;

  /** Number of values recorded. */
  get count(): number {
    return this.#count;
  }

  /** Largest value recorded, exactly (microseconds). */
  get max(): number {
    return this.#max;
  }

  /** Records one value in microseconds; negatives count as 0, values past the range as the largest. */
  record(us: number): void {
    const v = us <= 0 ? 0 : us >= MAX_RECORDABLE_US ? MAX_RECORDABLE_US : Math.round(us);
    this.#counts[bucketOf(v)]++;
    this.#count++;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
  }

  /** Forgets every value recorded. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#max = 0;
    this.#sum = 0;
  }

  /** Adds every value of `other` to this histogram. */
  merge(other: Histogram): void {
    const theirs = other.#counts;
    for (let i = 0; i < BUCKETS; i++) this.#counts[i] += theirs[i];
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /**
   * The value at percentile `p` (0 < p <= 100) in microseconds: the middle
   * of the bucket holding the ceil(p% x count)-th smallest value, never more
   * than the exact maximum (which p100 returns). 0 when nothing was recorded.
   */
  percentile(p: number): number {
    if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    if (rank >= this.#count) return this.#max; // the largest value is known exactly
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) {
        const [lo, hi] = bucketRange(i);
        return Math.min(this.#max, (lo + hi) / 2);
      }
    }
    return this.#max;
  }

  /** p50/p90/p99/p99.9/max and the mean, in milliseconds; null when nothing was recorded. */
  summary(): LatencySummary | null {
    if (this.#count === 0) return null;
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.#count,
      p50: ms(this.percentile(50)),
      p90: ms(this.percentile(90)),
      p99: ms(this.percentile(99)),
      p999: ms(this.percentile(99.9)),
      max: ms(this.#max),
      mean: ms(this.#sum / this.#count),
    };
  }
}
