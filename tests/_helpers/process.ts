/**
 * Runs the real `chat` program as a child process for end-to-end tests:
 * piped stdin, stdout and stderr read as lines, a private environment (with
 * its own data and state directories, so no history leaks between tests),
 * and cleanup that always kills the child and waits for it (`await using`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { WAIT_MS, withDeadline } from "./deadline.ts";
import { LineReader } from "./line_reader.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Parent variables a child may need to run Deno itself; nothing else leaks in (no PORT, no CHAT_*). */
const PASSED_ENV = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR", "LANG", "LC_ALL", "SYSTEMROOT"];

/** A config home that never exists, so no user config file changes what a test sees. */
const NO_CONFIG_HOME = "/nonexistent/chat-e2e-config";

export interface SpawnOptions {
  /** Variables added to the child's environment. */
  env?: Record<string, string>;
  /** Names the process in failure messages; defaults to the command line. */
  label?: string;
}

/** The environment every child gets before `extra`; `home` holds its data and state. */
export function childEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  env.XDG_CONFIG_HOME = NO_CONFIG_HOME;
  env.XDG_DATA_HOME = `${home}/data`;
  env.XDG_STATE_HOME = `${home}/state`;
  env.NO_COLOR = "1";
  return { ...env, ...extra };
}

/** One running `deno run -A main.ts ...`. */
export class ChatProcess implements AsyncDisposable {
  readonly label: string;
  readonly stdout: LineReader;
  readonly stderr: LineReader;
  readonly #child: Deno.ChildProcess;
  readonly #home: string;
  #stdin: WritableStreamDefaultWriter<Uint8Array> | null;
  #status: Deno.CommandStatus | null = null;
  readonly #exited: Promise<Deno.CommandStatus>;

  constructor(args: string[], options: SpawnOptions = {}) {
    this.label = options.label ?? `chat ${args.join(" ")}`;
    this.#home = Deno.makeTempDirSync({ prefix: "chat-e2e-home-" });
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: childEnv(this.#home, options.env),
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.stdout = new LineReader(this.#child.stdout, `${this.label} stdout`);
    this.stderr = new LineReader(this.#child.stderr, `${this.label} stderr`);
    this.#exited = this.#child.status.then((s) => this.#status = s);
  }

  /** The child's process id (the `deno` running main.ts), e.g. to read /proc/PID/status. */
  get pid(): number {
    return this.#child.pid;
  }

  /** The exit status once the process has ended, else null. */
  get status(): Deno.CommandStatus | null {
    return this.#status;
  }

  /** Both output streams so far, for failure messages. */
  describe(): string {
    const exit = this.#status ? ` exited with code ${this.#status.code}` : "";
    return `${this.label}${exit}\n${this.stdout.describe()}\n${this.stderr.describe()}`;
  }

  /** Writes `text` to stdin as it is. */
  async write(text: string): Promise<void> {
    if (!this.#stdin) throw new Error(`${this.label}: stdin is already closed`);
    await this.#stdin.write(new TextEncoder().encode(text));
  }

  /** Writes one line to stdin. */
  writeLine(line: string): Promise<void> {
    return this.write(line + "\n");
  }

  /** Closes stdin (end of input for the child). */
  async closeStdin(): Promise<void> {
    const w = this.#stdin;
    this.#stdin = null;
    try {
      await w?.close();
    } catch {
      // The child exited first: its end of the pipe is gone, which is what closing wants anyway.
    }
  }

  /** Sends `signal` unless the process has already exited. */
  kill(signal: Deno.Signal): void {
    if (this.#status) return;
    try {
      this.#child.kill(signal);
    } catch (err) {
      // It may have exited between the check and the kill.
      if (!(err instanceof TypeError) && !(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  /** Waits for the exit and for both streams to end; fails with the output after `timeoutMs`. */
  exit(timeoutMs = WAIT_MS): Promise<Deno.CommandStatus> {
    return withDeadline(
      Promise.all([this.#exited, this.stdout.done, this.stderr.done]).then(([s]) => s),
      timeoutMs,
      () => `waiting for ${this.label} to exit\n${this.describe()}`,
    );
  }

  /** Kills the process if it still runs and releases every resource it holds. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    await this.closeStdin();
    await Promise.all([this.#exited, this.stdout.done, this.stderr.done]);
    await Deno.remove(this.#home, { recursive: true });
  }
}

/** Runs `chat ARGS` with stdin closed, waits for it to end and returns its exit code and output. */
export async function runChat(
  args: string[],
  options: SpawnOptions = {},
): Promise<{ code: number; stdout: string[]; stderr: string[]; output: string }> {
  await using proc = new ChatProcess(args, options);
  await proc.closeStdin();
  const status = await proc.exit();
  return { code: status.code, stdout: proc.stdout.lines, stderr: proc.stderr.lines, output: proc.describe() };
}

/** A `chat serve` process and the port it bound. */
export interface ServerProcess extends AsyncDisposable {
  readonly proc: ChatProcess;
  readonly port: number;
}

const LISTENING = /^chat serve: listening on [^ ]+:(\d+) /;

/**
 * Starts `chat serve --host 127.0.0.1 --port 0 FLAGS` and waits for the
 * "listening on" line to learn the port.
 */
export async function startServer(flags: string[] = [], options: SpawnOptions = {}): Promise<ServerProcess> {
  const proc = new ChatProcess(["serve", "--host", "127.0.0.1", "--port", "0", ...flags], {
    label: "server",
    ...options,
  });
  try {
    const port = listeningPort(await proc.stderr.next((l) => LISTENING.test(l), "the listening line"))!;
    return { proc, port, [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose]() };
  } catch (err) {
    await proc[Symbol.asyncDispose]();
    throw err;
  }
}

/** The port in a "listening on HOST:PORT" line, or undefined. */
export function listeningPort(line: string): number | undefined {
  const m = line.match(LISTENING);
  return m ? Number(m[1]) : undefined;
}

/** A port nothing listens on right now (bound, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}

/**
 * Asserts that `lines` (a child's stderr) hold exactly one non-empty line,
 * that it matches every pattern, and that no stack trace was printed.
 */
export function assertOneLine(lines: readonly string[], patterns: RegExp[], where: string): string {
  const shown = lines.filter((l) => l.trim() !== "");
  assert.equal(shown.length, 1, `${where}: expected exactly one line, got:\n${lines.join("\n")}`);
  for (const p of patterns) assert.match(shown[0], p, `${where}: ${JSON.stringify(shown[0])}`);
  assert.doesNotMatch(shown[0], /^\s+at /, `${where}: looks like a stack trace`);
  return shown[0];
}
