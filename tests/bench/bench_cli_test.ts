import assert from "node:assert/strict";
import { BENCH_SPECS } from "../../src/cli/specs.ts";
import type { BenchResult } from "../../src/bench/report.ts";
import { haveNats } from "../_helpers/nats.ts";
import { assertOneLine, runChat, startServer } from "../_helpers/process.ts";

Deno.test("chat bench --spawn runs a short fanout against its own server and delivers every message", async () => {
  const r = await runChat([
    "bench",
    "--spawn",
    "--scenario",
    "fanout",
    "--clients",
    "5",
    "--senders",
    "1",
    "--duration",
    "1",
    "--json",
  ]);
  assert.equal(r.code, 0, r.output);
  assert.equal(r.stdout.length, 1, r.output);
  const result = JSON.parse(r.stdout[0]) as BenchResult;
  assert.equal(result.target, "chat");
  assert.equal(result.scenario, "fanout");
  assert.equal(result.connect.connections, 6);
  assert.ok(result.sent > 0, r.output);
  assert.ok(result.delivered > 0, r.output);
  assert.equal(result.delivered, result.expected, r.output);
  assert.equal(result.deliveredRatio, 1, r.output);
  assert.equal(result.errors.count, 0, r.output);
  assert.ok(result.latencyMs !== null && result.latencyMs.count > 0, r.output);
  assert.ok(result.server.spawned && result.server.pid !== null, r.output);
  // The spawned server is measured when /proc exists.
  if (Deno.build.os === "linux") assert.ok(result.serverStats?.peakRssBytes, r.output);
});

Deno.test({
  name:
    "chat bench --spawn --nodes 2 spreads the clients over a two-node cluster and every message reaches both halves",
  ignore: !haveNats(),
  async fn() {
    const r = await runChat([
      "bench",
      "--spawn",
      "--nodes",
      "2",
      "--scenario",
      "fanout",
      "--clients",
      "6",
      "--duration",
      "1",
      "--json",
    ]);
    assert.equal(r.code, 0, r.output);
    const result = JSON.parse(r.stdout[0]) as BenchResult;
    assert.equal(result.config.nodes, 2);
    // Two chat nodes and their nats-server, all measured.
    assert.equal(result.server.pids.length, 3, r.output);
    assert.equal(new Set(result.server.pids).size, 3, r.output);
    assert.ok(result.sent > 0, r.output);
    // The sender is on the first node and half the receivers on the second: the ratio counts them all.
    assert.equal(result.delivered, result.expected, r.output);
    assert.equal(result.acked, result.sent, r.output);
    assert.equal(result.errors.count, 0, r.output);
  },
});

Deno.test("chat bench --host takes a list of servers and spreads the connections over them", async () => {
  await using server = await startServer(["--ephemeral", "--rate-limit", "0"]);
  // Two names for one server: each half of the clients connects through one of them.
  const r = await runChat([
    "bench",
    "--host",
    `127.0.0.1:${server.port},localhost`,
    "--port",
    String(server.port),
    "--clients",
    "4",
    "--duration",
    "1",
    "--json",
  ]);
  assert.equal(r.code, 0, r.output);
  const result = JSON.parse(r.stdout[0]) as BenchResult;
  assert.deepEqual(result.server.servers, [
    { host: "127.0.0.1", port: server.port },
    { host: "localhost", port: server.port },
  ]);
  assert.ok(result.sent > 0, r.output);
  assert.equal(result.delivered, result.expected, r.output);
});

Deno.test("chat bench --help lists every option and exits 0", async () => {
  const r = await runChat(["bench", "--help"]);
  assert.equal(r.code, 0, r.output);
  const text = r.stdout.join("\n");
  for (const flag of [...BENCH_SPECS.map((s) => s.flag), "help"]) {
    assert.ok(text.includes(`--${flag}`), `chat bench --help lacks --${flag}:\n${text}`);
  }
  for (const word of ["fanout", "chatty", "idle", "redis", "naive"]) assert.ok(text.includes(word), word);
});

Deno.test("chat bench with contradictory options says why in one line and exits 2", async () => {
  const r = await runChat(["bench", "--scenario", "idle", "--senders", "3"]);
  assert.equal(r.code, 2, r.output);
  assertOneLine(r.stderr, [/^chat bench: /, /--senders must be 0/], "stderr");
});

Deno.test("chat bench against a port where nothing listens fails in one line with exit code 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const r = await runChat(["bench", "--port", String(port), "--clients", "2", "--duration", "1"]);
  assert.equal(r.code, 1, r.output);
  assert.ok(r.stderr.some((l) => /^chat bench: cannot connect/.test(l)), r.output);
});
