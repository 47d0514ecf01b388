/**
 * The load generator: opens the receivers and senders of a run against one
 * target, drives the senders (at a fixed rate, or as fast as a bounded
 * window of unacknowledged messages allows), counts what arrives, samples the
 * server's and its own CPU and memory, and returns the result.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { type BenchConfig, connectionCount, roomName, runTag, sourceAddress } from "./config.ts";
import { Meter, PeakRate } from "./meter.ts";
import { cpuCount, machineCpu, mainThreadCpu, openFileLimit, processCpu, processMemory } from "./procfs.ts";
import { type BenchResult, type Progress, SATURATED_PERCENT, warningsFor } from "./report.ts";
import { spawnCluster, spawnServer } from "./spawn.ts";
import { StampWriter } from "./stamp.ts";
import { adapterFor, type Endpoint, type EndpointOptions } from "./targets.ts";

/** Connections being opened at once: enough to be quick, few enough not to overflow the listen backlog. */
const CONNECT_CONCURRENCY = 128;
/** Receivers whose deliveries are timed: spread evenly, so timing costs the generator little. */
const MAX_SAMPLED = 64;
/** Read buffers of all connections together stay near this many bytes. */
const READ_BUFFER_TOTAL = 64 * 1024 * 1024;
/** The smallest read buffer: a loud room's member list (100 names) still takes one or two reads. */
const MIN_READ_BUFFER = 1024;
/** The server's CPU is sampled this often while measuring, for its busiest second. */
const CPU_SAMPLE_MS = 1000;
/** Quiet time that ends the settling after connect (presence announcements, member lists). */
const SETTLE_QUIET_MS = 300;
/** Longest settling: the server may still be announcing joins to thousands of members. */
const SETTLE_MAX_MS = 120_000;
/** Draining ends when nothing has arrived for this long... */
const DRAIN_QUIET_MS = 2000;
/** ...or after this long in all. */
const DRAIN_MAX_MS = 30_000;
/**
 * Rate-mode senders are checked this often. With 5 ms, 100 senders at 10 msg/s
 * went out about 5 at a time, and each burst's 500 deliveries queued behind
 * one another: that added about 1 ms to every target's chatty p50 (BENCHMARKS.md, change 11).
 */
const TICK_MS = 1;
/** How often the progress line is redrawn. */
const PROGRESS_MS = 1000;
/** Open files kept free beyond the connections (the runtime, the spawned child's pipes). */
const SPARE_FILES = 64;
/** Undelivered messages per receiver, on average, at which max-rate senders pause. */
const LAG_PER_RECEIVER = 256;

/** Where the generator reports while it runs. */
export interface RunHooks {
  /** A new progress state, about once a second; `final` for the last one. */
  progress(p: Progress, final: boolean): void;
  /** Aborting stops the run (it still closes its connections and stops what it spawned). */
  signal?: AbortSignal;
}

/** A run that could not be carried out (nothing to measure), as opposed to one with errors. */
export class BenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BenchError";
  }
}

/** The run was interrupted through {@linkcode RunHooks.signal}. */
export class BenchAborted extends BenchError {
  constructor() {
    super("interrupted");
    this.name = "BenchAborted";
  }
}

/**
 * Read buffer per connection: 64 KiB for hundreds, 4 KiB for 10,000, 1 KiB
 * from about 33,000 (4 KiB each at 100,000 would be 400 MiB, more than the
 * server holds; an idle connection reads pings and member lists).
 */
export function readBufferSize(connections: number): number {
  let size = 64 * 1024;
  while (size > MIN_READ_BUFFER && size * connections > READ_BUFFER_TOTAL) size /= 2;
  return size;
}

/**
 * Messages a fixed-rate sender should have sent `elapsedMs` into the run: the
 * first at `phase` (0..1) of its period, then one every period. Phases spread
 * evenly over the senders keep them from sending all at once.
 */
export function messagesDue(elapsedMs: number, rate: number, phase: number): number {
  const periods = (elapsedMs / 1000) * rate;
  return periods >= phase ? Math.floor(periods - phase) + 1 : 0;
}

/** Every `stride`-th receiver is timed, for at most `max` of them. */
export function sampleStride(clients: number, max = MAX_SAMPLED): number {
  return Math.max(1, Math.ceil(clients / max));
}

interface Sender {
  index: number;
  room: string;
  endpoint: Endpoint;
  stamps: StampWriter;
  sent: number;
  /** Deliveries each message owes: the receivers in its room. */
  fanout: number;
  /** For rate mode: where in the 1/rate period this sender's messages fall. */
  phase: number;
}

/** Runs one bench; always closes its connections and stops what it spawned. */
export async function runBench(config: BenchConfig, hooks: RunHooks): Promise<BenchResult> {
  const connections = connectionCount(config);
  const limit = openFileLimit();
  if (limit !== null && connections + SPARE_FILES > limit) {
    throw new BenchError(
      `${connections} connections need more open files than the limit of ${limit}: ` +
        `raise it (ulimit -n ${connections + SPARE_FILES}) or use fewer --clients`,
    );
  }
  let server: UnderTest;
  try {
    server = await startServer(config, connections);
  } catch (err) {
    throw new BenchError((err as Error).message);
  }
  const endpoints: Endpoint[] = [];
  try {
    return await measure(config, server, endpoints, hooks);
  } finally {
    for (const e of endpoints) e.close();
    await Promise.all(endpoints.map((e) => e.done));
    await server.stop();
  }
}

/** The server (or cluster) under test: where clients connect, and which processes are measured. */
interface UnderTest {
  /** Client i connects to `addrs[i % addrs.length]`: one address, or one per cluster node. */
  addrs: Array<{ host: string; port: number }>;
  /** Processes whose CPU and memory are summed as the server's; empty when none is known. */
  pids: number[];
  spawned: boolean;
  command: string | null;
  stop(): Promise<void>;
}

/** Starts what the config asks for (a server, a cluster), or names the running one. */
async function startServer(config: BenchConfig, connections: number): Promise<UnderTest> {
  if (config.spawn && config.nodes > 0) {
    const c = await spawnCluster({ connections, nodes: config.nodes, extra: config.serverFlags });
    return {
      addrs: c.nodes.map((n) => ({ host: n.host, port: n.port })),
      // NATS does the cluster's storing and copying: its CPU and memory are part of the server's.
      pids: [...c.nodes.map((n) => n.pid), c.nats.pid],
      spawned: true,
      command: c.command.join(" "),
      stop: c.stop,
    };
  }
  if (config.spawn) {
    const s = await spawnServer({
      target: config.target,
      connections,
      durable: config.durable,
      extra: config.serverFlags,
    });
    return {
      addrs: [{ host: s.host, port: s.port }],
      pids: [s.pid],
      spawned: true,
      command: s.command.join(" "),
      stop: s.stop,
    };
  }
  return {
    addrs: config.servers,
    pids: config.pid === null ? [] : [config.pid],
    spawned: false,
    command: null,
    stop: () => Promise.resolve(),
  };
}

async function measure(
  config: BenchConfig,
  server: UnderTest,
  endpoints: Endpoint[],
  hooks: RunHooks,
): Promise<BenchResult> {
  const { host, port } = server.addrs[0];
  const pids = server.pids;
  const measured = pids.length > 0;
  const connections = connectionCount(config);
  const adapter = adapterFor(config.target);
  const meter = new Meter();
  const tag = runTag();
  const bufferSize = readBufferSize(connections);
  const stride = sampleStride(config.clients);
  const perRoom = new Array<number>(config.rooms).fill(0);
  for (let i = 0; i < config.clients; i++) perRoom[i % config.rooms]++;
  const memBefore = measured ? memoryOf(pids) : null;
  const connectCpu0 = sampleCpu(pids);

  // Progress, shared by every phase.
  const started = performance.now();
  let phase: Progress["phase"] = "connecting";
  let connected = 0;
  let sentTotal = 0;
  let lastDelivered = 0;
  let lastTick = started;
  const progress = (final: boolean): void => {
    const now = performance.now();
    const rate = now > lastTick ? (meter.delivered - lastDelivered) / ((now - lastTick) / 1000) : 0;
    lastDelivered = meter.delivered;
    lastTick = now;
    hooks.progress({
      phase,
      elapsedS: (now - started) / 1000,
      connected,
      connections,
      sent: sentTotal,
      delivered: meter.delivered,
      rate,
    }, final);
  };
  const progressTimer = setInterval(() => progress(false), PROGRESS_MS);
  let cpuTimer: ReturnType<typeof setInterval> | undefined;
  const signal = hooks.signal;
  const sleep = (msTime: number) => pause(msTime, signal);
  const until = (done: () => boolean, maxMs: number) => poll(done, maxMs, signal);

  try {
    // Connect: receivers first, so every message a sender sends has its whole audience.
    const options = (i: number, role: "r" | "s"): EndpointOptions => ({
      ...server.addrs[i % server.addrs.length],
      // Senders after the receivers, so every source address carries its share of both.
      localAddress: sourceAddress(role === "r" ? i : config.clients + i, config.sources),
      name: `b${tag}${role}${i}`,
      room: roomName(i, config.rooms, tag),
      counted: role === "r",
      sampled: role === "r" && i % stride === 0,
      senderIndex: role === "s" ? i : -1,
      meter,
      bufferSize,
    });
    const receivers = new Array<Endpoint>(config.clients);
    await pool(config.clients, signal, async (i) => {
      const e = await adapter.receiver(options(i, "r"));
      receivers[i] = e;
      endpoints.push(e);
      connected++;
    });
    const senders: Sender[] = new Array(config.senders);
    await pool(config.senders, signal, async (i) => {
      const shared = config.shared ? receivers[i] : null;
      const e = await adapter.sender(options(i, "s"), shared);
      if (e !== shared) {
        endpoints.push(e);
        connected++;
      }
      senders[i] = {
        index: i,
        room: roomName(i, config.rooms, tag),
        endpoint: e,
        stamps: new StampWriter(i, config.size),
        sent: 0,
        fanout: perRoom[i % config.rooms],
        phase: i / config.senders,
      };
    });
    const connectMs = performance.now() - started;
    const connectCpu1 = sampleCpu(pids);
    const connectPct = (a: number | null, b: number | null) =>
      a === null || b === null ? null : roundOrNull(((b - a) / (connectMs / 1000)) * 100);

    // Settle: joins may still be announced to the members (our server sends presence and member lists).
    phase = "settling";
    await until(() => performance.now() - meter.lastByteAt >= SETTLE_QUIET_MS, SETTLE_MAX_MS);

    const cpu0 = sampleCpu(pids);
    const cpuPeak = new PeakRate(CPU_SAMPLE_MS / 2);
    cpuPeak.sample(performance.now(), cpu0.server);
    cpuTimer = measured
      ? setInterval(() => cpuPeak.sample(performance.now(), cpuOf(pids)), CPU_SAMPLE_MS)
      : undefined;
    const errorsBefore = meter.errors;
    meter.delivered = 0;
    meter.expected = 0;
    meter.receiverReads = 0;
    meter.lastDeliveryAt = 0;
    const latency = meter.latency;
    latency.reset();
    let sendStart = performance.now();
    let sendEnd = sendStart;

    if (config.scenario === "idle") {
      phase = "idle";
      await sleep(config.duration * 1000);
      sendEnd = performance.now();
    } else {
      phase = "sending";
      sendStart = performance.now();
      sendEnd = await drive(config, senders, meter, () => sentTotal++, signal);
      phase = "draining";
      const acked = () => senders.every((s) => s.endpoint.acks >= s.sent);
      let seen = meter.delivered;
      let quietSince = performance.now();
      const drainStart = performance.now();
      await until(() => {
        if (meter.delivered >= meter.expected && acked()) return true;
        const now = performance.now();
        if (meter.delivered !== seen) {
          seen = meter.delivered;
          quietSince = now;
        }
        return now - quietSince >= DRAIN_QUIET_MS || now - drainStart >= DRAIN_MAX_MS;
      }, DRAIN_MAX_MS + DRAIN_QUIET_MS);
    }
    const measuredEnd = performance.now();
    const cpu1 = sampleCpu(pids);
    clearInterval(cpuTimer);
    cpuPeak.sample(measuredEnd, cpu1.server);
    const memAfter = measured ? memoryOf(pids) : null;
    clearInterval(progressTimer);
    progress(true);

    const wall = (measuredEnd - sendStart) / 1000;
    const pct = (a: number | null, b: number | null) =>
      a === null || b === null ? null : ((b - a) / wall) * 100;
    const acked = senders.reduce((n, s) => n + Math.min(s.endpoint.acks, s.sent), 0);
    const sendSeconds = (sendEnd - sendStart) / 1000;
    const lastAt = meter.lastDeliveryAt > sendStart ? meter.lastDeliveryAt : sendEnd;
    const measureSeconds = Math.max(1e-3, (lastAt - sendStart) / 1000);
    const mainThreadPercent = pct(cpu0.main, cpu1.main);
    const machineBusy = cpu0.machine && cpu1.machine && cpu1.machine.total > cpu0.machine.total
      ? ((cpu1.machine.busy - cpu0.machine.busy) / (cpu1.machine.total - cpu0.machine.total)) * 100
      : null;
    const base: Omit<BenchResult, "warnings"> = {
      tool: "chat bench",
      version: VERSION,
      date: new Date().toISOString(),
      target: config.target,
      scenario: config.scenario,
      config: {
        clients: config.clients,
        senders: config.senders,
        rooms: config.rooms,
        rate: config.rate,
        window: config.window,
        size: config.size,
        duration: config.duration,
        shared: config.shared,
        durable: config.durable,
        nodes: config.nodes,
        sources: config.sources,
      },
      server: {
        spawned: server.spawned,
        host,
        port,
        servers: server.addrs,
        pid: measured ? pids[0] : null,
        pids,
        command: server.command,
      },
      connect: {
        connections,
        ms: round(connectMs, 1),
        perSecond: Math.round(connections / Math.max(1e-3, connectMs / 1000)),
        serverCpuPercent: connectPct(connectCpu0.server, connectCpu1.server),
        generatorMainThreadPercent: connectPct(connectCpu0.main, connectCpu1.main),
      },
      sent: sentTotal,
      acked,
      delivered: meter.delivered,
      expected: meter.expected,
      deliveredRatio: meter.expected > 0 ? meter.delivered / meter.expected : null,
      sendSeconds: round(sendSeconds, 3),
      measureSeconds: round(config.scenario === "idle" ? sendSeconds : measureSeconds, 3),
      msgsInPerSec: config.scenario === "idle" ? 0 : Math.round(sentTotal / Math.max(1e-3, sendSeconds)),
      deliveriesPerSec: config.scenario === "idle" ? 0 : Math.round(meter.delivered / measureSeconds),
      deliveriesPerRead: meter.delivered > 0 ? round(meter.delivered / meter.receiverReads, 2) : null,
      latencyMs: latency.summary(),
      latencySampledReceivers: Math.ceil(config.clients / stride),
      errors: { count: meter.errors, samples: [...meter.errorSamples] },
      serverStats: !measured ? null : {
        cpuPercent: roundOrNull(pct(cpu0.server, cpu1.server)),
        peakCpuPercent: roundOrNull(cpuPeak.peak === null ? null : cpuPeak.peak * 100),
        cpuMicrosPerDelivery: cpu0.server !== null && cpu1.server !== null && meter.delivered > 0
          ? round(((cpu1.server - cpu0.server) * 1e6) / meter.delivered, 3)
          : null,
        peakRssBytes: memAfter?.peak ?? null,
        rssBeforeBytes: memBefore?.rss ?? null,
        rssAfterBytes: memAfter?.rss ?? null,
        rssPerConnectionBytes: memBefore && memAfter && config.scenario === "idle"
          ? Math.round((memAfter.rss - memBefore.rss) / connections)
          : null,
      },
      generator: {
        cpuPercent: roundOrNull(pct(cpu0.self, cpu1.self)),
        mainThreadPercent: roundOrNull(mainThreadPercent),
        saturated: mainThreadPercent !== null && mainThreadPercent >= SATURATED_PERCENT,
      },
      machine: { cpus: cpuCount(), busyPercent: roundOrNull(machineBusy) },
    };
    const warnings = warningsFor(base);
    if (meter.errors > errorsBefore && config.scenario !== "idle") {
      warnings.push(`${meter.errors - errorsBefore} error(s) happened while measuring`);
    }
    return { ...base, warnings };
  } finally {
    clearInterval(progressTimer);
    clearInterval(cpuTimer);
  }
}

/**
 * Runs the senders for the configured duration and returns when sending
 * stopped. Max rate: each sender keeps `window` messages unacknowledged and
 * sends more as acknowledgements arrive, pausing while receivers lag. Fixed
 * rate: every sender sends `rate` messages a second, spread over the period.
 */
async function drive(
  config: BenchConfig,
  senders: Sender[],
  meter: Meter,
  count: () => void,
  signal: AbortSignal | undefined,
): Promise<number> {
  let sending = true;
  const start = performance.now();
  const send = (s: Sender, n: number, now: number): void => {
    if (n <= 0) return;
    const frames: Uint8Array[] = [];
    for (let k = 0; k < n; k++) {
      s.sent++;
      frames.push(s.endpoint.messageBytes(s.sent, s.room, s.stamps.text(now)));
      meter.expected += s.fanout;
      count();
    }
    s.endpoint.sendAll(frames);
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  if (config.rate === 0) {
    meter.lagLimit = Math.max(config.window, LAG_PER_RECEIVER) * config.clients;
    const pump = (s: Sender): void => {
      if (!sending) return;
      let n = 0;
      // Each message adds its fanout to the lag: stop before the limit is reached.
      while (
        s.sent + n - s.endpoint.acks < config.window && meter.lag + (n + 1) * s.fanout < meter.lagLimit
      ) n++;
      if (n === 0) {
        if (s.sent - s.endpoint.acks < config.window) meter.blocked = true;
        return;
      }
      send(s, n, performance.now());
    };
    meter.onCatchUp = () => {
      for (const s of senders) pump(s);
    };
    for (const s of senders) {
      s.endpoint.onAck = () => pump(s);
      pump(s);
    }
  } else {
    // Never more than a second's worth at once, should the generator stall.
    const burst = Math.max(1, config.rate);
    const tick = () => {
      if (!sending) return;
      const now = performance.now();
      for (const s of senders) {
        send(s, Math.min(messagesDue(now - start, config.rate, s.phase) - s.sent, burst), now);
      }
    };
    timer = setInterval(tick, TICK_MS);
    tick();
  }
  try {
    await pause(config.duration * 1000, signal);
  } finally {
    sending = false;
    clearInterval(timer);
    for (const s of senders) s.endpoint.onAck = null;
    meter.onCatchUp = () => {};
    meter.blocked = false;
  }
  return performance.now();
}

/** Runs `task(0..count-1)` with at most CONNECT_CONCURRENCY at once; the first failure stops new starts. */
async function pool(
  count: number,
  signal: AbortSignal | undefined,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < count) {
      if (signal?.aborted) throw new BenchAborted();
      const i = next++;
      try {
        await task(i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, CONNECT_CONCURRENCY) }, worker));
  if (failure !== null) {
    throw new BenchError(`cannot connect: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
}

/** CPU seconds of all `pids` together; null when none is given or one cannot be read. */
function cpuOf(pids: readonly number[]): number | null {
  let sum = 0;
  for (const pid of pids) {
    const v = processCpu(pid);
    if (v === null) return null;
    sum += v;
  }
  return pids.length > 0 ? sum : null;
}

/** Resident and peak memory of all `pids` together (the peaks' sum: each process's own peak). */
function memoryOf(pids: readonly number[]): { rss: number; peak: number } | null {
  let rss = 0;
  let peak = 0;
  for (const pid of pids) {
    const m = processMemory(pid);
    if (m === null) return null;
    rss += m.rss;
    peak += m.peak;
  }
  return { rss, peak };
}

function sampleCpu(pids: readonly number[]) {
  return {
    server: cpuOf(pids),
    self: processCpu(Deno.pid),
    main: mainThreadCpu(),
    machine: machineCpu(),
  };
}

/** Waits `msTime`; rejects with {@linkcode BenchAborted} as soon as `signal` aborts. */
function pause(msTime: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(new BenchAborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new BenchAborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, msTime);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Polls `done` every 20 ms until it holds or `maxMs` passes. */
async function poll(done: () => boolean, maxMs: number, signal: AbortSignal | undefined): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (!done() && performance.now() < deadline) await pause(20, signal);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function roundOrNull(v: number | null): number | null {
  return v === null ? null : round(v, 1);
}
