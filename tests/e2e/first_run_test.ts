/**
 * What a newcomer runs first: `deno task serve` from a checkout, with an empty
 * Deno cache. On the first run Deno used to fetch the metadata of the npm
 * package that `chat`'s module graph named, in the background while the
 * program ran; on a terminal its progress bar then drew over the "listening"
 * line and cleared the terminal client's screen. The program must start
 * without downloading anything.
 *
 * @module
 */

import assert from "node:assert/strict";
import { WAIT_MS, withDeadline } from "../_helpers/deadline.ts";
import { LineReader } from "../_helpers/line_reader.ts";
import { childEnv, listeningPort } from "../_helpers/process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("the first `deno task serve` with an empty Deno cache downloads nothing and prints the listening line", async () => {
  const home = await Deno.makeTempDir({ prefix: "chat-first-run-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "serve", "--host", "127.0.0.1", "--port", "0", "--ephemeral"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    // A Deno cache nobody has used: what a fresh machine or a fresh clone has.
    env: { ...childEnv(home), DENO_DIR: `${home}/deno-dir`, DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  const stdout = new LineReader(child.stdout, "deno task serve stdout");
  const stderr = new LineReader(child.stderr, "deno task serve stderr");
  try {
    // Generous: with an empty cache Deno transpiles every module before the program starts.
    const line = await stderr.next((l) => listeningPort(l) !== undefined, "the listening line", 3 * WAIT_MS);
    assert.ok(listeningPort(line)! > 0, line);
    const before = stderr.lines.slice(0, stderr.lines.indexOf(line));
    for (const l of [...before, ...stdout.lines]) {
      assert.doesNotMatch(
        l,
        /Download|npm:|https?:\/\//,
        `something was fetched on the first run:\n${stderr.describe()}`,
      );
    }
    // `deno task` passes SIGTERM on to the server, which stops cleanly.
    child.kill("SIGTERM");
    const status = await withDeadline(
      child.status,
      WAIT_MS,
      () => `waiting for the server to stop\n${stderr.describe()}`,
    );
    assert.equal(status.code, 0, stderr.describe());
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await Promise.all([stdout.done, stderr.done]);
    await Deno.remove(home, { recursive: true });
  }
});
