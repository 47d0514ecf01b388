import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { serveOn, tempDir } from "../_helpers/durable.ts";
import { assertOneLine, ChatProcess, freePort } from "../_helpers/process.ts";
import { WAIT_MS } from "../_helpers/deadline.ts";

// Connections that come back by themselves (issue 15, items 1 and 8), with real processes.

/** Longer than the three quick attempts (0.5 + 1 + 2 s) that used to be all a client made. */
const DOWNTIME_MS = 5000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `chat send --timeout TIMEOUT TEXT` to 127.0.0.1:PORT, stdin closed. */
async function chatSend(port: number, timeoutMs: number, text: string): Promise<ChatProcess> {
  const args = ["send", "--host", "127.0.0.1", "--port", String(port), "--timeout", String(timeoutMs), text];
  const proc = new ChatProcess(args);
  await proc.closeStdin();
  return proc;
}

Deno.test("chat join reconnects by itself to a server that was down for 5 s, and delivers what is sent after", async () => {
  await using data = await tempDir("chat-e2e-data-");
  await using first = await serveOn(0, data.path);
  const port = first.port;
  await using alice = await joinJson(port, "alice");

  first.proc.kill("SIGKILL");
  await first.proc.exit();
  await alice.next("status", (e) => e.state === "reconnecting");
  // The deliberate downtime.
  await sleep(DOWNTIME_MS);
  await using second = await serveOn(port, data.path);

  const back = await alice.next("welcome", (e) => e.reconnected);
  assert.equal(back.room, "lobby");
  const tries = alice.all("status").filter((e) => e.state === "reconnecting");
  assert.ok(tries.length >= 4, `past the old limit of 3 attempts: ${JSON.stringify(tries)}`);
  assert.ok(tries.every((e) => e.of === 0), "no limit announced");
  assert.deepEqual(alice.all("status").filter((e) => e.state === "disconnected"), [], "never gave up");

  await using bob = await joinJson(second.port, "bob");
  await bob.say("after the restart");
  const got = await alice.next("message", (m) => m.text === "after the restart");
  assert.equal(got.from, "bob");
  await alice.say("glad to be back");
  await bob.next("message", (m) => m.text === "glad to be back" && m.from === "alice");
});

Deno.test("chat send waits for a server that starts after it, within --timeout, and exits 0 once stored", async () => {
  await using data = await tempDir("chat-e2e-data-");
  const port = freePort();
  await using send = await chatSend(port, WAIT_MS, "sent before the server was up");
  // The deliberate delay: nothing listens for a while, and `chat send` must not give up meanwhile.
  await sleep(2000);
  assert.equal(send.status, null, `chat send gave up while nothing listened:\n${send.describe()}`);
  await using server = await serveOn(port, data.path);
  const status = await send.exit(WAIT_MS + 5000);
  assert.equal(status.code, 0, send.describe());
  const ack = JSON.parse(send.stdout.lines[0]);
  assert.equal(ack.type, "ack");
  assert.equal(ack.room, "lobby");
  assert.equal(ack.seq, 1);

  await using reader = await joinJson(server.port, "reader");
  const [m] = await reader.waitMessages(1);
  assert.equal(m.text, "sent before the server was up");
});

Deno.test("chat send gives up at its --timeout when nothing listens, with one clear line and exit code 1", async () => {
  const port = freePort();
  const started = Date.now();
  await using send = await chatSend(port, 1500, "nobody hears this");
  const status = await send.exit();
  assert.equal(status.code, 1, send.describe());
  assert.ok(Date.now() - started >= 1500, "it tried until its deadline");
  assertOneLine(send.stderr.lines, [
    /^chat send: CONNECTION_REFUSED: cannot connect to 127\.0\.0\.1:\d+: connection refused/,
    /\(\d+ attempts in \d+ ms\)$/,
  ], "chat send");
  assert.deepEqual(send.stdout.lines, []);
});
