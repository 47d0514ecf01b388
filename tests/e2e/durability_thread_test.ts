/**
 * `chat serve --data-dir` commits on a worker thread: a server killed with
 * SIGKILL while a pipelined burst is being committed has on disk every
 * message it acknowledged, under the number it acknowledged, and the same
 * file is read by a server that commits on its event loop
 * (CHAT_STORE_WORKER=0), which numbers on from there without a gap.
 */

import assert from "node:assert/strict";
import { encodeMessage } from "../../src/protocol/mod.ts";
import { concat } from "../_helpers/bytes.ts";
import { waitFor } from "../_helpers/deadline.ts";
import { serveOn, tempDir } from "../_helpers/durable.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** Long enough that the kill, at the first ACK the test reads, lands while batches are still being committed. */
const BURST = 5000;

Deno.test("a server killed mid-burst keeps every message its storage thread acknowledged; the event-loop store reads them back", async () => {
  await using data = await tempDir("chat-e2e-data-");
  const text = (id: number) => `burst ${id}`;
  const burst = () =>
    concat(
      Array.from({ length: BURST }, (_, i) =>
        encodeMessage({ type: "send", id: i + 1, room: "lobby", flags: 0, text: text(i + 1) })),
    );
  const acked = new Map<number, number>();
  {
    await using first = await serveOn(0, data.path, ["--log-level", "info"]);
    await first.proc.stderr.next(
      (l) => /store: SQLite commits on a worker thread$/.test(l),
      "the store's line",
    );
    await using sender = await RawClient.connect(first.port, "sender");
    await sender.handshake("sender");
    // The whole burst in one write: the server commits it in several batches, one after the other.
    await sender.write(burst());
    await waitFor(sender, () => sender.messages.some((m) => m.type === "ack") || undefined, "a first ACK");
    first.proc.kill("SIGKILL");
    await first.proc.exit();
    for (const m of sender.messages) if (m.type === "ack") acked.set(m.id, m.seq);
  }
  assert.ok(acked.size > 0);

  await using second = await serveOn(0, data.path, ["--log-level", "info"], {
    env: { CHAT_STORE_WORKER: "0" },
  });
  await second.proc.stderr.next(
    (l) => /store: SQLite commits on the event loop \(CHAT_STORE_WORKER=0\)$/.test(l),
    "the store's line",
  );
  await using reader = await RawClient.connect(second.port, "reader");
  await reader.handshake("reader");
  // The history on join comes first, with a FETCHED of its own; then the whole room, page by page.
  await reader.next("fetched");
  const page: Array<{ seq: number; text: string }> = [];
  for (let after = 0;;) {
    const from = reader.messages.length;
    await reader.send({ type: "fetch", room: "lobby", after, before: 0, limit: 500 });
    const fetched = await reader.next("fetched");
    const got = reader.messages.slice(from).flatMap((m) => m.type === "message" ? [m] : []);
    page.push(...got);
    if (got.length === 0 || page.at(-1)!.seq >= fetched.lastSeq) break;
    after = page.at(-1)!.seq;
  }
  assert.deepEqual(
    page.map((m) => m.seq),
    page.map((_, i) => i + 1),
    "stored under 1, 2, 3, ... without a gap",
  );
  const bySeq = new Map(page.map((m) => [m.seq, m.text]));
  for (const [id, seq] of acked) {
    assert.equal(bySeq.get(seq), text(id), `SEND ${id} was acknowledged as seq ${seq}`);
  }

  // The sender resends the whole burst: what was stored is acknowledged again under its number, the rest is
  // stored after it, each message once.
  await using again = await RawClient.connect(second.port, "sender again");
  await again.handshake("sender");
  await again.write(burst());
  const seqs = new Map<number, number>();
  await waitFor(again, () => {
    for (const m of again.messages) if (m.type === "ack") seqs.set(m.id, m.seq);
    return seqs.size === BURST || undefined;
  }, `${BURST} ACKs`);
  for (const [id, seq] of acked) assert.equal(seqs.get(id), seq, `SEND ${id} keeps its seq`);
  assert.deepEqual(
    [...new Set(seqs.values())].sort((a, b) => a - b),
    Array.from({ length: BURST }, (_, i) => i + 1),
    "every message of the burst stored once, numbered without a gap",
  );
  second.proc.kill("SIGTERM");
  assert.equal((await second.proc.exit()).code, 0);
});
