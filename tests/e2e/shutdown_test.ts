import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";

Deno.test("on SIGTERM the server tells every client SHUTTING_DOWN and exits 0; clients keep trying to reconnect", async () => {
  await using server = await startServer();
  // One quick attempt, so the second (slow) one comes soon after the server is gone.
  const flags = ["--reconnect-attempts", "1"];
  await using alice = await joinJson(server.port, "alice", { flags });
  await using bob = await joinJson(server.port, "bob", { flags });
  await alice.next("presence", (e) => e.event === "join" && e.name === "bob");

  server.proc.kill("SIGTERM");
  const status = await server.proc.exit();
  assert.equal(status.code, 0, server.proc.describe());
  await server.proc.stderr.next((l) => /received SIGTERM/.test(l));
  await server.proc.stderr.next((l) => /\bstopped\b/.test(l));

  for (const c of [alice, bob]) {
    const err = await c.next("error");
    assert.equal(err.code, "SHUTTING_DOWN", c.describe());
    assert.equal(err.fatal, true);
    const retry = await c.next("status", (e) => e.state === "reconnecting");
    assert.equal(retry.attempt, 1);
    assert.equal(retry.of, 0, "no limit: the interactive client never gives up by itself");
    // Nobody is listening any more: the quick attempt fails, and the client keeps trying, slower.
    const slow = await c.next("status", (e) => e.state === "reconnecting");
    assert.equal(slow.attempt, 2);
    assert.match(slow.reason ?? "", /connection refused/);
    assert.deepEqual(c.all("status").filter((e) => e.state === "disconnected"), [], "not given up");
    // A shutdown is not a departure: nobody was announced as leaving.
    assert.deepEqual(c.all("presence").filter((e) => e.event === "leave"), []);
    // End of input with nothing pending ends the client, offline or not.
    await c.proc.closeStdin();
    assert.equal((await c.proc.exit()).code, 0, c.describe());
  }
});
