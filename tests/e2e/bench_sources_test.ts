import assert from "node:assert/strict";
import type { BenchResult } from "../../src/bench/report.ts";
import { waitFor } from "../_helpers/deadline.ts";
import { runChat, startServer } from "../_helpers/process.ts";

// The server's log line for each welcomed client: its name and the address it connected from.
const CONNECT = /(?<!dis)connect (b\S+) \((127\.0\.0\.\d+):\d+\)/;

Deno.test("chat bench --sources 4 connects a few hundred clients from four loopback addresses, all of them", async () => {
  await using server = await startServer(["--ephemeral", "--max-clients", "400", "--log-level", "info"]);
  const r = await runChat([
    "bench",
    "--host",
    "127.0.0.1",
    "--port",
    String(server.port),
    "--scenario",
    "idle",
    "--clients",
    "300",
    "--rooms",
    "3",
    "--sources",
    "4",
    "--duration",
    "1",
    "--json",
  ]);
  assert.equal(r.code, 0, r.output);
  const result = JSON.parse(r.stdout[0]) as BenchResult;
  assert.equal(result.config.sources, 4);
  assert.equal(result.connect.connections, 300, r.output);
  assert.equal(result.errors.count, 0, r.output);

  // The server saw every client, a quarter from each of 127.0.0.2 to 127.0.0.5.
  const bySource = await waitFor(server.proc.stderr, () => {
    const seen = server.proc.stderr.lines.map((l) => l.match(CONNECT)).filter((m) => m !== null);
    if (seen.length < 300) return undefined;
    const counts = new Map<string, number>();
    for (const m of seen) counts.set(m[2], (counts.get(m[2]) ?? 0) + 1);
    return counts;
  }, "300 connect lines in the server's log");
  assert.deepEqual(
    [...bySource].sort(),
    [["127.0.0.2", 75], ["127.0.0.3", 75], ["127.0.0.4", 75], ["127.0.0.5", 75]],
  );
});

Deno.test("chat bench refuses --sources toward a server that is not on loopback, in one line", async () => {
  const r = await runChat(["bench", "--host", "192.0.2.1", "--sources", "2", "--duration", "1"]);
  assert.equal(r.code, 2, r.output);
  assert.ok(r.stderr.some((l) => /^chat bench: --sources .*cannot reach 192\.0\.2\.1/.test(l)), r.output);
});
