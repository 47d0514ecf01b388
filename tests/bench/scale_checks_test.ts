import assert from "node:assert/strict";
import { summarize, type Summary } from "../../src/bench/compare.ts";
import type { Target } from "../../src/bench/config.ts";
import { checkScaleTargets, HUGE, LOUD_ROOMS } from "../../src/bench/scale_checks.ts";
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
