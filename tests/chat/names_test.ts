// src/chat/names.ts: who holds which name, look-alikes (of online, registered and banned names), /nick.

import assert from "node:assert/strict";
import { type Any, codeOf } from "../_helpers/chat.ts";
import { connect, deliveries, testBroker, type TestEffect } from "../_helpers/effects.ts";
import { ACCOUNTS_REFRESH_MS } from "../../src/chat/lookalikes.ts";
import { NameRegistry } from "../../src/chat/names.ts";
import { Session } from "../../src/chat/session.ts";
import { ErrorCode } from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

function named(id: number, name: string): Session {
  const s = new Session(id, `10.0.0.${id}:1`, 0);
  s.name = name;
  s.key = name.toLowerCase();
  return s;
}

// Issue 16 item 6: look-alike names (UTS #39 skeletons) are refused next to online users, registered names
// whose owner is offline, and banned names; ordinary distinct names are not.

const errorOf = (effects: TestEffect[], s: unknown) =>
  ((deliveries(effects).get(s as never) ?? []) as Any[]).find((m) => m.type === "error");

/** A HELLO from `name`, with or without the account's password checked. */
function hello(b: ReturnType<typeof testBroker>, name: string, now = 0, password: "none" | "ok" = "none") {
  const s = b.open("10.0.0.1:1", now);
  s.auth = { password, admin: false };
  const effects = b.handle(s, { type: "hello", version: 1, name, rooms: [], extensions: [] }, now);
  return { s, error: errorOf(effects, s) };
}

function storeWith(...names: string[]): MemoryStore {
  const store = new MemoryStore();
  for (const name of names) {
    store.putAccount({ name, key: name.toLowerCase(), hash: "x", admin: false, created: 0 });
  }
  return store;
}

Deno.test("NameRegistry finds a holder by any look-alike of its name, skips the caller's own, and forgets on release", () => {
  const names = new NameRegistry();
  const alice = named(1, "alice");
  names.claim(alice);
  assert.equal(names.lookalike("\u0430lice"), alice, "Cyrillic а");
  assert.equal(names.lookalike("AL1CE"), alice, "a case form: AL1CE reads as ALICE");
  assert.equal(names.lookalike("\u0430lice", (s) => s === alice), undefined, "the caller itself");
  assert.equal(names.lookalike("a.lice"), undefined);
  // A later holder of the same skeletons (a resume) takes them over: releasing the old one leaves them.
  const resumed = named(2, "alice");
  names.claim(resumed);
  names.release(alice);
  assert.equal(names.lookalike("\u0430lice"), resumed);
  names.release(resumed);
  assert.equal(names.lookalike("\u0430lice"), undefined);
  assert.equal(names.size, 0);
});

Deno.test("Broker refuses a name that looks like an online one, but not once it has left", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  // Cyrillic а, Latin alpha, a small capital L, a digit one (AL1CE reads as ALICE), a capital I.
  for (const lookalike of ["\u0430lice", "\u0251lice", "a\u029fice", "al1ce", "ALlCE", "AIice"]) {
    const t = connect(b, lookalike);
    assert.equal(codeOf(t.effects, t.session), ErrorCode.NAME_TAKEN, lookalike);
  }
  assert.equal(
    codeOf(b.handle(connect(b, "bob").session, { type: "nick", name: "al1ce" }, 0), null),
    undefined,
  );
  b.drop(alice, "quit", 1);
  assert.equal(connect(b, "al1ce").session.state, "ready");
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

Deno.test("Broker refuses U+0251 and U+029F look-alikes of an online alice, and allows distinct names", () => {
  const b = testBroker();
  connect(b, "alice");
  for (const name of ["\u0251lice", "a\u029fice"]) {
    const { s, error } = hello(b, name);
    assert.equal(error?.code, ErrorCode.NAME_TAKEN, name);
    assert.match(String(error?.message), /looks too much like "alice", who is online/);
    assert.equal(s.state, "closed", name);
  }
  // Not look-alikes: a dot shows, an accent shows, another letter is another name.
  for (const name of ["a.lice", "alicé", "alicia", "bob", "Наташа"]) {
    assert.equal(hello(b, name).error, undefined, name);
  }
});

Deno.test("Broker refuses a Cyrillic look-alike of a registered name while its owner is offline", () => {
  const b = testBroker({ store: storeWith("carol") });
  const { error } = hello(b, "\u0441arol");
  assert.equal(error?.code, ErrorCode.NAME_TAKEN);
  assert.equal(error?.message, 'name "\u0441arol" looks too much like "carol", a registered name');
  // carol herself, with her password, is welcome; a look-alike may not rename into her shadow either.
  assert.equal(hello(b, "carol", 0, "ok").error, undefined);
  const bob = hello(b, "bob").s;
  const nick = errorOf(b.handle(bob, { type: "nick", name: "\u0421AROL" }, 1), bob);
  assert.equal(nick?.code, ErrorCode.NAME_TAKEN);
  assert.equal(bob.name, "bob");
});

Deno.test("Broker: a registered name that is itself a look-alike of another account still logs in with its password", () => {
  const b = testBroker({ store: storeWith("carol", "\u0441arol") });
  assert.equal(hello(b, "\u0441arol", 0, "ok").error, undefined);
});

Deno.test("Broker sees accounts registered here at once, and from elsewhere after the index refresh", () => {
  const store = new MemoryStore();
  const b = testBroker({ store, allowRegister: true });
  assert.equal(hello(b, "dave").error, undefined, "nothing registered yet: the index is built empty");
  // Another process (chat user add) registers erin: the exact name is protected at once, look-alikes later.
  store.putAccount({ name: "erin", key: "erin", hash: "x", admin: false, created: 0 });
  const early = hello(b, "\u0435rin", 1);
  assert.equal(early.error, undefined, "within the refresh interval the index is not asked again");
  b.drop(early.s, "quit", 1);
  const late = hello(b, "\u0435rin", 1 + ACCOUNTS_REFRESH_MS).error;
  assert.equal(late?.message, 'name "\u0435rin" looks too much like "erin", a registered name');
  // A /register in this broker is seen by the next HELLO, once its owner has left.
  const frank = hello(b, "frank", 2 + ACCOUNTS_REFRESH_MS).s;
  b.registered(frank, "hash", 3 + ACCOUNTS_REFRESH_MS);
  b.drop(frank, "quit", 4 + ACCOUNTS_REFRESH_MS);
  const after = hello(b, "fr\u0430nk", 5 + ACCOUNTS_REFRESH_MS).error;
  assert.equal(after?.message, 'name "fr\u0430nk" looks too much like "frank", a registered name');
});

Deno.test("Broker refuses a Cyrillic look-alike of a banned name, at HELLO and at NICK", () => {
  const store = new MemoryStore();
  store.putBan({ target: "name:mallory", until: 0, reason: "spam", by: "op", created: 0 });
  const b = testBroker({ store });
  const { error } = hello(b, "m\u0430llory");
  assert.equal(error?.code, ErrorCode.BANNED);
  assert.equal(error?.message, "banned: spam");
  const bob = hello(b, "bob").s;
  assert.equal(
    errorOf(b.handle(bob, { type: "nick", name: "MALL\u041eRY" }, 1), bob)?.code,
    ErrorCode.BANNED,
  );
  // Other names are not covered.
  assert.equal(hello(b, "mallary").error, undefined);
});

Deno.test("NameRegistry lets only the session holding a name release it", () => {
  const names = new NameRegistry();
  const old = Object.assign(new Session(1, "127.0.0.1:1", 0), { name: "alice", key: "alice" });
  const fresh = Object.assign(new Session(2, "127.0.0.1:2", 0), { name: "Alice", key: "alice" });
  names.claim(old);
  names.claim(fresh); // a resume took the name over
  names.release(old); // the old session ends later
  assert.equal(names.holder("alice"), fresh);
  assert.equal(names.lookalike("al1ce"), fresh);
  assert.equal(names.size, 1);
  names.release(fresh);
  assert.deepEqual([names.holder("alice"), names.lookalike("alice"), names.size], [undefined, undefined, 0]);
});

Deno.test("Broker lets a user change the case of its own name, and ignores a NICK to the same name", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  assert.deepEqual(b.handle(alice, { type: "nick", name: "alice" }, 1), []);
  const d = deliveries(b.handle(alice, { type: "nick", name: "Alice" }, 2));
  assert.deepEqual((d.get(bob)! as Any[]).map((m) => [m.event, m.name, m.text]), [[
    "nick",
    "alice",
    "Alice",
  ]]);
  assert.deepEqual([alice.name, alice.key], ["Alice", "alice"]);
  const other = connect(b, "aLiCe");
  assert.equal(codeOf(other.effects, other.session), ErrorCode.NAME_TAKEN, "still held");
});

Deno.test("Broker refuses a NICK to a look-alike, a ghost's, a registered or a banned name, keeping the old one", () => {
  const store = new MemoryStore();
  store.putAccount({ name: "carol", key: "carol", hash: "x", admin: false, created: 0 });
  store.putBan({ target: "name:mallory", until: 0, reason: "", by: "op", created: 0 });
  const b = testBroker({ store, graceMs: 1000 });
  const alice = connect(b, "alice").session;
  const ghost = connect(b, "ghost").session;
  b.drop(ghost, "disconnected", 1);
  const cases: Array<[string, string]> = [
    ["al1ce", ErrorCode.NAME_TAKEN],
    ["GHOST", ErrorCode.NAME_TAKEN],
    ["Carol", ErrorCode.AUTH_FAILED],
    ["mallory", ErrorCode.BANNED],
  ];
  const zed = connect(b, "zed").session;
  for (const [name, code] of cases) {
    const got = deliveries(b.handle(zed, { type: "nick", name }, 2)).get(zed)! as Any[];
    assert.deepEqual(got.map((m) => [m.code, m.fatal]), [[code, false]], name);
    assert.equal(zed.name, "zed", name);
  }
  assert.equal(alice.name, "alice");
});

Deno.test("Broker confirms a NICK to a user in no room with a PRESENCE of its own, room empty", () => {
  const b = testBroker();
  const alice = connect(b, "alice", ["dev"]).session;
  b.handle(alice, { type: "leave", room: "dev" }, 1);
  const d = deliveries(b.handle(alice, { type: "nick", name: "alicia" }, 2));
  assert.deepEqual(d.get(alice), [{
    type: "presence",
    room: "",
    event: "nick",
    name: "alice",
    reason: "",
    text: "alicia",
    ts: 2,
  }]);
  assert.equal(d.size, 1);
});
