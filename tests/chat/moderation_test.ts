// src/chat/moderation.ts: /kick, /ban, /unban, /mute, /unmute, /register.

import assert from "node:assert/strict";
import { type Any, codeOf, hello } from "../_helpers/chat.ts";
import { connect, deliveries, type TestBroker, testBroker, type TestEffect } from "../_helpers/effects.ts";
import { banText } from "../../src/chat/moderation.ts";
import { StoreError } from "../../src/chat/ports.ts";
import type { Session } from "../../src/chat/session.ts";
import { ErrorCode, type Moderate } from "../../src/protocol/mod.ts";
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
  // As chat user: at most 1024 bytes (scrypt runs over all of it).
  const long = b.handle(s, { type: "register", password: "é".repeat(513) }, 0);
  assert.equal(codeOf(long, s), ErrorCode.FORBIDDEN);
  assert.ok(!long.some((e) => e.kind === "register"), "nothing hashed");
  assert.equal(b.handle(s, { type: "register", password: "x".repeat(1024) }, 0)[0]?.kind, "register");
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

/** An operator "op" from 10.0.0.9 on `b`. */
function operator(b: TestBroker): Session {
  return hello(b, "op", "none", true, "10.0.0.9:1").s;
}

const moderate = (action: Moderate["action"], target: string, durationMs = 0, reason = ""): Moderate => ({
  type: "moderate",
  action,
  target,
  durationMs,
  reason,
});

Deno.test("Broker answers an operator's mistakes with an error, closing nobody", () => {
  const b = testBroker();
  const op = operator(b);
  const cases: Array<[Moderate, string]> = [
    [moderate("kick", "nobody"), ErrorCode.NO_SUCH_USER],
    [moderate("unban", "nobody"), ErrorCode.NO_SUCH_USER],
    [moderate("unban", "10.1.2.3"), ErrorCode.NO_SUCH_USER],
    [moderate("unmute", "nobody"), ErrorCode.NO_SUCH_USER],
    [moderate("mute", "10.1.2.3"), ErrorCode.INVALID_NAME],
    [moderate("ban", "bad name"), ErrorCode.INVALID_NAME],
  ];
  for (const [msg, code] of cases) {
    const got = deliveries(b.handle(op, msg, 1)).get(op)! as Any[];
    assert.deepEqual(got.map((m) => [m.code, m.fatal]), [[code, false]], `${msg.action} ${msg.target}`);
  }
  assert.equal(op.state, "ready");
});

Deno.test("Broker lifts a mute with /unmute and tells the user; a mute of an absent name waits for it", () => {
  const b = testBroker();
  const op = operator(b);
  const said = (effects: TestEffect[], s: Session) =>
    (deliveries(effects).get(s) ?? []).map((m) => (m as Any).text ?? (m as Any).code);
  b.handle(op, moderate("mute", "eve"), 1);
  const eve = connect(b, "eve", [], 2).session;
  const send = (id: number) => b.handle(eve, { type: "send", id, room: "lobby", flags: 0, text: "hi" }, 3);
  assert.equal(codeOf(send(1), eve), ErrorCode.MUTED, "muted before coming online");
  const lifted = b.handle(op, moderate("unmute", "EVE"), 4);
  assert.deepEqual(said(lifted, eve), ["you were unmuted by op"]);
  assert.deepEqual(said(lifted, op), ["unmuted EVE"]);
  assert.equal(codeOf(send(2), eve), undefined);
});

Deno.test("Broker bans an address with every connection from it, and only those", () => {
  const b = testBroker();
  const op = operator(b);
  const one = hello(b, "one", "none", false, "10.0.0.3:1").s;
  const two = hello(b, "two", "none", false, "10.0.0.3:2").s;
  const near = hello(b, "near", "none", false, "10.0.0.30:1").s;
  const d = deliveries(b.handle(op, moderate("ban", "10.0.0.3", 60_000, "abuse"), 5));
  for (const s of [one, two]) {
    assert.deepEqual((d.get(s)! as Any[]).map((m) => m.code ?? m.reason), [ErrorCode.BANNED, "banned"]);
    assert.equal(s.state, "closed");
  }
  assert.equal(near.state, "ready");
  assert.deepEqual((d.get(op)! as Any[]).at(-1), {
    type: "notice",
    kind: "moderation",
    text: "banned 10.0.0.3 for 60 s",
  });
  const until = new Date(5 + 60_000).toISOString();
  const back = hello(b, "three", "none", false, "10.0.0.3:3");
  assert.equal((deliveries(back.effects).get(back.s)![0] as Any).message, `banned until ${until}: abuse`);
});

Deno.test("Broker keeps a ban's reason to 200 characters, and a ban with a date it cannot show says so without one", () => {
  const store = new MemoryStore();
  const b = testBroker({ store });
  const op = operator(b);
  b.handle(op, moderate("ban", "eve", 0, "x".repeat(300)), 1);
  assert.equal(store.bans(2)[0].reason, "x".repeat(200));
  assert.equal(
    banText({ target: "name:eve", until: 8.64e15 + 1, reason: "old", by: "op", created: 0 }),
    "banned: old",
  );
  assert.equal(banText({ target: "name:eve", until: 0, reason: "", by: "op", created: 0 }), "banned");
});

/** A store whose writes of bans and accounts fail, as on a full disk. */
class FullStore extends MemoryStore {
  override putBan(): void {
    throw new StoreError("full", "cannot save the ban: disk full");
  }
  override putAccount(): void {
    throw new StoreError("full", "cannot save the account: disk full");
  }
}

Deno.test("Broker answers a ban or a registration the store cannot keep with STORAGE_ERROR, and bans nobody", () => {
  const b = testBroker({ store: new FullStore(), allowRegister: true });
  const op = operator(b);
  const eve = connect(b, "eve").session;
  const banned = deliveries(b.handle(op, moderate("ban", "eve"), 1));
  assert.deepEqual((banned.get(op)! as Any[]).map((m) => [m.code, m.message]), [[
    ErrorCode.STORAGE_ERROR,
    "cannot save the ban: disk full",
  ]]);
  assert.equal(banned.get(eve), undefined);
  assert.equal(eve.state, "ready");
  const got = deliveries(b.registered(eve, "scrypt$hash", 2)).get(eve)! as Any[];
  assert.deepEqual(got.map((m) => [m.code, m.fatal]), [[ErrorCode.STORAGE_ERROR, false]]);
});

Deno.test("Broker completes a /register only for a session still there and a name still free", () => {
  const store = new MemoryStore();
  const b = testBroker({ store, allowRegister: true, graceMs: 1000 });
  const bob = connect(b, "bob").session;
  b.handle(bob, { type: "register", password: "longenough" }, 0);
  store.putAccount({ name: "bob", key: "bob", hash: "theirs", admin: false, created: 0 }); // registered meanwhile
  assert.equal(codeOf(b.registered(bob, "scrypt$mine", 1), bob), ErrorCode.FORBIDDEN);
  assert.equal(store.account("bob")!.hash, "theirs");
  const carol = connect(b, "carol").session;
  b.drop(carol, "disconnected", 2);
  assert.deepEqual(b.registered(carol, "scrypt$hash", 3), [], "gone while the password was hashed");
  assert.equal(store.account("carol"), undefined);
});
