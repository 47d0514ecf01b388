// src/chat/broker.ts, the dispatcher: frames out of place, protocol errors, the switch.

import assert from "node:assert/strict";
import { types } from "../_helpers/chat.ts";
import { connect, deliveries, testBroker } from "../_helpers/effects.ts";
import { ErrorCode, ProtocolError } from "../../src/protocol/mod.ts";

Deno.test("Broker.handle() answers PING with PONG and closes on frames out of place", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  assert.deepEqual(deliveries(b.handle(alice, { type: "ping", token: 9 }, 0)).get(alice), [{
    type: "pong",
    token: 9,
  }]);
  const pre = b.open("127.0.0.1:2", 0);
  const got = deliveries(b.handle(pre, { type: "send", id: 1, room: "lobby", flags: 0, text: "x" }, 0)).get(
    pre,
  )!;
  assert.equal((got[0] as { code: string }).code, ErrorCode.UNEXPECTED_FRAME);
  assert.deepEqual(got[1], { type: "close", reason: "unexpected_frame" });
  const again = deliveries(
    b.handle(alice, { type: "hello", version: 1, name: "alice", rooms: [], extensions: [] }, 0),
  ).get(alice)!;
  assert.equal((again[0] as { code: string }).code, ErrorCode.UNEXPECTED_FRAME);
});

Deno.test("Broker.protocolError() skips unknown frame types but closes on bad frames", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const unknown = deliveries(
    b.protocolError(alice, new ProtocolError(ErrorCode.UNKNOWN_TYPE, "type 0x30"), 0),
  ).get(alice)!;
  assert.deepEqual(types(unknown), ["error"]);
  assert.equal(alice.state, "ready");
  const bad = deliveries(b.protocolError(alice, new ProtocolError(ErrorCode.TOO_LARGE, "big"), 0)).get(
    alice,
  )!;
  assert.deepEqual(bad.at(-1), { type: "close", reason: "too_large" });
});

Deno.test("Broker.protocolError() closes with unexpected_frame on a frame the decoder refused as the wrong way", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const err = new ProtocolError(
    ErrorCode.UNEXPECTED_FRAME,
    "NOTICE is a server-to-client frame: not allowed from a client",
  );
  const got = deliveries(b.protocolError(alice, err, 0)).get(alice)!;
  assert.deepStrictEqual(got, [
    { type: "error", fatal: true, code: "UNEXPECTED_FRAME", ref: 0, message: err.message },
    { type: "close", reason: "unexpected_frame" },
  ]);
});

Deno.test("Broker.handle() ignores every frame from a ghost or a closed session, and leaves its silence alone", () => {
  const b = testBroker({ graceMs: 1000 });
  const watcher = connect(b, "watcher").session;
  const ghost = connect(b, "ghost").session;
  const gone = connect(b, "gone").session;
  b.drop(ghost, "disconnected", 5);
  b.drop(gone, "quit", 5);
  for (const s of [ghost, gone]) {
    for (
      const msg of [
        { type: "send" as const, id: 1, room: "lobby", flags: 0, text: "boo" },
        { type: "join" as const, room: "dev" },
        { type: "ping" as const, token: 1 },
        { type: "bye" as const, reason: "" },
        { type: "hello" as const, version: 1, name: s.name, rooms: [], extensions: [] },
      ]
    ) assert.deepEqual(b.handle(s, msg, 50), [], `${s.state}: ${msg.type}`);
    assert.equal(s.lastSeen, 0, `${s.state}: not seen`);
    assert.deepEqual(b.protocolError(s, new ProtocolError(ErrorCode.BAD_FRAME, "junk"), 50), []);
  }
  assert.equal(watcher.state, "ready");
});

Deno.test("Broker.handle() records when a session was last heard from, whatever it sent", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  b.handle(alice, { type: "pong", token: 1 }, 40);
  assert.equal(alice.lastSeen, 40);
  assert.deepEqual(b.handle(alice, { type: "pong", token: 1 }, 41), [], "a PONG is answered with nothing");
  b.protocolError(alice, new ProtocolError(ErrorCode.UNKNOWN_TYPE, "type 0x30"), 42);
  assert.equal(alice.lastSeen, 42, "an unknown frame is still a frame");
  const pending = b.open("127.0.0.1:9", 0);
  b.handle(pending, { type: "ping", token: 1 }, 43);
  assert.equal(pending.lastSeen, 43);
});

Deno.test("Broker.handle() turns BYE into a quit whose reason, cut to 200 characters, the rooms hear", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  const d = deliveries(b.handle(alice, { type: "bye", reason: "ü".repeat(300) }, 7));
  assert.deepEqual(d.get(alice), [{ type: "close", reason: "quit" }]);
  assert.deepEqual(d.get(bob), [{
    type: "presence",
    room: "lobby",
    event: "leave",
    name: "alice",
    reason: "quit",
    text: "ü".repeat(200),
    ts: 7,
  }]);
});

Deno.test("Broker.protocolError() closes a session still in its handshake even for an unknown frame type", () => {
  const b = testBroker();
  const pending = b.open("127.0.0.1:9", 0);
  const got = deliveries(b.protocolError(pending, new ProtocolError(ErrorCode.UNKNOWN_TYPE, "type 0x30"), 0))
    .get(pending)!;
  assert.deepEqual(types(got), ["error", "close"]);
  assert.deepEqual(got[1], { type: "close", reason: "bad_frame" });
  assert.equal(pending.state, "closed");
});

Deno.test("Broker.handle() refuses NICK, AWAY and REGISTER from a transient session with FORBIDDEN", () => {
  const b = testBroker({ allowRegister: true });
  const bot = connect(b, "bot", [], 0, { transient: true }).session;
  for (
    const msg of [
      { type: "nick" as const, name: "other" },
      { type: "away" as const, text: "gone" },
      { type: "register" as const, password: "longenough" },
    ]
  ) {
    const got = deliveries(b.handle(bot, msg, 1)).get(bot)! as Array<{ code: string; fatal: boolean }>;
    assert.deepEqual(got.map((m) => [m.code, m.fatal]), [[ErrorCode.FORBIDDEN, false]], msg.type);
  }
  assert.deepEqual([bot.name, bot.away, bot.state], ["bot", "", "ready"]);
});

Deno.test("Broker.open() numbers sessions in order, and session() finds each until it is closed", () => {
  const b = testBroker({ graceMs: 1000 });
  const one = b.open("127.0.0.1:1", 0);
  const two = b.open("127.0.0.1:2", 0);
  assert.equal(two.id, one.id + 1);
  assert.equal(b.broker.session(one.id), one);
  b.handle(one, { type: "hello", version: 1, name: "one", rooms: [], extensions: [] }, 0);
  b.drop(one, "disconnected", 1);
  assert.equal(b.broker.session(one.id), one, "a ghost is still found: log answers may come for it");
  b.drop(two, "quit", 1);
  assert.equal(b.broker.session(two.id), undefined);
});
