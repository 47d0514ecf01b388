import assert from "node:assert/strict";
import { PeakRate } from "../../src/bench/meter.ts";

Deno.test("PeakRate keeps the highest rate between consecutive samples", () => {
  const p = new PeakRate(500);
  assert.equal(p.peak, null);
  p.sample(0, 10);
  assert.equal(p.peak, null);
  p.sample(1000, 10.2); // 0.2 per second
  p.sample(2000, 10.9); // 0.7
  p.sample(3000, 11.0); // 0.1
  assert.ok(Math.abs(p.peak! - 0.7) < 1e-9, String(p.peak));
});

Deno.test("PeakRate skips unreadable samples and rates no window shorter than its minimum", () => {
  const p = new PeakRate(500);
  p.sample(0, 0);
  p.sample(1000, 0.1);
  // 20 ms with 20 ms of CPU would read as a full core: too short to say anything; rated with the next.
  p.sample(1020, 0.12);
  p.sample(1500, null);
  assert.ok(Math.abs(p.peak! - 0.1) < 1e-9, String(p.peak));
  p.sample(2000, 0.25);
  assert.ok(Math.abs(p.peak! - 0.15) < 1e-9, String(p.peak));
});
