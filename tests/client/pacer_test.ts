import assert from "node:assert/strict";
import { PACE_MARGIN, Pacer, RATE_RETRY_MS } from "../../src/client/pacer.ts";

const T = 1_000_000;

Deno.test("Pacer without an announced rate lets everything through, until the server says RATE_LIMITED", () => {
  const p = new Pacer();
  for (let i = 0; i < 1000; i++) assert.equal(p.take(T), true);
  p.refused(T);
  assert.equal(p.take(T + RATE_RETRY_MS - 1), false);
  assert.equal(p.nextAt(T + 10), T + RATE_RETRY_MS);
  assert.equal(p.take(T + RATE_RETRY_MS), true);
});

Deno.test("Pacer keeps a tenth of the announced burst and rate in hand", () => {
  const p = new Pacer();
  p.announce({ perSecond: 50, burst: 500 }, T);
  let n = 0;
  while (p.take(T)) n++;
  assert.equal(n, 500 * PACE_MARGIN);
  assert.equal(p.nextAt(T), T + Math.ceil(1000 / (50 * PACE_MARGIN)));
  let later = 0;
  while (p.take(T + 1000)) later++;
  assert.equal(later, 45, "45 a second after the burst");
});

Deno.test("Pacer carries its bucket over a reconnect, and a rate of 0 means none", () => {
  const p = new Pacer();
  p.announce({ perSecond: 10, burst: 10 }, T);
  while (p.take(T));
  p.announce({ perSecond: 10, burst: 10 }, T + 100);
  assert.equal(p.take(T + 100), false, "what was just sent still counts");
  p.announce({ perSecond: 0, burst: 10 }, T + 100);
  assert.equal(p.rate, null);
  assert.equal(p.take(T + 100), true);
});

Deno.test("Pacer with a burst of 1 still sends, one at a time", () => {
  const p = new Pacer();
  p.announce({ perSecond: 1, burst: 1 }, T);
  assert.equal(p.take(T), true);
  assert.equal(p.take(T), false);
  assert.equal(p.take(T + 1112), true);
});
