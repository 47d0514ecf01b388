/**
 * A real nats-server for tests: one server, or a 3-server JetStream
 * cluster, on 127.0.0.1 with ports the servers pick themselves and a temp
 * store dir. Every server is killed and its dir removed on dispose.
 */

import { LineReader } from "./line_reader.ts";
import { WAIT_MS } from "./deadline.ts";

/** True when nats-server is installed (.ci/run installs it). */
export function haveNats(): boolean {
  try {
    return new Deno.Command("nats-server", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync()
      .success;
  } catch {
    return false;
  }
}

export class NatsServer implements AsyncDisposable {
  readonly name: string;
  readonly dir: string;
  readonly #args: string[];
  #child: Deno.ChildProcess | null = null;
  #log: LineReader | null = null;
  /** `nats://127.0.0.1:PORT` once started. */
  url = "";

  readonly #jetstream: boolean;

  /** `jetstream: false` starts a server without JetStream (`-js` left out). */
  constructor(name: string, dir: string, args: string[], options: { jetstream?: boolean } = {}) {
    this.name = name;
    this.dir = dir;
    this.#args = args;
    this.#jetstream = options.jetstream ?? true;
  }

  /** Starts (or restarts, on its old port when it had one) and waits until it accepts clients. */
  async start(): Promise<void> {
    const port = this.url ? Number(new URL(this.url.replace("nats:", "http:")).port) : -1;
    const args = [
      ...(this.#jetstream ? ["-js"] : []),
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-sd",
      this.dir,
      "-n",
      this.name,
      ...this.#args,
    ];
    this.#child = new Deno.Command("nats-server", { args, stdout: "null", stderr: "piped" }).spawn();
    this.#log = new LineReader(this.#child.stderr, `nats-server ${this.name}`);
    const listening = await this.#log.next(
      (l) => /Listening for client connections on/.test(l),
      "nats listening",
      WAIT_MS,
    );
    this.url = `nats://127.0.0.1:${listening.match(/:(\d+)\s*$/)![1]}`;
    await this.#log.next((l) => /Server is ready/.test(l), "nats ready", WAIT_MS);
  }

  /** True while the process runs (from {@linkcode start} to {@linkcode kill}). */
  get running(): boolean {
    return this.#child !== null;
  }

  /** Resolves with the server's first log line matching `pattern` (from its start). */
  logged(pattern: RegExp, what: string): Promise<string> {
    const log = this.#log!;
    const seen = log.lines.find((l) => pattern.test(l));
    return seen ? Promise.resolve(seen) : log.next((l) => pattern.test(l), what, WAIT_MS * 2);
  }

  /** Kills the server (with SIGKILL, or SIGTERM for a clean shutdown) and waits for it to be gone. */
  async kill(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    if (!this.#child) return;
    try {
      this.#child.kill(signal);
    } catch { /* gone */ }
    await this.#child.status;
    this.#child = null;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}

/** One JetStream server. */
export async function startNats(): Promise<NatsServer & { urls: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "chat-nats-" });
  const s = new NatsServer("n1", dir, []);
  await s.start();
  const dispose = s[Symbol.asyncDispose].bind(s);
  return Object.assign(s, {
    urls: [s.url],
    async [Symbol.asyncDispose]() {
      await dispose();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  });
}

/** A 3-server JetStream cluster: R3 streams survive the loss of one server. */
export class NatsCluster implements AsyncDisposable {
  readonly servers: NatsServer[];
  readonly #dir: string;

  private constructor(servers: NatsServer[], dir: string) {
    this.servers = servers;
    this.#dir = dir;
  }

  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  /**
   * Starts the cluster; with `running` < 3 only that many of its servers run (the rest wait for
   * {@linkcode startAll}), and with fewer than 2 there is no quorum, so no metadata leader to wait for.
   */
  static async start(running = 3): Promise<NatsCluster> {
    const dir = await Deno.makeTempDir({ prefix: "chat-nats-cluster-" });
    // A JetStream cluster needs its routes configured from the start: route ports are picked free first (a
    // listener on port 0, closed at once), and each server routes to the other two.
    const routePorts = [0, 1, 2].map(() => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (l.addr as Deno.NetAddr).port;
      l.close();
      return port;
    });
    const servers = ["s1", "s2", "s3"].map((n, i) =>
      new NatsServer(n, `${dir}/${n}`, [
        "-cluster",
        `nats://127.0.0.1:${routePorts[i]}`,
        "--cluster_name",
        "chattest",
        "-routes",
        routePorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`).join(","),
      ])
    );
    const cluster = new NatsCluster(servers, dir);
    await Promise.all(servers.slice(0, running).map((s) => s.start()));
    if (running >= 2) await cluster.#led();
    return cluster;
  }

  /** Starts the servers not running yet and waits for a metadata leader. */
  async startAll(): Promise<void> {
    await Promise.all(this.servers.filter((s) => !s.running).map((s) => s.start()));
    await this.#led();
  }

  /** JetStream answers once its servers have elected a metadata leader. */
  async #led(): Promise<void> {
    await Promise.race(
      this.servers.filter((s) => s.running).map((s) =>
        s.logged(/JetStream cluster new metadata leader/, "a metadata leader")
      ),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const s of this.servers) await s.kill();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
