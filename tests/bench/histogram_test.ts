import assert from "node:assert/strict";
import { bucketOf, bucketRange, Histogram, MAX_RECORDABLE_US } from "../../src/bench/histogram.ts";

Deno.test("bucketOf() and bucketRange() agree: every value lies in the range of its bucket", () => {
  const values = [0, 1, 127, 128, 129, 255, 256, 1000, 4095, 4096, 123_456, 9_999_999, MAX_RECORDABLE_US];
  for (let v = 0; v < 5000; v++) values.push(v);
  for (const v of values) {
    const [lo, hi] = bucketRange(bucketOf(v));
    assert.ok(lo <= v && v <= hi, `${v} in [${lo}, ${hi}]`);
  }
});

Deno.test("bucketRange() tiles the values without gaps, each bucket within 1/64 of its values", () => {
  let next = 0;
  for (let i = 0; next <= MAX_RECORDABLE_US; i++) {
    const [lo, hi] = bucketRange(i);
    assert.equal(lo, next, `bucket ${i} starts where bucket ${i - 1} ended`);
    assert.ok((hi - lo) / Math.max(1, lo) <= 1 / 64, `bucket ${i} [${lo}, ${hi}] is narrow`);
    next = hi + 1;
  }
});

Deno.test("Histogram.percentile() is within 1.6% of the exact percentile of a known distribution", () => {
  const h = new Histogram();
  const values: number[] = [];
  // A skewed distribution: many fast values, a long tail.
  for (let i = 1; i <= 10_000; i++) {
    const v = i <= 9000 ? 100 + i : 50_000 + i * 37;
    values.push(v);
    h.record(v);
  }
  values.sort((a, b) => a - b);
  for (const p of [50, 90, 99, 99.9]) {
    const exact = values[Math.ceil((p / 100) * values.length) - 1];
    const got = h.percentile(p);
    assert.ok(Math.abs(got - exact) / exact <= 1 / 64, `p${p}: got ${got}, exact ${exact}`);
  }
  assert.equal(h.percentile(100), values[values.length - 1]);
  assert.equal(h.max, values[values.length - 1]);
  assert.equal(h.count, values.length);
});

Deno.test("Histogram keeps small values exactly and clamps negatives and huge values", () => {
  const h = new Histogram();
  for (const v of [3, 3, 7, -5, 1e12]) h.record(v);
  assert.equal(h.percentile(20), 0);
  assert.equal(h.percentile(40), 3);
  assert.equal(h.percentile(60), 3);
  assert.equal(h.percentile(80), 7);
  assert.equal(h.max, MAX_RECORDABLE_US);
});

Deno.test("Histogram.summary() reports milliseconds, and null when nothing was recorded", () => {
  const h = new Histogram();
  assert.equal(h.summary(), null);
  for (let i = 0; i < 100; i++) h.record(1000); // 1 ms each
  const s = h.summary()!;
  assert.equal(s.count, 100);
  for (const k of ["p50", "p90", "p99", "p999", "max", "mean"] as const) {
    assert.ok(Math.abs(s[k] - 1) <= 1 / 64, `${k} = ${s[k]}`);
  }
});

Deno.test("Histogram.merge() adds counts and keeps the larger max; reset() forgets everything", () => {
  const a = new Histogram();
  const b = new Histogram();
  for (let i = 0; i < 10; i++) a.record(10);
  for (let i = 0; i < 30; i++) b.record(100);
  a.merge(b);
  assert.equal(a.count, 40);
  assert.equal(a.max, 100);
  assert.equal(a.percentile(25), 10);
  assert.equal(a.percentile(26), 100);
  a.reset();
  assert.equal(a.count, 0);
  assert.equal(a.percentile(50), 0);
});

Deno.test("Histogram.percentile() rejects a percentile outside (0, 100]", () => {
  const h = new Histogram();
  assert.throws(() => h.percentile(0), RangeError);
  assert.throws(() => h.percentile(101), RangeError);
});
