/**
 * What a client keeps across its own restarts (issue 4): the outbox of
 * `chat join`, the acknowledgement `chat send` waits for, and the cursor of
 * `chat tail`.
 */

import assert from "node:assert/strict";
import { journalKey, replay } from "../../src/client/journal.ts";
import {
  assertCompleteLog,
  assertUniqueTexts,
  pollUntil,
  serveOn,
  tailCursor,
  tailJson,
  tempDir,
  xdgHome,
} from "../_helpers/durable.ts";
import { joinJson, type JsonClient } from "../_helpers/json_client.ts";
import { freePort, runChat } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

const FOREVER = ["--reconnect-attempts", "0"];

/** The outbox `name`'s journal holds on disk, as a restarted client will read it. */
function journaledOutbox(home: string, port: number, name: string): string[] {
  const path = `${home}/state/chat/journal/${journalKey([{ host: "127.0.0.1", port }], name)}.jsonl`;
  return replay(Deno.readTextFileSync(path)).outbox.map((p) => p.text);
}

/** Waits until `client` has handled every stdin line written so far (it answers /rooms in order, on stderr). */
async function barrier(client: JsonClient): Promise<void> {
  await client.say("/rooms");
  await client.proc.stderr.next((l) => l.startsWith("rooms: "), "the /rooms answer");
}

Deno.test("a chat join killed with messages in its outbox sends them exactly once when started again", async () => {
  await using data = await tempDir("chat-e2e-data-");
  await using home = await tempDir("chat-e2e-home-");
  const env = xdgHome(home.path);
  await using first = await serveOn(0, data.path);
  const port = first.port;
  await using watcher = await joinJson(port, "watcher", { flags: FOREVER });

  // 1. Killed mid-stream while connected: some lines acknowledged, some on the wire, some only in the journal.
  const up = Array.from({ length: 300 }, (_, i) => `up #${i + 1}`);
  let ackedUp: number;
  let journaledUp: string[];
  {
    await using alice = await joinJson(port, "alice", { env, flags: FOREVER });
    await alice.proc.write(up.join("\n") + "\n");
    await watcher.next("message", (m) => m.from === "alice");
    alice.proc.kill("SIGKILL");
    await alice.proc.exit();
    ackedUp = alice.all("ack").length;
    journaledUp = journaledOutbox(home.path, port, "alice");
  }

  // 2. Killed while the server is down: everything typed is only in the journal.
  const down = Array.from({ length: 5 }, (_, i) => `down #${i + 1}`);
  {
    await using alice = await joinJson(port, "alice", { env, flags: FOREVER });
    // The restart resent what the journal held; wait until it is all acknowledged before the server goes.
    await alice.until(() => alice.all("ack").length >= journaledUp.length || undefined, "the resent acks");
    first.proc.kill("SIGKILL");
    await first.proc.exit();
    await alice.next("status", (e) => e.state === "reconnecting");
    for (const line of down) await alice.say(line);
    await barrier(alice);
    alice.proc.kill("SIGKILL");
    await alice.proc.exit();
  }
  assert.deepEqual(journaledOutbox(home.path, port, "alice"), down, "the outbox on disk");

  await using second = await serveOn(port, data.path);
  {
    await using alice = await joinJson(port, "alice", { env, flags: FOREVER });
    await alice.proc.closeStdin();
    assert.equal((await alice.proc.exit()).code, 0, alice.describe());
    assert.equal(alice.all("ack").length, down.length, alice.describe());
  }
  assert.deepEqual(journaledOutbox(home.path, port, "alice"), [], "the outbox after the acks");

  const last = await watcher.next("message", (m) => m.text === down[down.length - 1], 20_000);
  const got = watcher.messages();
  assertCompleteLog(got, "watcher");
  assert.equal(got.at(-1), last, "nothing after the last message");
  const texts = assertUniqueTexts(got, "watcher");
  for (const t of [...journaledUp, ...down]) {
    assert.ok(texts.has(t), `${t} was journaled but never delivered`);
  }
  const upGot = got.filter((m) => m.text.startsWith("up #")).length;
  // Acknowledged lines are the first ones typed; a line may be both acknowledged and still in the journal at
  // the kill (its ACK arrived, the journal was not rewritten yet): each counts once.
  const promised = new Set([...up.slice(0, ackedUp), ...journaledUp]);
  assert.ok(
    upGot >= promised.size,
    `${upGot} up lines delivered, fewer than acked or journaled (${promised.size})`,
  );
  // The lines delivered are the first ones typed, in order: the kill only lost lines never read from stdin.
  assert.deepEqual(got.slice(0, upGot).map((m) => m.text), up.slice(0, upGot));
  second.proc.kill("SIGTERM");
  assert.equal((await second.proc.exit()).code, 0);
});

Deno.test("chat send exits 0 only once its message is stored, and 1 when the server is stopped", async () => {
  await using data = await tempDir("chat-e2e-data-");
  await using first = await serveOn(0, data.path);
  const port = first.port;
  const send = (text: string) =>
    runChat(["send", "--host", "127.0.0.1", "--port", String(port), "--room", "news", "--name", "bot", text]);

  const sent = await send("stored before the exit");
  assert.equal(sent.code, 0, sent.output);
  assert.equal(sent.stdout.length, 1, sent.output);
  const ack = JSON.parse(sent.stdout[0]);
  assert.equal(ack.type, "ack");
  assert.equal(ack.room, "news");
  assert.equal(ack.seq, 1);

  // The exit code promised the message is on disk: a crash right after cannot take it back.
  first.proc.kill("SIGKILL");
  await first.proc.exit();
  const down = await send("nobody listens");
  assert.equal(down.code, 1, down.output);
  assert.match(down.stderr.join("\n"), /CONNECTION_REFUSED/);

  await using second = await serveOn(port, data.path);
  await using reader = await RawClient.connect(port, "reader");
  await reader.handshake("reader", ["news"]);
  const m = await reader.next("message");
  assert.deepEqual([m.seq, m.from, m.text, m.ts], [1, "bot", "stored before the exit", ack.ts]);
  const again = await send("after the restart");
  assert.equal(again.code, 0, again.output);
  assert.equal(JSON.parse(again.stdout[0]).seq, 2, "sequence numbers continue after the restart");
  second.proc.kill("SIGTERM");
  assert.equal((await second.proc.exit()).code, 0);
  const stopped = await send("stopped");
  assert.equal(stopped.code, 1, stopped.output);
  assert.equal((await runChat(["send", "--port", String(freePort()), "x"])).code, 1);
});

Deno.test("chat tail restarted with its saved cursor prints each message once; --since SEQ starts after SEQ", async () => {
  await using data = await tempDir("chat-e2e-data-");
  await using home = await tempDir("chat-e2e-home-");
  const env = xdgHome(home.path);
  await using server = await serveOn(0, data.path);
  const port = server.port;
  await using bot = await RawClient.connect(port, "bot");
  await bot.handshake("bot", ["news"]);
  let id = 0;
  const post = async (n: number) => {
    for (let i = 0; i < n; i++) {
      id++;
      await bot.send({ type: "send", id, room: "news", flags: 0, text: `news ${id}` });
      await bot.next("ack", (a) => a.id === id);
    }
  };
  const follow = (flags: string[] = [], spawn = { env }, name = "desk") =>
    tailJson(port, name, ["--room", "news", ...FOREVER, ...flags], spawn);
  const seqs = (t: JsonClient) => t.messages().map((m) => m.seq);

  await post(3);
  {
    await using t = follow();
    await t.waitMessages(3);
    t.proc.kill("SIGTERM");
    assert.equal((await t.proc.exit()).code, 0, t.describe());
    assert.deepEqual(seqs(t), [1, 2, 3]);
  }
  // More than the history sent on join (50): the cursor must fetch, not rely on recent history.
  await post(60);
  {
    await using t = follow();
    await t.waitMessages(60);
    await post(1);
    await t.waitMessages(61);
    // The cursor is saved right after each message is printed: once it is on disk, even SIGKILL loses nothing.
    await pollUntil(
      () => tailCursor(home.path, port, "desk", "news") === 64 || undefined,
      "the cursor at 64",
    );
    t.proc.kill("SIGKILL");
    await t.proc.exit();
    assert.deepEqual(seqs(t), Array.from({ length: 61 }, (_, i) => i + 4));
  }
  await post(2);
  {
    await using t = follow();
    await t.next("message", (m) => m.seq === 66);
    await post(1);
    await t.next("message", (m) => m.seq === 67);
    assert.deepEqual(seqs(t), [65, 66, 67]);
  }

  for (const since of [0, 2, 40, 67]) {
    await using fresh = await tempDir("chat-e2e-home-");
    // Another name: the last "desk" was killed, and its name is held for the grace period.
    await using t = follow(["--since", String(since)], { env: xdgHome(fresh.path) }, `since${since}`);
    await post(1);
    const got = await t.next("message", (m) => m.text === `news ${id}`);
    const all = t.messages();
    assert.equal(all[0].seq, since + 1, `--since ${since}: first seq`);
    assertCompleteLog(all, `--since ${since}`, since + 1);
    assert.equal(all.at(-1), got);
  }
});
