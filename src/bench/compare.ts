/**
 * The comparison the benchmark suite prints: the median of repeated runs per
 * scenario and target, ratios of our server against the peers measured in the
 * same session, and the targets checked against them. Pure.
 *
 * @module
 */

import type { Target } from "./config.ts";
import { bytes, grouped, ms, otherLoad } from "./report.ts";
import type { BenchResult } from "./report.ts";

/** The median of `values` (the mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** The figures compared across targets, each the median over the runs. */
export interface Summary {
  /** The suite's name for the load ("fanout-1000"). */
  scenario: string;
  target: Target;
  runs: number;
  deliveriesPerSec: number | null;
  msgsInPerSec: number | null;
  /** Deliveries per receiver read: how many messages the server put in each write, roughly. */
  perRead: number | null;
  p50: number | null;
  p99: number | null;
  p999: number | null;
  connectMs: number | null;
  rssPerConnection: number | null;
  serverCpu: number | null;
  /** The server's busiest second while measuring (100 = one core). */
  peakCpu: number | null;
  /** Server CPU microseconds per delivery. */
  cpuPerDelivery: number | null;
  peakRss: number | null;
  /** The smallest delivered ratio of any run: one lossy run is not hidden by the median. */
  worstDeliveredRatio: number | null;
  errors: number;
  /** Runs in which the generator's main thread was saturated. */
  saturatedRuns: number;
  /** Share of the machine other processes kept busy (see otherLoad): how noisy the runs were. */
  othersPercent: number | null;
}

function med(
  results: readonly BenchResult[],
  pick: (r: BenchResult) => number | null | undefined,
): number | null {
  return median(results.map(pick).filter((v): v is number => typeof v === "number"));
}

/** Summarises the runs of one scenario against one target. */
export function summarize(scenario: string, target: Target, results: readonly BenchResult[]): Summary {
  const ratios = results.map((r) => r.deliveredRatio).filter((v): v is number => v !== null);
  return {
    scenario,
    target,
    runs: results.length,
    deliveriesPerSec: med(results, (r) => r.scenario === "idle" ? null : r.deliveriesPerSec),
    msgsInPerSec: med(results, (r) => r.scenario === "idle" ? null : r.msgsInPerSec),
    perRead: med(results, (r) => r.deliveriesPerRead),
    p50: med(results, (r) => r.latencyMs?.p50),
    p99: med(results, (r) => r.latencyMs?.p99),
    p999: med(results, (r) => r.latencyMs?.p999),
    connectMs: med(results, (r) => r.connect.ms),
    rssPerConnection: med(results, (r) => r.serverStats?.rssPerConnectionBytes),
    serverCpu: med(results, (r) => r.serverStats?.cpuPercent),
    peakCpu: med(results, (r) => r.serverStats?.peakCpuPercent),
    cpuPerDelivery: med(results, (r) => r.serverStats?.cpuMicrosPerDelivery),
    peakRss: med(results, (r) => r.serverStats?.peakRssBytes),
    worstDeliveredRatio: ratios.length ? Math.min(...ratios) : null,
    errors: results.reduce((n, r) => n + r.errors.count, 0),
    saturatedRuns: results.filter((r) => r.generator.saturated).length,
    othersPercent: med(results, otherLoad),
  };
}

/** a / b, or null when either is missing or b is 0. */
export function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

function fmt(v: number | null, f: (n: number) => string): string {
  return v === null ? "-" : f(v);
}

function times(v: number | null): string {
  if (v === null) return "-";
  return `${v >= 10 ? v.toFixed(0) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2)}x`;
}

/**
 * The comparison table: one block per scenario, one row per target. The last
 * column divides chat's figure by this target's: above 1 is better for
 * deliveries, below 1 is better for latency, connect time and memory.
 */
export function formatComparison(rows: readonly Summary[]): string {
  const header = [
    "scenario",
    "target",
    "deliveries/s",
    "msgs in/s",
    "per read",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "connect ms",
    "RSS/conn",
    "srv CPU",
    "peak",
    "us/dlv",
    "peak RSS",
    "delivered",
    "others",
    "chat / this",
  ];
  const table: string[][] = [header];
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const group = rows.filter((r) => r.scenario === scenario);
    const chat = group.find((r) => r.target === "chat");
    for (const r of group) {
      let vs = "";
      if (chat && r !== chat) {
        vs = scenario.startsWith("idle")
          ? `connect ${times(ratio(chat.connectMs, r.connectMs))}, RSS/conn ${
            times(ratio(chat.rssPerConnection, r.rssPerConnection))
          }`
          : `deliveries ${times(ratio(chat.deliveriesPerSec, r.deliveriesPerSec))}, p99 ${
            times(ratio(chat.p99, r.p99))
          }`;
      }
      const flags = [r.errors > 0 ? `${r.errors} err` : "", r.saturatedRuns > 0 ? "gen sat" : ""]
        .filter(Boolean).join(", ");
      table.push([
        scenario,
        r.target,
        fmt(r.deliveriesPerSec, grouped),
        fmt(r.msgsInPerSec, grouped),
        fmt(r.perRead, (v) => v.toFixed(1)),
        fmt(r.p50, ms),
        fmt(r.p99, ms),
        fmt(r.p999, ms),
        fmt(r.connectMs, ms),
        fmt(r.rssPerConnection, bytes),
        fmt(r.serverCpu, (v) => `${Math.round(v)}%`),
        fmt(r.peakCpu, (v) => `${Math.round(v)}%`),
        fmt(r.cpuPerDelivery, (v) => v.toFixed(2)),
        fmt(r.peakRss, bytes),
        fmt(r.worstDeliveredRatio, (v) => v.toFixed(4)) + (flags ? ` (${flags})` : ""),
        fmt(r.othersPercent, (v) => `${Math.round(v)}%`),
        vs,
      ]);
    }
  }
  return alignTable(table);
}

/** Columns padded to their widest cell, numbers right-aligned. */
export function alignTable(table: readonly string[][]): string {
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => (row[c] ?? "").length)));
  const numeric = (s: string) => /^[-\d.,]+( ?[%xKMGiB]+)?$/.test(s) || s === "-";
  return table.map((row, i) =>
    row.map((cell, c) => i > 0 && numeric(cell) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))
      .join("  ").trimEnd()
  ).join("\n");
}

/** One of the targets, checked. */
export interface Check {
  what: string;
  /** The measured value, in words. */
  got: string;
  /** null when the measurements it needs are missing. */
  ok: boolean | null;
}

/** Checks the targets against the summaries (scenario names as bench/run.ts uses them). */
export function checkTargets(rows: readonly Summary[]): Check[] {
  const get = (scenario: string, target: Target) =>
    rows.find((r) => r.scenario === scenario && r.target === target) ?? null;
  const checks: Check[] = [];
  const atLeast = (what: string, value: number | null, min: number, unit = "x"): void => {
    checks.push({
      what,
      got: value === null ? "not measured" : `${value.toFixed(2)}${unit}`,
      ok: value === null ? null : value >= min,
    });
  };
  const f1000 = {
    chat: get("fanout-1000", "chat"),
    redis: get("fanout-1000", "redis"),
    naive: get("fanout-1000", "naive"),
  };
  atLeast(
    "fanout 1000: deliveries/s >= 1.5x redis",
    ratio(f1000.chat?.deliveriesPerSec ?? null, f1000.redis?.deliveriesPerSec ?? null),
    1.5,
  );
  atLeast(
    "fanout 1000: deliveries/s >= 30x naive",
    ratio(f1000.chat?.deliveriesPerSec ?? null, f1000.naive?.deliveriesPerSec ?? null),
    30,
  );
  atLeast(
    "fanout 100: deliveries/s >= redis",
    ratio(
      get("fanout-100", "chat")?.deliveriesPerSec ?? null,
      get("fanout-100", "redis")?.deliveriesPerSec ?? null,
    ),
    1,
  );
  const chatty = get("chatty", "chat");
  const chattyRedis = get("chatty", "redis");
  checks.push({
    what: "chatty: p50 < 1 ms",
    got: chatty?.p50 == null ? "not measured" : `${ms(chatty.p50)} ms`,
    ok: chatty?.p50 == null ? null : chatty.p50 < 1,
  });
  const p99Ratio = ratio(chatty?.p99 ?? null, chattyRedis?.p99 ?? null);
  checks.push({
    what: "chatty: p99 <= 2x redis p99",
    got: p99Ratio === null
      ? "not measured"
      : `${p99Ratio.toFixed(2)}x (${ms(chatty!.p99!)} vs ${ms(chattyRedis!.p99!)} ms)`,
    ok: p99Ratio === null ? null : p99Ratio <= 2,
  });
  checks.push({
    what: "chatty: nothing lost",
    got: chatty?.worstDeliveredRatio == null
      ? "not measured"
      : `delivered ratio ${chatty.worstDeliveredRatio.toFixed(4)}`,
    ok: chatty?.worstDeliveredRatio == null ? null : chatty.worstDeliveredRatio >= 1 && chatty.errors === 0,
  });
  const idle = get("idle-10k", "chat");
  checks.push({
    what: "idle: <= 8 KiB server RSS per connection",
    got: idle?.rssPerConnection == null ? "not measured" : bytes(idle.rssPerConnection),
    ok: idle?.rssPerConnection == null ? null : idle.rssPerConnection <= 8 * 1024,
  });
  checks.push({
    what: "idle: 10,000 connections in < 3 s",
    got: idle?.connectMs == null ? "not measured" : `${ms(idle.connectMs)} ms`,
    ok: idle?.connectMs == null ? null : idle.connectMs < 3000,
  });
  atLeast(
    "durable: fanout 1000 deliveries/s >= 80% of ephemeral",
    ratio(get("fanout-1000-durable", "chat")?.deliveriesPerSec ?? null, f1000.chat?.deliveriesPerSec ?? null),
    0.8,
  );
  return checks;
}

/** The checks as lines: "[ok] what: got". */
export function formatChecks(checks: readonly Check[]): string {
  return checks.map((c) => `  [${c.ok === null ? "--" : c.ok ? "ok" : "NO"}] ${c.what}: ${c.got}`).join("\n");
}
