/**
 * `deno task bench`: the benchmark suite of BENCHMARKS.md. Runs each
 * scenario against our server and the peers (the naive Node chat, and
 * redis-server and nats-server when they are on PATH), every one started fresh by `chat bench
 * --spawn` on a free loopback port, the targets interleaved run by run so
 * that background noise hits them alike. Prints the medians with ratios and
 * the targets, and writes every raw result to bench/results/.
 *
 * Usage: deno task bench [--quick] [--runs N] [--duration S] [--only NAME,...] [--targets chat,redis,naive,nats]
 *        [--with-100k]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { checkTargets, formatChecks, formatComparison, summarize } from "../src/bench/compare.ts";
import type { Target } from "../src/bench/config.ts";
import { openFileLimit } from "../src/bench/procfs.ts";
import type { BenchResult } from "../src/bench/report.ts";
import {
  checkScaleTargets,
  checkSpeedTargets,
  HUGE,
  HUGE_TIMEOUT_MS,
  LOUD_ROOMS,
} from "../src/bench/scale_checks.ts";

/** One load of the suite: a name, the targets it applies to, and its `chat bench` flags. */
interface Load {
  name: string;
  targets: readonly Target[];
  flags: string[];
  /** Flags for one target only. */
  serverFlags?: Partial<Record<Target, string[]>>;
  /** Why this load runs with flags the others do not have, for the report. */
  note?: string;
  /** Seconds of the measured phase when longer than the suite's --duration (not with --quick). */
  minDuration?: number;
  /** Runs only when asked for (--with-100k, or named in --only): it needs time and a high open-file limit. */
  optIn?: boolean;
  /** Sockets the generator (and the server, in its own process) holds: the open files the load needs. */
  connections: number;
}

const ALL: readonly Target[] = ["chat", "redis", "naive", "nats"];

/** The 100,000-connection load's idle phase, seconds: longer than the longest ping delay at its timeout. */
const HUGE_IDLE_S = 20;

/** Open files a process keeps besides its sockets (the runtime, pipes to children): as the generator counts them. */
const SPARE_FILES = 64;

/**
 * The suite. Every server runs with its default --timeout: the idle loads
 * measure heartbeats too. The loud-rooms load has presence on (rooms of 100,
 * under chat's --presence-limit of 200); for the peers a room is a Redis
 * channel, a NATS subject or the naive chat's room, none of which announces
 * joins. The 100,000-connection load spreads its sockets over loopback source
 * addresses (src/bench/node_wire.ts) and is opt-in.
 */
function suite(quick: boolean): Load[] {
  const size = (full: number, small: number) => quick ? small : full;
  const f100 = size(100, 20);
  const f1000 = size(1000, 200);
  const chatty = size(100, 20);
  const idle = size(10_000, 1000);
  const loud = size(10_000, 1000);
  const huge = size(100_000, 5000);
  const k = (n: number) => n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
  return [
    {
      name: `fanout-${f100}`,
      targets: ALL,
      flags: ["--scenario", "fanout", "--clients", String(f100)],
      connections: f100 + 1,
    },
    {
      name: `fanout-${f1000}`,
      targets: ALL,
      flags: ["--scenario", "fanout", "--clients", String(f1000)],
      connections: f1000 + 1,
    },
    {
      name: quick ? `chatty-${chatty}` : "chatty",
      targets: ALL,
      flags: ["--scenario", "chatty", "--clients", String(chatty), "--senders", String(chatty)],
      connections: 2 * chatty,
    },
    {
      name: `idle-${k(idle)}`,
      targets: ALL,
      flags: ["--scenario", "idle", "--clients", String(idle)],
      connections: idle,
    },
    {
      name: quick ? `idle-${k(loud)}-${loud / 100}rooms` : LOUD_ROOMS,
      targets: ALL,
      flags: ["--scenario", "idle", "--clients", String(loud), "--rooms", String(loud / 100)],
      connections: loud,
    },
    {
      // --quick keeps the spreading (over 4 addresses) at a size any machine allows.
      name: quick ? `idle-${k(huge)}-4sources` : HUGE,
      targets: ALL,
      flags: ["--scenario", "idle", "--clients", String(huge), ...(quick ? ["--sources", "4"] : [])],
      // One argument: a separate "--timeout=..." after --server-flag reads as a flag of its own (parseArgs, strict).
      serverFlags: { chat: [`--server-flag=--timeout=${HUGE_TIMEOUT_MS}`] },
      note:
        `chat serve runs with --timeout ${HUGE_TIMEOUT_MS}: a heartbeat every 10 s rather than every 1.7 s ` +
        `(README, "Many connections")` +
        (quick ? "" : `; idle for ${HUGE_IDLE_S} s, so that every connection is pinged`),
      // A connection is pinged 10 to 15 s after its last frame: a shorter idle phase after a quick connect
      // would see no heartbeat at all, and the storm check would pass on nothing.
      minDuration: quick ? undefined : HUGE_IDLE_S,
      optIn: true,
      connections: huge,
    },
    {
      name: `fanout-${f100}-durable`,
      targets: ["chat"],
      flags: ["--scenario", "fanout", "--clients", String(f100), "--durable"],
      connections: f100 + 1,
    },
    {
      name: `fanout-${f1000}-durable`,
      targets: ["chat"],
      flags: ["--scenario", "fanout", "--clients", String(f1000), "--durable"],
      connections: f1000 + 1,
    },
    {
      // Three nodes over one JetStream: every message is stored by NATS and reaches each node from it.
      name: `fanout-${f1000}-cluster-3`,
      targets: ["chat"],
      flags: ["--scenario", "fanout", "--clients", String(f1000), "--nodes", "3"],
      connections: f1000 + 1,
    },
    {
      name: quick ? `chatty-${chatty}-cluster-3` : "chatty-cluster-3",
      targets: ["chat"],
      flags: [
        "--scenario",
        "chatty",
        "--clients",
        String(chatty),
        "--senders",
        String(chatty),
        "--nodes",
        "3",
      ],
      connections: 2 * chatty,
    },
  ];
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));

/** The version line of `cmd --version`, or null when it is not installed. */
async function version(cmd: string, args = ["--version"]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim().split("\n")[0] : null;
  } catch {
    return null;
  }
}

function readOr(path: string, fallback = ""): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return fallback;
  }
}

/** What the numbers were measured on. */
async function machine() {
  const cpuinfo = readOr("/proc/cpuinfo");
  const meminfo = readOr("/proc/meminfo");
  const os = readOr("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]*)"?$/m)?.[1] ?? Deno.build.os;
  const memKb = Number(meminfo.match(/^MemTotal:\s+(\d+) kB$/m)?.[1] ?? NaN);
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown",
    memoryGiB: Number.isFinite(memKb) ? Math.round((memKb / 1024 / 1024) * 10) / 10 : null,
    os,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    node: await version("node"),
    redis: await version("redis-server"),
    nats: await version("nats-server"),
    openFiles: readOr("/proc/self/limits").match(/^Max open files\s+(\S+)/m)?.[1] ?? null,
  };
}

/** Runs `chat bench ... --json`; its progress goes straight to our stderr. */
async function benchOnce(args: string[]): Promise<{ result: BenchResult | null; error: string | null }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "bench", ...args, "--json"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) return { result: null, error: `exit code ${out.code}` };
  try {
    return { result: JSON.parse(text) as BenchResult, error: null };
  } catch {
    return { result: null, error: `unreadable output: ${text.slice(0, 200)}` };
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string" },
      duration: { type: "string" },
      only: { type: "string" },
      targets: { type: "string" },
      report: { type: "string" },
      "with-100k": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno task bench [--quick] [--runs N] [--duration S] [--only LOAD,...] [--targets chat,redis,naive,nats]\n" +
        "                       [--with-100k]\n" +
        "       deno task bench --report bench/results/FILE.json   (print the tables of a saved run again)\n" +
        "Loads: " + suite(false).filter((l) => !l.optIn).map((l) => l.name).join(", ") + "\n" +
        "Opt-in (--with-100k, or named in --only): " + suite(false).filter((l) =>
          l.optIn
        ).map((l) => l.name).join(", ") +
        ' (needs ulimit -n of about 100,100; see README, "Many connections")',
    );
    return 0;
  }
  if (values.report) return report(JSON.parse(await Deno.readTextFile(values.report)));
  const quick = values.quick;
  const runs = Number(values.runs ?? (quick ? 1 : 3));
  const duration = String(values.duration ?? (quick ? 1 : 5));
  const only = values.only?.split(",");
  const wanted = (values.targets?.split(",") ?? ALL) as Target[];

  const info = await machine();
  const available: Target[] = [];
  for (const t of wanted) {
    if (t === "naive" && info.node === null) {
      console.error("bench: node is not on PATH: skipping the naive peer");
    } else if (t === "redis" && info.redis === null) {
      console.error("bench: redis-server is not on PATH: skipping redis (apt-get install redis-server)");
    } else if (t === "nats" && info.nats === null) {
      console.error("bench: nats-server is not on PATH: skipping nats (apt-get install nats-server)");
    } else available.push(t);
  }
  const loads = suite(quick).filter((l) => only ? only.includes(l.name) : !l.optIn || values["with-100k"]);
  // A load that needs more open files than this process may have is skipped, saying why, rather than failed.
  const skipped = new Map<string, string>();
  const fileLimit = openFileLimit();
  for (const load of loads) {
    const need = load.connections + SPARE_FILES;
    if (fileLimit !== null && need > fileLimit) {
      const why = `skipped: needs ulimit -n >= ${need.toLocaleString("en")} (here ${
        fileLimit.toLocaleString("en")
      })`;
      skipped.set(load.name, why);
      console.error(`bench: ${load.name} ${why}; see README, "Many connections"`);
    }
  }
  console.error(
    `bench: ${info.cpus} CPUs (${info.cpuModel}), ${info.os}, deno ${info.deno}; ` +
      `${runs} run(s) of ${duration} s per load; targets ${available.join(", ")}`,
  );

  const results: RunRecord[] = [];
  // Round by round, every load in each: a machine that gets busier or quieter over the 15 minutes then weighs
  // on every load alike, so comparisons across loads (durable against in-memory) stay fair.
  for (let run = 1; run <= runs; run++) {
    for (const load of loads) {
      if (skipped.has(load.name)) continue;
      const targets = load.targets.filter((t) => available.includes(t));
      for (const target of targets) {
        const flags = [
          "--spawn",
          "--target",
          target,
          ...load.flags,
          "--duration",
          String(Math.max(Number(duration), load.minDuration ?? 0)),
          ...load.serverFlags?.[target] ?? [],
        ];
        const command = `chat bench ${flags.join(" ")}`;
        console.error(`\n[${load.name} ${target} run ${run}/${runs}] ${command}`);
        const { result, error } = await benchOnce(flags);
        if (error) console.error(`bench: ${command} failed: ${error}`);
        for (const w of result?.warnings ?? []) console.error(`warning: ${w}`);
        results.push({ load: load.name, target, run, command, result, error });
      }
    }
  }

  const summaries = summarizeAll(results);
  const date = new Date().toISOString();
  console.log(`\nchat benchmarks, ${date}: median of ${runs} run(s) per row, ${duration} s each`);
  console.log(`${info.cpus} CPUs (${info.cpuModel}), ${info.memoryGiB} GiB, ${info.os}, deno ${info.deno}`);
  console.log("");
  console.log(formatComparison(summaries));
  if (quick) console.log("\nTargets (issues 6 and 19): not checked with --quick, whose loads are smaller.");
  else printChecks(summaries, skipped);
  for (const load of loads) if (load.note) console.log(`note: ${load.name}: ${load.note}`);
  const failed = results.filter((r) => r.error);
  if (failed.length) {
    console.log(`\n${failed.length} run(s) failed: ${failed.map((f) => f.command).join("; ")}`);
  }

  await Deno.mkdir(RESULTS, { recursive: true });
  const file = `${RESULTS}${date.replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify(
      {
        date,
        quick,
        runs,
        duration: Number(duration),
        machine: info,
        summaries,
        skipped: Object.fromEntries(skipped),
        results,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nraw results: ${file}`);
  return failed.length > 0 ? 1 : 0;
}

interface RunRecord {
  load: string;
  target: Target;
  run: number;
  command: string;
  result: BenchResult | null;
  error: string | null;
}

/** One summary per load and target, in the order they ran. */
function summarizeAll(results: readonly RunRecord[]) {
  const keys = [...new Set(results.map((r) => `${r.load}\t${r.target}`))];
  return keys.map((key) => {
    const [load, target] = key.split("\t") as [string, Target];
    const ok = results.filter((r) => r.load === load && r.target === target && r.result).map((r) =>
      r.result!
    );
    return summarize(load, target, ok);
  });
}

/** Prints the tables of a saved run (the JSON this script writes). */
function report(
  saved: {
    date: string;
    quick: boolean;
    runs: number;
    duration: number;
    results: RunRecord[];
    skipped?: Record<string, string>;
  },
) {
  const summaries = summarizeAll(saved.results);
  console.log(
    `chat benchmarks, ${saved.date}: median of ${saved.runs} run(s) per row, ${saved.duration} s each\n`,
  );
  console.log(formatComparison(summaries));
  if (!saved.quick) printChecks(summaries, new Map(Object.entries(saved.skipped ?? {})));
  return 0;
}

/** The targets of both issues: the single-room ones (6) and the many-connection ones (19). */
function printChecks(summaries: ReturnType<typeof summarizeAll>, skipped: ReadonlyMap<string, string>): void {
  console.log(`\nTargets (issue 6):\n${formatChecks(checkTargets(summaries))}`);
  console.log(`Targets (issue 19):\n${formatChecks(checkScaleTargets(summaries, skipped))}`);
  console.log(formatChecks(checkSpeedTargets(summaries)));
}

if (import.meta.main) Deno.exit(await main());
