import assert from "node:assert/strict";
import {
  alignTable,
  checkTargets,
  formatChecks,
  formatComparison,
  median,
  ratio,
  summarize,
  type Summary,
} from "../../src/bench/compare.ts";
import type { Target } from "../../src/bench/config.ts";
import { sampleResult } from "../_helpers/bench.ts";

Deno.test("median() takes the middle value, or the mean of the middle two", () => {
  assert.equal(median([]), null);
  assert.equal(median([3]), 3);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

Deno.test("ratio() divides, and is null without both figures or for a zero divisor", () => {
  assert.equal(ratio(3, 2), 1.5);
  assert.equal(ratio(null, 2), null);
  assert.equal(ratio(3, 0), null);
});

Deno.test("summarize() takes the median of each figure and the worst delivered ratio", () => {
  const runs = [100, 300, 200].map((d, i) =>
    sampleResult({
      deliveriesPerSec: d,
      deliveredRatio: i === 0 ? 0.99 : 1,
      errors: { count: i, samples: [] },
      generator: { cpuPercent: 99, mainThreadPercent: 99, saturated: i === 2 },
    })
  );
  const s = summarize("fanout-100", "chat", runs);
  assert.equal(s.runs, 3);
  assert.equal(s.deliveriesPerSec, 200);
  assert.equal(s.p99, 3.2);
  assert.equal(s.worstDeliveredRatio, 0.99);
  assert.equal(s.errors, 3);
  assert.equal(s.saturatedRuns, 1);
});

function row(scenario: string, target: Target, over: Partial<Summary>): Summary {
  return { ...summarize(scenario, target, [sampleResult()]), ...over };
}

Deno.test("formatComparison() puts each target of a scenario on its own row with chat's ratios", () => {
  const text = formatComparison([
    row("fanout-1000", "chat", { deliveriesPerSec: 3_000_000, p99: 2 }),
    row("fanout-1000", "redis", { deliveriesPerSec: 1_500_000, p99: 4 }),
  ]);
  const lines = text.split("\n");
  assert.equal(lines.length, 3, text);
  assert.match(lines[1], /^fanout-1000\s+chat\s+3,000,000/);
  assert.match(lines[2], /redis\s+1,500,000.*deliveries 2\.00x, p99 0\.50x$/);
});

Deno.test("alignTable() pads columns to the widest cell and right-aligns numbers", () => {
  assert.equal(alignTable([["a", "n"], ["long", "1,234"], ["b", "5"]]), "a     n\nlong  1,234\nb         5");
});

Deno.test("checkTargets() checks the issue's targets against the medians, and marks missing ones", () => {
  const rows = [
    row("fanout-1000", "chat", { deliveriesPerSec: 3_000_000 }),
    row("fanout-1000", "redis", { deliveriesPerSec: 1_000_000 }),
    row("fanout-1000", "naive", { deliveriesPerSec: 200_000 }),
    row("chatty", "chat", { p50: 0.5, p99: 3, worstDeliveredRatio: 1, errors: 0 }),
    row("chatty", "redis", { p99: 1 }),
  ];
  const checks = checkTargets(rows);
  const by = (what: RegExp) => checks.find((c) => what.test(c.what))!;
  assert.equal(by(/1\.5x redis/).ok, true);
  assert.equal(by(/30x naive/).ok, false);
  assert.equal(by(/p50 < 1 ms/).ok, true);
  assert.equal(by(/p99 <= 2x/).ok, false);
  assert.equal(by(/nothing lost/).ok, true);
  assert.equal(by(/fanout 100:/).ok, null);
  assert.equal(by(/RSS per connection/).ok, null);
  assert.match(formatChecks(checks), /\[ok\].*\n.*\[NO\]/);
  assert.match(formatChecks(checks), /\[--\] fanout 100: deliveries\/s >= redis: not measured/);
});
