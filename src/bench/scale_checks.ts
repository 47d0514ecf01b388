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
