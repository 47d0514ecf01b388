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
