import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

const TIMEOUT_MS = 1000;

Deno.test("a client that stops answering is pinged, then dropped with TIMEOUT, and others see it leave", async () => {
  // A timeout is an unclean close: keep any grace period before the leave announcement short.
  await using server = await startServer(["--timeout", String(TIMEOUT_MS)], { env: { CHAT_GRACE: "200" } });
  await using watcher = await joinJson(server.port, "watcher");
  await using raw = await RawClient.connect(server.port, "silent");
  const since = Date.now();
  await raw.handshake("silent");
  await watcher.next("presence", (e) => e.event === "join" && e.name === "silent");

  // Never answers: the server pings first, then gives up once the timeout has passed.
  await raw.next("ping");
  const err = await raw.next("error", () => true, TIMEOUT_MS * 5);
  assert.equal(err.code, "TIMEOUT", `${raw.describe()}\n${server.proc.describe()}`);
  assert.equal(err.fatal, true);
  assert.ok(Date.now() - since >= TIMEOUT_MS, `dropped after only ${Date.now() - since} ms`);
  await raw.closed();
  const leave = await watcher.next("presence", (e) => e.event === "leave" && e.name === "silent");
  assert.equal(leave.reason, "timeout");

  // The watcher answers the server's pings, so it outlives the timeout.
  await watcher.say("still alive");
  await watcher.next("message", (m) => m.text === "still alive");
});

Deno.test("a connection that never sends HELLO is closed once the timeout has passed", async () => {
  await using server = await startServer(["--timeout", String(TIMEOUT_MS)]);
  await using raw = await RawClient.connect(server.port, "mute");
  const since = Date.now();
  await raw.closed(TIMEOUT_MS * 5);
  const waited = Date.now() - since;
  assert.ok(waited >= TIMEOUT_MS - 50, `closed after only ${waited} ms`);
  // The close is explained, not silent.
  assert.deepEqual(
    raw.messages.map((m) => m.type === "error" ? `${m.code} fatal=${m.fatal}` : m.type),
    ["TIMEOUT fatal=true"],
  );
});
