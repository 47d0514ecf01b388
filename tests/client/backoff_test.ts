import assert from "node:assert/strict";
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  QUICK_ATTEMPTS,
  reconnectDelay,
  REFUSED_RETRY_MS,
} from "../../src/client/backoff.ts";

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

const mid = () => 0.5; // no jitter at the midpoint

Deno.test("reconnectDelay() makes the quick attempts first, then slow ones growing to 30 s, without end", () => {
  const pace = { quick: QUICK_ATTEMPTS };
  const delays = Array.from({ length: 9 }, (_, i) => reconnectDelay(i + 1, pace, false, mid));
  assert.deepEqual(delays, [500, 1000, 2000, 5000, 10_000, 20_000, 30_000, 30_000, 30_000]);
  assert.equal(reconnectDelay(10_000, pace, false, mid), 30_000);
});

Deno.test("reconnectDelay() with quick 0 keeps the quick pace throughout, as --reconnect-attempts 0 always did", () => {
  const delays = Array.from({ length: 8 }, (_, i) => reconnectDelay(i + 1, { quick: 0 }, false, mid));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
});

Deno.test("reconnectDelay() tries again within about 2 s while connections are refused, never in a tight loop", () => {
  const pace = { quick: QUICK_ATTEMPTS };
  assert.equal(reconnectDelay(1, pace, true, mid), 500, "a quick attempt is already sooner");
  for (const attempt of [4, 5, 9, 100]) {
    assert.equal(reconnectDelay(attempt, pace, true, mid), REFUSED_RETRY_MS);
  }
  for (let i = 0; i < 200; i++) {
    const d = reconnectDelay(50, pace, true);
    assert.ok(d >= REFUSED_RETRY_MS * 0.8 && d <= REFUSED_RETRY_MS * 1.2, `${d} outside 2 s ± 20%`);
  }
  assert.ok(reconnectDelay(1, pace, true, () => 0) >= 400, "the shortest wait is still 0.4 s");
});

Deno.test("reconnectDelay() takes the quick pace from the options", () => {
  const backoff = { baseMs: 10, maxMs: 40, jitter: 0 };
  assert.deepEqual([1, 2, 3, 4].map((a) => reconnectDelay(a, { quick: 0, backoff }, false)), [
    10,
    20,
    40,
    40,
  ]);
});
