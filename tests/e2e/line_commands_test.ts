/**
 * Line mode's commands against a real server: what is typed after a command
 * that changes the current room goes to the new room, whatever the server's
 * timing, because the client sends the JOIN (or LEAVE) before those lines on
 * the same connection and the server handles one connection's frames in
 * order.
 */

import assert from "node:assert/strict";
import type { ClientEvent } from "../../src/client/events.ts";
import { joinJson } from "../_helpers/json_client.ts";
import { ChatProcess, startServer } from "../_helpers/process.ts";

/** Runs `printf INPUT | chat join --name NAME FLAGS` to its end; returns the process. */
async function piped(port: number, name: string, flags: string[], input: string): Promise<ChatProcess> {
  const proc = new ChatProcess([
    "join",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--name",
    name,
    ...flags,
  ], {
    label: name,
  });
  await proc.write(input);
  await proc.closeStdin();
  const status = await proc.exit();
  assert.equal(status.code, 0, proc.describe());
  return proc;
}

Deno.test("printf '/join ops\\nfirst line for ops\\n' | chat join --json stores the line in ops, not in lobby", async () => {
  await using server = await startServer();
  await using watcher = await joinJson(server.port, "watcher", { flags: ["--room", "ops"] });
  await using bot = await piped(server.port, "bot1", ["--json"], "/join ops\nfirst line for ops\n");
  const acks = bot.stdout.lines.map((l) => JSON.parse(l) as ClientEvent).filter((e) => e.type === "ack");
  assert.deepEqual(acks.map((a) => a.type === "ack" && a.room), ["ops"], bot.describe());
  const got = await watcher.next("message", (m) => m.from === "bot1");
  assert.deepEqual([got.room, got.text], ["ops", "first line for ops"]);
});

Deno.test("every line goes where the commands before it point: /join, /switch, /leave and /query, in one burst", async () => {
  await using server = await startServer();
  await using watcher = await joinJson(server.port, "watcher", { flags: ["--room", "lobby,ops,dev"] });
  const input = [
    "/join ops",
    "one",
    "/join dev",
    "two",
    "/switch ops",
    "three",
    "/leave",
    "four",
    "/query watcher",
    "five",
    "/switch dev",
    "six",
  ].join("\n") + "\n";
  await using bot = await piped(server.port, "bot2", ["--json"], input);
  const events = bot.stdout.lines.map((l) => JSON.parse(l) as ClientEvent);
  // Ids grow in the order the lines were sent; ACKs may come in another order (a room's after its commit, a
  // direct message's at once), so they are read in id order. A direct message is acknowledged with room "".
  const acks = events.flatMap((e) => (e.type === "ack" ? [e] : [])).sort((a, b) => a.id - b.id);
  assert.deepEqual(acks.map((a) => a.room), ["ops", "dev", "ops", "lobby", "", "dev"], bot.describe());
  assert.deepEqual(events.filter((e) => e.type === "error"), [], "nothing refused");
  const direct = await watcher.next("direct", (d) => d.from === "bot2");
  assert.equal(direct.text, "five");
});

Deno.test("chat join --plain prints a line when a /join is confirmed", async () => {
  await using server = await startServer();
  await using bot = await piped(server.port, "bot3", ["--plain"], "/join ops\nhello ops\n");
  assert.ok(
    bot.stdout.lines.some((l) => /^\d\d:\d\d:\d\d #ops -- you joined #ops; online \(1\): bot3$/.test(l)),
    bot.describe(),
  );
  assert.ok(bot.stdout.lines.some((l) => / #ops <bot3> hello ops$/.test(l)), bot.describe());
});

Deno.test("in a pipe, the answers to the last commands (/join, /who, /topic) are shown before the client quits", async () => {
  await using server = await startServer();
  for (let round = 0; round < 3; round++) {
    await using bot = await piped(server.port, `tail${round}`, ["--json"], "/join ops\n/who lobby\n/topic\n");
    const events = bot.stdout.lines.map((l) => JSON.parse(l) as ClientEvent);
    const seen = events.flatMap((e) =>
      e.type === "members" ? [`members ${e.room}`] : e.type === "topic" ? [`topic ${e.room}`] : []
    );
    // The joins' topics and member lists, then /who's list and /topic's answer, each once and in order.
    assert.deepEqual(seen.slice(-3), ["topic ops", "members lobby", "topic ops"], bot.describe());
    assert.equal(events.at(-1)?.type, "status", "the last line is the disconnect");
  }
});

Deno.test("/ignore and /joins hide, typed in one chat join, hold in the next one with the same state dir", async () => {
  await using server = await startServer();
  const state = await Deno.makeTempDir({ prefix: "chat-e2e-state-" });
  try {
    const env = { XDG_STATE_HOME: state };
    const first = new ChatProcess(
      ["join", "--plain", "--host", "127.0.0.1", "--port", String(server.port), "--name", "alice"],
      { label: "alice 1", env },
    );
    await first.write("/ignore mallory\n/joins hide\n");
    await first.closeStdin();
    assert.equal((await first.exit()).code, 0, first.describe());
    await first[Symbol.asyncDispose]();

    await using alice = new ChatProcess(
      ["join", "--plain", "--host", "127.0.0.1", "--port", String(server.port), "--name", "alice"],
      { label: "alice 2", env },
    );
    await alice.stdout.next((l) => l.includes("connected to"), "alice connected");
    await using mallory = await joinJson(server.port, "mallory");
    await mallory.say("buy my stuff");
    await mallory.say("/msg alice psst");
    await mallory.next("ack", (a) => a.room === "");
    await using bob = await joinJson(server.port, "bob");
    await bob.say("hello alice");
    await alice.stdout.next((l) => l.endsWith("<bob> hello alice"), "bob's message");
    const out = alice.stdout.lines.join("\n");
    assert.doesNotMatch(out, /buy my stuff|psst/, "mallory is still ignored");
    assert.doesNotMatch(out, /joined/, "joins are still hidden in #lobby");
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});

Deno.test("/history right after /join pages from before the join's history: every message once, none twice", async () => {
  await using server = await startServer(["--history", "2"]);
  await using writer = await joinJson(server.port, "writer", { flags: ["--room", "ops"] });
  for (let i = 1; i <= 8; i++) await writer.say(`m${i}`);
  await writer.until((es) => es.filter((e) => e.type === "ack").length >= 8 || undefined, "8 ACKs");
  await using bot = await joinJson(server.port, "bot");
  // Both lines in one write: the page is asked before the server has answered the join.
  await bot.say("/join ops\n/history 3");
  await bot.until(
    (es) => es.filter((e) => e.type === "message" && e.room === "ops").length >= 5 || undefined,
    "the join's 2 messages and the page's 3",
  );
  // A live message after them: anything shown twice would have come before it.
  await writer.say("m9");
  await bot.next("message", (m) => m.room === "ops" && m.text === "m9");
  const seqs = bot.messages().filter((m) => m.room === "ops").map((m) => m.seq);
  assert.deepEqual(seqs, [7, 8, 4, 5, 6, 9], bot.describe());
});
