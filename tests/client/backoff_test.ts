import assert from "node:assert/strict";
import { backoffDelay, DEFAULT_BACKOFF } from "../../src/client/backoff.ts";

Deno.test("backoffDelay() doubles from the base delay up to the cap", () => {
  const mid = () => 0.5; // no jitter at the midpoint
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffDelay(a, DEFAULT_BACKOFF, mid)), [
    500,
    1000,
    2000,
    4000,
    8000,
  ]);
  assert.equal(backoffDelay(20, DEFAULT_BACKOFF, mid), 30_000);
  assert.equal(backoffDelay(1000, DEFAULT_BACKOFF, mid), 30_000);
});

Deno.test("backoffDelay() spreads delays by the jitter fraction either way", () => {
  const o = { baseMs: 1000, maxMs: 10_000, jitter: 0.2 };
  assert.equal(backoffDelay(1, o, () => 0), 800);
  assert.equal(backoffDelay(1, o, () => 0.999999), 1200);
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(2, o)));
  assert.ok(seen.size > 10, "real randomness gives varied delays");
  for (const d of seen) assert.ok(d >= 1600 && d <= 2400, `${d} outside 2000±20%`);
});

Deno.test("backoffDelay() rejects attempt numbers below 1", () => {
  assert.throws(() => backoffDelay(0), RangeError);
  assert.throws(() => backoffDelay(1.5), RangeError);
});
