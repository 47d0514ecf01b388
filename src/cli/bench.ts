/**
 * `chat bench`: the load generator as a subcommand, in the manner of
 * `redis-benchmark` or `nats bench`. Progress goes to stderr, the result
 * table (or one JSON object) to stdout.
 *
 * @module
 */

import { benchConfig, PRESETS, type Scenario, SCENARIOS, type Target } from "../bench/config.ts";
import { BenchAborted, BenchError, runBench } from "../bench/generator.ts";
import { ephemeralPortCount } from "../bench/procfs.ts";
import { formatProgress, formatTable, type Progress } from "../bench/report.ts";
import { parseServers } from "../client/servers.ts";
import { type CommandIo, HELP_SPEC, parseCommand, VERSION_SPEC } from "./command.ts";
import { formatOptions, UsageError } from "./options.ts";
import { ALL_CONFIG_KEYS, BENCH_SPECS } from "./specs.ts";

export const BENCH_HELP = `Usage: chat bench [options]

Loads a server with many connections and reports connect time, messages
in/s, deliveries/s, end-to-end latency (p50/p90/p99/p99.9/max, send to
receive on one clock), errors, the delivered ratio and, with --spawn or
--pid, the server's CPU and peak memory. It warns when its own CPU is
saturated, since the numbers then measure the generator.

Scenarios (--scenario):
${SCENARIOS.map((s) => `  ${s.padEnd(8)} ${PRESETS[s].about}`).join("\n")}

Targets (--target): chat (this server, binary protocol v1), redis
(redis-server pub/sub), nats (nats-server core pub/sub) and naive (the naive
Node chat, bench/peers/naive.mjs). --spawn starts the target on a free
loopback port (chat serve --ephemeral, redis-server without persistence,
nats-server, node); otherwise --host/--port name a running server.
--spawn --nodes N starts nats-server with JetStream and N chat nodes as one
cluster, spreads the connections over the nodes and measures them all
together. 'deno task bench' runs the whole comparison (BENCHMARKS.md).

Options:
${formatOptions([...BENCH_SPECS, HELP_SPEC, VERSION_SPEC])}

Exit codes: 0 ran (errors, if any, are in the report), 1 could not run
(connection refused, server would not start), 2 bad usage, 130 interrupted
(SIGINT), 143 terminated (SIGTERM).`;

export interface BenchIo extends CommandIo {
  stdout(line: string): void;
  stderr(line: string): void;
}

/** Runs `chat bench`; returns the exit code. */
export async function bench(argv: string[], io: BenchIo): Promise<number> {
  const cmd = await parseCommand("bench", argv, BENCH_SPECS, ALL_CONFIG_KEYS, io);
  if (cmd.help) {
    io.stdout(BENCH_HELP);
    return 0;
  }
  const o = cmd.options;
  const num = (k: string) => o[k] as number | undefined;
  // Port 0 stands for "the --port, or the target's usual one", filled in by benchConfig.
  const hosts = parseServers(o.host as string[], 0);
  if (!hosts.ok) throw new UsageError(`--host ${hosts.reason}`);
  const config = benchConfig({
    target: o.target as Target,
    scenario: o.scenario as Scenario,
    host: hosts.servers[0].host,
    servers: hosts.servers,
    port: num("port"),
    spawn: o.spawn as boolean,
    pid: num("pid"),
    durable: o.durable as boolean,
    nodes: num("nodes"),
    serverFlags: o.serverFlag as string[],
    sources: num("sources"),
    ephemeralPorts: ephemeralPortCount() ?? undefined,
    json: o.json as boolean,
    clients: num("clients"),
    senders: num("senders"),
    rooms: num("rooms"),
    rate: num("rate"),
    window: num("window"),
    size: num("size"),
    duration: num("duration"),
  });
  if ("error" in config) throw new UsageError(config.error);

  const progress = progressWriter(io);
  const abort = new AbortController();
  let signalled = "SIGINT" as Deno.Signal;
  const stops = new Map<Deno.Signal, () => void>();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) {
    const stop = () => {
      signalled = s;
      abort.abort();
    };
    stops.set(s, stop);
    Deno.addSignalListener(s, stop);
  }
  try {
    const result = await runBench(config, { progress, signal: abort.signal });
    io.stdout(config.json ? JSON.stringify(result) : formatTable(result));
    return 0;
  } catch (err) {
    progress.clear();
    if (err instanceof BenchAborted) {
      io.stderr("chat bench: interrupted");
      // As chat join: 130 after SIGINT, 143 after SIGTERM.
      return signalled === "SIGTERM" ? 143 : 130;
    }
    if (err instanceof BenchError) {
      io.stderr(`chat bench: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    for (const [s, stop] of stops) Deno.removeSignalListener(s, stop);
  }
}

/**
 * On a terminal the progress line is redrawn in place; elsewhere (a pipe, a
 * log) it is one line per update.
 */
function progressWriter(io: BenchIo): ((p: Progress, final: boolean) => void) & { clear(): void } {
  const tty = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  let drawn = false;
  const draw = (text: string) => {
    const bytes = encoder.encode(text);
    let off = 0;
    while (off < bytes.byteLength) off += Deno.stderr.writeSync(bytes.subarray(off));
  };
  const write = (p: Progress, final: boolean) => {
    const line = formatProgress(p);
    if (!tty) return io.stderr(line);
    draw(`\r\x1b[2K${line}${final ? "\n" : ""}`);
    drawn = !final;
  };
  return Object.assign(write, {
    clear() {
      if (tty && drawn) draw("\r\x1b[2K");
      drawn = false;
    },
  });
}
