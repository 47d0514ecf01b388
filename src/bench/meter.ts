/**
 * The counters every connection of a run updates: deliveries, what was owed,
 * latency samples and errors, plus the flow control that pauses max-rate
 * senders while receivers lag (so no server drops them as slow consumers).
 *
 * @module
 */

import { Histogram } from "./histogram.ts";

/** Error messages kept for the report; the count covers all of them. */
const ERROR_SAMPLES = 5;

export class Meter {
  /** Messages counted by receivers. */
  delivered = 0;
  /** Deliveries owed for the messages sent so far (each message times the receivers of its room). */
  expected = 0;
  /**
   * performance.now() of the last read on any connection that held more than
   * heartbeats: what the settling after connect waits to go quiet (a server
   * pings idle connections all the time, so the last byte of any kind never would).
   */
  lastByteAt = 0;
  /** performance.now() of the last delivery counted. */
  lastDeliveryAt = 0;
  bytesIn = 0;
  /** Reads that brought bytes to counted receivers: deliveries / reads shows how well the server coalesces. */
  receiverReads = 0;
  errors = 0;
  readonly errorSamples: string[] = [];
  readonly latency = new Histogram();
  /** True while max-rate senders wait for receivers to catch up. */
  blocked = false;
  /** Undelivered messages at which senders pause; they resume below half of it. */
  lagLimit = Infinity;
  /** Called when receivers have caught up after a pause. */
  onCatchUp: () => void = () => {};

  /** Counts an error and keeps its message if it is among the first few. */
  error(message: string): void {
    this.errors++;
    if (this.errorSamples.length < ERROR_SAMPLES) this.errorSamples.push(message);
  }

  /** Deliveries owed and not yet seen. */
  get lag(): number {
    return this.expected - this.delivered;
  }

  /** Called by receivers after each read while blocked: unblocks once the lag has halved. */
  checkLag(): void {
    if (this.blocked && this.expected - this.delivered <= this.lagLimit / 2) {
      this.blocked = false;
      this.onCatchUp();
    }
  }
}

/**
 * The highest rate of a growing counter between consecutive samples: fed a
 * process's CPU seconds once a second, its busiest second. Windows shorter
 * than `minWindowMs` are not rated (CPU time moves in 10 ms ticks, so a short
 * window's rate is mostly rounding): the next sample rates from where it began.
 */
export class PeakRate {
  readonly minWindowMs: number;
  #lastAt = 0;
  #last: number | null = null;
  /** Counter units per second in the busiest window so far; null before two samples. */
  peak: number | null = null;

  constructor(minWindowMs: number) {
    this.minWindowMs = minWindowMs;
  }

  /** The counter read `value` at `atMs`; null (unreadable) is skipped. */
  sample(atMs: number, value: number | null): void {
    if (value === null) return;
    if (this.#last !== null) {
      const ms = atMs - this.#lastAt;
      if (ms < this.minWindowMs) return;
      const rate = (value - this.#last) / (ms / 1000);
      if (this.peak === null || rate > this.peak) this.peak = rate;
    }
    this.#last = value;
    this.#lastAt = atMs;
  }
}
