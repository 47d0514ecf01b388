/**
 * Starts the server under test as a child process on a free loopback port,
 * so its CPU and memory are measured apart from the generator's: our own
 * `chat serve`, the naive Node chat of bench/peers/naive.mjs, redis-server
 * or nats-server. Their output is drained continuously (a full pipe would
 * stall the server) and its last lines are kept for error messages.
 *
 * @module
 */

import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import type { Target } from "./config.ts";
import { V8_FLAGS } from "../v8_flags.ts";

/** A running server child. */
export interface SpawnedServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** The command line (environment settings first), for the report. */
  readonly command: string[];
  /** Its last lines of output. */
  output(): string;
  /** Stops it (SIGTERM, then SIGKILL after a grace period) and waits for it to exit. */
  stop(): Promise<void>;
}

/** How long a server may take to start listening: generous, the machine may be loaded. */
const START_MS = 30_000;
/** How long a server may take to stop after SIGTERM before it is killed. */
const STOP_MS = 10_000;
/** Lines of server output kept for error messages. */
const KEPT_LINES = 30;
/** Outbox budget per client for a spawned chat server: headroom over the 1 MiB default for max-rate runs. */
export const SPAWN_OUTBOX_BYTES = 8 * 1024 * 1024;

const LISTENING = /listening on (\S+):(\d+)/;

/**
 * Environment of a spawned chat server: no per-client message rate limit,
 * since one bench sender sends far more than any person. An environment
 * variable rather than a flag, so a server that predates the limit still starts.
 */
export const CHAT_SPAWN_ENV: Readonly<Record<string, string>> = { CHAT_RATE_LIMIT: "0" };

/** Path of a repository file next to this module, when running from source. */
function repoFile(relative: string): string | null {
  const url = new URL(relative, import.meta.url);
  return url.protocol === "file:" ? fileURLToPath(url) : null;
}

/**
 * The argv that starts `chat serve` for a run of `connections` clients:
 * `deno run -A main.ts serve ...` from source, or this binary's own `serve`
 * when it is a compiled `chat`.
 */
export function chatServeCommand(
  connections: number,
  execPath: string,
  mainPath: string | null,
  options: { dataDir?: string; extra?: readonly string[] } = {},
): string[] {
  const flags = [
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    ...(options.dataDir === undefined ? ["--ephemeral"] : ["--data-dir", options.dataDir]),
    "--max-clients",
    String(connections + 16),
    "--outbox-bytes",
    String(SPAWN_OUTBOX_BYTES),
    "--log-level",
    "warn",
    ...options.extra ?? [],
  ];
  const fromSource = mainPath !== null && /^deno(\.exe)?$/.test(basename(execPath));
  return fromSource
    ? [execPath, "run", "-A", `--v8-flags=${V8_FLAGS}`, mainPath, ...flags]
    : [execPath, ...flags];
}

/** The argv that starts the naive peer on a free port. */
export function naiveCommand(scriptPath: string): string[] {
  return ["node", scriptPath, "--host", "127.0.0.1", "--port", "0"];
}

/** The argv that starts redis-server on `port`, without persistence, for `connections` clients. */
export function redisCommand(port: number, connections: number): string[] {
  return [
    "redis-server",
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--save",
    "",
    "--appendonly",
    "no",
    "--maxclients",
    String(Math.max(10_000, connections + 16)),
    "--loglevel",
    "warning",
    // Protected mode admits 127.0.0.1 and ::1 only, so it refused the clients that --sources binds to 127.0.0.2
    // and up; the server listens on 127.0.0.1 alone, which keeps it unreachable from elsewhere all the same.
    "--protected-mode",
    "no",
  ];
}

/** The argv that starts nats-server on `port` (its defaults admit 64K clients; no persistence without JetStream). */
export function natsCommand(port: number): string[] {
  return ["nats-server", "--addr", "127.0.0.1", "--port", String(port)];
}

/** A loopback port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}

/** Keeps the last lines of a stream, and lets a caller wait for a line matching a pattern. */
class Tail {
  lines: string[] = [];
  ended = false;
  #waiters: Array<() => void> = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    void this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        rest += text;
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          this.#add(rest.slice(0, nl));
          rest = rest.slice(nl + 1);
        }
      }
    } catch { /* the child went away */ }
    if (rest) this.#add(rest);
    this.ended = true;
    this.#wake();
  }

  #add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > KEPT_LINES * 4) this.lines = this.lines.slice(-KEPT_LINES);
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Resolves at the next line or the end of the stream. */
  next(): Promise<void> {
    return new Promise((r) => this.#waiters.push(r));
  }
}

/** How to start a server: its kind, the clients it must admit, and options. */
export interface SpawnOptions {
  target: Target;
  connections: number;
  /** Chat only: store in SQLite (in a temporary directory removed on stop) rather than memory. */
  durable?: boolean;
  /** Extra arguments appended to the server's command line. */
  extra?: readonly string[];
}

/** Starts a server; resolves once it accepts connections. */
export async function spawnServer(o: SpawnOptions): Promise<SpawnedServer> {
  const { target, connections } = o;
  const extra = o.extra ?? [];
  let command: string[];
  // Redis and NATS get a port picked here; chat and the naive peer pick their own and print it.
  let chosenPort = 0;
  let dataDir: string | undefined;
  switch (target) {
    case "chat":
      if (o.durable) dataDir = await Deno.makeTempDir({ prefix: "chat-bench-" });
      command = chatServeCommand(connections, Deno.execPath(), repoFile("../../main.ts"), { dataDir, extra });
      break;
    case "naive": {
      const script = repoFile("../../bench/peers/naive.mjs");
      if (script === null) {
        throw new Error("the naive peer (bench/peers/naive.mjs) is only available from source");
      }
      command = [...naiveCommand(script), ...extra];
      break;
    }
    case "redis":
      chosenPort = freePort();
      command = [...redisCommand(chosenPort, connections), ...extra];
      break;
    case "nats":
      chosenPort = freePort();
      command = [...natsCommand(chosenPort), ...extra];
      break;
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command[0], {
      args: command.slice(1),
      env: target === "chat" ? { ...CHAT_SPAWN_ENV } : {},
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (dataDir) await Deno.remove(dataDir, { recursive: true });
    if (err instanceof Deno.errors.NotFound) throw new Error(`cannot start ${command[0]}: not found on PATH`);
    throw err;
  }
  const stdout = new Tail(child.stdout);
  const stderr = new Tail(child.stderr);
  let exited: Deno.CommandStatus | null = null;
  const status = child.status.then((s) => exited = s);
  const output = () => [...stdout.lines, ...stderr.lines].slice(-KEPT_LINES).join("\n");
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), STOP_MS));
      if (await Promise.race([status, late]) === "late") {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      clearTimeout(timer);
    }
    await status;
    if (dataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  try {
    const deadline = Date.now() + START_MS;
    let host = "127.0.0.1";
    let port = chosenPort;
    if (target === "redis" || target === "nats") {
      await waitForListener(host, port, deadline, () => exited !== null);
    } else {
      for (;;) {
        const m = stderr.lines.map((l) => l.match(LISTENING)).find((x) => x !== null);
        if (m) {
          host = m[1];
          port = Number(m[2]);
          break;
        }
        if (stderr.ended || exited) throw new Error("it exited before listening");
        if (Date.now() > deadline) throw new Error(`no "listening on" line within ${START_MS} ms`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([stderr.next(), new Promise((r) => timer = setTimeout(r, 200))]);
        clearTimeout(timer);
      }
    }
    const env = target === "chat" ? Object.entries(CHAT_SPAWN_ENV).map(([k, v]) => `${k}=${v}`) : [];
    return {
      host,
      port,
      pid: child.pid,
      command: [...env, ...command],
      output,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw new Error(
      `cannot start ${target} server (${command.join(" ")}): ${(err as Error).message}\n${output()}`,
    );
  }
}

/** Polls until host:port accepts a connection. */
async function waitForListener(
  host: string,
  port: number,
  deadline: number,
  gone: () => boolean,
): Promise<void> {
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: host, port });
      conn.close();
      return;
    } catch (err) {
      if (gone()) throw new Error("it exited before listening");
      if (Date.now() > deadline) {
        throw new Error(`not listening within ${START_MS} ms: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A spawned cluster: one nats-server with JetStream and the chat nodes that share it. */
export interface SpawnedCluster extends AsyncDisposable {
  readonly nats: SpawnedServer;
  readonly nodes: readonly SpawnedServer[];
  /** Every command line, NATS first, for the report. */
  readonly command: string[];
  output(): string;
  stop(): Promise<void>;
}

/** The cluster name the bench's nodes share on their private nats-server. */
export const BENCH_CLUSTER_NAME = "bench";

/**
 * Starts nats-server with JetStream (its store in a temporary directory
 * removed on stop), then `nodes` chat servers joined to it as one cluster.
 * The first node starts alone, since it creates the stream and buckets the
 * others then find; the rest start together.
 */
export async function spawnCluster(
  o: { connections: number; nodes: number; extra?: readonly string[] },
): Promise<SpawnedCluster> {
  const storeDir = await Deno.makeTempDir({ prefix: "chat-bench-nats-" });
  const removeStore = () => Deno.remove(storeDir, { recursive: true }).catch(() => {});
  let nats: SpawnedServer;
  try {
    nats = await spawnServer({
      target: "nats",
      connections: o.nodes,
      extra: ["-js", "--store_dir", storeDir],
    });
  } catch (err) {
    await removeStore();
    throw err;
  }
  const nodes: SpawnedServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await nats.stop();
    await removeStore();
  };
  const flags = [
    "--cluster",
    `nats://${nats.host}:${nats.port}`,
    "--cluster-name",
    BENCH_CLUSTER_NAME,
    ...o.extra ?? [],
  ];
  const start = () => spawnServer({ target: "chat", connections: o.connections, extra: flags });
  try {
    nodes.push(await start());
    const rest = await Promise.allSettled(Array.from({ length: o.nodes - 1 }, start));
    for (const r of rest) if (r.status === "fulfilled") nodes.push(r.value);
    const failed = rest.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nats,
    nodes,
    command: [...nats.command, ";", ...nodes.flatMap((n, i) => i === 0 ? n.command : [";", ...n.command])],
    output: () => nodes.map((n) => n.output()).join("\n"),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
