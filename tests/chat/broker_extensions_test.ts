/** The broker's side of HELLO's and WELCOME's typed extensions, and of frames the decoder refused. */

import assert from "node:assert/strict";
import { connect, deliveries, testBroker } from "../_helpers/effects.ts";
import { DEFAULT_RATE } from "../../src/chat/guard.ts";
import { ErrorCode, hex, ProtocolError, type Welcome } from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

function welcomeOf(effects: ReturnType<typeof connect>): Welcome {
  return deliveries(effects.effects).get(effects.session)![0] as Welcome;
}

Deno.test("Broker's WELCOME carries a 16-byte resume token and the store's id", () => {
  const store = new MemoryStore();
  const w = welcomeOf(connect(testBroker({ store }), "alice"));
  assert.equal(w.resumeToken?.byteLength, 16);
  assert.equal(hex(w.storeId!), store.id);
  assert.equal(w.extensions, undefined, "no block of another tag");
});

Deno.test("Broker's WELCOME announces the rate it applies: the configured one, else the default", () => {
  const configured = welcomeOf(connect(testBroker({ rate: { perSecond: 7, burst: 30 } }), "alice"));
  assert.deepStrictEqual(configured.rateLimit, { perSecond: 7, burst: 30 });
  assert.deepStrictEqual(welcomeOf(connect(testBroker(), "alice")).rateLimit, DEFAULT_RATE);
});

Deno.test("Broker's WELCOME announces no rate limit when perSecond is 0 (no limit)", () => {
  const w = welcomeOf(connect(testBroker({ rate: { perSecond: 0, burst: 1 } }), "alice"));
  assert.equal("rateLimit" in w, false);
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
