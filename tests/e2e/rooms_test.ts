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
