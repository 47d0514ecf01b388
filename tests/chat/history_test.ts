// src/chat/history.ts: recent history on HELLO and JOIN, SINCE, FETCH pages and their byte budget.

import assert from "node:assert/strict";
import { AsyncBroker, labels } from "../_helpers/async_broker.ts";
import { kinds, type Msg } from "../_helpers/chat.ts";
import { connect, deliveries, testBroker } from "../_helpers/effects.ts";
import { StoreError } from "../../src/chat/ports.ts";
import { ErrorCode, MessageFlags } from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

function fill(b: ReturnType<typeof testBroker>, room: string, n: number): void {
  const writer = connect(b, `writer${room}`, [room]).session;
  for (let i = 1; i <= n; i++) b.handle(writer, { type: "send", id: i, room, flags: 0, text: `t${i}` }, i);
  b.drop(writer, "quit", n + 1);
}

Deno.test("Broker sends recent history, flagged HISTORY, after the member list on hello and join", () => {
  const b = testBroker({ store: new MemoryStore(), historyLimit: 3 });
  fill(b, "lobby", 5);
  fill(b, "dev", 2);
  const { session, effects } = connect(b, "reader");
  const got = deliveries(effects).get(session)! as Msg[];
  assert.deepEqual(kinds(got), ["welcome", "members", "m3", "m4", "m5", "fetched"]);
  assert.ok(got.slice(2, 5).every((m) => (m.flags! & MessageFlags.HISTORY) !== 0));
  assert.deepEqual(got[5], { type: "fetched", room: "lobby", count: 3, more: false, lastSeq: 5 });
  const joined = deliveries(b.handle(session, { type: "join", room: "dev" }, 9)).get(session)! as Msg[];
  assert.deepEqual(kinds(joined), ["members", "m1", "m2", "fetched"]);
});

Deno.test("Broker skips recent history for rooms a hello names in SINCE", () => {
  const b = testBroker({ store: new MemoryStore(), historyLimit: 10 });
  fill(b, "lobby", 4);
  const { session, effects } = connect(b, "reader", ["lobby"], 0, { since: new Map([["lobby", 2]]) });
  assert.deepEqual(kinds(deliveries(effects).get(session)! as Msg[]), ["welcome", "members"]);
});

Deno.test("Broker answers FETCH forwards in pages and backwards from a sequence", () => {
  const b = testBroker({ store: new MemoryStore() });
  fill(b, "lobby", 10);
  const r = connect(b, "reader").session;
  const fwd = deliveries(b.handle(r, { type: "fetch", room: "lobby", after: 3, before: 0, limit: 4 }, 0)).get(
    r,
  )!;
  assert.deepEqual(kinds(fwd as Msg[]), ["m4", "m5", "m6", "m7", "fetched"]);
  assert.deepEqual(fwd.at(-1), { type: "fetched", room: "lobby", count: 4, more: true, lastSeq: 10 });
  const rest = deliveries(b.handle(r, { type: "fetch", room: "lobby", after: 7, before: 0, limit: 500 }, 0))
    .get(r)!;
  assert.deepEqual(kinds(rest as Msg[]), ["m8", "m9", "m10", "fetched"]);
  assert.deepEqual(rest.at(-1), { type: "fetched", room: "lobby", count: 3, more: false, lastSeq: 10 });
  const back = deliveries(b.handle(r, { type: "fetch", room: "lobby", after: 0, before: 6, limit: 3 }, 0))
    .get(r)!;
  assert.deepEqual(kinds(back as Msg[]), ["m3", "m4", "m5", "fetched"]);
  assert.equal((back.at(-1) as { more: boolean }).more, true, "m1 and m2 are older still");
  const oldest = deliveries(b.handle(r, { type: "fetch", room: "lobby", after: 0, before: 3, limit: 5 }, 0))
    .get(r)!;
  assert.deepEqual(kinds(oldest as Msg[]), ["m1", "m2", "fetched"]);
  assert.equal((oldest.at(-1) as { more: boolean }).more, false);
  const none = deliveries(b.handle(r, { type: "fetch", room: "dev", after: 0, before: 0, limit: 5 }, 0)).get(
    r,
  )!;
  assert.equal((none[0] as Msg).code, ErrorCode.NOT_IN_ROOM);
});

Deno.test("Broker says no more when a backward FETCH reached the oldest message retention kept", () => {
  const b = testBroker({ store: new MemoryStore({ maxMessages: 5 }) });
  fill(b, "lobby", 12); // 1-7 are gone: 8-12 are kept
  const r = connect(b, "reader").session;
  const page = (before: number, limit: number) =>
    deliveries(b.handle(r, { type: "fetch", room: "lobby", after: 0, before, limit }, 0)).get(r)!;
  const newest = page(13, 3);
  assert.deepEqual(kinds(newest as Msg[]), ["m10", "m11", "m12", "fetched"]);
  assert.equal((newest.at(-1) as { more: boolean }).more, true, "8 and 9 are kept and older");
  const rest = page(10, 3);
  assert.deepEqual(kinds(rest as Msg[]), ["m8", "m9", "fetched"]);
  assert.equal(
    (rest.at(-1) as { more: boolean }).more,
    false,
    "nothing older than 8 is kept, though its seq is above 1",
  );
  const all = page(13, 50);
  assert.deepEqual(kinds(all as Msg[]), ["m8", "m9", "m10", "m11", "m12", "fetched"]);
  assert.equal((all.at(-1) as { more: boolean }).more, false);
});

Deno.test("Broker keeps a FETCH answer within its byte budget and says there is more", () => {
  const b = testBroker({ store: new MemoryStore(), maxText: 4000 });
  const w = connect(b, "writer").session;
  for (let i = 1; i <= 100; i++) {
    b.handle(w, { type: "send", id: i, room: "lobby", flags: 0, text: "x".repeat(4000) }, i);
  }
  const got = deliveries(b.handle(w, { type: "fetch", room: "lobby", after: 0, before: 0, limit: 500 }, 0))
    .get(w)!;
  const fetched = got.at(-1) as { count: number; more: boolean };
  assert.ok(fetched.count < 100 && fetched.count > 10, `count ${fetched.count}`);
  assert.equal(fetched.more, true);
  assert.equal(got.length, fetched.count + 1);
});

Deno.test("Broker matches SINCE rooms by their canonical name and ignores ones that break the room rules", () => {
  const store = new MemoryStore();
  const b = testBroker({ store, historyLimit: 10 });
  const writer = connect(b, "writer", ["lobby", "dev"]).session;
  b.handle(writer, { type: "send", id: 1, room: "lobby", flags: 0, text: "old" }, 1);
  b.handle(writer, { type: "send", id: 2, room: "dev", flags: 0, text: "old" }, 2);
  const since = new Map([["LOBBY", 1], ["no room!", 5]]);
  const reader = connect(b, "reader", ["lobby", "dev"], 3, { since });
  assert.equal(reader.session.state, "ready");
  const got = deliveries(reader.effects).get(reader.session)!;
  const history = got.filter((m) => m.type === "message").map((m) => (m as { room: string }).room);
  assert.deepStrictEqual(history, ["dev"], "lobby's history is skipped, dev's is sent");
});

// With a log that answers later: history and live messages meet without a gap or a duplicate.

Deno.test("Broker seats a joiner when its read comes back: what was stored meanwhile is history, what follows is live", async () => {
  const ab = new AsyncBroker();
  const alice = await ab.ready("alice");
  const bob = await ab.ready("bob", ["dev"]);
  ab.handle(bob, { type: "send", id: 1, room: "dev", flags: 0, text: "one" });
  assert.deepEqual(ab.log.waiting.map((c) => c.method), ["append"]);
  ab.handle(alice, { type: "join", room: "dev" });
  assert.deepEqual(
    ab.log.waiting.map((c) => c.method),
    ["append"],
    "the read waits for the append before it",
  );

  await ab.log.release(); // bob's message is stored (seq 1) while alice's read is not answered
  assert.deepEqual(labels(ab.take(bob)), ["ack", "m1"]);
  assert.deepEqual(ab.take(alice), [], "nothing reaches the joiner before its read is answered");
  assert.deepEqual(ab.log.waiting, [{ method: "page", count: 1, room: "dev" }]);
  ab.handle(bob, { type: "send", id: 2, room: "dev", flags: 0, text: "two" }); // asked after the read
  assert.deepEqual(ab.take(alice), []);

  await ab.log.release(); // the read: seq 1 is in it
  assert.deepEqual(ab.take(alice), [
    { type: "members", room: "dev", more: false, names: ["bob", "alice"] },
    { type: "message", room: "dev", seq: 1, ts: 0, flags: MessageFlags.HISTORY, from: "bob", text: "one" },
    { type: "fetched", room: "dev", count: 1, more: false, lastSeq: 1 },
  ]);
  assert.deepEqual(labels(ab.take(bob)), ["presence"], "bob hears the join once alice is seated");

  await ab.log.release(); // seq 2, stored after the read: live, once
  assert.deepEqual(labels(ab.take(alice)), ["m2"]);
  assert.deepEqual(labels(ab.take(bob)), ["ack", "m2"]);
});

Deno.test("Broker welcomes a HELLO when its read comes back: what was stored meanwhile is history, what follows is live", async () => {
  const ab = new AsyncBroker();
  const bob = await ab.ready("bob", ["dev"]);
  ab.handle(bob, { type: "send", id: 1, room: "dev", flags: 0, text: "one" });
  const alice = ab.hello("alice", ["dev"]);
  await ab.log.release(); // seq 1 stored; alice's read is asked next
  assert.deepEqual(ab.take(alice), [], "no welcome before the read is answered");
  assert.equal(alice.state, "handshake");
  ab.handle(bob, { type: "send", id: 2, room: "dev", flags: 0, text: "two" });
  await ab.log.release();
  assert.deepEqual(labels(ab.take(alice)), ["welcome", "members", "h1", "fetched"]);
  await ab.log.release();
  assert.deepEqual(labels(ab.take(alice)), ["m2"]);
  assert.deepEqual(ab.log.waiting, []);
});

Deno.test("Broker answers a JOIN or FETCH whose read fails with STORAGE_ERROR, and keeps the session", async () => {
  const ab = new AsyncBroker();
  const alice = await ab.ready("alice");
  const bob = await ab.ready("bob", ["dev"]);
  ab.handle(alice, { type: "join", room: "dev" });
  await ab.log.fail(new StoreError("corrupt", "cannot read"));
  const [err, ...rest] = ab.take(alice) as Array<Msg & { fatal: boolean }>;
  assert.deepEqual([err.code, err.fatal, rest], [ErrorCode.STORAGE_ERROR, false, []]);
  assert.equal(ab.broker.room("dev")!.members.has(alice), false, "not seated without its history");
  assert.deepEqual(ab.take(bob), [], "no join announced");

  ab.handle(alice, { type: "fetch", room: "lobby", after: 0, before: 0, limit: 10 });
  await ab.log.fail(new Error("network down"));
  const fetched = ab.take(alice) as Array<Msg & { fatal: boolean }>;
  assert.deepEqual(fetched.map((m) => [m.code, m.fatal]), [[ErrorCode.STORAGE_ERROR, false]]);
  assert.equal(alice.state, "ready");
});

Deno.test("Broker sends nothing for a FETCH whose session left before the log answered", async () => {
  const ab = new AsyncBroker();
  const alice = await ab.ready("alice");
  ab.handle(alice, { type: "fetch", room: "lobby", after: 0, before: 0, limit: 10 });
  ab.drop(alice, "quit");
  assert.deepEqual(labels(ab.take(alice)), ["close:quit"]);
  await ab.log.release();
  assert.deepEqual(ab.take(alice), []);
});
