import assert from "node:assert/strict";
import { RATE_RETRY_MS } from "../../src/client/pacer.ts";
import {
  CATCH_UP_AT_ONCE,
  ClientSession,
  RESET_PAGE,
  type SessionOptions,
  type Step,
  transientIdStart,
} from "../../src/client/session.ts";
import { emptyState, type JournalState } from "../../src/client/journal_state.ts";
import {
  type ChatMessage,
  type Hello,
  MessageFlags,
  type ServerMessage,
  type Welcome,
} from "../../src/protocol/mod.ts";

// The client session is driven like the broker: server frames in, events, journal entries and frames out.

const TOKEN = new Uint8Array(16).fill(0xab);
const TOKEN_HEX = "ab".repeat(16);
const STORE_A = new Uint8Array(16).fill(0x0a);
const STORE_B = new Uint8Array(16).fill(0x0b);

function newSession(o: Partial<SessionOptions> = {}): ClientSession {
  return new ClientSession({ server: "h:1", name: "alice", rooms: ["lobby"], now: 1, ...o });
}

function welcome(o: Partial<Welcome> = {}): Welcome {
  return {
    type: "welcome",
    version: 1,
    name: "alice",
    heartbeatMs: 1000,
    timeoutMs: 5000,
    maxFrame: 65536,
    maxText: 4096,
    rooms: ["lobby"],
    resumeToken: TOKEN,
    ...o,
  };
}

function msg(room: string, seq: number, o: Partial<ChatMessage> = {}): ChatMessage {
  return { type: "message", room, seq, ts: 1000 + seq, flags: 0, from: "bob", text: `m${seq}`, ...o };
}

const history = (room: string, seq: number) => msg(room, seq, { flags: MessageFlags.HISTORY });

/** The time frames arrive at, unless a test says otherwise. */
const NOW = 1_000_000;

/** Feeds frames arriving at `now` and merges what they asked for into one step. */
function feedAt(s: ClientSession, now: number, ...frames: ServerMessage[]): Step {
  const all: Step = {
    events: [],
    journal: [],
    send: [],
    wakeAt: null,
    welcomed: false,
    fatal: null,
    pong: null,
  };
  for (const f of frames) {
    const step = s.receive(f, now);
    all.events.push(...step.events);
    all.journal.push(...step.journal);
    all.send.push(...step.send);
    all.wakeAt = step.wakeAt ?? all.wakeAt;
    all.welcomed ||= step.welcomed;
    all.fatal ??= step.fatal;
    all.pong = step.pong ?? all.pong;
  }
  return all;
}

const feed = (s: ClientSession, ...frames: ServerMessage[]) => feedAt(s, NOW, ...frames);

/** A new connection: HELLO, then WELCOME and each room's member list. */
function connect(s: ClientSession, w: Welcome = welcome()): { hello: Hello; step: Step } {
  const hello = s.hello();
  const step = feed(
    s,
    w,
    ...w.rooms.map((room): ServerMessage => ({ type: "members", room, more: false, names: [w.name] })),
  );
  return { hello, step };
}

const seqs = (step: Step) => step.events.flatMap((e) => (e.type === "message" ? [e.seq] : []));
const types = (step: Step) => step.events.map((e) => e.type);

/** The rooms and sequences of a HELLO's SINCE extension, or null without one. */
function since(hello: Hello): Array<[string, number]> | null {
  return hello.since ? [...hello.since] : null;
}

function saved(o: Partial<JournalState>): JournalState {
  return { ...emptyState(), ...o };
}

Deno.test("ClientSession.hello() on a first start names the rooms and carries the password and operator token only", () => {
  const s = newSession({ rooms: ["lobby", "ops"], password: "pw", adminToken: "tok" });
  const hello = s.hello();
  assert.equal(hello.name, "alice");
  assert.deepEqual(hello.rooms, ["lobby", "ops"]);
  assert.deepEqual(
    {
      password: hello.password,
      adminToken: hello.adminToken,
      resumeToken: hello.resumeToken,
      since: hello.since,
    },
    { password: "pw", adminToken: "tok", resumeToken: undefined, since: undefined },
  );
  assert.equal(s.ready, false);
});

Deno.test("ClientSession completes the handshake with the first room's members, assembled across MEMBERS frames", () => {
  const s = newSession({ rooms: ["lobby", "ops"] });
  s.hello();
  const w = welcome({ rooms: ["lobby", "ops"] });
  assert.deepEqual(types(feed(s, w)), [], "WELCOME alone says nothing yet");
  const part = feed(s, { type: "members", room: "lobby", more: true, names: ["alice", "bob"] });
  assert.deepEqual(part.events, [], "a list with more to come is held");
  assert.equal(s.ready, false);
  const done = feed(s, { type: "members", room: "lobby", more: false, names: ["carol"] });
  assert.equal(done.welcomed, true);
  assert.equal(s.ready, true);
  assert.deepEqual(done.events, [
    { type: "status", state: "connected", server: "h:1" },
    {
      type: "welcome",
      name: "alice",
      room: "lobby",
      rooms: ["lobby", "ops"],
      online: ["alice", "bob", "carol"],
      server: "h:1",
      reconnected: false,
    },
  ]);
  assert.deepEqual(done.journal, [], "the token was recorded at WELCOME");
  assert.deepEqual(s.members("lobby"), ["alice", "bob", "carol"]);
  const ops = feed(s, { type: "members", room: "ops", more: false, names: ["alice", "dave"] });
  assert.deepEqual(ops.events, [{ type: "members", room: "ops", online: ["alice", "dave"] }]);
  assert.equal(ops.welcomed, false);
});

Deno.test("ClientSession records the resume token with the store id at WELCOME", () => {
  const s = newSession();
  s.hello();
  const step = feed(s, welcome({ storeId: STORE_A }));
  assert.deepEqual(step.journal, [{ op: "token", token: TOKEN_HEX, storeId: "0a".repeat(16) }]);
});

Deno.test("ClientSession takes the server's name and rooms from WELCOME (a name taken back, rooms canonical)", () => {
  const s = newSession({ name: "Alice", rooms: ["Lobby"] });
  const { step } = connect(s, welcome({ name: "alice", rooms: ["lobby"] }));
  assert.equal(s.name, "alice");
  assert.deepEqual(s.rooms, ["lobby"]);
  assert.equal(step.welcomed, true);
});

Deno.test("ClientSession: a quiet first room completes the handshake with its size; a later ROOM is news", () => {
  const s = newSession();
  s.hello();
  const step = feed(s, welcome(), { type: "room", room: "lobby", members: 900, quiet: true });
  assert.equal(step.welcomed, true);
  assert.deepEqual(step.events[1], {
    type: "welcome",
    name: "alice",
    room: "lobby",
    rooms: ["lobby"],
    online: [],
    server: "h:1",
    reconnected: false,
    members: 900,
    quiet: true,
  });
  const again = feed(s, { type: "room", room: "lobby", members: 901, quiet: true });
  assert.deepEqual(again.events, [{ type: "room", room: "lobby", members: 901, quiet: true }]);
  const loud = feed(s, { type: "room", room: "lobby", members: 3, quiet: false });
  assert.deepEqual(loud.events, [{ type: "room", room: "lobby", members: 3, quiet: false }]);
});

Deno.test("ClientSession empties a loud room's member list when the room goes quiet", () => {
  const s = newSession();
  connect(s);
  feed(s, { type: "presence", room: "lobby", event: "join", name: "bob", reason: "", text: "", ts: 1 });
  assert.deepEqual(s.members("lobby"), ["alice", "bob"]);
  feed(s, { type: "room", room: "lobby", members: 500, quiet: true });
  assert.deepEqual(s.members("lobby"), [], "a stale list is worse than none");
});

Deno.test("ClientSession passes messages on once and in order; a gap is fetched once and filled", () => {
  const s = newSession();
  connect(s);
  const first = feed(s, msg("lobby", 1), msg("lobby", 2), msg("lobby", 2));
  assert.deepEqual(seqs(first), [1, 2], "a duplicate is dropped");
  assert.deepEqual(first.journal, [{ op: "seq", room: "lobby", seq: 1 }, {
    op: "seq",
    room: "lobby",
    seq: 2,
  }]);
  const gap = feed(s, msg("lobby", 5), msg("lobby", 6));
  assert.deepEqual(seqs(gap), [], "held behind the gap");
  assert.deepEqual(
    gap.send,
    [{ type: "fetch", room: "lobby", after: 2, before: 0, limit: 500 }],
    "one FETCH",
  );
  const filled = feed(s, history("lobby", 3), history("lobby", 4));
  assert.deepEqual(seqs(filled), [3, 4, 5, 6]);
  assert.deepEqual(filled.journal.at(-1), { op: "seq", room: "lobby", seq: 6 });
  const end = feed(s, { type: "fetched", room: "lobby", count: 2, more: false, lastSeq: 6 });
  assert.deepEqual(end.events, []);
  assert.deepEqual(end.send, []);
});

Deno.test("ClientSession asks for the next page of a gap while the server says there is more", () => {
  const s = newSession();
  connect(s);
  feed(s, msg("lobby", 1));
  feed(s, msg("lobby", 900));
  feed(s, history("lobby", 2));
  const more = feed(s, { type: "fetched", room: "lobby", count: 1, more: true, lastSeq: 900 });
  assert.deepEqual(more.send, [{ type: "fetch", room: "lobby", after: 2, before: 0, limit: 500 }]);
});

Deno.test("ClientSession keeps a history page apart from the sequencer, even while a gap fetch is in flight", () => {
  const s = newSession();
  connect(s);
  feed(s, msg("lobby", 20), msg("lobby", 21));
  assert.equal(s.oldestSeq("lobby"), 20);
  const page = s.fetchOlder("lobby", 20, 1000)!;
  assert.deepEqual(page.send, [{ type: "fetch", room: "lobby", after: 0, before: 20, limit: 500 }], "capped");
  // A gap opens while the page is outstanding: its FETCH is answered after the page's.
  const gap = feed(s, msg("lobby", 23));
  assert.deepEqual(gap.send, [{ type: "fetch", room: "lobby", after: 21, before: 0, limit: 500 }]);
  const older = feed(s, history("lobby", 18), history("lobby", 19));
  assert.deepEqual(seqs(older), [18, 19], "the page is passed on as it comes");
  assert.deepEqual(older.journal, [], "an older page does not move the room's progress");
  assert.equal(s.oldestSeq("lobby"), 18);
  assert.deepEqual(feed(s, { type: "fetched", room: "lobby", count: 2, more: false, lastSeq: 23 }).send, []);
  const fill = feed(s, history("lobby", 22));
  assert.deepEqual(seqs(fill), [22, 23], "the next history frames fill the gap through the sequencer");
  assert.deepEqual(fill.journal.at(-1), { op: "seq", room: "lobby", seq: 23 });
});

Deno.test("ClientSession.fetchOlder() asks for nothing while not connected", () => {
  const s = newSession();
  assert.equal(s.fetchOlder("lobby", 10, 50), null);
  connect(s);
  s.lost();
  assert.equal(s.fetchOlder("lobby", 10, 50), null);
});

Deno.test("ClientSession records where a room joined while empty stands, so the next HELLO names it in SINCE", () => {
  const s = newSession();
  connect(s);
  const step = feed(s, { type: "fetched", room: "lobby", count: 0, more: false, lastSeq: 0 });
  assert.deepEqual(step.journal, [{ op: "seq", room: "lobby", seq: 0 }]);
  s.lost();
  assert.deepEqual(since(s.hello()), [["lobby", 0]]);
});

Deno.test("ClientSession resumes after a reconnect: token and SINCE in HELLO, FETCH after the last seq, then the outbox in order", () => {
  const s = newSession({ rooms: ["lobby", "ops"] });
  connect(s, welcome({ rooms: ["lobby", "ops"] }));
  feed(s, msg("lobby", 1), msg("lobby", 2), msg("ops", 7));
  s.lost();
  assert.equal(s.ready, false);
  const a = s.queue({ id: 10, room: "lobby", flags: 0, text: "typed offline" }, NOW);
  assert.deepEqual(a.journal, [{
    op: "send",
    p: { id: 10, room: "lobby", flags: 0, text: "typed offline" },
  }]);
  assert.deepEqual(a.send, [], "kept, not sent, while offline");
  s.queue({ id: 11, room: "@bob", flags: MessageFlags.ACTION, text: "waves" }, NOW);

  const { hello, step } = connect(s, welcome({ rooms: ["lobby", "ops"] }));
  assert.deepEqual(hello.resumeToken, TOKEN);
  assert.deepEqual(since(hello), [["lobby", 2], ["ops", 7]]);
  assert.deepEqual(step.events.find((e) => e.type === "welcome"), {
    type: "welcome",
    name: "alice",
    room: "lobby",
    rooms: ["lobby", "ops"],
    online: ["alice"],
    server: "h:1",
    reconnected: true,
  });
  assert.deepEqual(step.send, [
    { type: "fetch", room: "lobby", after: 2, before: 0, limit: 500 },
    { type: "fetch", room: "ops", after: 7, before: 0, limit: 500 },
    { type: "send", id: 10, room: "lobby", flags: 0, text: "typed offline" },
    { type: "private", id: 11, to: "bob", flags: MessageFlags.ACTION, text: "waves" },
  ]);
  const caughtUp = feed(s, history("lobby", 3), {
    type: "fetched",
    room: "lobby",
    count: 1,
    more: false,
    lastSeq: 3,
  });
  assert.deepEqual(seqs(caughtUp), [3]);
});

Deno.test("transient sessions started in the same millisecond draw ids that do not meet, above every clock id", () => {
  // Two parallel `chat send`s under one name: with ids from the clock both would send id NOW * 1000.
  assert.equal(
    newSession().newId(),
    newSession().newId(),
    "clock ids meet (why transient ones do not use them)",
  );
  const a = newSession({ transient: true, idStart: transientIdStart(0.25) });
  const b = newSession({ transient: true, idStart: transientIdStart(0.75) });
  assert.notEqual(a.newId(), b.newId());
  const clockIdIn2100 = Date.UTC(2100, 0, 1) * 1000;
  assert.ok(transientIdStart(0) > clockIdIn2100, "transient ids stay above the clock's for decades");
  const top = transientIdStart(1 - 2 ** -53);
  assert.ok(top + 2 ** 32 <= Number.MAX_SAFE_INTEGER + 1, "room to count up without passing 2^53 - 1");
  const s = newSession({ transient: true, idStart: transientIdStart(0.5) });
  assert.equal(s.newId(), transientIdStart(0.5));
  assert.equal(s.newId(), transientIdStart(0.5) + 1);
});

Deno.test("ClientSession restored from a journal resumes its rooms and resends the outbox on the first connection", () => {
  const s = newSession({
    now: 5,
    saved: saved({
      token: TOKEN_HEX,
      lastSeq: { lobby: 40 },
      outbox: [{ id: 9000, room: "lobby", flags: 0, text: "before the crash" }],
    }),
  });
  assert.equal(s.newId(), 9001, "ids continue after the restored outbox");
  assert.equal(newSession({ now: 5 }).newId(), 5000, "otherwise they start from the clock");
  const { hello, step } = connect(s);
  assert.deepEqual(hello.resumeToken, TOKEN);
  assert.deepEqual(since(hello), [["lobby", 40]]);
  assert.deepEqual(step.send, [
    { type: "fetch", room: "lobby", after: 40, before: 0, limit: 500 },
    { type: "send", id: 9000, room: "lobby", flags: 0, text: "before the crash" },
  ]);
  assert.equal(step.events.find((e) => e.type === "welcome")?.type === "welcome", true);
});

Deno.test("ClientSession forgets its sequences when the server's store changed, and fetches each room's newest page", () => {
  const s = newSession({
    rooms: ["lobby", "ops"],
    saved: saved({ token: TOKEN_HEX, storeId: "0a".repeat(16), lastSeq: { lobby: 40, ops: 3 } }),
  });
  const { hello, step } = connect(
    s,
    welcome({ rooms: ["lobby", "ops"], storeId: STORE_B }),
  );
  assert.deepEqual(since(hello), [["lobby", 40], ["ops", 3]], "the HELLO still named the old positions");
  assert.deepEqual(step.journal, [{ op: "token", token: TOKEN_HEX, storeId: "0b".repeat(16) }]);
  const max = Number.MAX_SAFE_INTEGER;
  assert.deepEqual(step.send, [
    { type: "fetch", room: "lobby", after: 0, before: max, limit: RESET_PAGE },
    { type: "fetch", room: "ops", after: 0, before: max, limit: RESET_PAGE },
  ]);
  // The newest page starts the room afresh: its first message sets the baseline.
  const fresh = feed(s, history("lobby", 2), history("lobby", 3));
  assert.deepEqual(seqs(fresh), [2, 3]);
  assert.deepEqual(fresh.journal.at(-1), { op: "seq", room: "lobby", seq: 3 });
  s.lost();
  assert.deepEqual(since(s.hello()), [["lobby", 3]], "ops has no position in the new store yet");
});

Deno.test("ClientSession keeps its sequences when the store is the same", () => {
  const s = newSession({ saved: saved({ storeId: "0a".repeat(16), lastSeq: { lobby: 4 } }) });
  const { step } = connect(s, welcome({ storeId: STORE_A }));
  assert.deepEqual(step.send, [{ type: "fetch", room: "lobby", after: 4, before: 0, limit: 500 }]);
});

Deno.test("ClientSession acknowledges a message, and is settled once its own copy has come back", () => {
  const s = newSession();
  connect(s);
  feed(s, msg("lobby", 1));
  const queued = s.queue({ id: 7, room: "lobby", flags: 0, text: "hi" }, NOW);
  assert.deepEqual(queued.send, [{ type: "send", id: 7, room: "lobby", flags: 0, text: "hi" }]);
  assert.equal(s.settled, false);
  const ack = feed(s, { type: "ack", id: 7, room: "lobby", seq: 2, ts: 50 });
  assert.deepEqual(ack.events, [{ type: "ack", id: 7, room: "lobby", seq: 2, ts: 50 }]);
  assert.deepEqual(ack.journal, [{ op: "ack", id: 7 }]);
  assert.equal(s.pending, 0);
  assert.equal(s.settled, false, "the echo (seq 2) is still due");
  feed(s, msg("lobby", 2, { from: "alice", text: "hi" }));
  assert.equal(s.settled, true);
  assert.deepEqual(
    feed(s, { type: "ack", id: 7, room: "lobby", seq: 2, ts: 50 }).events,
    [],
    "a repeated ACK",
  );
});

Deno.test("ClientSession waits for no echo when the message was passed on before its ACK, nor for a direct message", () => {
  const s = newSession();
  connect(s);
  s.queue({ id: 1, room: "lobby", flags: 0, text: "a" }, NOW);
  feed(s, msg("lobby", 1, { from: "alice" }), { type: "ack", id: 1, room: "lobby", seq: 1, ts: 1 });
  assert.equal(s.settled, true);
  s.queue({ id: 2, room: "@bob", flags: 0, text: "psst" }, NOW);
  feed(s, { type: "ack", id: 2, room: "", seq: 0, ts: 2 });
  assert.equal(s.settled, true);
});

Deno.test("ClientSession counts a message refused with a ref as failed and drops it from the outbox", () => {
  const s = newSession();
  connect(s);
  s.queue({ id: 3, room: "lobby", flags: 0, text: "x".repeat(10) }, NOW);
  const step = feed(s, { type: "error", fatal: false, code: "TOO_LARGE", ref: 3, message: "too large" });
  assert.deepEqual(step.events, [
    { type: "error", code: "TOO_LARGE", message: "too large", fatal: false, ref: 3 },
  ]);
  assert.deepEqual(step.journal, [{ op: "ack", id: 3 }]);
  assert.equal(step.wakeAt, null);
  assert.equal(s.failed, 1);
  assert.equal(s.pending, 0);
  assert.equal(s.settled, true);
  const other = feed(s, { type: "error", fatal: false, code: "NO_SUCH_ROOM", ref: 0, message: "no room" });
  assert.deepEqual(other.events, [{ type: "error", code: "NO_SUCH_ROOM", message: "no room", fatal: false }]);
  assert.equal(s.failed, 1, "an error without a ref is not about a message");
});

Deno.test("ClientSession without an announced rate holds a RATE_LIMITED message, says nothing, and resends it in order", () => {
  const s = newSession();
  connect(s);
  for (const id of [4, 5, 6]) s.queue({ id, room: "lobby", flags: 0, text: `m${id}` }, NOW);
  feedAt(s, NOW, { type: "ack", id: 4, room: "lobby", seq: 1, ts: 1 });
  const limited = feedAt(s, NOW + 10, {
    type: "error",
    fatal: false,
    code: "RATE_LIMITED",
    ref: 5,
    message: "slow",
  });
  assert.deepEqual(limited.events, [], "not an error the user must act on: it will be sent");
  assert.deepEqual(limited.journal, [], "not refused for good");
  assert.equal(limited.wakeAt, NOW + 10 + RATE_RETRY_MS);
  assert.equal(s.pending, 2);
  assert.equal(s.failed, 0);
  feedAt(s, NOW + 20, { type: "error", fatal: false, code: "RATE_LIMITED", ref: 6, message: "slow" });
  assert.deepEqual(s.tick(NOW + 500).send, [], "still held");
  const again = s.tick(NOW + 20 + RATE_RETRY_MS);
  assert.deepEqual(again.send.map((m) => m.type === "send" && m.id), [5, 6], "in the outbox's order");
  s.queue({ id: 7, room: "lobby", flags: 0, text: "m7" }, NOW + 2000);
  assert.equal(s.unsent, 0, "sent at once again");
});

/** A WELCOME announcing `perSecond` and `burst` (RATE_LIMIT). */
function rated(perSecond: number, burst: number): Welcome {
  return welcome({ rateLimit: { perSecond, burst } });
}

const ids = (step: Step) => step.send.flatMap((m) => (m.type === "send" ? [m.id] : []));

Deno.test("ClientSession sends a long paste at the announced rate: the burst at once, then paced, all in order", () => {
  const s = newSession();
  s.hello();
  feedAt(s, NOW, rated(10, 20), { type: "members", room: "lobby", more: false, names: ["alice"] });
  assert.deepEqual(s.rateLimit, { perSecond: 10, burst: 20 });
  const sent: number[] = [];
  let wake: number | null = null;
  for (let id = 1; id <= 40; id++) {
    const step = s.queue({ id, room: "lobby", flags: 0, text: `line ${id}` }, NOW);
    sent.push(...ids(step));
    wake = step.wakeAt ?? wake;
  }
  // A tenth of the burst and of the rate is kept in hand: 18 at once, then 9 a second.
  assert.deepEqual(sent, Array.from({ length: 18 }, (_, i) => i + 1));
  assert.equal(s.unsent, 22);
  assert.equal(wake, NOW + 112, "the next token, at 9 a second");
  let now = NOW;
  for (let round = 0; round < 100 && s.unsent > 0; round++) {
    const step = s.tick(now);
    sent.push(...ids(step));
    if (step.wakeAt !== null) {
      assert.ok(step.wakeAt > now, "never asks to be woken in the past");
      now = step.wakeAt;
    }
  }
  assert.deepEqual(sent, Array.from({ length: 40 }, (_, i) => i + 1), "each once, in order");
  assert.ok(now - NOW >= (22 / 9) * 1000 - 120, `22 more took ${now - NOW} ms, at most 9 a second`);
});

Deno.test("ClientSession's pace never goes past the server's bucket, however the sends are spread", () => {
  const s = newSession();
  s.hello();
  feedAt(s, NOW, rated(50, 500), { type: "members", room: "lobby", more: false, names: ["alice"] });
  // A server bucket (full at the first message), to check every send against.
  let tokens = 500;
  let at = NOW;
  const offer = (now: number, step: Step) => {
    for (const _ of ids(step)) {
      tokens = Math.min(500, tokens + ((now - at) / 1000) * 50);
      at = now;
      assert.ok(tokens >= 1, `refused at ${now - NOW} ms`);
      tokens -= 1;
    }
  };
  let now = NOW;
  let next = 1;
  for (let round = 0; round < 3000; round++) {
    // Lines typed in bursts and pauses, with the ticks asked for in between.
    now += [0, 3, 50, 700][round % 4];
    for (let k = 0; k < [40, 1, 0, 300][round % 4]; k++) {
      offer(now, s.queue({ id: next++, room: "lobby", flags: 0, text: "x" }, now));
    }
    offer(now, s.tick(now));
  }
});

Deno.test("ClientSession puts a message refused as RATE_LIMITED back in line and waits for the bucket to refill", () => {
  const s = newSession();
  s.hello();
  feedAt(s, NOW, rated(10, 2), { type: "members", room: "lobby", more: false, names: ["alice"] });
  // Burst 2 less a tenth is 1: one at once.
  assert.deepEqual(ids(s.queue({ id: 1, room: "lobby", flags: 0, text: "a" }, NOW)), [1]);
  const wait = s.queue({ id: 2, room: "lobby", flags: 0, text: "b" }, NOW);
  assert.deepEqual(ids(wait), []);
  const due = wait.wakeAt!;
  assert.deepEqual(ids(s.tick(due)), [2]);
  // The server disagreed about 1 (another client of this account, a restarted bucket...).
  const back = feedAt(s, due + 1, {
    type: "error",
    fatal: false,
    code: "RATE_LIMITED",
    ref: 1,
    message: "slow",
  });
  assert.deepEqual(back.events, []);
  assert.ok(back.wakeAt! >= due + 1 + 100, "a whole token's time");
  assert.deepEqual(ids(s.tick(back.wakeAt!)), [1], "sent again");
});

Deno.test("ClientSession keeps unsent messages in its outbox through a lost connection and sends them paced after", () => {
  const s = newSession();
  s.hello();
  feedAt(s, NOW, rated(10, 2), { type: "members", room: "lobby", more: false, names: ["alice"] });
  for (const id of [1, 2, 3]) s.queue({ id, room: "lobby", flags: 0, text: "x" }, NOW);
  assert.equal(s.unsent, 2);
  s.lost();
  assert.equal(s.unsent, 3, "offline, everything pending waits");
  assert.deepEqual(ids(s.tick(NOW + 5000)), [], "nothing is sent while not connected");
  s.hello();
  const back = feedAt(s, NOW + 5000, rated(10, 2), {
    type: "members",
    room: "lobby",
    more: false,
    names: ["alice"],
  });
  assert.deepEqual(ids(back), [1], "the first again, then the pace");
  assert.notEqual(back.wakeAt, null);
});

Deno.test("ClientSession reports a fatal error for the shell to act on", () => {
  const s = newSession();
  s.hello();
  const step = feed(s, { type: "error", fatal: true, code: "NAME_TAKEN", ref: 0, message: "taken" });
  assert.deepEqual(step.fatal, { code: "NAME_TAKEN", message: "taken" });
  assert.equal(step.events[0].type, "error");
});

Deno.test("ClientSession follows its own leave and nick, and keeps member lists from presence", () => {
  const s = newSession({ rooms: ["lobby", "ops"] });
  connect(s, welcome({ rooms: ["lobby", "ops"] }));
  const p = (
    event: "join" | "leave" | "nick",
    name: string,
    o: { room?: string; reason?: string; text?: string } = {},
  ) =>
    feed(s, {
      type: "presence",
      room: o.room ?? "lobby",
      event,
      name,
      reason: o.reason ?? "",
      text: o.text ?? "",
      ts: 9,
    });
  p("join", "bob");
  p("join", "carol");
  p("leave", "carol", { reason: "quit" });
  assert.deepEqual(s.members("lobby"), ["alice", "bob"]);
  const renamed = p("nick", "bob", { text: "robert" });
  assert.deepEqual(renamed.events, [
    { type: "presence", room: "lobby", event: "nick", name: "bob", reason: "", text: "robert", ts: 9 },
  ]);
  assert.deepEqual(s.members("lobby"), ["alice", "robert"]);

  p("nick", "alice", { text: "al" });
  assert.equal(s.name, "al");
  assert.deepEqual(s.members("lobby"), ["al", "robert"]);

  p("leave", "al", { room: "ops", reason: "left" });
  assert.deepEqual(s.rooms, ["lobby"]);
  assert.deepEqual(s.members("ops"), []);
  s.lost();
  assert.deepEqual(s.hello().rooms, ["lobby"], "the next HELLO rejoins what is left");
});

Deno.test("ClientSession does not drop a room when its own leave is a timeout of an old connection", () => {
  const s = newSession();
  connect(s);
  feed(s, {
    type: "presence",
    room: "lobby",
    event: "leave",
    name: "alice",
    reason: "timeout",
    text: "",
    ts: 1,
  });
  assert.deepEqual(s.rooms, ["lobby"]);
});

Deno.test("ClientSession adds a room joined later to its rooms when its member list arrives", () => {
  const s = newSession();
  connect(s);
  const step = feed(s, { type: "members", room: "ops", more: false, names: ["alice"] });
  assert.deepEqual(step.events, [{ type: "members", room: "ops", online: ["alice"] }]);
  assert.deepEqual(s.rooms, ["lobby", "ops"]);
});

Deno.test("ClientSession answers PING with PONG even before the handshake completes", () => {
  const s = newSession();
  s.hello();
  assert.deepEqual(feed(s, { type: "ping", token: 42 }).send, [{ type: "pong", token: 42 }]);
  assert.deepEqual(feed(s, { type: "pong", token: 1 }).events, []);
});

Deno.test("ClientSession passes on notices and direct messages", () => {
  const s = newSession();
  connect(s);
  const step = feed(
    s,
    { type: "notice", kind: "motd", text: "hello" },
    { type: "direct", from: "bob", to: "alice", ts: 3, flags: MessageFlags.ACTION, text: "waves" },
  );
  assert.deepEqual(step.events, [
    { type: "notice", kind: "motd", text: "hello" },
    { type: "direct", from: "bob", to: "alice", ts: 3, text: "waves", action: true },
  ]);
});

Deno.test("ClientSession sends nothing for a gap found before the handshake completes, and fetches it on the resume", () => {
  const s = newSession({ saved: saved({ lastSeq: { lobby: 1 } }) });
  s.hello();
  const early = feed(s, welcome(), msg("lobby", 5));
  assert.deepEqual(early.send, [], "not connected yet");
  const done = feed(s, { type: "members", room: "lobby", more: false, names: ["alice"] });
  assert.deepEqual(done.send, [{ type: "fetch", room: "lobby", after: 1, before: 0, limit: 500 }]);
});

Deno.test("ClientSession starts each connection afresh: a quiet room answers the join again, a half list is dropped", () => {
  const s = newSession({ rooms: ["lobby", "ops"] });
  s.hello();
  feed(s, welcome({ rooms: ["lobby", "ops"] }), { type: "room", room: "lobby", members: 900, quiet: true });
  feed(s, { type: "members", room: "ops", more: true, names: ["ghost"] });
  s.lost();
  s.hello();
  const again = feed(s, welcome({ rooms: ["lobby", "ops"] }), {
    type: "room",
    room: "lobby",
    members: 901,
    quiet: true,
  });
  assert.equal(again.welcomed, true, "the ROOM answers this connection's join");
  const ops = feed(s, { type: "members", room: "ops", more: false, names: ["alice"] });
  assert.deepEqual(ops.events, [{ type: "members", room: "ops", online: ["alice"] }]);
});

Deno.test("ClientSession.hello() of a transient session says so in every HELLO", () => {
  const s = newSession({ transient: true });
  assert.equal(s.hello().transient, true);
  connect(s);
  s.lost();
  assert.equal(s.hello().transient, true);
  assert.equal(newSession().hello().transient, undefined, "an ordinary session does not");
});

Deno.test("ClientSession lists every feature it understands in HELLO, and takes the server's from WELCOME", () => {
  const s = newSession();
  assert.deepEqual(s.hello().features, ["list", "topic", "who-any", "dms"]);
  assert.deepEqual([...s.features], [], "none before a WELCOME");
  connect(s, welcome({ features: ["topic", "future"], maxText: 1000 }));
  assert.deepEqual([...s.features], ["topic", "future"]);
  assert.equal(s.maxText, 1000);
  connect(s, welcome());
  assert.deepEqual([...s.features], [], "a server without FEATURES (an older one) has none");
});

Deno.test("ClientSession.list() asks page after page, passing each on, until the last", () => {
  const s = newSession();
  assert.equal(s.list(), null, "not connected");
  connect(s);
  assert.deepEqual(s.list()!.send, [{ type: "list", after: "", limit: 0 }]);
  assert.equal(s.list(), null, "one listing at a time");
  const r = (room: string) => ({ room, members: 1, quiet: false, topic: "" });
  const first = feed(s, { type: "rooms", more: true, rooms: [r("a"), r("b")] });
  assert.deepEqual(first.events, [{ type: "rooms", rooms: [r("a"), r("b")], more: true }]);
  assert.deepEqual(
    first.send,
    [{ type: "list", after: "b", limit: 0 }],
    "the next page, after the last room",
  );
  const last = feed(s, { type: "rooms", more: false, rooms: [r("c")] });
  assert.deepEqual(last.events, [{ type: "rooms", rooms: [r("c")], more: false }]);
  assert.deepEqual(last.send, []);
  assert.ok(s.list(), "a new listing may start");
});

Deno.test("ClientSession stops a listing at LIST_MAX rooms and says it was cut short", () => {
  const s = newSession();
  connect(s);
  s.list();
  const page = Array.from(
    { length: 500 },
    (_, i) => ({ room: `r${i}`, members: 1, quiet: false, topic: "" }),
  );
  let step = feed(s, { type: "rooms", more: true, rooms: page });
  let pages = 1;
  while (step.send.length > 0) {
    step = feed(s, { type: "rooms", more: true, rooms: page });
    pages++;
  }
  assert.equal(pages, 20, "10000 rooms in pages of 500");
  assert.deepEqual({ more: step.events[0].type === "rooms" && step.events[0].more }, { more: false });
  assert.equal(step.events[0].type === "rooms" && step.events[0].truncated, true);
});

Deno.test("ClientSession ends a listing refused as RATE_LIMITED, so /list can be asked again", () => {
  const s = newSession();
  connect(s);
  s.list();
  feed(s, { type: "error", fatal: false, code: "RATE_LIMITED", ref: 0, message: "listing rooms too fast" });
  assert.ok(s.list());
});

Deno.test("ClientSession passes topics on, and asks for or sets one", () => {
  const s = newSession();
  assert.equal(s.topic("lobby"), null, "not connected");
  connect(s);
  assert.deepEqual(s.topic("lobby")!.send, [{ type: "topic", room: "lobby", set: false, text: "" }]);
  assert.deepEqual(s.topic("lobby", "")!.send, [{ type: "topic", room: "lobby", set: true, text: "" }]);
  const step = feed(s, { type: "topicIs", room: "lobby", text: "be kind", by: "bob", ts: 5 });
  assert.deepEqual(step.events, [{ type: "topic", room: "lobby", text: "be kind", by: "bob", ts: 5 }]);
});

Deno.test("ClientSession takes a LISTING answer for a list to show, not a room joined", () => {
  const s = newSession();
  connect(s);
  const step = feed(
    s,
    { type: "members", room: "dev", more: true, listing: true, names: ["bob"] },
    { type: "members", room: "dev", more: false, listing: true, names: ["carol"] },
    { type: "room", room: "hall", members: 900, quiet: true, listing: true },
  );
  assert.deepEqual(step.events, [
    { type: "members", room: "dev", online: ["bob", "carol"], listing: true },
    { type: "members", room: "hall", online: [], members: 900, quiet: true, listing: true },
  ]);
  assert.deepEqual(s.rooms, ["lobby"], "no room was joined");
  assert.deepEqual(s.members("dev"), []);
});

// Stored conversations (feature dms): MESSAGE in room "@peer" becomes a `direct` event with its seq,
// sequenced and journaled like a room, and the CONVERSATIONS list after the welcome fetches what was missed.

const dmIn = (seq: number, o: Partial<ChatMessage> = {}) =>
  msg("@bob", seq, { from: "bob", text: `dm${seq}`, ...o });

Deno.test("ClientSession.hello() lists the features it speaks, dms among them, on every connection", () => {
  const s = newSession();
  assert.ok(s.hello().features?.includes("dms"));
  connect(s);
  s.lost();
  assert.ok(s.hello().features?.includes("dms"));
});

Deno.test("ClientSession passes on a stored DM as a direct event with its seq, once, and journals the conversation", () => {
  const s = newSession();
  connect(s);
  const step = feed(s, dmIn(1), dmIn(1), msg("@bob", 2, { from: "alice", text: "mine" }));
  assert.deepEqual(step.events, [
    {
      type: "direct",
      from: "bob",
      to: "alice",
      ts: 1001,
      text: "dm1",
      action: false,
      seq: 1,
      history: false,
    },
    {
      type: "direct",
      from: "alice",
      to: "bob",
      ts: 1002,
      text: "mine",
      action: false,
      seq: 2,
      history: false,
    },
  ]);
  assert.deepEqual(step.journal, [{ op: "seq", room: "@bob", seq: 1 }, { op: "seq", room: "@bob", seq: 2 }]);
  const gap = feed(s, dmIn(5));
  assert.deepEqual(gap.events, [], "held until the gap is filled");
  assert.deepEqual(gap.send, [{ type: "fetch", room: "@bob", after: 2, before: 0, limit: 500 }]);
  const filled = feed(s, { ...dmIn(3), flags: MessageFlags.HISTORY }, {
    ...dmIn(4),
    flags: MessageFlags.HISTORY,
  }, {
    type: "fetched",
    room: "@bob",
    count: 2,
    more: false,
    lastSeq: 5,
  });
  assert.deepEqual(filled.events.map((e) => e.type === "direct" && [e.seq, e.history]), [
    [3, true],
    [4, true],
    [
      5,
      false,
    ],
  ]);
});

Deno.test("ClientSession catches up on the conversations the server lists, from its own cursor or the newest page", () => {
  const s = newSession({ saved: saved({ lastSeq: { "@bob": 4, "@carol": 9 } }) });
  s.hello();
  const step = feed(s, welcome(), { type: "members", room: "lobby", more: false, names: ["alice"] }, {
    type: "conversations",
    conversations: [
      { peer: "bob", lastSeq: 7, ts: 5 },
      { peer: "carol", lastSeq: 9, ts: 4 },
      { peer: "dave", lastSeq: RESET_PAGE + 20, ts: 3 },
      { peer: "erin", lastSeq: 2, ts: 2 },
    ],
  });
  assert.deepEqual(step.send, [
    { type: "fetch", room: "@bob", after: 4, before: 0, limit: 500 },
    { type: "fetch", room: "@dave", after: 20, before: 0, limit: 500 },
    { type: "fetch", room: "@erin", after: 0, before: 0, limit: 500 },
  ], "carol is up to date; dave and erin were never seen here");
  // A live message of dave that overtakes the fetched ones waits for them: nothing is skipped.
  assert.deepEqual(feed(s, msg("@dave", RESET_PAGE + 21, { from: "dave" })).events, []);
  const page = Array.from(
    { length: RESET_PAGE },
    (_, i) => msg("@dave", 21 + i, { from: "dave", flags: MessageFlags.HISTORY }),
  );
  const got = feed(s, ...page, {
    type: "fetched",
    room: "@dave",
    count: RESET_PAGE,
    more: false,
    lastSeq: 71,
  });
  assert.deepEqual(
    got.events.map((e) => e.type === "direct" ? e.seq : 0),
    Array.from({ length: RESET_PAGE + 1 }, (_, i) => 21 + i),
  );
});

Deno.test("ClientSession keeps a CONVERSATIONS list that comes before the handshake is done, and fetches after", () => {
  const s = newSession({ saved: saved({ lastSeq: { "@bob": 1 } }) });
  s.hello();
  const early = feed(s, welcome(), {
    type: "conversations",
    conversations: [{ peer: "bob", lastSeq: 3, ts: 1 }],
  });
  assert.deepEqual(early.send, []);
  const done = feed(s, { type: "members", room: "lobby", more: false, names: ["alice"] });
  assert.deepEqual(done.send, [{ type: "fetch", room: "@bob", after: 1, before: 0, limit: 500 }]);
});

Deno.test("ClientSession: a stored conversation's ACK names it, and is not waited on for an echo", () => {
  const s = newSession();
  connect(s);
  s.queue({ id: 9, room: "@bob", flags: 0, text: "hi" }, NOW);
  const acked = feed(s, { type: "ack", id: 9, room: "@bob", seq: 3, ts: 5 });
  assert.deepEqual(acked.events, [{ type: "ack", id: 9, room: "@bob", seq: 3, ts: 5 }]);
  assert.equal(s.settled, true, "a transient sender never gets the copy: nothing to wait for");
});

Deno.test(`ClientSession catches up ${CATCH_UP_AT_ONCE} conversations at a time, the next as each one is done`, () => {
  const peers = ["p1", "p2", "p3", "p4", "p5", "p6"];
  const s = newSession({ saved: saved({ lastSeq: Object.fromEntries(peers.map((p) => [`@${p}`, 1])) }) });
  s.hello();
  const first = feed(s, welcome(), { type: "members", room: "lobby", more: false, names: ["alice"] }, {
    type: "conversations",
    conversations: peers.map((peer) => ({ peer, lastSeq: 3, ts: 0 })),
  });
  const rooms = (step: Step) => step.send.flatMap((m) => m.type === "fetch" ? [m.room] : []);
  assert.deepEqual(rooms(first), ["@p1", "@p2", "@p3", "@p4"]);
  const more = feed(s, { type: "fetched", room: "@p2", count: 1, more: true, lastSeq: 3 });
  assert.deepEqual(rooms(more), ["@p2"], "a conversation with more pages goes on: no new one yet");
  const done = feed(s, msg("@p2", 2), msg("@p2", 3), {
    type: "fetched",
    room: "@p2",
    count: 2,
    more: false,
    lastSeq: 3,
  });
  assert.deepEqual(rooms(done), ["@p5"]);
  const last = feed(s, { type: "fetched", room: "@p1", count: 0, more: false, lastSeq: 1 });
  assert.deepEqual(rooms(last), ["@p6"]);
  // A new connection starts the catch-up afresh from its own list.
  s.lost();
  s.hello();
  const again = feed(s, welcome(), { type: "members", room: "lobby", more: false, names: ["alice"] }, {
    type: "conversations",
    conversations: [{ peer: "p1", lastSeq: 2, ts: 0 }],
  });
  assert.deepEqual(rooms(again).filter((r) => r.startsWith("@")), ["@p1"]);
});

Deno.test("ClientSession asks a page of older history asked during a join once the join's history is in, before it", () => {
  const s = newSession();
  connect(s);
  s.joining("ops");
  const asked = s.fetchOlder("ops", 0, 3)!;
  assert.deepEqual(asked.send, [], "nothing asked while the join is unanswered");
  const joined = feed(
    s,
    { type: "members", room: "ops", more: false, names: ["alice"] },
    history("ops", 7),
    history("ops", 8),
  );
  assert.deepEqual(seqs(joined), [7, 8], "the join's history goes through the sequencer");
  const done = feed(s, { type: "fetched", room: "ops", count: 2, more: false, lastSeq: 8 });
  assert.deepEqual(done.send, [{ type: "fetch", room: "ops", after: 0, before: 7, limit: 3 }]);
  const page = feed(s, history("ops", 4), history("ops", 5), history("ops", 6));
  assert.deepEqual(seqs(page), [4, 5, 6], "the page goes to the scrollback, each message once");
  assert.deepEqual(feed(s, { type: "fetched", room: "ops", count: 3, more: true, lastSeq: 8 }).send, []);
  assert.deepEqual(seqs(feed(s, msg("ops", 9))), [9], "live messages go on from the join's last");
  // Once the join is answered, a page is asked at once.
  assert.deepEqual(s.fetchOlder("ops", 4, 2)!.send, [{
    type: "fetch",
    room: "ops",
    after: 0,
    before: 4,
    limit: 2,
  }]);
});

Deno.test("ClientSession: a join's history that begins at seq 1 leaves no older page to ask for", () => {
  const s = newSession();
  connect(s);
  s.joining("ops");
  s.fetchOlder("ops", 0, 3);
  feed(s, { type: "members", room: "ops", more: false, names: ["alice"] }, history("ops", 1));
  assert.deepEqual(feed(s, { type: "fetched", room: "ops", count: 1, more: false, lastSeq: 1 }).send, []);
});
