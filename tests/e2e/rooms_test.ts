/**
 * Rooms people can discover (issue 15, item 5, server side) and long
 * messages (item 10), end to end: real `chat serve` processes, `chat join
 * --json` clients and `chat send`, on 127.0.0.1. /list with member counts,
 * topics shown on join, changed, kept across a restart and shared by a
 * cluster; /who for a room one is not in; a long line and a long paste sent
 * in parts, each acknowledged, in order.
 */

import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { startNats } from "../_helpers/nats.ts";
import { ChatProcess, startServer } from "../_helpers/process.ts";

Deno.test("/list, /topic and /who ROOM through chat join --json: counts, topics on join and on change", async () => {
  await using server = await startServer(["--ephemeral"]);
  await using alice = await joinJson(server.port, "alice", { flags: ["--room", "lobby,dev"] });
  await using bob = await joinJson(server.port, "bob");
  // Every join tells the room's topic; lobby has none yet.
  const first = await bob.next("topic", (e) => e.room === "lobby");
  assert.deepEqual([first.text, first.by, first.ts], ["", "", 0]);

  await alice.say("/topic   be kind and brief  ");
  const told = await bob.next("topic", (e) => e.text !== "");
  assert.deepEqual([told.room, told.text, told.by], ["lobby", "be kind and brief", "alice"]);
  assert.ok(told.ts > 0);
  await alice.next("topic", (e) => e.text === "be kind and brief");

  await bob.say("/list");
  const rooms = await bob.next("rooms");
  assert.deepEqual(rooms, {
    type: "rooms",
    rooms: [
      { room: "dev", members: 1, quiet: false, topic: "" },
      { room: "lobby", members: 2, quiet: false, topic: "be kind and brief" },
    ],
    more: false,
  });

  await bob.say("/who dev");
  const dev = await bob.next("members", (e) => e.room === "dev");
  assert.deepEqual(dev, { type: "members", room: "dev", online: ["alice"], listing: true });
  await bob.say("hello");
  await bob.next("ack");
  assert.deepEqual(bob.all("welcome").map((w) => w.rooms), [["lobby"]], "asking about dev did not join it");

  // A latecomer hears the topic as part of its join, right after the member list.
  await using carol = await joinJson(server.port, "carol");
  const onJoin = await carol.next("topic");
  assert.equal(onJoin.text, "be kind and brief");
  await bob.say("/topic -delete");
  const cleared = await carol.next("topic", (e) => e.text === "");
  assert.equal(cleared.by, "bob");
});

Deno.test("a topic is kept by the server: it survives a restart of chat serve with its data directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-topic-" });
  try {
    {
      await using server = await startServer(["--data-dir", dir]);
      await using alice = await joinJson(server.port, "alice");
      await alice.say("/topic kept across restarts");
      await alice.next("topic", (e) => e.text === "kept across restarts");
    }
    await using server = await startServer(["--data-dir", dir]);
    await using bob = await joinJson(server.port, "bob");
    const topic = await bob.next("topic");
    assert.deepEqual([topic.text, topic.by], ["kept across restarts", "alice"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--operator-topics: a member's /topic TEXT is refused with FORBIDDEN", async () => {
  await using server = await startServer(["--ephemeral", "--operator-topics"]);
  await using alice = await joinJson(server.port, "alice");
  await alice.say("/topic mine");
  const refused = await alice.next("error");
  assert.equal(refused.code, "FORBIDDEN");
});

Deno.test("in a cluster, /list counts every node's members and a topic set on one node reaches the other", async () => {
  await using nats = await startNats();
  const node = () => startServer(["--cluster", nats.urls.join(","), "--grace", "2000"]);
  await using a = await node();
  await using b = await node();
  await using alice = await joinJson(a.port, "alice");
  await using bob = await joinJson(b.port, "bob", { flags: ["--room", "lobby,dev"] });
  await alice.next("presence", (e) => e.event === "join" && e.name === "bob");
  await alice.say("/list");
  const rooms = await alice.next("rooms");
  assert.deepEqual(rooms.rooms.map((r) => `${r.room} ${r.members}`), ["dev 1", "lobby 2"]);
  await alice.say("/topic shared by the cluster");
  const told = await bob.next("topic", (e) => e.text === "shared by the cluster");
  assert.deepEqual([told.room, told.by], ["lobby", "alice"]);
  // A node that starts later reads it from the shared bucket.
  await using c = await node();
  await using carol = await joinJson(c.port, "carol");
  assert.equal((await carol.next("topic")).text, "shared by the cluster");
});

Deno.test("a 5000-character line goes as two messages, each acknowledged, in order, and arrives whole", async () => {
  await using server = await startServer(["--ephemeral"]);
  await using watcher = await joinJson(server.port, "watcher");
  await using alice = await joinJson(server.port, "alice");
  const words = Array.from({ length: 1000 }, (_, i) => `w${String(i).padStart(3, "0")}`);
  const line = words.join(" ");
  assert.equal(line.length, 4999);
  await alice.say(line);
  const acks = await alice.until((events) => {
    const acks = events.filter((e) => e.type === "ack");
    return acks.length >= 2 ? acks : undefined;
  }, "two acks");
  assert.deepEqual(alice.all("error"), [], "nothing refused (TOO_LARGE before)");
  assert.deepEqual(acks.map((a) => a.type === "ack" && a.seq), [1, 2]);
  const got = await watcher.waitMessages(2);
  assert.ok(got.every((m) => new TextEncoder().encode(m.text).length <= 4096));
  assert.equal(got.map((m) => m.text).join(" "), line, "split between words, in order, nothing lost");
});

Deno.test("chat send - with a 200-line paste sends it in parts at line breaks and prints one ack per part", async () => {
  await using server = await startServer(["--ephemeral", "--max-text", "2048"]);
  await using watcher = await joinJson(server.port, "watcher");
  const lines = Array.from({ length: 200 }, (_, i) => `${i}: ${"la ".repeat(10 + (i % 7))}`.trimEnd());
  const text = lines.join("\n");
  await using send = new ChatProcess(
    ["send", "--host", "127.0.0.1", "--port", String(server.port), "--name", "paster", "-"],
    { label: "send" },
  );
  await send.write(text + "\n");
  await send.closeStdin();
  const status = await send.exit();
  assert.equal(status.code, 0, send.describe());
  const acks = send.stdout.lines.map((l) => JSON.parse(l));
  const parts = Math.ceil(new TextEncoder().encode(text).length / 2048);
  assert.ok(acks.length >= parts && acks.length <= parts + 1, `${acks.length} acks for ${text.length} bytes`);
  assert.deepEqual(acks.map((a) => a.seq), acks.map((_, i) => i + 1));
  const got = await watcher.waitMessages(acks.length);
  assert.deepEqual(got.flatMap((m) => m.text.split("\n")), lines, "whole lines, in order");
});
