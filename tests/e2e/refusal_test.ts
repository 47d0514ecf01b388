import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { assertOneLine, ChatProcess, startServer } from "../_helpers/process.ts";

/** Runs `chat join` (plain, or JSON with `json`) with stdin open, and waits for it to exit. */
async function refusedJoin(port: number, name: string, json = false) {
  await using proc = new ChatProcess(
    ["join", ...(json ? ["--json"] : []), "--port", String(port), "--name", name],
    { label: name },
  );
  const status = await proc.exit();
  return { code: status.code, stdout: proc.stdout.lines, stderr: proc.stderr.lines, output: proc.describe() };
}

Deno.test("a second client with a name already online gets NAME_TAKEN and exits non-zero; the first is unaffected", async () => {
  await using server = await startServer();
  await using alice = await joinJson(server.port, "alice");
  await using bob = await joinJson(server.port, "bob");

  // Same name in plain mode, and differing only in case in JSON mode: one stderr line each way.
  for (const [name, json] of [["alice", false], ["ALICE", true]] as const) {
    const r = await refusedJoin(server.port, name, json);
    assert.notEqual(r.code, 0, r.output);
    assertOneLine(r.stderr, [/NAME_TAKEN/], `${name} stderr`);
    if (json) {
      const errors = r.stdout.map((l) => JSON.parse(l)).filter((e) => e.type === "error");
      assert.deepEqual(errors.map((e) => [e.code, e.fatal]), [["NAME_TAKEN", true]], r.output);
    }
  }

  // The first alice still chats, and nobody saw the refused ones come or go.
  await alice.say("still here");
  await alice.next("ack");
  const m = await bob.next("message", (e) => e.text === "still here");
  assert.equal(m.from, "alice");
  assert.deepEqual(alice.all("presence").map((e) => `${e.event} ${e.name}`), ["join bob"], alice.describe());
  assert.equal(alice.proc.status, null, "alice is still running");
});

Deno.test("with --max-clients 2 a third client gets SERVER_FULL while the other two keep chatting", async () => {
  await using server = await startServer(["--max-clients", "2"]);
  await using alice = await joinJson(server.port, "alice");
  await using bob = await joinJson(server.port, "bob");

  const r = await refusedJoin(server.port, "carol");
  assert.notEqual(r.code, 0, r.output);
  assertOneLine(r.stderr, [/SERVER_FULL/], "carol stderr");

  await alice.say("after the refusal");
  const m = await bob.next("message", (e) => e.text === "after the refusal");
  assert.equal(m.from, "alice");
  await alice.next("ack", (a) => a.seq === m.seq);
  await bob.say("still two of us");
  await alice.next("message", (e) => e.text === "still two of us" && e.from === "bob");
});
