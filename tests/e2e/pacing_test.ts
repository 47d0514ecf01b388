import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";

// A long paste under the server's default rate limit (issue 15, item 9): 50 a second after a burst of 500.

const LINES = 700;

Deno.test("chat join sends a 700-line paste under the server's default rate limit: all delivered, no error, no flood", async () => {
  await using server = await startServer();
  await using reader = await joinJson(server.port, "reader");
  await using paster = await joinJson(server.port, "paster");
  const welcome = paster.all("welcome")[0];
  assert.ok(welcome, paster.describe());

  const lines = Array.from({ length: LINES }, (_, i) => `line ${i + 1} of the paste`);
  await paster.proc.write(lines.join("\n") + "\n");
  await paster.proc.closeStdin();

  // 450 at once, then 45 a second: about 6 s for the rest, at the pace the server announced.
  const got = await reader.waitMessages(LINES, 30_000);
  assert.deepEqual(got.map((m) => m.text), lines, "every line once, in order");
  assert.equal((await paster.proc.exit(30_000)).code, 0, paster.describe());

  assert.deepEqual(paster.all("error"), [], "nothing refused, nothing shown as failed");
  assert.equal(paster.all("ack").length, LINES);
  assert.deepEqual(paster.all("status").filter((e) => e.state === "reconnecting"), [], "never disconnected");
  assert.equal(
    server.proc.stderr.lines.filter((l) => /reason=flood/.test(l)).length,
    0,
    server.proc.describe(),
  );
});
