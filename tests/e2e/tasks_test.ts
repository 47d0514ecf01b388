/**
 * The deno.json tasks the README's Quick start uses: each command runs as a
 * task, with only the permissions the task grants, against a real server.
 * A missing permission would show as a "NotCapable" internal error (or a
 * permission prompt, which a test without a terminal answers with "deny").
 *
 * @module
 */

import assert from "node:assert/strict";
import { WAIT_MS, withDeadline } from "../_helpers/deadline.ts";
import { LineReader } from "../_helpers/line_reader.ts";
import { childEnv, startServer } from "../_helpers/process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TASKS: Record<string, string> = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks;

/** `deno task NAME ARGS` in the repository, stdin closed, with a private home. */
class Task implements AsyncDisposable {
  readonly stdout: LineReader;
  readonly stderr: LineReader;
  readonly #child: Deno.ChildProcess;

  constructor(args: string[], env: Record<string, string>) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["task", ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env,
    }).spawn();
    this.stdout = new LineReader(this.#child.stdout, `task ${args[0]} stdout`);
    this.stderr = new LineReader(this.#child.stderr, `task ${args[0]} stderr`);
  }

  describe(): string {
    return `${this.stdout.describe()}\n${this.stderr.describe()}`;
  }

  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  async exit(): Promise<number> {
    const status = await withDeadline(
      this.#child.status,
      WAIT_MS,
      () => `waiting for the task\n${this.describe()}`,
    );
    await Promise.all([this.stdout.done, this.stderr.done]);
    return status.code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already exited */ }
    await this.#child.status;
    await Promise.all([this.stdout.done, this.stderr.done]);
  }
}

/** Runs a task to its end; returns its exit code and the lines it printed (stderr without deno's "Task" line). */
async function run(args: string[], env: Record<string, string>) {
  await using task = new Task(args, env);
  const code = await task.exit();
  const stderr = task.stderr.lines.filter((l) => !l.startsWith("Task "));
  return { code, stdout: task.stdout.lines, stderr, output: task.describe() };
}

Deno.test("the send, tail, join, history and user tasks run their commands with the permissions they grant", async () => {
  await using server = await startServer(["--ephemeral"]);
  const home = await Deno.makeTempDir({ prefix: "chat-e2e-tasks-" });
  try {
    const env = { ...childEnv(home), DENO_NO_UPDATE_CHECK: "1" };
    const port = String(server.port);

    const sent = await run(["send", "--port", port, "hello from the send task"], env);
    assert.equal(sent.code, 0, sent.output);
    assert.equal(JSON.parse(sent.stdout[0]).type, "ack", sent.output);

    {
      // tail keeps a cursor in the state directory: it writes as well as reads.
      await using tail = new Task(["tail", "--port", port, "--json", "--name", "follower"], env);
      const line = await tail.stdout.next((l) => l.includes("hello from the send task"), "the message");
      assert.equal(JSON.parse(line).seq, 1);
      tail.kill("SIGTERM");
      assert.equal(await tail.exit(), 0, tail.describe());
    }

    // join keeps the transcript that history reads.
    const joined = await run(["join", "--plain", "--port", port, "--name", "reader"], env);
    assert.equal(joined.code, 0, joined.output);
    const history = await run(["history", "--port", port], env);
    assert.equal(history.code, 0, history.output);
    assert.ok(
      history.stdout.some((l) => l.endsWith("#lobby <send> hello from the send task")),
      history.output,
    );
    const none = await run(["history", "--port", "1"], env);
    assert.equal(none.code, 1, none.output);
    assert.match(none.stderr.join("\n"), /^chat history: no transcript for 127\.0\.0\.1:1 /);

    const added = await run(["user", "add", "alice", "--data-dir", `${home}/server`], {
      ...env,
      CHAT_PASSWORD: "alice's password",
    });
    assert.equal(added.code, 0, added.output);
    assert.deepEqual(added.stdout, ["registered alice"]);
    const listed = await run(["user", "list", "--data-dir", `${home}/server`], env);
    assert.equal(listed.code, 0, listed.output);
    assert.match(listed.stdout.join("\n"), /^alice\b/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the command tasks grant no more than their commands need", () => {
  for (const name of ["serve", "join", "send", "tail", "history", "user"]) {
    const task = TASKS[name];
    assert.ok(task, `deno.json has a "${name}" task`);
    assert.match(task, new RegExp(`^deno run .* main\\.ts ${name}$`), task);
    assert.doesNotMatch(task, /(^| )(-A|--allow-all|--allow-run|--allow-ffi|--allow-sys)( |$)/, task);
  }
  // Reading the local transcript needs no network and writes nothing.
  assert.doesNotMatch(TASKS.history, /--allow-net|--allow-write/);
  // Managing accounts needs the network only for a cluster's (chat user --cluster URL), and runs nothing.
  assert.match(TASKS.user, /--allow-net/);
});
