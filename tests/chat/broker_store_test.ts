import assert from "node:assert/strict";
import { connect, deliveries, FaultyLog, testBroker, tokenOf } from "../_helpers/effects.ts";
import { ErrorCode, MessageFlags } from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

type Msg = { type: string; seq?: number; flags?: number; text?: string; code?: string };
const kinds = (ms: Msg[] | undefined) => (ms ?? []).map((m) => m.type === "message" ? `m${m.seq}` : m.type);

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

Deno.test("Broker holds a dropped user's seat for the grace period and announces nothing if it resumes", () => {
  const b = testBroker({ graceMs: 1000 });
  const watcher = connect(b, "watcher").session;
  const first = connect(b, "alice", [], 0);
  const token = tokenOf(first.effects, first.session);
  const dropped = deliveries(b.drop(first.session, "disconnected", 100));
  assert.equal(dropped.get(watcher), undefined, "no leave yet");
  const who = deliveries(b.handle(watcher, { type: "who", room: "lobby" }, 200)).get(watcher)![0] as {
    names: string[];
  };
  assert.deepEqual(who.names.sort(), ["alice", "watcher"], "a ghost is still listed as online");
  const stranger = connect(b, "ALICE", [], 300);
  assert.equal((deliveries(stranger.effects).get(stranger.session)![0] as Msg).code, ErrorCode.NAME_TAKEN);
  const back = connect(b, "alice", [], 400, { resumeToken: token });
  assert.equal(back.session.state, "ready");
  assert.equal(deliveries(back.effects).get(watcher), undefined, "no join either");
  assert.deepEqual(deliveries(b.tick(5000)).get(watcher)?.filter((m) => m.type === "presence") ?? [], []);
});

Deno.test("Broker announces the leave with its reason once the grace period passes", () => {
  const b = testBroker({ graceMs: 1000 });
  const watcher = connect(b, "watcher").session;
  const alice = connect(b, "alice").session;
  b.drop(alice, "timeout", 0);
  assert.equal(deliveries(b.tick(999)).get(watcher)?.some((m) => m.type === "presence") ?? false, false);
  const later = deliveries(b.tick(1000)).get(watcher)!.filter((m) => m.type === "presence");
  assert.deepEqual(later.map((m) => [(m as { name: string }).name, (m as { reason: string }).reason]), [[
    "alice",
    "timeout",
  ]]);
  assert.equal(connect(b, "alice").session.state, "ready", "the name is free again");
});

Deno.test("Broker lets a resume token take over a live stale connection, closing it as replaced", () => {
  const b = testBroker({ graceMs: 1000 });
  const watcher = connect(b, "watcher").session;
  const first = connect(b, "alice");
  const token = tokenOf(first.effects, first.session);
  const wrong = connect(b, "alice", [], 0, { resumeToken: new Uint8Array(16) });
  assert.equal((deliveries(wrong.effects).get(wrong.session)![0] as Msg).code, ErrorCode.NAME_TAKEN);
  const second = connect(b, "alice", ["lobby", "dev"], 0, { resumeToken: token });
  const d = deliveries(second.effects);
  const told = d.get(first.session)!;
  assert.deepEqual(told.map((m) => m.type === "error" ? (m as Msg).code : m.type), ["REPLACED", "close"]);
  assert.match((told[0] as { message: string }).message, /replaced by a newer session of alice/);
  assert.equal(d.get(watcher), undefined, "lobby sees neither leave nor join");
  assert.equal(b.online, 2);
  assert.notDeepEqual(tokenOf(second.effects, second.session), token, "each welcome carries a fresh token");
});

Deno.test("Broker acks and delivers only what the log stored, and answers a failed append with STORAGE_ERROR", () => {
  const store = new FaultyLog();
  const b = testBroker({ store });
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  const asked = b.broker.handle(alice, { type: "send", id: 1, room: "lobby", flags: 0, text: "x" }, 0);
  assert.deepEqual(asked.map((e) => e.kind), ["append"], "nothing is sent before the log answers");
  store.failNext = true;
  const failed = deliveries(b.settle(asked, 0));
  const err = failed.get(alice)![0] as Msg & { ref: number; fatal: boolean };
  assert.deepEqual([err.code, err.ref, err.fatal], [ErrorCode.STORAGE_ERROR, 1, false]);
  assert.equal(failed.get(bob), undefined, "nobody sees a message that is not stored");
  assert.equal(store.page("lobby", { after: 0, before: 0, limit: 10 }).lastSeq, 0);
  const retry = deliveries(b.handle(alice, { type: "send", id: 1, room: "lobby", flags: 0, text: "x" }, 1));
  assert.deepEqual(
    kinds(retry.get(alice) as Msg[]),
    ["ack", "m1"],
    "the retry is a new message taking seq 1",
  );
  assert.deepEqual(kinds(retry.get(bob) as Msg[]), ["m1"]);
  const again = deliveries(b.handle(alice, { type: "send", id: 1, room: "lobby", flags: 0, text: "x" }, 2));
  assert.deepEqual(
    kinds(again.get(alice) as Msg[]),
    ["ack"],
    "a resend is acked with its seq, not delivered",
  );
  assert.equal((again.get(alice)![0] as Msg).seq, 1);
  assert.equal(again.get(bob), undefined);
});
