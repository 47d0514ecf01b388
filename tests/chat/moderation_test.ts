// src/chat/moderation.ts: /kick, /ban, /unban, /mute, /unmute, /register.

import assert from "node:assert/strict";
import { type Any, codeOf, hello } from "../_helpers/chat.ts";
import { connect, deliveries, testBroker } from "../_helpers/effects.ts";
import { ErrorCode } from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

Deno.test("Broker lets operators kick, ban (by name and address), mute and unban; others get FORBIDDEN", () => {
  const store = new MemoryStore();
  const b = testBroker({ store });
  const op = hello(b, "op", "none", true, "10.0.0.9:1").s;
  const eve = hello(b, "eve", "none", false, "10.0.0.2:1").s;
  const mallory = hello(b, "mallory", "none", false, "10.0.0.3:1").s;
  assert.equal(
    codeOf(
      b.handle(eve, { type: "moderate", action: "kick", target: "op", durationMs: 0, reason: "" }, 0),
      eve,
    ),
    ErrorCode.FORBIDDEN,
  );

  const muted = b.handle(op, {
    type: "moderate",
    action: "mute",
    target: "eve",
    durationMs: 60_000,
    reason: "calm down",
  }, 1);
  assert.equal((deliveries(muted).get(eve)! as Any[])[0].kind, "moderation");
  assert.equal(
    codeOf(b.handle(eve, { type: "send", id: 1, room: "lobby", flags: 0, text: "hi" }, 2), eve),
    ErrorCode.MUTED,
  );
  assert.equal(
    codeOf(b.handle(eve, { type: "send", id: 2, room: "lobby", flags: 0, text: "hi" }, 61_001), eve),
    undefined,
    "the mute ended",
  );

  const kicked = deliveries(
    b.handle(op, { type: "moderate", action: "kick", target: "eve", durationMs: 0, reason: "spam" }, 3),
  );
  assert.equal((kicked.get(eve)! as Any[])[0].code, ErrorCode.KICKED);
  assert.deepEqual(kicked.get(eve)!.at(-1), { type: "close", reason: "kicked" });
  const leave = (kicked.get(mallory)! as Any[]).find((m) => m.type === "presence")!;
  assert.deepEqual([leave.reason, leave.text], ["kicked", "spam"]);

  const banned = deliveries(
    b.handle(op, { type: "moderate", action: "ban", target: "10.0.0.3", durationMs: 0, reason: "abuse" }, 4),
  );
  assert.equal((banned.get(mallory)! as Any[])[0].code, ErrorCode.BANNED);
  const again = hello(b, "mallory2", "none", false, "10.0.0.3:7");
  assert.match(String((deliveries(again.effects).get(again.s)! as Any[])[0].message), /banned: abuse/);
  b.handle(op, { type: "moderate", action: "ban", target: "eve", durationMs: 3_600_000, reason: "" }, 5);
  const eveBack = hello(b, "eve", "none", false, "10.0.0.4:1");
  assert.equal(codeOf(eveBack.effects, eveBack.s), ErrorCode.BANNED);
  assert.equal(
    store.bans(5).filter((x) => !x.target.startsWith("mute:")).length,
    2,
    "bans live in the store, so they survive a restart",
  );
  assert.deepEqual(
    store.bans(5).filter((x) => x.target.startsWith("mute:")).map((x) => [x.target, x.until, x.reason]),
    [["mute:eve", 60_001, "calm down"]],
    "and so do mutes (shared with the other nodes of a cluster)",
  );
  b.handle(op, { type: "moderate", action: "unban", target: "eve", durationMs: 0, reason: "" }, 6);
  assert.equal(hello(b, "eve", "none", false, "10.0.0.4:2").s.state, "ready");
});

Deno.test("Broker asks the network layer to hash a /register password, then stores the account", () => {
  const store = new MemoryStore();
  const closed = testBroker({ store });
  const s0 = connect(closed, "alice").session;
  assert.equal(
    codeOf(closed.handle(s0, { type: "register", password: "longenough" }, 0), s0),
    ErrorCode.FORBIDDEN,
  );
  const b = testBroker({ store, allowRegister: true });
  const s = connect(b, "bob").session;
  assert.equal(codeOf(b.handle(s, { type: "register", password: "short" }, 0), s), ErrorCode.FORBIDDEN);
  assert.deepEqual(b.handle(s, { type: "register", password: "longenough" }, 0), [{
    kind: "register",
    to: s,
    password: "longenough",
  }]);
  const done = deliveries(b.registered(s, "scrypt$hash", 9)).get(s)! as Any[];
  assert.equal(done[0].kind, "registered");
  assert.equal(store.account("bob")?.hash, "scrypt$hash");
  assert.equal(
    codeOf(b.handle(s, { type: "register", password: "longenough" }, 0), s),
    ErrorCode.FORBIDDEN,
    "only once",
  );
});

Deno.test("Broker survives a ban or mute with the largest duration the wire allows", () => {
  const store = new MemoryStore();
  const b = testBroker({ store });
  const op = hello(b, "op", "none", true).s;
  const max = Number.MAX_SAFE_INTEGER;
  b.handle(op, { type: "moderate", action: "ban", target: "bob", durationMs: max, reason: "for ever" }, 1);
  assert.equal(store.bans(2)[0].until, 0, "past ten years a ban is simply until lifted");
  const bob = hello(b, "bob", "none");
  assert.equal(codeOf(bob.effects, bob.s), ErrorCode.BANNED);
  b.handle(op, { type: "moderate", action: "mute", target: "op", durationMs: max, reason: "" }, 3);
  assert.equal(
    codeOf(b.handle(op, { type: "send", id: 1, room: "lobby", flags: 0, text: "x" }, 4), op),
    ErrorCode.MUTED,
  );
});
