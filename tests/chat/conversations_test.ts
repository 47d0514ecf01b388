// src/chat/conversations.ts: direct messages stored as conversations between registered names, delivered
// to parties that speak `dms` as MESSAGE in room "@peer", listed after the welcome, fetched only by their
// parties; live DIRECT for everyone else, held for a user in its grace period.

import assert from "node:assert/strict";
import { type Any, types } from "../_helpers/chat.ts";
import { deliveries, type TestBroker, testBroker, type TestEffect, tokenOf } from "../_helpers/effects.ts";
import { MAX_HELD } from "../../src/chat/conversations.ts";
import { conversationRoom, type StoredMessage } from "../../src/chat/ports.ts";
import type { Session } from "../../src/chat/session.ts";
import { ErrorCode, Feature, type HelloExtensions, MessageFlags } from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

const DMS: HelloExtensions = { features: [Feature.DMS] };

/** A broker whose store knows the registered names `names`. */
function brokerWith(names: string[], overrides: Parameters<typeof testBroker>[0] = {}): TestBroker {
  const store = new MemoryStore();
  for (const name of names) {
    store.putAccount({ name, key: name.toLowerCase(), hash: "x", admin: false, created: 0 });
  }
  return testBroker({ store, ...overrides });
}

/** Connects `name` with its password checked ok (`proven`) or not given, speaking `dms` unless `old`. */
function join(
  b: TestBroker,
  name: string,
  o: { proven?: boolean; old?: boolean; now?: number; extensions?: HelloExtensions } = {},
): { session: Session; effects: TestEffect[]; got: Any[] } {
  const session = b.open(`10.0.0.${b.sessions.size + 1}:1`, o.now ?? 0);
  session.auth = { password: o.proven === false ? "none" : "ok", admin: false };
  const extensions = { ...(o.old ? {} : DMS), ...o.extensions };
  const effects = b.handle(
    session,
    { type: "hello", version: 1, name, rooms: [], ...extensions },
    o.now ?? 0,
  );
  return { session, effects, got: (deliveries(effects).get(session) ?? []) as Any[] };
}

const dm = (id: number, to: string, text = `dm ${id}`) => ({
  type: "private" as const,
  id,
  to,
  flags: 0,
  text,
});

function got(effects: TestEffect[], s: Session): Any[] {
  return (deliveries(effects).get(s) ?? []) as Any[];
}

Deno.test("a DM between two registered names is stored and numbered: ACK and MESSAGE in @peer, as each side sees it", () => {
  const b = brokerWith(["alice", "Bob"]);
  const store = b.store as MemoryStore;
  const alice = join(b, "alice").session;
  const bob = join(b, "bob").session;
  const e = b.handle(alice, dm(7, "BOB", "psst"), 5);
  assert.deepEqual(got(e, alice), [
    { type: "ack", id: 7, room: "@Bob", seq: 1, ts: 5 },
    { type: "message", room: "@Bob", seq: 1, ts: 5, flags: 0, from: "alice", text: "psst" },
  ], "the peer is named as registered, whatever the case typed");
  assert.deepEqual(got(e, bob), [
    { type: "message", room: "@alice", seq: 1, ts: 5, flags: 0, from: "alice", text: "psst" },
  ]);
  const page = store.page(conversationRoom("alice", "bob"), { after: 0, before: 0, limit: 10 });
  assert.deepEqual(
    page.messages.map((m) => [m.seq, m.text]),
    [[1, "psst"]],
    "stored in the log room @alice+bob",
  );
  const reply = b.handle(
    bob,
    { ...dm(1, "alice", "hi"), flags: MessageFlags.ACTION | MessageFlags.HISTORY },
    6,
  );
  assert.deepEqual(got(reply, alice), [
    { type: "message", room: "@Bob", seq: 2, ts: 6, flags: MessageFlags.ACTION, from: "bob", text: "hi" },
  ], "one conversation, numbered on; a client sets ACTION, never HISTORY");
});

Deno.test("a resent PRIVATE of a stored conversation is acked with its first seq and not delivered again", () => {
  const b = brokerWith(["alice", "bob"]);
  const alice = join(b, "alice").session;
  const bob = join(b, "bob").session;
  b.handle(alice, dm(3, "bob"), 5);
  const again = b.handle(alice, dm(3, "bob"), 9);
  assert.deepEqual(got(again, alice), [{ type: "ack", id: 3, room: "@bob", seq: 1, ts: 5 }]);
  assert.deepEqual(got(again, bob), []);
  // Muted now: a resend of what was stored is still acknowledged (the log answers the probe).
  b.store.putBan({ target: "mute:alice", until: 0, reason: "", by: "op", created: 0 });
  assert.deepEqual(got(b.handle(alice, dm(3, "bob"), 10), alice), [{
    type: "ack",
    id: 3,
    room: "@bob",
    seq: 1,
    ts: 5,
  }]);
  assert.deepEqual(types(got(b.handle(alice, dm(4, "bob"), 10), alice)), ["error"], "a new one is refused");
});

Deno.test("a registered user who was offline learns its conversations after the welcome and fetches them", () => {
  const b = brokerWith(["alice", "bob", "carol"]);
  const alice = join(b, "alice").session;
  const acks = [1, 2, 3].map((i) => got(b.handle(alice, dm(i, "bob", `m${i}`), 10 + i), alice)[0]);
  assert.deepEqual(
    acks.map((a) => [a.room, a.seq]),
    [["@bob", 1], ["@bob", 2], ["@bob", 3]],
    "stored though bob is offline",
  );
  b.handle(alice, dm(9, "carol"), 20);
  const bob = join(b, "bob", { now: 30 });
  assert.deepEqual(types(bob.got), ["welcome", "members", "fetched", "conversations"]);
  assert.ok((bob.got[0].features as string[]).includes("dms"), "the server lists what it speaks");
  assert.deepEqual(bob.got[3], {
    type: "conversations",
    conversations: [{ peer: "alice", lastSeq: 3, ts: 13 }],
  });
  const fetched = got(
    b.handle(bob.session, { type: "fetch", room: "@alice", after: 0, before: 0, limit: 50 }, 31),
    bob.session,
  );
  assert.deepEqual(fetched.map((m) => m.type === "message" ? `${m.room} ${m.seq} ${m.text} ${m.flags}` : m), [
    `@alice 1 m1 ${MessageFlags.HISTORY}`,
    `@alice 2 m2 ${MessageFlags.HISTORY}`,
    `@alice 3 m3 ${MessageFlags.HISTORY}`,
    { type: "fetched", room: "@alice", count: 3, more: false, lastSeq: 3 },
  ]);
  const carol = join(b, "carol", { now: 40 });
  const alice2 = join(b, "ALICE", { now: 41, extensions: { resumeToken: undefined } });
  assert.equal(alice2.got[0].code, ErrorCode.NAME_TAKEN);
  assert.deepEqual(carol.got.at(-1), {
    type: "conversations",
    conversations: [{ peer: "alice", lastSeq: 1, ts: 20 }],
  });
  b.drop(alice, "quit", 50);
  const back = join(b, "alice", { now: 51 });
  assert.deepEqual(back.got.at(-1), {
    type: "conversations",
    conversations: [{ peer: "carol", lastSeq: 1, ts: 20 }, { peer: "bob", lastSeq: 3, ts: 13 }],
  }, "the most recent first");
});

Deno.test("no conversation list for a client that does not speak dms, an unregistered name or a transient session", () => {
  const b = brokerWith(["alice"]);
  assert.deepEqual(types(join(b, "alice", { old: true }).got), ["welcome", "members", "fetched"]);
  assert.deepEqual(types(join(b, "zed", { proven: false }).got), ["welcome", "members", "fetched"]);
  const t = join(b, "alice", { extensions: { transient: true } });
  assert.deepEqual(types(t.got), ["welcome", "members", "fetched"]);
});

Deno.test('a client that does not speak dms gets a stored DM as DIRECT and its ACK as room "", seq 0', () => {
  const b = brokerWith(["alice", "bob"]);
  const alice = join(b, "alice", { old: true }).session;
  const bob = join(b, "bob").session;
  const e = b.handle(alice, dm(1, "bob", "hi"), 5);
  const direct = { type: "direct", from: "alice", to: "bob", ts: 5, flags: 0, text: "hi" };
  assert.deepEqual(got(e, alice), [{ type: "ack", id: 1, room: "", seq: 0, ts: 5 }, direct]);
  assert.deepEqual(got(e, bob), [{
    type: "message",
    room: "@alice",
    seq: 1,
    ts: 5,
    flags: 0,
    from: "alice",
    text: "hi",
  }]);
  const back = b.handle(bob, dm(1, "alice", "yo"), 6);
  assert.deepEqual(got(back, alice), [{
    type: "direct",
    from: "bob",
    to: "alice",
    ts: 6,
    flags: 0,
    text: "yo",
  }]);
  assert.deepEqual(got(back, bob)[0], { type: "ack", id: 1, room: "@alice", seq: 2, ts: 6 });
});

Deno.test("only a party reads a conversation: others are refused FORBIDDEN, and @peer is always one's own", () => {
  const b = brokerWith(["alice", "bob", "carol"]);
  const alice = join(b, "alice").session;
  b.handle(alice, dm(1, "bob", "secret"), 5);
  const carol = join(b, "carol").session;
  const fetch = (s: Session, room: string) =>
    got(b.handle(s, { type: "fetch", room, after: 0, before: 0, limit: 50 }, 6), s);
  const theirs = fetch(carol, "@alice+bob");
  assert.deepEqual(
    [theirs[0].type, theirs[0].code],
    ["error", ErrorCode.FORBIDDEN],
    "the log's name is no way in",
  );
  assert.match(theirs[0].message as string, /name a conversation by its peer/);
  assert.deepEqual(fetch(carol, "@bob"), [{
    type: "fetched",
    room: "@bob",
    count: 0,
    more: false,
    lastSeq: 0,
  }]);
  assert.deepEqual(fetch(carol, "@alice"), [{
    type: "fetched",
    room: "@alice",
    count: 0,
    more: false,
    lastSeq: 0,
  }]);
  // Someone holding an unregistered name has no conversation at all; nor has one who did not prove its name.
  const mallory = join(b, "mallory", { proven: false }).session;
  const refused = fetch(mallory, "@bob");
  assert.deepEqual([refused[0].code, refused[0].fatal], [ErrorCode.FORBIDDEN, false]);
  assert.match(refused[0].message as string, /only between registered names/);
  assert.equal(fetch(mallory, "@").at(0)?.code, ErrorCode.FORBIDDEN);
});

Deno.test("a holder of a registered name that never proved it is not a party: no storage, no delivery", () => {
  const b = brokerWith(["alice"]);
  const alice = join(b, "alice").session;
  // bob connected unregistered; `chat user add bob` happened afterwards.
  const bob = join(b, "bob", { proven: false }).session;
  b.store.putAccount({ name: "bob", key: "bob", hash: "x", admin: false, created: 0 });
  const e = b.handle(alice, dm(1, "bob", "for the real bob"), 5);
  assert.deepEqual(
    got(e, alice)[0],
    { type: "ack", id: 1, room: "@bob", seq: 1, ts: 5 },
    "stored for the account",
  );
  assert.deepEqual(got(e, bob), [], "the unproven holder gets nothing");
  const fromBob = got(b.handle(bob, dm(1, "alice", "hi"), 6), bob);
  assert.deepEqual(fromBob.map((m) => m.type), ["direct", "notice", "ack"], "and its own DMs are live only");
  assert.match(
    fromBob[1].text as string,
    /^messages with alice are not stored \(you are not signed in as a registered name\)/,
  );
});

Deno.test("/register makes a session a party of stored conversations at once", () => {
  const b = brokerWith(["alice"], { allowRegister: true });
  const alice = join(b, "alice").session;
  const bob = join(b, "bob", { proven: false }).session;
  const live = got(b.handle(alice, dm(1, "bob"), 1), alice);
  assert.deepEqual(types(live), ["direct", "notice", "ack"], "live, and said so");
  assert.deepEqual(live[2], { type: "ack", id: 1, room: "", seq: 0, ts: 1 });
  b.handle(bob, { type: "register", password: "long enough" }, 2);
  b.registered(bob, "scrypt$x", 3);
  const e = b.handle(alice, dm(2, "bob", "now stored"), 4);
  assert.deepEqual(got(e, alice)[0], { type: "ack", id: 2, room: "@bob", seq: 1, ts: 4 });
  assert.deepEqual(got(e, bob).map((m) => `${m.type} ${m.room}`), ["message @alice"]);
});

Deno.test("a DM that is not stored is said so once per peer to a client that speaks dms, on both sides", () => {
  const b = brokerWith(["alice"]);
  const alice = join(b, "alice").session;
  const zed = join(b, "zed", { proven: false }).session;
  const old = join(b, "olga", { proven: false, old: true }).session;
  const first = b.handle(alice, dm(1, "zed", "hi"), 1);
  assert.deepEqual(got(first, alice).map((m) => m.type), ["direct", "notice", "ack"]);
  assert.deepEqual(got(first, alice)[1], {
    type: "notice",
    kind: "unstored",
    text: "messages with zed are not stored (zed is not a registered name): they reach zed only while " +
      "connected, and no history keeps them",
  });
  assert.deepEqual(got(first, zed).map((m) => m.type), ["notice", "direct"]);
  assert.match(
    got(first, zed)[0].text as string,
    /^messages with alice are not stored \(you are not signed in/,
  );
  const second = b.handle(alice, dm(2, "zed", "again"), 2);
  assert.deepEqual([types(got(second, alice)), types(got(second, zed))], [["direct", "ack"], ["direct"]]);
  const toOld = b.handle(alice, dm(3, "olga", "hi"), 3);
  assert.deepEqual(types(got(toOld, old)), ["direct"], "a client that does not speak dms hears nothing new");
});

Deno.test("a DM to an unregistered user in its grace period is held and delivered when it resumes", () => {
  const b = brokerWith([], { graceMs: 1000 });
  const alice = join(b, "alice", { proven: false }).session;
  const dave = join(b, "dave", { proven: false });
  const token = tokenOf(dave.effects, dave.session);
  b.drop(dave.session, "disconnected", 10);
  assert.equal(dave.session.state, "ghost");
  const sent = got(b.handle(alice, dm(1, "dave", "are you there?"), 20), alice);
  assert.deepEqual(types(sent), ["direct", "notice", "ack"], "accepted, not NO_SUCH_USER");
  b.handle(alice, { ...dm(2, "dave", "waves"), flags: MessageFlags.ACTION }, 21);
  const back = join(b, "dave", { proven: false, now: 500, extensions: { resumeToken: token } });
  assert.deepEqual(back.got.filter((m) => m.type === "direct"), [
    { type: "direct", from: "alice", to: "dave", ts: 20, flags: 0, text: "are you there?" },
    { type: "direct", from: "alice", to: "dave", ts: 21, flags: MessageFlags.ACTION, text: "waves" },
  ]);
  assert.equal(back.got.at(-1)?.type, "direct", "after the welcome and the rooms");
  b.drop(back.session, "disconnected", 600);
  b.handle(alice, dm(3, "dave", "lost"), 700);
  b.tick(2000); // the grace period ends: what it held goes with it
  const later = join(b, "dave", { proven: false, now: 2100 });
  assert.deepEqual(later.got.filter((m) => m.type === "direct"), []);
  assert.equal(got(b.handle(alice, dm(4, "dave", "x"), 2200), alice).length > 0, true);
});

Deno.test(`a ghost holds at most ${MAX_HELD} DMs; the next is refused and the sender told why`, () => {
  const b = brokerWith([], { graceMs: 1000, rate: { perSecond: 0, burst: 0 } });
  const alice = join(b, "alice", { proven: false }).session;
  const dave = join(b, "dave", { proven: false }).session;
  b.drop(dave, "disconnected", 1);
  for (let i = 1; i <= MAX_HELD; i++) {
    assert.equal(got(b.handle(alice, dm(i, "dave"), 2), alice).at(-1)?.type, "ack");
  }
  const over = got(b.handle(alice, dm(MAX_HELD + 1, "dave"), 3), alice);
  assert.deepEqual([over[0].code, over[0].ref, over[0].fatal], [ErrorCode.NO_SUCH_USER, MAX_HELD + 1, false]);
  assert.match(over[0].message as string, /reconnecting and has 100 messages waiting/);
});

Deno.test("a DM to someone offline is refused NO_SUCH_USER unless both are registered", () => {
  const b = brokerWith(["alice", "bob"]);
  const zed = join(b, "zed", { proven: false }).session;
  const refused = got(b.handle(zed, dm(1, "bob"), 1), zed);
  assert.equal(refused[0].code, ErrorCode.NO_SUCH_USER);
  assert.match(
    refused[0].message as string,
    /"bob" is not online \(you are not signed in as a registered name, so/,
  );
  const alice = join(b, "alice").session;
  assert.equal(got(b.handle(alice, dm(1, "nobody"), 2), alice)[0].code, ErrorCode.NO_SUCH_USER);
  assert.deepEqual(got(b.handle(alice, dm(2, "bob"), 3), alice)[0], {
    type: "ack",
    id: 2,
    room: "@bob",
    seq: 1,
    ts: 3,
  });
});

Deno.test("a stored DM to a ghost: held as DIRECT for a client without dms, listed on resume for one with it", () => {
  const b = brokerWith(["alice", "bob", "olga"], { graceMs: 1000 });
  const alice = join(b, "alice").session;
  const bob = join(b, "bob");
  const olga = join(b, "olga", { old: true });
  b.drop(bob.session, "disconnected", 1);
  b.drop(olga.session, "disconnected", 1);
  b.handle(alice, dm(1, "bob", "for bob"), 2);
  b.handle(alice, dm(2, "olga", "for olga"), 3);
  const bobBack = join(b, "bob", { now: 10, extensions: { resumeToken: tokenOf(bob.effects, bob.session) } });
  assert.deepEqual(bobBack.got.filter((m) => m.type === "direct"), []);
  assert.deepEqual(bobBack.got.at(-1), {
    type: "conversations",
    conversations: [{ peer: "alice", lastSeq: 1, ts: 2 }],
  });
  const olgaBack = join(b, "olga", {
    old: true,
    now: 10,
    extensions: { resumeToken: tokenOf(olga.effects, olga.session) },
  });
  assert.deepEqual(olgaBack.got.at(-1), {
    type: "direct",
    from: "alice",
    to: "olga",
    ts: 3,
    flags: 0,
    text: "for olga",
  });
});

Deno.test("a DM to oneself is one conversation, delivered once", () => {
  const b = brokerWith(["alice"]);
  const alice = join(b, "alice").session;
  assert.deepEqual(got(b.handle(alice, dm(1, "Alice", "note"), 1), alice), [
    { type: "ack", id: 1, room: "@alice", seq: 1, ts: 1 },
    { type: "message", room: "@alice", seq: 1, ts: 1, flags: 0, from: "alice", text: "note" },
  ]);
});

Deno.test("in a cluster a stored DM is acked at once and reaches this node's parties through delivered()", () => {
  const b = brokerWith(["alice", "bob"], { deliverOnAppend: false, cluster: true, maxClients: 20 });
  const alice = join(b, "alice").session;
  const acked = b.handle(alice, dm(1, "bob", "hi"), 5);
  assert.deepEqual(got(acked, alice), [{ type: "ack", id: 1, room: "@bob", seq: 1, ts: 5 }]);
  // bob is on another node: this node only knows his session as a remote one, which his node serves.
  b.settle(
    b.broker.remoteUpsert("n2", {
      sid: 4,
      name: "bob",
      key: "bob",
      rooms: [],
      away: "",
      token: "",
      prevToken: "",
    }, 6),
    6,
  );
  const message: StoredMessage = {
    room: conversationRoom("alice", "bob"),
    seq: 1,
    ts: 5,
    flags: 0,
    from: "alice",
    text: "hi",
  };
  const streamed = b.settle(b.broker.delivered(message), 7);
  assert.deepEqual(
    streamed.map((e) =>
      e.kind === "send" ? `${e.to.name} ${e.msg.type} ${(e.msg as unknown as Any).room}` : e.kind
    ),
    [
      "alice message @bob",
    ],
  );
});

Deno.test("names too long for a log room make a conversation live only", () => {
  const long1 = "𠀀".repeat(32);
  const long2 = "𠀁".repeat(32);
  const b = brokerWith([long1, long2]);
  const a = join(b, long1).session;
  join(b, long2);
  const sent = got(b.handle(a, dm(1, long2), 1), a);
  assert.deepEqual(types(sent), ["direct", "notice", "ack"]);
  assert.match(sent[1].text as string, /the two names are too long to store/);
});

Deno.test("a name registered again sees nothing said to its earlier holder; the peer keeps the whole conversation", () => {
  const b = brokerWith(["alice", "bob"]);
  const store = b.store as MemoryStore;
  const alice = join(b, "alice").session;
  for (const i of [1, 2]) b.handle(alice, dm(i, "bob", `old ${i}`), 10 + i);
  b.drop(alice, "quit", 20);
  // The account is removed and the name registered again, by someone else, at 100.
  store.removeAccount("alice");
  store.putAccount({ name: "alice", key: "alice", hash: "y", admin: false, created: 100 });
  const bob = join(b, "bob", { now: 101 }).session;
  b.handle(bob, dm(1, "alice", "new 3"), 102);
  const newcomer = join(b, "alice", { now: 110 });
  assert.deepEqual(newcomer.got.at(-1), {
    type: "conversations",
    conversations: [{ peer: "bob", lastSeq: 3, ts: 102 }],
  });
  const fetch = (s: Session, room: string, before = 0) =>
    got(b.handle(s, { type: "fetch", room, after: 0, before, limit: 50 }, 111), s)
      .map((m) => m.type === "message" ? `${m.seq} ${m.text}` : `fetched ${m.count} more=${m.more}`);
  assert.deepEqual(fetch(newcomer.session, "@bob"), ["3 new 3", "fetched 1 more=false"]);
  assert.deepEqual(
    fetch(newcomer.session, "@bob", 3),
    ["fetched 0 more=false"],
    "paging back finds nothing older",
  );
  assert.deepEqual(fetch(bob, "@alice"), ["1 old 1", "2 old 2", "3 new 3", "fetched 3 more=false"]);
  // A conversation wholly from before the account is not listed at all.
  const fresh = brokerWith(["carol", "dave"]);
  const carol = join(fresh, "carol").session;
  fresh.handle(carol, dm(1, "dave", "before"), 5);
  (fresh.store as MemoryStore).putAccount({
    name: "dave",
    key: "dave",
    hash: "z",
    admin: false,
    created: 50,
  });
  assert.deepEqual(join(fresh, "dave", { now: 60 }).got.at(-1), { type: "conversations", conversations: [] });
});

Deno.test("a stored DM to someone away tells the sender just before the ACK, and only when it is stored", () => {
  const b = brokerWith(["alice", "bob"]);
  const alice = join(b, "alice").session;
  const bob = join(b, "bob").session;
  b.handle(bob, { type: "away", text: "lunch" }, 1);
  const away = { type: "presence", room: "", event: "away", name: "bob", reason: "", text: "lunch" };
  const stored = got(b.handle(alice, dm(1, "bob"), 2), alice);
  assert.deepEqual(stored.map((m) => m.type), ["presence", "ack", "message"]);
  assert.deepEqual({ ...stored[0], ts: undefined }, { ...away, ts: undefined });
  // A resend gets its first ACK and nothing else; a refused message gets its error alone.
  assert.deepEqual(got(b.handle(alice, dm(1, "bob"), 3), alice).map((m) => m.type), ["ack"]);
  const blank = got(b.handle(alice, dm(2, "bob", "   "), 4), alice);
  assert.deepEqual(blank.map((m) => [m.type, m.code]), [["error", "INVALID_TEXT"]]);
  // Back: no notice.
  b.handle(bob, { type: "away", text: "" }, 5);
  assert.deepEqual(got(b.handle(alice, dm(3, "bob"), 6), alice).map((m) => m.type), ["ack", "message"]);
});
