import assert from "node:assert/strict";
import { summarize, type Summary } from "../../src/bench/compare.ts";
import type { Target } from "../../src/bench/config.ts";
import {
  checkScaleTargets,
  checkSpeedTargets,
  HUGE,
  LOUD_ROOMS,
  SPEED_LOADS,
} from "../../src/bench/scale_checks.ts";
import { sampleResult } from "../_helpers/bench.ts";

function row(scenario: string, target: Target, over: Partial<Summary>): Summary {
  return { ...summarize(scenario, target, [sampleResult({ scenario: "idle" })]), ...over };
}

Deno.test("checkScaleTargets() checks loud rooms: connect time without errors, memory and idle CPU", () => {
  const by = (checks: ReturnType<typeof checkScaleTargets>, what: RegExp) =>
    checks.find((c) => what.test(c.what))!;
  const met = checkScaleTargets([
    row(LOUD_ROOMS, "chat", { connectMs: 1400, rssPerConnection: 8 * 1024, serverCpu: 4.9, errors: 0 }),
    row(LOUD_ROOMS, "redis", { connectMs: 100, rssPerConnection: 100, serverCpu: 0 }),
  ]);
  assert.equal(by(met, /loud rooms: .*< 1\.5 s/).ok, true);
  assert.equal(by(met, /loud rooms: <= 8 KiB/).ok, true);
  assert.equal(by(met, /loud rooms: server CPU while idle/).ok, true);
  const missed = checkScaleTargets([
    row(LOUD_ROOMS, "chat", { connectMs: 1400, rssPerConnection: 8 * 1024 + 1, serverCpu: 5, errors: 3 }),
  ]);
  assert.equal(by(missed, /loud rooms: .*< 1\.5 s/).ok, false);
  assert.match(by(missed, /loud rooms: .*< 1\.5 s/).got, /3 errors/);
  assert.equal(by(missed, /loud rooms: <= 8 KiB/).ok, false);
  assert.equal(by(missed, /loud rooms: server CPU while idle/).ok, false);
});

Deno.test("checkScaleTargets() checks 100k against its own limits, the busiest idle second included", () => {
  const by = (checks: ReturnType<typeof checkScaleTargets>, what: RegExp) =>
    checks.find((c) => what.test(c.what))!;
  const checks = checkScaleTargets([
    row(HUGE, "chat", {
      connectMs: 14_000,
      rssPerConnection: 7 * 1024,
      serverCpu: 20,
      peakCpu: 60,
      errors: 0,
    }),
  ]);
  assert.equal(by(checks, /100k: .*< 15 s/).ok, true);
  assert.equal(by(checks, /100k: <= 6 KiB/).ok, false);
  assert.equal(by(checks, /CPU storm/).ok, false);
  assert.match(by(checks, /CPU storm/).got, /60% \(mean 20%\)/);
  assert.match(
    by(checks, /CPU storm/).what,
    /--timeout 30000/,
    "the report says which heartbeat was measured",
  );
});

Deno.test("checkScaleTargets() marks loads that did not run, with the reason they were skipped", () => {
  const checks = checkScaleTargets(
    [],
    new Map([[HUGE, "skipped: needs ulimit -n >= 100,064 (here 20,000)"]]),
  );
  for (const c of checks) assert.equal(c.ok, null, c.what);
  assert.equal(checks.filter((c) => /^100k/.test(c.what)).every((c) => /ulimit -n/.test(c.got)), true);
  assert.equal(checks.filter((c) => /^loud rooms/.test(c.what)).every((c) => c.got === "not measured"), true);
});

Deno.test("checkSpeedTargets() reads issue 19's speed targets from the same run: ratios to Redis, in-memory and the single process", () => {
  const by = (checks: ReturnType<typeof checkSpeedTargets>, what: RegExp) =>
    checks.find((c) => what.test(c.what))!;
  const L = SPEED_LOADS;
  const checks = checkSpeedTargets([
    row(L.fanout1000, "chat", { deliveriesPerSec: 6e6, p99: 50 }),
    row(L.fanout1000, "redis", { deliveriesPerSec: 3e6, p99: 60 }),
    row(L.fanout100, "chat", { deliveriesPerSec: 4e6, p99: 7 }),
    row(L.fanout100, "redis", { deliveriesPerSec: 3.2e6, p99: 6 }),
    row(L.chatty, "chat", { p99: 3 }),
    row(L.chatty, "redis", { p99: 3 }),
    row(L.durable100, "chat", { deliveriesPerSec: 3.2e6 }),
    row(L.cluster1000, "chat", { deliveriesPerSec: 2.9e6 }),
    row(L.clusterChatty, "chat", { p50: 2 }),
  ]);
  assert.equal(by(checks, /fanout 1000: deliveries/).ok, true, "2.00x");
  assert.equal(by(checks, /fanout 100: deliveries/).ok, false, "1.25x");
  assert.equal(by(checks, /fanout 1000: p99/).ok, true);
  assert.equal(by(checks, /fanout 100: p99/).ok, false);
  assert.match(by(checks, /fanout 100: p99/).got, /1\.17x \(7\.0+ vs 6\.0+ ms\)/);
  assert.equal(by(checks, /chatty: p99/).ok, true, "equal is at or under");
  assert.equal(by(checks, /durable/).ok, true, "0.80x");
  assert.equal(by(checks, /cluster: fanout/).ok, false, "0.48x");
  assert.equal(by(checks, /cluster: chatty p50/).ok, false, "2 ms is not under 2 ms");
  for (const c of checkSpeedTargets([])) assert.deepEqual([c.ok, c.got], [null, "not measured"], c.what);
});
