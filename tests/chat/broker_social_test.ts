import assert from "node:assert/strict";
import { connect, deliveries, testBroker } from "../_helpers/effects.ts";
import { ErrorCode } from "../../src/protocol/mod.ts";

type Any = Record<string, unknown> & { type: string };

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

Deno.test("Broker renames a user with NICK, frees the old name and refuses a taken one", () => {
  const b = testBroker();
  const alice = connect(b, "alice", ["a", "b"]).session;
  const bob = connect(b, "bob", ["b"]).session;
  const taken = deliveries(b.handle(alice, { type: "nick", name: "BOB" }, 0)).get(alice)! as Any[];
  assert.equal(taken[0].code, ErrorCode.NAME_TAKEN);
  const invalid = deliveries(b.handle(alice, { type: "nick", name: "a b" }, 0)).get(alice)! as Any[];
  assert.equal(invalid[0].code, ErrorCode.INVALID_NAME);
  const d = deliveries(b.handle(alice, { type: "nick", name: "alicia" }, 7));
  const nick = (room: string) => ({
    type: "presence",
    room,
    event: "nick",
    name: "alice",
    reason: "",
    text: "alicia",
    ts: 7,
  });
  assert.deepEqual(d.get(alice), [nick("a"), nick("b")]);
  assert.deepEqual(d.get(bob), [nick("b")]);
  assert.equal(alice.name, "alicia");
  assert.equal(connect(b, "alice").session.state, "ready", "the old name is free");
  assert.equal(
    (deliveries(connect(b, "ALICIA").effects).values().next().value![0] as Any).code,
    ErrorCode.NAME_TAKEN,
  );
});
