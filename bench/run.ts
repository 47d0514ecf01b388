/**
 * `deno task bench`: the benchmark suite of BENCHMARKS.md. Runs each
 * scenario against our server and the peers (the naive Node chat, and
 * redis-server and nats-server when they are on PATH), every one started fresh by `chat bench
 * --spawn` on a free loopback port, the targets interleaved run by run so
 * that background noise hits them alike. Prints the medians with ratios and
 * the targets, and writes every raw result to bench/results/.
 *
 * Usage: deno task bench [--quick] [--runs N] [--duration S] [--only NAME,...] [--targets chat,redis,naive,nats]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { checkTargets, formatChecks, formatComparison, summarize } from "../src/bench/compare.ts";
import type { Target } from "../src/bench/config.ts";
import type { BenchResult } from "../src/bench/report.ts";

/** One load of the suite: a name, the targets it applies to, and its `chat bench` flags. */
interface Load {
  name: string;
  targets: readonly Target[];
  flags: string[];
  /** Flags for one target only. */
  serverFlags?: Partial<Record<Target, string[]>>;
  /** Why this load runs with flags the others do not have, for the report. */
  note?: string;
}

const ALL: readonly Target[] = ["chat", "redis", "naive", "nats"];

/**
 * The suite. Idle against chat raises the server's timeout: with the default
 * 5 s, announcing 10,000 joins to everyone takes so long that most clients
 * miss their heartbeat and are dropped (see BENCHMARKS.md).
 */
function suite(quick: boolean): Load[] {
  const size = (full: number, small: number) => quick ? small : full;
  const f100 = size(100, 20);
  const f1000 = size(1000, 200);
  const chatty = size(100, 20);
  const idle = size(10_000, 1000);
  const k = (n: number) => n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
  return [
    { name: `fanout-${f100}`, targets: ALL, flags: ["--scenario", "fanout", "--clients", String(f100)] },
    { name: `fanout-${f1000}`, targets: ALL, flags: ["--scenario", "fanout", "--clients", String(f1000)] },
    {
      name: quick ? `chatty-${chatty}` : "chatty",
      targets: ALL,
      flags: ["--scenario", "chatty", "--clients", String(chatty), "--senders", String(chatty)],
    },
    {
      name: `idle-${k(idle)}`,
      targets: ALL,
      flags: ["--scenario", "idle", "--clients", String(idle)],
    },
    {
      name: `fanout-${f1000}-durable`,
      targets: ["chat"],
      flags: ["--scenario", "fanout", "--clients", String(f1000), "--durable"],
    },
    {
      // Two nodes over one JetStream: every message is stored by NATS and reaches both nodes from it.
      name: `fanout-${f1000}-cluster-2`,
      targets: ["chat"],
      flags: ["--scenario", "fanout", "--clients", String(f1000), "--nodes", "2"],
    },
    {
      name: quick ? `chatty-${chatty}-cluster-2` : "chatty-cluster-2",
      targets: ["chat"],
      flags: [
        "--scenario",
        "chatty",
        "--clients",
        String(chatty),
        "--senders",
        String(chatty),
        "--nodes",
        "2",
      ],
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
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno task bench [--quick] [--runs N] [--duration S] [--only LOAD,...] [--targets chat,redis,naive,nats]\n" +
        "       deno task bench --report bench/results/FILE.json   (print the tables of a saved run again)\n" +
        "Loads: " + suite(false).map((l) => l.name).join(", "),
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
  const loads = suite(quick).filter((l) => !only || only.includes(l.name));
  console.error(
    `bench: ${info.cpus} CPUs (${info.cpuModel}), ${info.os}, deno ${info.deno}; ` +
      `${runs} run(s) of ${duration} s per load; targets ${available.join(", ")}`,
  );

  const results: RunRecord[] = [];
  // Round by round, every load in each: a machine that gets busier or quieter over the 15 minutes then weighs
  // on every load alike, so comparisons across loads (durable against in-memory) stay fair.
  for (let run = 1; run <= runs; run++) {
    for (const load of loads) {
      const targets = load.targets.filter((t) => available.includes(t));
      for (const target of targets) {
        const flags = [
          "--spawn",
          "--target",
          target,
          ...load.flags,
          "--duration",
          duration,
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
  if (quick) console.log("\nTargets (issue 6): not checked with --quick, whose loads are smaller.");
  else console.log(`\nTargets (issue 6):\n${formatChecks(checkTargets(summaries))}`);
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
      { date, quick, runs, duration: Number(duration), machine: info, summaries, results },
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
  saved: { date: string; quick: boolean; runs: number; duration: number; results: RunRecord[] },
) {
  const summaries = summarizeAll(saved.results);
  console.log(
    `chat benchmarks, ${saved.date}: median of ${saved.runs} run(s) per row, ${saved.duration} s each\n`,
  );
  console.log(formatComparison(summaries));
  if (!saved.quick) console.log(`\nTargets (issue 6):\n${formatChecks(checkTargets(summaries))}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
