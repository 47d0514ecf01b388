import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { assertOneLine, ChatProcess, freePort, startServer } from "../_helpers/process.ts";

Deno.test("every line piped into chat join arrives exactly once and in order, and the sender exits 0", async () => {
  await using server = await startServer();
  await using bob = await joinJson(server.port, "bob");
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i + 1}`);

  // Like `printf 'line 1\nline 2\n...' | chat join`: all input at once, then end of input.
  await using alice = new ChatProcess(["join", "--json", "--port", String(server.port), "--name", "alice"], {
    label: "alice",
  });
  await alice.write(lines.join("\n") + "\n");
  await alice.closeStdin();
  const status = await alice.exit();
  assert.equal(status.code, 0, alice.describe());
  const acks = alice.stdout.lines.filter((l) => JSON.parse(l).type === "ack");
  assert.equal(acks.length, lines.length, "one ack per line");

  // alice's leave comes after all its messages on the same connection.
  const leave = await bob.next("presence", (e) => e.event === "leave" && e.name === "alice");
  assert.equal(leave.reason, "quit");
  const got = bob.messages();
  assert.deepEqual(got.map((m) => m.text), lines);
  assert.ok(got.every((m) => m.from === "alice"));
  assert.deepEqual(got.map((m) => m.seq), lines.map((_, i) => i + 1));
});

Deno.test("chat join to a port where nothing listens prints one CONNECTION_REFUSED line and exits 1", async () => {
  await using proc = new ChatProcess(["join", "--port", String(freePort()), "--name", "alice"], {
    label: "alice",
  });
  const status = await proc.exit();
  assert.equal(status.code, 1, proc.describe());
  assertOneLine(proc.stderr.lines, [/CONNECTION_REFUSED/, /^chat join: /], "stderr");
});
