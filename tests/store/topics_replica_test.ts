/**
 * The cluster's topic replica (src/store/jetstream/topics.ts): what a node announces to its members as its
 * own writes and other nodes' come back from the bucket, in every order the bucket may hold them.
 */

import assert from "node:assert/strict";
import type { RoomTopic } from "../../src/chat/ports.ts";
import { TopicReplica } from "../../src/store/jetstream/topics.ts";

const t = (text: string, by: string, ts: number): RoomTopic => ({ room: "lobby", text, by, ts });
const json = (topic: RoomTopic) => JSON.stringify(topic);

Deno.test("TopicReplica announces another node's topic once, and not this node's own coming back", () => {
  const r = new TopicReplica();
  assert.deepEqual(r.seen(t("hi", "bob", 1), json(t("hi", "bob", 1))), t("hi", "bob", 1));
  assert.equal(r.seen(t("hi", "bob", 1), json(t("hi", "bob", 1))), null, "the same entry again: nothing new");
  const mine = r.put(t("mine", "alice", 2));
  assert.deepEqual(r.get("lobby"), t("mine", "alice", 2), "read at once, before the bucket has it");
  assert.equal(r.seen(t("mine", "alice", 2), mine), null);
});

Deno.test("TopicReplica keeps quiet while its own writes are on their way: no stale topic flaps back", () => {
  const r = new TopicReplica();
  const one = r.put(t("one", "alice", 1));
  const two = r.put(t("two", "alice", 2));
  assert.equal(r.seen(t("one", "alice", 1), one), null, "older than what the members were told");
  assert.deepEqual(r.get("lobby"), t("two", "alice", 2));
  assert.equal(r.seen(t("two", "alice", 2), two), null);
});

Deno.test("TopicReplica: two nodes at once, the bucket's last word wins and is announced where it differs", () => {
  // The bucket holds ours, theirs, then ours: ours is the last word, nobody here heard theirs.
  const r = new TopicReplica();
  const one = r.put(t("one", "alice", 1));
  const two = r.put(t("two", "alice", 3));
  assert.equal(r.seen(t("one", "alice", 1), one), null);
  assert.equal(r.seen(t("theirs", "bob", 2), json(t("theirs", "bob", 2))), null, "ours is still coming");
  assert.equal(r.seen(t("two", "alice", 3), two), null, "the last word is what the members were told");
  assert.deepEqual(r.get("lobby"), t("two", "alice", 3));
  // The bucket holds ours, then theirs: theirs is the last word, announced once ours is back.
  const s = new TopicReplica();
  const mine = s.put(t("mine", "alice", 1));
  assert.equal(s.seen(t("mine", "alice", 1), mine), null);
  assert.deepEqual(s.seen(t("theirs", "bob", 2), json(t("theirs", "bob", 2))), t("theirs", "bob", 2));
  assert.deepEqual(s.get("lobby"), t("theirs", "bob", 2));
});

Deno.test("TopicReplica: a write that failed gives way to what the bucket holds", () => {
  const r = new TopicReplica();
  r.seen(t("old", "bob", 1), json(t("old", "bob", 1)));
  const lost = r.put(t("lost", "alice", 2));
  assert.deepEqual(r.failed("lobby", lost), t("old", "bob", 1), "the members hear the topic that holds");
  assert.deepEqual(r.get("lobby"), t("old", "bob", 1));
});
