/**
 * What a bench run reports: the result object (printed as one JSON object
 * with --json) and its human forms, the live progress line and the final
 * table. Pure: numbers in, text out.
 *
 * @module
 */

import type { Load, Scenario, Target } from "./config.ts";
import type { LatencySummary } from "./histogram.ts";

/** Main-thread CPU share above which the generator, not the server, may be what limits a run. */
export const SATURATED_PERCENT = 90;

/** The result of one run; every field is present (null where it does not apply). */
export interface BenchResult {
  tool: "chat bench";
  version: string;
  /** When the run ended, ISO 8601. */
  date: string;
  target: Target;
  scenario: Scenario;
  /** `nodes`: chat nodes of a spawned cluster, 0 for one server without NATS. */
  config: Load & {
    shared: boolean;
    durable: boolean;
    nodes: number;
    /** Loopback source addresses the connections were spread over (0: the kernel's choice). */
    sources: number;
  };
  server: {
    spawned: boolean;
    /** Where the first client connected (a cluster's first node). */
    host: string;
    port: number;
    /** Every server the connections were spread over, round robin (one, or a cluster's nodes). */
    servers: Array<{ host: string; port: number }>;
    /** The first measured process, null when none was. */
    pid: number | null;
    /** Every measured process (a cluster's nodes, then its nats-server): serverStats sums them. */
    pids: number[];
    command: string | null;
  };
  connect: {
    connections: number;
    /** From the first connect to the last join confirmed. */
    ms: number;
    perSecond: number;
    /** CPU of the server and of the generator's main thread while connecting (100 = one core). */
    serverCpuPercent: number | null;
    generatorMainThreadPercent: number | null;
  };
  /** Messages sent (messages in), and acknowledged by the server. */
  sent: number;
  acked: number;
  /** Messages counted by receivers, and how many they should have counted. */
  delivered: number;
  expected: number;
  /** delivered / expected; null when nothing was sent. */
  deliveredRatio: number | null;
  /** Seconds of sending. */
  sendSeconds: number;
  /** From the first send to the last delivery. */
  measureSeconds: number;
  msgsInPerSec: number;
  deliveriesPerSec: number;
  /**
   * Deliveries per read on the receivers: how many messages the server
   * coalesced into each write, roughly (a read may also join two writes).
   */
  deliveriesPerRead: number | null;
  /** Send-to-receive latency, milliseconds; null when nothing was timed. */
  latencyMs: LatencySummary | null;
  latencySampledReceivers: number;
  errors: { count: number; samples: string[] };
  /** Measurements of the server process; null when no process was known (no --spawn or --pid). */
  serverStats: {
    /** CPU time over wall time while measuring, all threads (100 = one core). */
    cpuPercent: number | null;
    /**
     * The busiest second while measuring (100 = one core): with the idle
     * scenario, whether heartbeats come as a steady trickle or as a storm.
     */
    peakCpuPercent: number | null;
    peakRssBytes: number | null;
    rssBeforeBytes: number | null;
    rssAfterBytes: number | null;
    /** (rssAfter - rssBefore) / connections: the idle scenario's figure. */
    rssPerConnectionBytes: number | null;
    /**
     * Server CPU time per delivery, microseconds: less sensitive than
     * deliveries/s to other load on the machine, as long as the server gets a core.
     */
    cpuMicrosPerDelivery: number | null;
  } | null;
  generator: {
    /** This process, all threads (100 = one core). */
    cpuPercent: number | null;
    /** The thread that runs JavaScript and the socket operations. */
    mainThreadPercent: number | null;
    saturated: boolean;
  };
  machine: {
    cpus: number;
    /** Busy share of all CPUs while measuring, every process included. */
    busyPercent: number | null;
  };
  warnings: string[];
}

/** `n` with thousands separators, rounded to an integer: 1234567 -> "1,234,567". */
export function grouped(n: number): string {
  const s = String(Math.round(Math.abs(n)));
  const out = s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return n < 0 && Math.round(Math.abs(n)) !== 0 ? `-${out}` : out;
}

/** A byte count in the largest unit that keeps it at least 1: "512 B", "7.9 KiB", "85.2 MiB". */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Milliseconds with a precision that suits their size: "0.412", "12.3", "1,234". */
export function ms(v: number): string {
  if (v < 10) return v.toFixed(3);
  if (v < 100) return v.toFixed(1);
  return grouped(v);
}

function percent(v: number | null): string {
  return v === null ? "n/a" : `${Math.round(v)}%`;
}

/** What a run is, in one line: "fanout against chat (spawned, pid 1234): 100 receivers, ...". */
export function describeRun(r: Pick<BenchResult, "scenario" | "target" | "config" | "server">): string {
  const c = r.config;
  const where = r.server.spawned && c.nodes > 0
    ? `spawned cluster of ${c.nodes} node${c.nodes === 1 ? "" : "s"} over JetStream, pids ${
      r.server.pids.join(" ")
    }`
    : r.server.spawned
    ? `spawned${c.durable ? " durable" : ""}, pid ${r.server.pid}`
    : `${r.server.servers.map((a) => `${a.host}:${a.port}`).join(", ")}${
      r.server.pid !== null ? `, pid ${r.server.pid}` : ""
    }`;
  const parts = [
    `${grouped(c.clients)} ${c.shared ? "clients" : "receivers"}`,
    `${c.rooms} room${c.rooms === 1 ? "" : "s"}`,
  ];
  if (c.sources > 0) parts.push(`from ${c.sources} source address${c.sources === 1 ? "" : "es"}`);
  if (r.scenario !== "idle") {
    parts.push(
      c.shared
        ? `${grouped(c.senders)} of them sending`
        : `${grouped(c.senders)} sender${c.senders === 1 ? "" : "s"}`,
      c.rate > 0 ? `${grouped(c.rate)} msg/s each` : `max rate (window ${c.window})`,
      `${c.size}-byte messages`,
    );
  }
  parts.push(`${c.duration} s`);
  return `${r.scenario} against ${r.target} (${where}): ${parts.join(", ")}`;
}

/** The final table, for stdout. */
export function formatTable(r: BenchResult): string {
  const rows: Array<[string, string]> = [];
  const c = r.connect;
  const cpu = c.serverCpuPercent === null && c.generatorMainThreadPercent === null
    ? ""
    : `; CPU server ${percent(c.serverCpuPercent)}, generator ${percent(c.generatorMainThreadPercent)}`;
  rows.push([
    "connect",
    `${grouped(c.connections)} connections in ${ms(c.ms)} ms (${grouped(c.perSecond)}/s${cpu})`,
  ]);
  if (r.scenario !== "idle") {
    rows.push([
      "messages in",
      `${grouped(r.msgsInPerSec)}/s (${grouped(r.sent)} sent, ${grouped(r.acked)} acked)`,
    ]);
    const ratio = r.deliveredRatio === null ? "n/a" : r.deliveredRatio.toFixed(4);
    rows.push([
      "deliveries",
      `${grouped(r.deliveriesPerSec)}/s (${grouped(r.delivered)} of ${grouped(r.expected)}, ratio ${ratio}` +
      `${r.deliveriesPerRead === null ? "" : `, ${r.deliveriesPerRead.toFixed(1)} per read`})`,
    ]);
    const l = r.latencyMs;
    rows.push([
      "latency ms",
      l === null
        ? "n/a (nothing timed)"
        : `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  max ${ms(l.max)}` +
          `  (${grouped(l.count)} samples, ${r.latencySampledReceivers} receivers)`,
    ]);
  }
  rows.push(["errors", r.errors.count === 0 ? "0" : `${grouped(r.errors.count)}: ${r.errors.samples[0]}`]);
  const s = r.serverStats;
  if (s) {
    const parts = [
      `CPU ${percent(s.cpuPercent)}${
        s.peakCpuPercent === null ? "" : ` (busiest second ${percent(s.peakCpuPercent)})`
      }`,
      `peak RSS ${s.peakRssBytes === null ? "n/a" : bytes(s.peakRssBytes)}`,
    ];
    if (s.rssPerConnectionBytes !== null) parts.push(`RSS per connection ${bytes(s.rssPerConnectionBytes)}`);
    if (s.cpuMicrosPerDelivery !== null) {
      parts.push(`${s.cpuMicrosPerDelivery.toFixed(2)} us CPU per delivery`);
    }
    rows.push(["server", parts.join(", ")]);
  } else {
    rows.push(["server", "not measured (use --spawn, or --pid for a server started elsewhere)"]);
  }
  const g = r.generator;
  rows.push([
    "generator",
    `CPU ${percent(g.cpuPercent)} (main thread ${percent(g.mainThreadPercent)}), machine busy ${
      percent(r.machine.busyPercent)
    } of ${r.machine.cpus} CPUs`,
  ]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  const lines = [`chat bench: ${describeRun(r)}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}${v}`)];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join("\n");
}

/** State shown by the live progress line. */
export interface Progress {
  phase: "connecting" | "settling" | "sending" | "draining" | "idle";
  elapsedS: number;
  connected: number;
  connections: number;
  sent: number;
  delivered: number;
  /** Deliveries per second over the last interval. */
  rate: number;
}

/** The progress line, for stderr. */
export function formatProgress(p: Progress): string {
  const head = `${p.phase.padEnd(10)} ${p.elapsedS.toFixed(1).padStart(5)} s`;
  if (p.phase === "connecting" || p.phase === "settling" || p.phase === "idle") {
    return `${head}  connected ${grouped(p.connected)}/${grouped(p.connections)}`;
  }
  return `${head}  sent ${grouped(p.sent)}  delivered ${grouped(p.delivered)}  rate ${grouped(p.rate)}/s`;
}

/**
 * Share of the whole machine (0-100) that processes other than the server and
 * the generator kept busy while measuring; null when unknown.
 */
export function otherLoad(r: Pick<BenchResult, "generator" | "machine" | "serverStats">): number | null {
  if (r.machine.busyPercent === null || r.generator.cpuPercent === null) return null;
  const own = r.generator.cpuPercent + (r.serverStats?.cpuPercent ?? 0);
  return Math.max(0, r.machine.busyPercent - own / r.machine.cpus);
}

/** Warnings about how far a run can be trusted. */
export function warningsFor(
  r: Pick<BenchResult, "generator" | "machine" | "serverStats" | "deliveredRatio" | "errors" | "scenario">,
): string[] {
  const out: string[] = [];
  if (r.generator.saturated) {
    out.push(
      `the generator's main thread was busy ${percent(r.generator.mainThreadPercent)} of the time: ` +
        "it may be what limits this run, not the server",
    );
  }
  const others = otherLoad(r);
  if (others !== null && others > 15) {
    out.push(`other processes kept about ${Math.round(others)}% of the machine busy: the numbers are noisy`);
  }
  if (r.scenario !== "idle" && r.deliveredRatio !== null && r.deliveredRatio < 1) {
    out.push(`only ${(r.deliveredRatio * 100).toFixed(2)}% of the expected deliveries arrived`);
  }
  if (r.errors.count > 0) {
    out.push(`${grouped(r.errors.count)} error(s); first: ${r.errors.samples.join("; ")}`);
  }
  return out;
}
