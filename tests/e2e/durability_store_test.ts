/**
 * The server's store at its limits (issue 4): a full store refuses messages
 * instead of acknowledging and losing them, and retention deletes old
 * messages without disturbing sequence numbers.
 */

import assert from "node:assert/strict";
import type { Message } from "../../src/protocol/mod.ts";
import { waitFor } from "../_helpers/deadline.ts";
import { assertCompleteLog, serveOn, tailJson, tempDir } from "../_helpers/durable.ts";
import { joinJson } from "../_helpers/json_client.ts";
import { runChat } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

type Outcome = Extract<Message, { type: "ack" }> | Extract<Message, { type: "error" }>;

/** Sends one message and waits for its answer: the ACK, or an ERROR that names its id. */
async function sendOne(client: RawClient, id: number, text: string, room = "lobby"): Promise<Outcome> {
  const from = client.messages.length;
  await client.send({ type: "send", id, room, flags: 0, text });
  return await waitFor(client, () => {
    for (let i = from; i < client.messages.length; i++) {
      const m = client.messages[i];
      if ((m.type === "ack" && m.id === id) || (m.type === "error" && m.ref === id)) return m;
    }
    return undefined;
  }, `the answer to SEND ${id}`);
}

Deno.test("a full store refuses messages with STORAGE_ERROR, never acknowledges them, and never delivers them", async () => {
  await using data = await tempDir("chat-e2e-data-");
  await using full = await serveOn(0, data.path, ["--max-store-mb", "1"]);
  const port = full.port;
  await using watcher = await joinJson(port, "watcher", { flags: ["--reconnect-attempts", "0"] });
  const big = (id: number) => `message ${id} `.padEnd(3000, "x");
  const acked: string[] = [];
  const refused = new Map<number, string>();
  let id = 0;
  {
    await using filler = await RawClient.connect(port, "filler");
    await filler.handshake("filler");
    // 1 MB holds a few hundred of these: send one at a time up to the first refusal.
    for (;;) {
      const answer = await sendOne(filler, ++id, big(id));
      if (answer.type === "error") {
        assert.equal(answer.code, "STORAGE_ERROR", JSON.stringify(answer));
        assert.equal(answer.fatal, false);
        // The cap, not the disk: and the sender learns who can do what about it.
        assert.match(
          answer.message,
          /reached its size limit; its operator can raise --max-store-mb or keep less history/,
        );
        assert.doesNotMatch(answer.message, /disk/);
        refused.set(id, big(id));
        break;
      }
      assert.equal(answer.seq, acked.length + 1);
      acked.push(big(id));
    }
    assert.ok(acked.length > 100 && acked.length < 400, `${acked.length} messages fit in 1 MB`);
    const logged = await full.proc.stderr.next((l) => /store: .*refused/.test(l), "the refusal in the log");
    assert.match(
      logged,
      /the store reached its size limit of 1 MiB \(--max-store-mb\): raise --max-store-mb, or keep less history \(--retention-messages, --retention-days\); the message was refused$/,
    );

    // Full stays full: more messages, a retry of a refused id and another sender's message are refused.
    for (let i = 0; i < 5; i++) {
      const answer = await sendOne(filler, ++id, big(id));
      assert.equal(answer.type === "error" && answer.code, "STORAGE_ERROR", JSON.stringify(answer));
      refused.set(id, big(id));
    }
    const retry = await sendOne(filler, id, big(id));
    assert.equal(retry.type === "error" && retry.code, "STORAGE_ERROR", "a retried refusal is refused again");
    await using other = await RawClient.connect(port, "other");
    await other.handshake("other");
    const theirs = await sendOne(other, 1, `other `.padEnd(3000, "y"));
    assert.equal(theirs.type === "error" && theirs.code, "STORAGE_ERROR", JSON.stringify(theirs));
    // `chat send` exits 1 on a refusal: only an acknowledgement is success.
    const cron = await runChat(["send", "--port", String(port), "--name", "cron", `cron `.padEnd(3000, "z")]);
    assert.equal(cron.code, 1, cron.output);
    assert.deepEqual(cron.stdout, []);
    assert.match(
      cron.stderr.join("\n"),
      /STORAGE_ERROR: message not stored \(the server's message store reached its size limit/,
    );
  }
  full.proc.kill("SIGKILL");
  await full.proc.exit();

  // Restarted without the cap: a refused message can be sent again with its id; the sequence goes on
  // right after the last acknowledged message.
  await using roomy = await serveOn(port, data.path);
  await using filler = await RawClient.connect(port, "filler again");
  await filler.handshake("filler");
  const [firstRefused] = refused.keys();
  const resent = await sendOne(filler, firstRefused, refused.get(firstRefused)!);
  assert.equal(resent.type === "ack" && resent.seq, acked.length + 1, JSON.stringify(resent));
  refused.delete(firstRefused);
  acked.push(big(firstRefused));
  const marker = await sendOne(filler, ++id, "marker");
  assert.equal(marker.type === "ack" && marker.seq, acked.length + 1, JSON.stringify(marker));
  acked.push("marker");

  await watcher.next("message", (m) => m.text === "marker", 20_000);
  const got = watcher.messages();
  assertCompleteLog(got, "watcher");
  assert.deepEqual(got.map((m) => m.text), acked, "the watcher saw exactly the acknowledged messages");
  for (const text of [...refused.values(), `other `.padEnd(3000, "y"), `cron `.padEnd(3000, "z")]) {
    assert.ok(!got.some((m) => m.text === text), `a refused message was delivered: ${text.slice(0, 20)}`);
  }
  roomy.proc.kill("SIGTERM");
  assert.equal((await roomy.proc.exit()).code, 0);
});

Deno.test("retention deletes old messages but sequence numbers continue across restarts", async () => {
  await using data = await tempDir("chat-e2e-data-");
  const keep = ["--retention-messages", "5"];
  await using first = await serveOn(0, data.path, keep);
  const port = first.port;
  await using reader = await joinJson(port, "reader", { flags: ["--reconnect-attempts", "0"] });
  let id = 0;
  const post = async (n: number): Promise<number[]> => {
    await using bot = await RawClient.connect(port, "bot");
    await bot.handshake("bot");
    const seqs = [];
    for (let i = 0; i < n; i++) {
      const answer = await sendOne(bot, ++id, `news ${id}`);
      assert.equal(answer.type, "ack", JSON.stringify(answer));
      seqs.push((answer as Extract<Outcome, { type: "ack" }>).seq);
    }
    return seqs;
  };
  assert.deepEqual(await post(12), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

  // Retention runs at start (and every minute): after a crash and restart only the last 5 are kept...
  first.proc.kill("SIGKILL");
  await first.proc.exit();
  await using second = await serveOn(port, data.path, keep);
  {
    await using late = await RawClient.connect(port, "late");
    await late.handshake("late");
    // The history sent on join ends with a FETCHED of its own; then ours.
    const marker = await late.next("fetched");
    assert.deepEqual([marker.count, marker.lastSeq], [5, 12]);
    await late.send({ type: "fetch", room: "lobby", after: 0, before: 0, limit: 100 });
    const fetched = await late.next("fetched");
    assert.deepEqual(
      late.messages.flatMap((m) => (m.type === "message" ? [m.seq] : [])),
      [8, 9, 10, 11, 12, 8, 9, 10, 11, 12],
      "history on join, then the FETCH from 0",
    );
    assert.equal(fetched.lastSeq, 12);
  }
  // ...and the next message is 13, not 6 or 1.
  assert.deepEqual(await post(2), [13, 14]);

  second.proc.kill("SIGTERM");
  assert.equal((await second.proc.exit()).code, 0);
  await using third = await serveOn(port, data.path, keep);
  assert.deepEqual(await post(1), [15]);

  // The reader that saw 1..12 before the crash resumes with the rest, exactly once.
  const got = await reader.waitMessages(15, 20_000);
  assertCompleteLog(got, "reader");
  assert.equal(got.length, 15);
  // A cursor inside the deleted range skips what retention removed instead of waiting for it.
  await using since = tailJson(port, "since", ["--since", "2", "--reconnect-attempts", "0"]);
  // The last start pruned to 10..14, then 15 arrived: a reader is sent only the newest 5, 11..15.
  const oldest = await since.next("message");
  assert.equal(oldest.seq, 11, "the oldest message retention keeps");
  await since.next("message", (m) => m.seq === 15);
  assertCompleteLog(since.messages(), "tail --since 2", 11);
  third.proc.kill("SIGTERM");
  assert.equal((await third.proc.exit()).code, 0);
});
