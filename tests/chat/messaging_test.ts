// src/chat/messaging.ts: SEND to the log and back (ACK, fan-out, dedupe, refusals, rate limit), direct messages.

import assert from "node:assert/strict";
import { AsyncBroker, labels } from "../_helpers/async_broker.ts";
import { type Any, codeIn, kinds, type Msg, types } from "../_helpers/chat.ts";
import {
  connect,
  deliveries,
  FaultyLog,
  type TestBroker,
  testBroker,
  type TestEffect,
} from "../_helpers/effects.ts";
import type { StoredMessage } from "../../src/chat/ports.ts";
import type { Session } from "../../src/chat/session.ts";
import { ErrorCode, MessageFlags } from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

Deno.test("Broker.handle() sequences messages per room, delivers to every member and acks the sender", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  const e1 = b.handle(alice, { type: "send", id: 7, room: "lobby", flags: 0, text: "hi" }, 10);
  const d1 = deliveries(e1);
  assert.deepEqual(
    types(d1.get(alice)),
    ["ack", "message"],
    "the sender learns its seq before its copy arrives",
  );
  assert.deepEqual(types(d1.get(bob)), ["message"]);
  assert.deepEqual(d1.get(bob)![0], {
    type: "message",
    room: "lobby",
    seq: 1,
    ts: 10,
    flags: 0,
    from: "alice",
    text: "hi",
  });
  assert.deepEqual(d1.get(alice)![0], { type: "ack", id: 7, room: "lobby", seq: 1, ts: 10 });
  const e2 = b.handle(bob, {
    type: "send",
    id: 7,
    room: "LOBBY",
    flags: MessageFlags.ACTION | MessageFlags.HISTORY,
    text: "waves",
  }, 11);
  const m2 = deliveries(e2).get(alice)![0] as { seq: number; flags: number };
  assert.equal(
    m2.seq,
    2,
    "a second message in the room takes the next seq, even with the same id from another sender",
  );
  assert.equal(m2.flags, MessageFlags.ACTION, "clients cannot set the HISTORY flag");
});

Deno.test("Broker.handle() acks a resent id again with its original seq and does not deliver it twice", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  b.handle(alice, { type: "send", id: 42, room: "lobby", flags: 0, text: "once" }, 1);
  const again = deliveries(
    b.handle(alice, { type: "send", id: 42, room: "lobby", flags: 0, text: "once" }, 2),
  );
  assert.equal(again.get(bob), undefined);
  assert.deepEqual(again.get(alice), [{ type: "ack", id: 42, room: "lobby", seq: 1, ts: 1 }]);
});

Deno.test("Broker.handle() keeps a sender's dedupe across reconnects under the same name", () => {
  const b = testBroker();
  const first = connect(b, "alice").session;
  b.handle(first, { type: "send", id: 5, room: "lobby", flags: 0, text: "x" }, 1);
  b.drop(first, "disconnected", 2);
  const second = connect(b, "Alice").session;
  const d = deliveries(b.handle(second, { type: "send", id: 5, room: "lobby", flags: 0, text: "x" }, 3));
  assert.deepEqual(types(d.get(second)), ["ack"]);
});

Deno.test("Broker.handle() refuses oversized, empty and off-room messages without closing", () => {
  const b = testBroker({ maxText: 10 });
  const alice = connect(b, "alice").session;
  const cases = [
    { text: "x".repeat(11), room: "lobby", code: ErrorCode.TOO_LARGE },
    { text: "é".repeat(6), room: "lobby", code: ErrorCode.TOO_LARGE }, // 12 UTF-8 bytes
    { text: "   ", room: "lobby", code: ErrorCode.INVALID_TEXT },
    { text: "hi", room: "elsewhere", code: ErrorCode.NOT_IN_ROOM },
    { text: "hi", room: "bad room", code: ErrorCode.INVALID_ROOM },
  ];
  let id = 1;
  for (const c of cases) {
    const got = deliveries(b.handle(alice, { type: "send", id: id, room: c.room, flags: 0, text: c.text }, 0))
      .get(alice)!;
    assert.deepEqual(got, [{
      type: "error",
      fatal: false,
      code: c.code,
      ref: id,
      message: (got[0] as { message: string }).message,
    }]);
    id++;
  }
  assert.equal(alice.state, "ready");
  const ok = deliveries(
    b.handle(alice, { type: "send", id: 99, room: "lobby", flags: 0, text: "é".repeat(5) }, 0),
  );
  assert.equal((ok.get(alice)![0] as { seq: number }).seq, 1, "refused messages consume no sequence number");
});

Deno.test("Broker rate-limits messages with RATE_LIMITED and drops a sustained flood", () => {
  const b = testBroker({ rate: { perSecond: 1, burst: 2 } });
  const s = connect(b, "spammer").session;
  const codes: unknown[] = [];
  let id = 1;
  for (let i = 0; i < 3; i++) {
    const got = deliveries(b.handle(s, { type: "send", id: id++, room: "lobby", flags: 0, text: "x" }, 0))
      .get(s)! as Any[];
    codes.push(got[0].type === "error" ? got[0].code : got[0].type);
  }
  assert.deepEqual(codes, ["ack", "ack", ErrorCode.RATE_LIMITED]);
  const resend = deliveries(b.handle(s, { type: "send", id: 1, room: "lobby", flags: 0, text: "x" }, 0)).get(
    s,
  )! as Any[];
  assert.equal(resend[0].type, "ack", "a resend of a stored message is not limited");
  let last: TestEffect[] = [];
  for (let i = 0; i < 60 && s.state === "ready"; i++) {
    last = b.handle(s, { type: "send", id: id++, room: "lobby", flags: 0, text: "x" }, 0);
  }
  assert.equal(s.state, "closed");
  assert.deepEqual(last.at(-1), { kind: "close", to: s, reason: "flood" });
});

Deno.test("Broker delivers a direct message to its recipient, echoes it to the sender and acks it once", () => {
  const b = testBroker();
  const alice = connect(b, "alice", ["a"]).session;
  const bob = connect(b, "bob", ["b"]).session;
  const carol = connect(b, "carol", ["a", "b"]).session;
  const d = deliveries(b.handle(alice, { type: "private", id: 9, to: "BOB", flags: 0, text: "psst" }, 5));
  const direct = { type: "direct", from: "alice", to: "bob", ts: 5, flags: 0, text: "psst" };
  assert.deepEqual(d.get(bob), [direct]);
  assert.deepEqual(d.get(alice), [direct, { type: "ack", id: 9, room: "", seq: 0, ts: 5 }]);
  assert.equal(d.get(carol), undefined, "nobody else sees it");
  const again = deliveries(b.handle(alice, { type: "private", id: 9, to: "bob", flags: 0, text: "psst" }, 6));
  assert.equal(again.get(bob), undefined, "a resend is not delivered twice");
  assert.deepEqual(again.get(alice), [{ type: "ack", id: 9, room: "", seq: 0, ts: 5 }]);
});

Deno.test("Broker refuses direct messages to absent users and bad texts without closing", () => {
  const b = testBroker({ maxText: 5 });
  const alice = connect(b, "alice").session;
  const cases: Array<[string, string, string]> = [
    ["nobody", "hi", ErrorCode.NO_SUCH_USER],
    ["bad name", "hi", ErrorCode.INVALID_NAME],
    ["alice", "toolong", ErrorCode.TOO_LARGE],
    ["alice", "  ", ErrorCode.INVALID_TEXT],
  ];
  let id = 1;
  for (const [to, text, code] of cases) {
    const got = deliveries(b.handle(alice, { type: "private", id, to, flags: 0, text }, 0)).get(
      alice,
    )! as Any[];
    assert.deepEqual([got[0].code, got[0].ref, got[0].fatal], [code, id, false], `${to}/${text}`);
    id++;
  }
  assert.equal(alice.state, "ready");
});

Deno.test("Broker tells the sender of a direct message that its recipient is away", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  const set = deliveries(b.handle(bob, { type: "away", text: "lunch" }, 1));
  const away = {
    type: "presence",
    room: "lobby",
    event: "away",
    name: "bob",
    reason: "",
    text: "lunch",
    ts: 1,
  };
  assert.deepEqual(set.get(alice), [away]);
  assert.deepEqual(set.get(bob), [away]);
  const got = deliveries(b.handle(alice, { type: "private", id: 1, to: "bob", flags: 0, text: "hi" }, 2)).get(
    alice,
  )!;
  assert.deepEqual(got.map((m) => m.type), ["direct", "presence", "ack"]);
  assert.deepEqual(got[1], {
    type: "presence",
    room: "",
    event: "away",
    name: "bob",
    reason: "",
    text: "lunch",
    ts: 2,
  });
  const who = deliveries(b.handle(alice, { type: "who", room: "lobby" }, 3)).get(alice)! as Any[];
  assert.deepEqual(who.map((m) => m.type === "presence" ? `away:${m.name}:${m.text}` : m.type), [
    "members",
    "away:bob:lunch",
  ]);
  const back = deliveries(b.handle(bob, { type: "away", text: "" }, 4)).get(alice)! as Any[];
  assert.equal(back[0].text, "");
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

Deno.test("Broker acknowledges a resend of a stored message even when its text is now over the limit", () => {
  const store = new MemoryStore();
  const before = testBroker({ store, maxText: 100 });
  const alice = connect(before, "alice").session;
  const text = "x".repeat(80);
  before.handle(alice, { type: "send", id: 7, room: "lobby", flags: 0, text }, 1);
  // The server restarts with a lower limit, over the same store; the client resends what it never saw acked.
  const after = testBroker({ store, maxText: 50 });
  const again = connect(after, "alice").session;
  const resent = deliveries(after.handle(again, { type: "send", id: 7, room: "lobby", flags: 0, text }, 2))
    .get(again)!;
  assert.deepEqual(resent.map((m) => [m.type, (m as Any).seq]), [["ack", 1]], "acked, not refused TOO_LARGE");
  const fresh = deliveries(after.handle(again, { type: "send", id: 8, room: "lobby", flags: 0, text }, 3))
    .get(again)!;
  assert.equal(codeIn(fresh), ErrorCode.TOO_LARGE, "a new message over the limit is refused");
});

/** The first frame `s` receives from `effects`: its type, or its error code. */
const firstOf = (effects: TestEffect[], s: Session) => {
  const m = (deliveries(effects).get(s) ?? [])[0] as Any | undefined;
  return m?.type === "error" ? m.code : m?.type;
};

Deno.test("Broker acks a SEND a mute refused when its message was stored before, from the log's receipt", () => {
  const store = new MemoryStore();
  const b = testBroker({ store });
  const op = b.open("10.0.0.9:1", 0);
  op.auth = { password: "none", admin: true };
  b.handle(op, { type: "hello", version: 1, name: "op", rooms: [], extensions: [] }, 0);
  const eve = connect(b, "eve").session;
  b.handle(eve, { type: "send", id: 1, room: "lobby", flags: 0, text: "before" }, 5);
  b.handle(op, { type: "moderate", action: "mute", target: "eve", durationMs: 0, reason: "" }, 6);
  const resend = { type: "send" as const, id: 1, room: "lobby", flags: 0, text: "before" };
  const asked = b.broker.handle(eve, resend, 7);
  assert.deepEqual(asked.map((e) => e.kind), ["probe"], "nothing is stored");
  const again = deliveries(b.settle(asked, 7));
  assert.deepEqual(again.get(eve), [{ type: "ack", id: 1, room: "lobby", seq: 1, ts: 5 }]);
  assert.equal(again.get(op), undefined, "a resend is not delivered");
  const fresh = deliveries(b.handle(eve, { type: "send", id: 2, room: "lobby", flags: 0, text: "after" }, 8));
  assert.deepEqual((fresh.get(eve)! as Any[]).map((m) => [m.code, m.ref, m.fatal]), [[
    ErrorCode.MUTED,
    2,
    false,
  ]]);
  assert.equal(fresh.get(op), undefined);
  assert.equal(store.page("lobby", { after: 0, before: 0, limit: 10 }).lastSeq, 1);
});

Deno.test("Broker refunds the rate token of a resend the log calls a duplicate: a resend burst costs nothing", () => {
  const b = testBroker({ rate: { perSecond: 0.001, burst: 3 } });
  const s = connect(b, "resender").session;
  const send = (id: number) => b.handle(s, { type: "send", id, room: "lobby", flags: 0, text: "x" }, 0);
  assert.equal(firstOf(send(1), s), "ack");
  for (let i = 0; i < 20; i++) {
    // With tokens left, a resend is an append the log answers "duplicate": the token goes back.
    const asked = b.broker.handle(s, { type: "send", id: 1, room: "lobby", flags: 0, text: "x" }, 0);
    assert.deepEqual(asked.map((e) => e.kind), ["append"], `resend ${i}`);
    assert.deepEqual(deliveries(b.settle(asked, 0)).get(s), [{
      type: "ack",
      id: 1,
      room: "lobby",
      seq: 1,
      ts: 0,
    }]);
  }
  const answers = [send(2), send(3), send(4)].map((e) => deliveries(e).get(s)![0] as Any);
  assert.deepEqual(
    answers.map((m) => m.seq ?? m.code),
    [2, 3, ErrorCode.RATE_LIMITED],
    "the burst was all still there for new messages",
  );
});

Deno.test("Broker forgives the strike of a rate-limited resend of a stored message: resends never count as a flood", () => {
  const b = testBroker({ rate: { perSecond: 0.001, burst: 1 } });
  const s = connect(b, "resender").session;
  const resend = { type: "send" as const, id: 1, room: "lobby", flags: 0, text: "x" };
  b.handle(s, resend, 0); // stored; the bucket is empty now
  for (let i = 0; i < 100; i++) {
    const asked = b.broker.handle(s, resend, 0);
    assert.deepEqual(asked.map((e) => e.kind), ["probe"], `resend ${i}`);
    assert.equal(firstOf(b.settle(asked, 0), s), "ack", `resend ${i}`);
  }
  assert.equal(s.state, "ready");
  const fresh = b.handle(s, { type: "send", id: 2, room: "lobby", flags: 0, text: "y" }, 0);
  assert.deepEqual(
    (deliveries(fresh).get(s)! as Any[]).map((m) => [m.code, m.fatal]),
    [[ErrorCode.RATE_LIMITED, false]],
    "a new message is still limited, not a flood",
  );
  assert.equal(s.state, "ready");
});

Deno.test("Broker acks each message before the room gets it, message by message, in a batch the log stores at once", async () => {
  const ab = new AsyncBroker();
  const alice = await ab.ready("alice");
  const bob = await ab.ready("bob");
  ab.take(alice);
  ab.perform([
    ...ab.broker.handle(alice, { type: "send", id: 1, room: "lobby", flags: 0, text: "one" }, 0),
    ...ab.broker.handle(alice, { type: "send", id: 2, room: "lobby", flags: 0, text: "two" }, 0),
  ]);
  assert.deepEqual(ab.log.waiting, [{ method: "append", count: 2 }]);
  assert.deepEqual([ab.take(alice), ab.take(bob)], [[], []], "nothing before the log answers");
  await ab.log.release();
  assert.deepEqual(labels(ab.take(alice)), ["ack", "m1", "ack", "m2"]);
  assert.deepEqual(labels(ab.take(bob)), ["m1", "m2"]);
});

Deno.test("Broker answers an append the log rejects with STORAGE_ERROR and delivers nothing", async () => {
  const ab = new AsyncBroker();
  const alice = await ab.ready("alice");
  const bob = await ab.ready("bob");
  ab.take(alice);
  ab.handle(alice, { type: "send", id: 1, room: "lobby", flags: 0, text: "one" });
  await ab.log.fail(new Error("no quorum"));
  const got = ab.take(alice) as Array<Msg & { ref: number; fatal: boolean }>;
  assert.deepEqual(got.map((m) => [m.code, m.ref, m.fatal]), [[ErrorCode.STORAGE_ERROR, 1, false]]);
  assert.deepEqual(ab.take(bob), []);
  ab.handle(alice, { type: "send", id: 1, room: "lobby", flags: 0, text: "one" });
  await ab.log.release();
  assert.deepEqual(labels(ab.take(bob)), ["m1"], "the retry is stored as seq 1");
});

Deno.test("Broker delivers a message whose sender left before the log stored it, and acks nobody", async () => {
  const ab = new AsyncBroker();
  const alice = await ab.ready("alice");
  const bob = await ab.ready("bob");
  ab.handle(alice, { type: "send", id: 1, room: "lobby", flags: 0, text: "last words" });
  ab.drop(alice, "quit");
  ab.take(alice);
  ab.take(bob);
  await ab.log.release();
  assert.deepEqual(ab.take(alice), []);
  assert.deepEqual(labels(ab.take(bob)), ["m1"], "stored is stored: the room gets it");
});

Deno.test("Broker.delivered() gives a room a message stored elsewhere exactly as it gives one stored here", () => {
  // Two nodes with the same people: on `here` alice sends; `there` learns the stored message from the log.
  const people = (b: TestBroker) =>
    ["alice", "bob", "carol"].map((n) => connect(b, n, n === "carol" ? ["dev"] : []).session);
  const here = testBroker();
  const there = testBroker();
  const [aliceHere] = people(here);
  people(there);
  const local = here.handle(aliceHere, { type: "send", id: 1, room: "lobby", flags: 0, text: "hi" }, 10);
  const message: StoredMessage = { room: "lobby", seq: 1, ts: 10, flags: 0, from: "alice", text: "hi" };
  const remote = there.settle(there.broker.delivered(message), 10);

  const byName = (effects: TestEffect[]) =>
    Object.fromEntries([...deliveries(effects)].map(([s, frames]) => [s.name, frames]));
  const frame = { type: "message", ...message };
  assert.deepEqual(byName(local), {
    alice: [{ type: "ack", id: 1, room: "lobby", seq: 1, ts: 10 }, frame],
    bob: [frame],
  });
  assert.deepEqual(
    byName(remote),
    { alice: [frame], bob: [frame] },
    "the same, but the ACK of the sender here",
  );
  const broadcasts = (effects: TestEffect[]) =>
    effects.flatMap((e) => e.kind === "broadcast" ? [{ room: e.room, msg: e.msg, except: e.except }] : []);
  assert.equal(remote.length, 1);
  assert.deepEqual(broadcasts(remote), broadcasts(local), "one broadcast, the same value, to everyone");
  assert.deepEqual(
    there.settle(there.broker.delivered({ ...message, room: "nowhere" }), 11),
    [{ kind: "broadcast", room: "nowhere", msg: { ...frame, room: "nowhere" }, except: null, members: [] }],
    "a room nobody here is in reaches nobody",
  );
});

Deno.test("Broker closes a SEND or PRIVATE with id 0 as a bad frame", () => {
  for (
    const msg of [
      { type: "send" as const, id: 0, room: "lobby", flags: 0, text: "x" },
      { type: "private" as const, id: 0, to: "bob", flags: 0, text: "x" },
    ]
  ) {
    const b = testBroker();
    const alice = connect(b, "alice").session;
    connect(b, "bob");
    const got = deliveries(b.handle(alice, msg, 0)).get(alice)! as Any[];
    assert.deepEqual(got.map((m) => m.code ?? m.reason), [ErrorCode.BAD_FRAME, "bad_frame"], msg.type);
  }
});

Deno.test("Broker applies mutes and the rate limit to direct messages, and delivers one to oneself once", () => {
  const b = testBroker({ rate: { perSecond: 0.001, burst: 1 } });
  const alice = connect(b, "alice").session;
  const dm = (id: number, to = "bob") => ({ type: "private" as const, id, to, flags: 0, text: "psst" });
  const self = deliveries(b.handle(alice, dm(1, "alice"), 1)).get(alice)!;
  assert.deepEqual(types(self), ["direct", "ack"], "one copy, not a copy and an echo");
  connect(b, "bob");
  assert.equal(firstOf(b.handle(alice, dm(2), 2), alice), ErrorCode.RATE_LIMITED);
  let last: TestEffect[] = [];
  for (let id = 3; id < 100 && alice.state === "ready"; id++) last = b.handle(alice, dm(id), 3);
  assert.deepEqual(
    last.at(-1),
    { kind: "close", to: alice, reason: "flood" },
    "a sustained DM flood is dropped",
  );

  const m = testBroker();
  const op = m.open("10.0.0.9:1", 0);
  op.auth = { password: "none", admin: true };
  m.handle(op, { type: "hello", version: 1, name: "op", rooms: [], extensions: [] }, 0);
  const eve = connect(m, "eve").session;
  m.handle(op, { type: "moderate", action: "mute", target: "eve", durationMs: 0, reason: "" }, 1);
  const muted = m.handle(eve, dm(1, "op"), 2);
  assert.equal(firstOf(muted, eve), ErrorCode.MUTED);
  assert.equal(deliveries(muted).get(op), undefined);
});

Deno.test("Broker with deliverOnAppend false acks a stored message and leaves its delivery to delivered()", () => {
  // In a cluster each node hears every stored message from the shared log's stream, its own ones included.
  const b = testBroker({ deliverOnAppend: false });
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  const stored = deliveries(b.handle(alice, { type: "send", id: 1, room: "lobby", flags: 0, text: "hi" }, 5));
  assert.deepEqual(stored.get(alice), [{ type: "ack", id: 1, room: "lobby", seq: 1, ts: 5 }]);
  assert.equal(stored.get(bob), undefined, "not yet: the stream brings it");
  const message: StoredMessage = { room: "lobby", seq: 1, ts: 5, flags: 0, from: "alice", text: "hi" };
  const streamed = deliveries(b.settle(b.broker.delivered(message), 6));
  assert.deepEqual([streamed.get(alice), streamed.get(bob)], [[{ type: "message", ...message }], [{
    type: "message",
    ...message,
  }]]);
  const again = deliveries(b.handle(alice, { type: "send", id: 1, room: "lobby", flags: 0, text: "hi" }, 7));
  assert.deepEqual(
    again.get(alice),
    [{ type: "ack", id: 1, room: "lobby", seq: 1, ts: 5 }],
    "a resend: its receipt",
  );
});
