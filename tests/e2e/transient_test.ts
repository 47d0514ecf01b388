import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { tailJson } from "../_helpers/durable.ts";
import { runChat, startServer } from "../_helpers/process.ts";

// chat send and chat tail connect as transient sessions (issue 15, item 7, client side).

Deno.test("parallel chat sends under the default name all succeed, and the room sees only their messages", async () => {
  await using server = await startServer();
  await using watcher = await joinJson(server.port, "watcher");
  const port = String(server.port);
  const runs = await Promise.all(
    [1, 2, 3, 4].map((n) => runChat(["send", "--host", "127.0.0.1", "--port", port, `parallel ${n}`])),
  );
  for (const r of runs) assert.equal(r.code, 0, r.output);
  // Each send's ACK (its JSON line) names its id: four different ones, drawn above the clock's (an id two
  // sends shared would be taken for a resend, acknowledged and not delivered).
  const ids = runs.map((r) => (JSON.parse(r.stdout[0]) as { id: number }).id);
  assert.equal(new Set(ids).size, 4, `ids ${ids}`);
  assert.ok(ids.every((id) => id >= 2 ** 52 && id <= Number.MAX_SAFE_INTEGER), `ids ${ids}`);
  const got = await watcher.waitMessages(4);
  assert.deepEqual(got.map((m) => m.text).sort(), ["parallel 1", "parallel 2", "parallel 3", "parallel 4"]);
  assert.ok(got.every((m) => m.from === "send"));
  assert.deepEqual(watcher.all("presence").filter((e) => e.name === "send"), [], "no joined/left lines");
});

Deno.test("two chat tails with one name follow two rooms at once, unseen", async () => {
  await using server = await startServer();
  await using alice = await joinJson(server.port, "alice", { flags: ["--room", "lobby,dev"] });
  await using lobby = tailJson(server.port, "tail", ["--room", "lobby"]);
  await using dev = tailJson(server.port, "tail", ["--room", "dev"]);
  await alice.say("for the lobby");
  await alice.say("/switch dev");
  await alice.say("for dev");
  await lobby.next("message", (m) => m.text === "for the lobby");
  await dev.next("message", (m) => m.text === "for dev");
  assert.deepEqual(alice.all("presence").filter((e) => e.name === "tail"), [], "no joined/left lines");
  assert.deepEqual(lobby.all("error"), []);
  assert.deepEqual(dev.all("error"), []);
});
