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
  /** performance.now() of the last byte received on any connection. */
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
