import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";

Deno.test("three clients in one room see every message in the same order, with consecutive seqs and acks", async () => {
  await using server = await startServer();
  // Joined one after another: once carol is welcomed, all three are members, so every later message reaches all.
  await using alice = await joinJson(server.port, "alice");
  await using bob = await joinJson(server.port, "bob");
  await using carol = await joinJson(server.port, "carol");
  const clients = [alice, bob, carol];
  const perSender = 5;

  // Every client writes all its lines at once, so the server interleaves the three streams.
  await Promise.all(
    clients.map((c) =>
      c.proc.write(Array.from({ length: perSender }, (_, i) => `${c.name} ${i + 1}\n`).join(""))
    ),
  );

  const total = clients.length * perSender;
  const seen = await Promise.all(clients.map((c) => c.waitMessages(total)));
  const summary = (c: typeof alice) => c.messages().map((m) => `${m.seq} <${m.from}> ${m.text}`);

  // Same order everywhere, seqs 1..total, nothing extra.
  for (const [i, c] of clients.entries()) {
    assert.deepEqual(summary(c), summary(alice), `${c.name} saw a different order than alice`);
    assert.deepEqual(seen[i].map((m) => m.seq), Array.from({ length: total }, (_, k) => k + 1));
    for (const m of seen[i]) {
      assert.equal(m.room, "lobby");
      assert.equal(m.action, false);
      assert.equal(m.history, false);
    }
  }

  // Each sender's messages carry its name and arrive in the order it sent them.
  for (const c of clients) {
    const own = seen[0].filter((m) => m.from === c.name).map((m) => m.text);
    assert.deepEqual(own, Array.from({ length: perSender }, (_, i) => `${c.name} ${i + 1}`));
  }

  // Each sender gets one ack per message, with the seq its message was given.
  for (const c of clients) {
    await c.until(() => c.all("ack").length >= perSender || undefined, `${perSender} acks`);
    const acks = c.all("ack");
    const ownSeqs = seen[0].filter((m) => m.from === c.name).map((m) => m.seq);
    assert.deepEqual(acks.map((a) => a.seq), ownSeqs, `${c.name}'s acks`);
    assert.equal(new Set(acks.map((a) => a.id)).size, perSender, `${c.name}'s ack ids are distinct`);
  }
});
