/**
 * The targets of issue 19 for many connections, checked against the suite's
 * medians: "loud rooms" (10,000 connections in 100 rooms of 100, presence
 * on) and 100,000 connections from several loopback source addresses. Pure,
 * like the issue 6 checks in compare.ts, beside which bench/run.ts prints them.
 *
 * @module
 */

import type { Check, Summary } from "./compare.ts";
import { bytes, ms } from "./report.ts";

/** The suite's name for the loud-rooms load: 10,000 idle connections in 100 rooms of 100. */
export const LOUD_ROOMS = "idle-10k-100rooms";
/** The suite's name for the 100,000-connection load (opt-in: its open-file and time needs). */
export const HUGE = "idle-100k";

/**
 * The 100,000-connection load runs chat with a heartbeat every 10 s: with the default 5 s timeout,
 * 100,000 silent clients are pinged about 48,000 times a second (README, "Many connections").
 */
export const HUGE_TIMEOUT_MS = 30_000;

/**
 * Heartbeats come as a storm when the server's busiest second of the idle
 * phase reaches half a core: pings spread over the heartbeat keep it near the
 * average instead (BENCHMARKS.md, change 12).
 */
export const STORM_PERCENT = 50;

/** A check that `value` is below `limit`, or "not measured". */
function under(what: string, value: number | null, limit: number, show: (v: number) => string): Check {
  return {
    what,
    got: value === null ? "not measured" : show(value),
    ok: value === null ? null : value < limit,
  };
}

/** Issue 19's targets for loud rooms and 100,000 connections; missing loads are "not measured". */
export function checkScaleTargets(
  rows: readonly Summary[],
  skipped: ReadonlyMap<string, string> = new Map(),
): Check[] {
  const chat = (scenario: string) => rows.find((r) => r.scenario === scenario && r.target === "chat") ?? null;
  const checks: Check[] = [];
  const loud = chat(LOUD_ROOMS);
  const huge = chat(HUGE);
  const connected = (what: string, s: Summary | null, limitMs: number, scenario: string): Check => {
    if (s?.connectMs == null) return { what, got: skipped.get(scenario) ?? "not measured", ok: null };
    const errors = s.errors > 0 ? ` (${s.errors} errors)` : "";
    return { what, got: `${ms(s.connectMs)} ms${errors}`, ok: s.connectMs < limitMs && s.errors === 0 };
  };
  const perConnection = (what: string, s: Summary | null, limit: number, scenario: string): Check => {
    if (s?.rssPerConnection == null) return { what, got: skipped.get(scenario) ?? "not measured", ok: null };
    return { what, got: bytes(s.rssPerConnection), ok: s.rssPerConnection <= limit };
  };
  checks.push(
    connected(
      "loud rooms: 10,000 connections in 100 rooms connected in < 1.5 s, no errors",
      loud,
      1500,
      LOUD_ROOMS,
    ),
    perConnection("loud rooms: <= 8 KiB server RSS per connection", loud, 8 * 1024, LOUD_ROOMS),
    under(
      "loud rooms: server CPU while idle < 5% (default --timeout)",
      loud?.serverCpu ?? null,
      5,
      (v) => `${v.toFixed(1)}%`,
    ),
    connected("100k: 100,000 connections connected in < 15 s, no errors", huge, 15_000, HUGE),
    perConnection("100k: <= 6 KiB server RSS per connection", huge, 6 * 1024, HUGE),
  );
  const storm = `100k: heartbeats without a CPU storm (busiest idle second < ${STORM_PERCENT}% of a core, ` +
    `chat serve --timeout ${HUGE_TIMEOUT_MS})`;
  checks.push(
    huge?.peakCpu == null
      ? { what: storm, got: skipped.get(HUGE) ?? "not measured", ok: null }
      : under(storm, huge.peakCpu, STORM_PERCENT, (v) =>
        `${Math.round(v)}% (mean ${Math.round(huge.serverCpu ?? 0)}%)`),
  );
  return checks;
}

/** The suite's names for the loads issue 19's speed targets are read from. */
export const SPEED_LOADS = {
  fanout100: "fanout-100",
  fanout1000: "fanout-1000",
  chatty: "chatty",
  durable100: "fanout-100-durable",
  cluster1000: "fanout-1000-cluster-3",
  clusterChatty: "chatty-cluster-3",
} as const;

/**
 * Issue 19's speed targets: fan-out against Redis (throughput and p99),
 * chatty p99 against Redis, durable fan-out to 100 against in-memory, and a
 * cluster of 3 nodes against the single process (fan-out) and in absolute
 * terms (chatty p50). Ratios come from loads of the same suite run.
 */
export function checkSpeedTargets(rows: readonly Summary[]): Check[] {
  const get = (scenario: string, target: string) =>
    rows.find((r) => r.scenario === scenario && r.target === target) ?? null;
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a == null || b == null || b === 0 ? null : a / b;
  const atLeast = (what: string, value: number | null, min: number, detail = ""): Check => ({
    what,
    got: value === null ? "not measured" : `${value.toFixed(2)}x${detail}`,
    ok: value === null ? null : value >= min,
  });
  const atMost = (what: string, value: number | null, max: number, detail = ""): Check => ({
    what,
    got: value === null ? "not measured" : `${value.toFixed(2)}x${detail}`,
    ok: value === null ? null : value <= max,
  });
  const L = SPEED_LOADS;
  const p99s = (scenario: string) => {
    const c = get(scenario, "chat")?.p99, r = get(scenario, "redis")?.p99;
    return { value: ratio(c, r), detail: c == null || r == null ? "" : ` (${ms(c)} vs ${ms(r)} ms)` };
  };
  const f1000 = p99s(L.fanout1000);
  const f100 = p99s(L.fanout100);
  const chatty = p99s(L.chatty);
  const clusterP50 = get(L.clusterChatty, "chat")?.p50 ?? null;
  return [
    atLeast(
      "fanout 1000: deliveries/s >= 2x redis",
      ratio(get(L.fanout1000, "chat")?.deliveriesPerSec, get(L.fanout1000, "redis")?.deliveriesPerSec),
      2,
    ),
    atLeast(
      "fanout 100: deliveries/s >= 1.3x redis",
      ratio(get(L.fanout100, "chat")?.deliveriesPerSec, get(L.fanout100, "redis")?.deliveriesPerSec),
      1.3,
    ),
    atMost("fanout 1000: p99 <= redis p99", f1000.value, 1, f1000.detail),
    atMost("fanout 100: p99 <= redis p99", f100.value, 1, f100.detail),
    atMost("chatty: p99 <= redis p99", chatty.value, 1, chatty.detail),
    atLeast(
      "durable: fanout 100 deliveries/s >= 0.8x in-memory",
      ratio(get(L.durable100, "chat")?.deliveriesPerSec, get(L.fanout100, "chat")?.deliveriesPerSec),
      0.8,
    ),
    atLeast(
      "cluster: fanout 1000 over 3 nodes >= 0.5x the single process",
      ratio(get(L.cluster1000, "chat")?.deliveriesPerSec, get(L.fanout1000, "chat")?.deliveriesPerSec),
      0.5,
    ),
    {
      what: "cluster: chatty p50 over 3 nodes < 2 ms",
      got: clusterP50 === null ? "not measured" : `${ms(clusterP50)} ms`,
      ok: clusterP50 === null ? null : clusterP50 < 2,
    },
  ];
}
