// src/chat/messaging.ts: SEND to the log and back (ACK, fan-out, dedupe, refusals, rate limit), direct messages.

import assert from "node:assert/strict";
import { type Any, codeIn, kinds, type Msg, types } from "../_helpers/chat.ts";
import { connect, deliveries, FaultyLog, testBroker, type TestEffect } from "../_helpers/effects.ts";
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
