// src/chat/rooms.ts: joining and leaving, member lists, presence, quiet rooms, the room table's limits.

import assert from "node:assert/strict";
import { AsyncBroker, labels } from "../_helpers/async_broker.ts";
import { type Any, codeIn, types } from "../_helpers/chat.ts";
import { connect, deliveries, type TestBroker, testBroker } from "../_helpers/effects.ts";
import { Prng } from "../_helpers/prng.ts";
import { ROOM_CREATION } from "../../src/chat/guard.ts";
import type { Session } from "../../src/chat/session.ts";
import { encodeMessage, ErrorCode } from "../../src/protocol/mod.ts";

// Quiet rooms: above `presenceLimit` members a room gets no presence and joiners get a count, not the list.

/** A broker with a presence limit of 4 (loud again at 2) and `n` users in "hall", named u1..un. */
function hall(n: number, overrides = {}): { b: TestBroker; users: Session[] } {
  const b = testBroker({ presenceLimit: 4, maxClients: 50, ...overrides });
  const users = [];
  for (let i = 1; i <= n; i++) users.push(connect(b, `u${i}`, ["hall"], i).session);
  return { b, users };
}

Deno.test("Broker.handle() announces a join to the other members only", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const { session: bob, effects } = connect(b, "bob");
  const d = deliveries(effects);
  assert.deepEqual(types(d.get(alice)), ["presence"]);
  assert.deepEqual(d.get(alice)![0], {
    type: "presence",
    room: "lobby",
    event: "join",
    name: "bob",
    reason: "",
    text: "",
    ts: 0,
  });
  assert.deepEqual(types(d.get(bob)), ["welcome", "members", "fetched"]);
});

Deno.test("Broker.handle() joins and leaves rooms with presence and member lists", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob", ["dev"]).session;
  const joined = deliveries(b.handle(alice, { type: "join", room: "Dev" }, 5));
  assert.deepEqual(joined.get(alice), [
    { type: "members", room: "dev", more: false, names: ["bob", "alice"] },
    { type: "fetched", room: "dev", count: 0, more: false, lastSeq: 0 },
  ]);
  assert.deepEqual(types(joined.get(bob)), ["presence"]);
  const left = deliveries(b.handle(alice, { type: "leave", room: "dev" }, 6));
  const leave = {
    type: "presence",
    room: "dev",
    event: "leave",
    name: "alice",
    reason: "left",
    text: "",
    ts: 6,
  };
  assert.deepEqual(left.get(alice), [leave]);
  assert.deepEqual(left.get(bob), [leave]);
  const notIn = deliveries(b.handle(alice, { type: "who", room: "dev" }, 7)).get(alice)!;
  assert.equal((notIn[0] as { code: string }).code, ErrorCode.NOT_IN_ROOM);
});

Deno.test("Broker.handle() limits rooms per client", () => {
  const b = testBroker({ maxRoomsPerClient: 2 });
  const alice = connect(b, "alice", ["a", "b"]).session;
  const got = deliveries(b.handle(alice, { type: "join", room: "c" }, 0)).get(alice)!;
  assert.equal((got[0] as { code: string }).code, ErrorCode.TOO_MANY_ROOMS);
  assert.equal(alice.rooms.size, 2);
});

Deno.test("Broker.handle() splits a large member list into MEMBERS frames that fit the frame limit", () => {
  const b = testBroker({ maxClients: 2000, maxFrame: 4096 });
  for (let i = 0; i < 1200; i++) connect(b, `user${String(i).padStart(4, "0")}`);
  const s = connect(b, "last").session;
  const frames = deliveries(b.handle(s, { type: "who", room: "lobby" }, 0)).get(s)! as Array<
    { more: boolean; names: string[] }
  >;
  assert.ok(frames.length > 1);
  assert.ok(frames.slice(0, -1).every((f) => f.more) && !frames.at(-1)!.more);
  assert.equal(frames.flatMap((f) => f.names).length, 1201);
  for (const f of frames) {
    assert.ok(encodeMessage({ type: "members", room: "lobby", ...f }).byteLength - 4 <= 4096);
  }
});

Deno.test("Broker makes a room quiet when a join takes it past the presence limit, telling the others once", () => {
  const { b, users } = hall(4);
  assert.equal(b.room("hall")!.quiet, false, "4 members is at the limit, still loud");
  const { session: u5, effects } = connect(b, "u5", ["hall"], 5);
  const d = deliveries(effects);
  for (const u of users) {
    assert.deepEqual(d.get(u), [{ type: "room", room: "hall", members: 5, quiet: true }], "no join event");
  }
  assert.deepEqual(types(d.get(u5)), ["welcome", "room", "fetched"], "a count instead of MEMBERS");
  assert.deepEqual(d.get(u5)![1], { type: "room", room: "hall", members: 5, quiet: true });
  assert.equal(b.room("hall")!.quiet, true);
});

Deno.test("Broker sends no presence to a quiet room, but confirms a user's own leave, nick and away", () => {
  const { b, users } = hall(6);
  const [u1, u2, u3] = users;
  const joined = deliveries(connect(b, "u7", ["hall"], 7).effects);
  assert.deepEqual(users.map((u) => joined.get(u)), users.map(() => undefined), "a join is not announced");

  const left = deliveries(b.handle(u1, { type: "leave", room: "hall" }, 8));
  assert.deepEqual([...left.keys()], [u1], "only the leaver hears of its leave");
  assert.deepEqual(left.get(u1), [{
    type: "presence",
    room: "hall",
    event: "leave",
    name: "u1",
    reason: "left",
    text: "",
    ts: 8,
  }]);

  const nick = deliveries(b.handle(u2, { type: "nick", name: "zed" }, 9));
  assert.deepEqual([...nick.keys()], [u2], "a nick change in quiet rooms only is confirmed to its user");
  assert.deepEqual((nick.get(u2)![0] as Any).room, "");
  assert.equal(u2.name, "zed");

  const away = deliveries(b.handle(u3, { type: "away", text: "lunch" }, 10));
  assert.deepEqual([...away.keys()], [u3]);
  assert.deepEqual(away.get(u3), [{
    type: "presence",
    room: "",
    event: "away",
    name: "u3",
    reason: "",
    text: "lunch",
    ts: 10,
  }]);

  const quit = deliveries(b.drop(users[3], "quit", 11));
  assert.deepEqual(types(quit.get(users[3])), ["close"], "a quit is not announced either");
  assert.equal(quit.size, 1);
});

Deno.test("Broker still delivers messages to everyone in a quiet room and answers WHO with the whole list", () => {
  const { b, users } = hall(6);
  const d = deliveries(b.handle(users[0], { type: "send", id: 1, room: "hall", flags: 0, text: "hi" }, 20));
  for (const u of users) assert.ok(types(d.get(u)).includes("message"), `${u.name} gets the message`);
  const who = deliveries(b.handle(users[5], { type: "who", room: "hall" }, 21)).get(users[5])!;
  assert.deepEqual(who, [{ type: "members", room: "hall", more: false, names: users.map((u) => u.name) }]);
});

Deno.test("Broker answers a JOIN of a quiet room with its size and no presence", () => {
  const { b, users } = hall(5);
  const newcomer = connect(b, "new", ["elsewhere"], 30).session;
  const d = deliveries(b.handle(newcomer, { type: "join", room: "hall" }, 31));
  assert.deepEqual(d.get(newcomer), [
    { type: "room", room: "hall", members: 6, quiet: true },
    { type: "fetched", room: "hall", count: 0, more: false, lastSeq: 0 },
  ]);
  for (const u of users) assert.equal(d.get(u), undefined);
  const again = deliveries(b.handle(newcomer, { type: "join", room: "hall" }, 32)).get(newcomer);
  assert.deepEqual(
    again,
    [
      { type: "room", room: "hall", members: 6, quiet: true },
      { type: "fetched", room: "hall", count: 0, more: false, lastSeq: 0 },
    ],
    "joining again: the count, and the FETCHED that ends every JOIN",
  );
});

Deno.test("Broker makes a quiet room loud again at half the limit, with a fresh list and who is away", () => {
  const { b, users } = hall(6);
  const [u1, u2, u3, u4, u5, u6] = users;
  b.handle(u2, { type: "away", text: "brb" }, 40);
  assert.equal(deliveries(b.drop(u6, "quit", 41)).size, 1, "5 members: still quiet");
  assert.equal(deliveries(b.drop(u5, "quit", 42)).size, 1, "4: at the limit, still quiet (no flapping)");
  assert.equal(deliveries(b.handle(u4, { type: "leave", room: "hall" }, 43)).size, 1, "3: still quiet");
  assert.equal(b.room("hall")!.quiet, true);
  const d = deliveries(b.drop(u3, "disconnected", 44));
  assert.equal(b.room("hall")!.quiet, false, "2 members, half the limit: loud");
  const list = { type: "members", room: "hall", more: false, names: ["u1", "u2"] };
  const loud = { type: "room", room: "hall", members: 2, quiet: false };
  const away = { type: "presence", room: "hall", event: "away", name: "u2", reason: "", text: "brb", ts: 0 };
  assert.deepEqual(d.get(u1), [loud, list, away]);
  assert.deepEqual(d.get(u2), [loud, list], "not told about itself");
  const joined = deliveries(connect(b, "u9", ["hall"], 45).effects);
  assert.deepEqual(types(joined.get(u1)), ["presence"], "joins are announced again");
});

Deno.test("Broker counts users in their grace period towards a room's size", () => {
  const { b, users } = hall(5, { graceMs: 1000 });
  // 5 members: quiet. Three drop uncleanly: their seats are held, so the room stays quiet...
  for (const u of users.slice(2)) b.drop(u, "disconnected", 50);
  assert.equal(b.room("hall")!.size, 5);
  assert.equal(b.room("hall")!.quiet, true);
  // ...until the grace period ends and their leaves (unannounced) take it to 2.
  const d = deliveries(b.tick(2000));
  assert.equal(b.room("hall")!.quiet, false);
  assert.deepEqual(types(d.get(users[0])).filter((t) => t !== "ping"), ["room", "members"]);
});

Deno.test("Broker with presenceLimit 0 never makes a room quiet", () => {
  const { b, users } = hall(30, { presenceLimit: 0 });
  assert.equal(b.room("hall")!.quiet, false);
  const d = deliveries(connect(b, "late", ["hall"], 60).effects);
  assert.deepEqual(types(d.get(users[0])), ["presence"]);
});

Deno.test("a room's member set changes version on every change of membership, and only then", () => {
  const { b, users } = hall(2);
  const members = b.room("hall")!.members;
  const v0 = members.version;
  members.add(users[0]);
  assert.equal(members.version, v0, "adding a member again changes nothing");
  b.handle(users[0], { type: "send", id: 1, room: "hall", flags: 0, text: "hi" }, 5);
  assert.equal(members.version, v0, "messages do not touch membership");
  b.handle(users[0], { type: "leave", room: "hall" }, 6);
  assert.equal(members.version, v0 + 1);
  members.delete(users[0]);
  assert.equal(members.version, v0 + 1, "deleting a non-member changes nothing");
  connect(b, "u3", ["hall"], 7);
  assert.equal(members.version, v0 + 2);
});

Deno.test("Broker forgets a room once nobody is in it, and its messages number on when it is opened again", () => {
  const b = testBroker({ historyLimit: 5 });
  const alice = connect(b, "alice", ["tmp"]).session;
  b.handle(alice, { type: "send", id: 1, room: "tmp", flags: 0, text: "one" }, 1);
  assert.ok(b.room("tmp"));
  b.handle(alice, { type: "leave", room: "tmp" }, 2);
  assert.equal(b.room("tmp"), undefined, "forgotten");
  const back = deliveries(b.handle(alice, { type: "join", room: "tmp" }, 3)).get(alice)! as Any[];
  assert.deepEqual(back.filter((m) => m.type === "message").map((m) => [m.seq, m.text]), [[1, "one"]]);
  const ack = deliveries(b.handle(alice, { type: "send", id: 2, room: "tmp", flags: 0, text: "two" }, 4)).get(
    alice,
  )!;
  assert.equal((ack[0] as Any).seq, 2, "the log numbers on");
});

Deno.test("Broker: a JOIN and LEAVE flood neither fills the room table nor stops others creating rooms", () => {
  const b = testBroker({ maxRooms: 20, maxClients: 20 });
  const flooder = connect(b, "flooder").session;
  let refused = 0;
  for (let i = 0; i < 200; i++) {
    const joined = deliveries(b.handle(flooder, { type: "join", room: `r${i}` }, 1000 + i)).get(flooder)!;
    if (codeIn(joined) === ErrorCode.RATE_LIMITED) refused++;
    b.handle(flooder, { type: "leave", room: `r${i}` }, 1000 + i);
  }
  assert.equal(refused, 200 - ROOM_CREATION.burst, "creation is rate-limited past the burst");
  assert.equal(b.room("r0"), undefined);
  assert.equal(b.broker.rooms, 1, "only lobby is held");
  const other = connect(b, "other", [], 2000).session;

  const made = deliveries(b.handle(other, { type: "join", room: "mine" }, 2001)).get(other)!;
  assert.deepEqual(types(made), ["members", "fetched"], "someone else can still create a room");
});

Deno.test("Broker limits room creation per address across its clients", () => {
  const b = testBroker({ maxClients: 20, maxRoomsPerClient: 32, maxRooms: 1000 });
  let created = 0;
  for (let c = 0; c < 8; c++) {
    const s = b.open("10.9.9.9:" + (5000 + c), 0);
    b.handle(s, { type: "hello", version: 1, name: `u${c}`, rooms: [] }, 0);
    for (let i = 0; i < 20; i++) {
      const got = deliveries(b.handle(s, { type: "join", room: `c${c}r${i}` }, 0)).get(s)!;
      if (codeIn(got) === undefined) created++;
    }
  }
  assert.equal(created, 64, "the address's burst, whatever the number of its clients");
});

// With a log that answers later: a JOIN is checked again when its read comes back.

Deno.test("Broker refuses a JOIN with TOO_MANY_ROOMS when the room table filled while its read was out", async () => {
  const ab = new AsyncBroker({ maxRooms: 2 });
  const alice = await ab.ready("alice");
  const bob = await ab.ready("bob");
  ab.take(alice); // bob's join
  ab.handle(alice, { type: "join", room: "a" });
  ab.handle(bob, { type: "join", room: "b" }); // one room left when it arrives: accepted, read asked
  assert.deepEqual(ab.take(bob), []);
  await ab.log.release();
  assert.deepEqual(labels(ab.take(alice)), ["members", "fetched"]);
  await ab.log.release();
  const got = ab.take(bob) as Array<{ type: string; code?: string; fatal?: boolean }>;
  assert.deepEqual(got.map((m) => [m.code, m.fatal]), [[ErrorCode.TOO_MANY_ROOMS, false]]);
  assert.equal(ab.broker.room("b"), undefined, "the room is not created past the limit");
  assert.deepEqual([...bob.rooms].map((r) => r.name), ["lobby"]);
  assert.equal(bob.state, "ready");
});

Deno.test("Broker refuses a JOIN with TOO_MANY_ROOMS when the client reached its limit while the read was out", async () => {
  // The connection pipeline holds a session's input while its read is out; the broker does not count on it.
  const ab = new AsyncBroker({ maxRoomsPerClient: 2 });
  const alice = await ab.ready("alice");
  ab.handle(alice, { type: "join", room: "a" });
  ab.handle(alice, { type: "join", room: "b" });
  await ab.log.release();
  await ab.log.release();
  assert.deepEqual(labels(ab.take(alice)), ["members", "fetched", ErrorCode.TOO_MANY_ROOMS]);
  assert.deepEqual([...alice.rooms].map((r) => r.name), ["lobby", "a"]);
  assert.equal(ab.broker.room("b"), undefined);
});

Deno.test("Broker seats a session once when two JOINs of one room are out together", async () => {
  const ab = new AsyncBroker();
  const alice = await ab.ready("alice");
  const bob = await ab.ready("bob", ["dev"]);
  ab.handle(bob, { type: "send", id: 1, room: "dev", flags: 0, text: "before" });
  await ab.log.release();
  ab.take(bob);
  ab.handle(alice, { type: "join", room: "dev" });
  ab.handle(alice, { type: "join", room: "dev" });
  await ab.log.release();
  await ab.log.release();
  assert.deepEqual(
    labels(ab.take(alice)),
    ["members", "h1", "fetched", "members", "fetched"],
    "the second: the list again and the FETCHED that ends every JOIN, not the history again",
  );
  assert.deepEqual(labels(ab.take(bob)), ["presence"], "one join announced");
  assert.equal(ab.broker.room("dev")!.members.size, 2);
});

Deno.test("Broker sends nothing and seats nobody when a joiner left before its read came back", async () => {
  const ab = new AsyncBroker({ graceMs: 1000 });
  const bob = await ab.ready("bob", ["dev"]);
  for (const reason of ["quit", "disconnected"] as const) {
    const alice = await ab.ready(`alice${reason}`);
    ab.handle(alice, { type: "join", room: "dev" });
    ab.drop(alice, reason);
    assert.deepEqual(labels(ab.take(alice)), [`close:${reason}`]);
    ab.take(bob);
    await ab.log.release();
    assert.deepEqual(ab.take(alice), [], reason);
    assert.deepEqual(ab.take(bob), [], `${reason}: no join announced`);
    const dev = ab.broker.room("dev")!;
    assert.deepEqual([dev.members.has(alice), dev.ghosts.has(alice)], [false, false], reason);
  }
});

Deno.test("Broker answers a JOIN of a room the session is in with the list and a FETCHED without history again", () => {
  const b = testBroker({ historyLimit: 10 });
  const alice = connect(b, "alice", ["dev"]).session;
  const bob = connect(b, "bob", ["dev"]).session;
  b.handle(bob, { type: "send", id: 1, room: "dev", flags: 0, text: "seen already" }, 0);
  const asked = b.broker.handle(alice, { type: "join", room: "DEV" }, 0);
  assert.deepEqual(
    asked.map((e) => e.kind === "read" && e.reads.map((r) => [r.room, r.query.limit])),
    [[["dev", 0]]],
    "a read of no message: where the room stands",
  );
  const again = b.settle(asked, 0);
  assert.deepEqual(deliveries(again).get(alice), [
    { type: "members", room: "dev", more: false, names: ["alice", "bob"] },
    { type: "fetched", room: "dev", count: 0, more: false, lastSeq: 1 },
  ]);
  assert.equal(deliveries(again).get(bob), undefined, "no second join announced");
});

Deno.test("Broker refuses a bad room, and a LEAVE of a room the session is not in, without closing", () => {
  const b = testBroker();
  const alice = connect(b, "alice", ["dev"]).session;
  const refused = (msg: Parameters<typeof b.handle>[1]) =>
    (deliveries(b.handle(alice, msg, 0)).get(alice)! as Any[]).map((m) => [m.code, m.fatal]);
  assert.deepEqual(refused({ type: "join", room: "no spaces" }), [[ErrorCode.INVALID_ROOM, false]]);
  assert.deepEqual(refused({ type: "leave", room: "lobby" }), [[ErrorCode.NOT_IN_ROOM, false]]);
  assert.deepEqual(refused({ type: "leave", room: "bad room" }), [[ErrorCode.INVALID_ROOM, false]]);
  assert.equal(alice.rooms.size, 1);
  assert.equal(alice.state, "ready");
});

Deno.test("Broker keeps an away message to 200 characters and announces a change only", () => {
  const b = testBroker();
  const alice = connect(b, "alice").session;
  const bob = connect(b, "bob").session;
  const long = "é".repeat(250);
  const set = deliveries(b.handle(alice, { type: "away", text: long }, 1)).get(bob)! as Any[];
  assert.equal(set[0].text, "é".repeat(200));
  assert.deepEqual(b.handle(alice, { type: "away", text: long }, 2), [], "the same text again: nothing");
  const back = deliveries(b.handle(alice, { type: "away", text: "" }, 3)).get(bob)! as Any[];
  assert.deepEqual([back[0].event, back[0].text], ["away", ""]);
});

Deno.test("member lists and away statuses stay true through random joins, leaves, renames, away changes, ghosts and their expiry (kept lists included)", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const prng = new Prng(seed);
    const rnd = () => prng.next();
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
    const b = testBroker({ graceMs: 50, maxClients: 40, maxRoomsPerClient: 3, presenceLimit: 0 });
    let now = 0;
    let n = 0;
    const live: Session[] = [];
    for (let step = 0; step < 120; step++) {
      now += 10;
      const r = rnd();
      const s = live.length > 0 ? pick(live) : null;
      if (s === null || r < 0.3) {
        if (live.length < 30) live.push(connect(b, `u${++n}`, [pick(["dev", "ops"])], now).session);
      } else if (r < 0.45) b.handle(s, { type: "join", room: pick(["dev", "ops", "web"]) }, now);
      else if (r < 0.55) b.handle(s, { type: "leave", room: pick(["dev", "ops", "web"]) }, now);
      else if (r < 0.6) b.handle(s, { type: "nick", name: `n${++n}` }, now);
      else if (r < 0.65) b.handle(s, { type: "away", text: rnd() < 0.5 ? "" : `out ${step}` }, now);
      else if (r < 0.75) {
        b.drop(s, "disconnected", now);
        live.splice(live.indexOf(s), 1);
      } else if (r < 0.85) b.tick(now);
      // What MEMBERS says, asked by a member of each room, against the room's own sets read afresh.
      for (const name of ["dev", "ops", "web"]) {
        const room = b.room(name);
        const asker = live.find((u) => room?.members.has(u));
        if (!room || !asker) continue;
        const expected = [...room.members].filter((m) => !m.transient).map((m) => m.name)
          .concat([...room.ghosts].map((m) => m.name));
        const away = [...room.members].filter((m) => !m.transient && m !== asker && m.away !== "")
          .map((m) => `${m.name}: ${m.away}`);
        const answer = deliveries(b.handle(asker, { type: "who", room: name }, now)).get(asker)!;
        const listed = answer.flatMap((m) => m.type === "members" ? m.names : []);
        assert.deepEqual(listed, expected, `seed ${seed}, step ${step}, room ${name}`);
        const told = answer.flatMap((m) =>
          m.type === "presence" && m.event === "away" ? [`${m.name}: ${m.text}`] : []
        );
        assert.deepEqual(told, away, `seed ${seed}, step ${step}, room ${name}: who is away`);
      }
    }
  }
});
