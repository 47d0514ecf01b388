import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";

Deno.test("on SIGTERM the server tells every client SHUTTING_DOWN and exits 0; clients try to reconnect, then give up", async () => {
  await using server = await startServer();
  // One retry, so the clients end soon after the server is gone.
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
    assert.equal(retry.of, 1);
    // Nobody is listening any more: the one attempt fails and the client stops.
    await c.next("status", (e) => e.state === "disconnected");
    const exit = await c.proc.exit();
    assert.equal(exit.code, 1, c.describe());
    await c.proc.stderr.next((l) => /gave up reconnecting/.test(l));
    // A shutdown is not a departure: nobody was announced as leaving.
    assert.deepEqual(c.all("presence").filter((e) => e.event === "leave"), []);
  }
});
