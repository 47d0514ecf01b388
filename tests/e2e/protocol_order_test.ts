/**
 * The frame order docs/PROTOCOL.md states, pinned against a real server over
 * a bare socket: the handshake (WELCOME, then per room MEMBERS, away
 * PRESENCE, history, FETCHED; then the motd NOTICE), JOIN (a new room and one
 * already joined), SEND (ACK before MESSAGE), PRIVATE, frames pipelined
 * behind a HELLO, a joiner's history against live messages, and the
 * optional features (TOPIC_IS in a join's answer, topic changes, LIST, WHO
 * for a room the client is not in, stored direct messages) for clients that
 * list them and not for those that do not.
 *
 * Each step ends with a PING whose PONG must come right after the frames the
 * step expects: the server handles a connection's frames in order and queues
 * every answer in order, so anything extra, missing or reordered shows up as
 * a difference in the list. The servers run with a long --timeout so that no
 * heartbeat PING of theirs falls inside a step.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ClientMessage,
  encodeMessage,
  FEATURES,
  type Message,
  MessageFlags,
  PROTOCOL_VERSION,
} from "../../src/protocol/mod.ts";
import { waitFor } from "../_helpers/deadline.ts";
import { runChat, startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** No server PING during a test: the heartbeat is a third of this. */
const QUIET = ["--timeout", "60000"];

/** One line per frame: what the order assertions compare. Times are left out, except "ts=0" of away statuses. */
function show(m: Message): string {
  switch (m.type) {
    case "welcome":
      return `WELCOME ${m.name} [${m.rooms.join(",")}]`;
    case "members":
      return `MEMBERS ${m.room}${m.more ? " more" : ""}${m.listing ? " LISTING" : ""} [${m.names.join(",")}]`;
    case "room":
      return `ROOM ${m.room} ${m.members}${m.quiet ? " quiet" : ""}${m.listing ? " LISTING" : ""}`;
    case "topicIs":
      return `TOPIC_IS ${m.room} "${m.text}"${m.by ? ` by ${m.by}` : ""}${m.ts === 0 ? " ts=0" : ""}`;
    case "rooms":
      return `ROOMS${m.more ? " more" : ""} [${
        m.rooms.map((r) =>
          `${r.room} ${r.members}${r.quiet ? " quiet" : ""}${r.topic ? ` "${r.topic}"` : ""}`
        )
          .join(", ")
      }]`;
    case "presence":
      return `PRESENCE #${m.room} ${m.event} ${m.name}${m.reason ? ` (${m.reason})` : ""}${
        m.text ? ` "${m.text}"` : ""
      }${m.ts === 0 ? " ts=0" : ""}`;
    case "message":
      return `MESSAGE ${m.room} ${m.seq}${m.flags & MessageFlags.HISTORY ? " HISTORY" : ""} <${m.from}> ${
        brief(m.text)
      }`;
    case "fetched":
      return `FETCHED ${m.room} count=${m.count}${m.more ? " more" : ""} last=${m.lastSeq}`;
    case "ack":
      return `ACK ${m.id} ${m.room === "" ? '""' : m.room} ${m.seq}`;
    case "direct":
      return `DIRECT ${m.from}->${m.to} ${m.text}`;
    case "notice":
      return `NOTICE ${m.kind} ${m.text}`;
    case "conversations":
      return `CONVERSATIONS [${m.conversations.map((c) => `${c.peer} ${c.lastSeq}`).join(", ")}]`;
    case "error":
      return `ERROR ${m.fatal ? "fatal " : ""}${m.code} ref=${m.ref}`;
    case "ping":
    case "pong":
      return `${m.type.toUpperCase()} ${m.token}`;
    default:
      return m.type.toUpperCase();
  }
}

/** A long text as its length, so a failing comparison stays readable. */
function brief(text: string): string {
  return text.length > 60 ? `(${text.length} characters)` : text;
}

let nextToken = 1000;

/**
 * Writes `sent` in one write and returns, as lines, every frame that came
 * back for them. Without `until`, a PING goes in the same write and the
 * step ends at its PONG: the server answers a connection's frames in order,
 * and frames that read the store (HELLO, JOIN) hold the ones after them. A
 * SEND's ACK and MESSAGE come when the store has answered, possibly after
 * the answer to a later frame: for those, the step waits for the frame
 * `until` matches, then for a PING round trip, so that anything else already
 * queued shows too.
 */
async function step(
  client: RawClient,
  sent: ClientMessage[],
  until?: (m: Message) => boolean,
): Promise<string[]> {
  const from = client.messages.length;
  if (until === undefined) {
    const token = nextToken++;
    await client.write(await wire([...sent, { type: "ping", token }]));
    await client.next("pong", (p) => p.token === token);
    const end = client.messages.findIndex((m, i) => i >= from && m.type === "pong" && m.token === token);
    return client.messages.slice(from, end).map(show);
  }
  await client.write(await wire(sent));
  await waitFor(client, () => client.messages.slice(from).some(until) || undefined, "the step's last frame");
  const end = await mark(client);
  return client.messages.slice(from, end).filter((m) => m.type !== "pong").map(show);
}

/** The frame `m` is the MESSAGE with `seq` in `room`. */
const message = (room: string, seq: number) => (m: Message) =>
  m.type === "message" && m.room === room && m.seq === seq;

/** The frames of `msgs`, back to back: one write, so the server reads them together. */
async function wire(msgs: ClientMessage[]): Promise<Uint8Array> {
  return new Uint8Array(await new Blob(msgs.map(encodeMessage) as Uint8Array<ArrayBuffer>[]).arrayBuffer());
}

function hello(name: string, rooms: string[], password?: string, features?: string[]): ClientMessage {
  return {
    type: "hello",
    version: PROTOCOL_VERSION,
    name,
    rooms,
    ...(password === undefined ? {} : { password }),
    ...(features === undefined ? {} : { features }),
  };
}

/** A HELLO listing every optional feature, as chat join sends it. */
const helloWithFeatures = (name: string, rooms: string[]) => hello(name, rooms, undefined, [...FEATURES]);

function send(id: number, room: string, text: string): ClientMessage {
  return { type: "send", id, room, flags: 0, text };
}

/** Where `client`'s frames stand once everything the server had queued for it has arrived. */
async function mark(client: RawClient): Promise<number> {
  const token = nextToken++;
  await client.send({ type: "ping", token });
  await client.next("pong", (p) => p.token === token);
  return client.messages.length;
}

/** What `client` received after its frame `from`, as lines (for the other side of a step). */
async function seenBy(client: RawClient, from: number): Promise<string[]> {
  // A PING round trip of its own: everything the server queued for it before now has arrived.
  const token = nextToken++;
  await client.send({ type: "ping", token });
  await client.next("pong", (p) => p.token === token);
  return client.messages.slice(from).filter((m) => m.type !== "pong").map(show);
}

Deno.test("the server's frame order: handshake with history and motd, JOIN, SEND, PRIVATE, as docs/PROTOCOL.md states", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-order-" });
  try {
    await Deno.writeTextFile(`${dir}/motd`, "be kind\n");
    await using server = await startServer([
      "--ephemeral",
      "--history",
      "3",
      "--motd",
      `${dir}/motd`,
      ...QUIET,
    ]);
    await using carol = await RawClient.connect(server.port, "carol");
    await using bob = await RawClient.connect(server.port, "bob");
    await using alice = await RawClient.connect(server.port, "alice");

    // carol is in lobby and dev, and away; bob says five things in lobby.
    assert.deepEqual(
      await step(carol, [hello("carol", ["lobby", "dev"]), { type: "away", text: "in a meeting" }]),
      [
        "WELCOME carol [lobby,dev]",
        "MEMBERS lobby [carol]",
        "FETCHED lobby count=0 last=0",
        "MEMBERS dev [carol]",
        "FETCHED dev count=0 last=0",
        "NOTICE motd be kind",
        // AWAY goes to each room of the user, the user included: one per room.
        'PRESENCE #lobby away carol "in a meeting"',
        'PRESENCE #dev away carol "in a meeting"',
      ],
    );
    const bobSaid = [1, 2, 3, 4, 5].map((i) => send(i, "lobby", `m${i}`));
    const bobSees = await step(bob, [hello("bob", ["lobby"]), ...bobSaid], message("lobby", 5));
    assert.deepEqual(bobSees.slice(0, 5), [
      "WELCOME bob [lobby]",
      "MEMBERS lobby [carol,bob]",
      'PRESENCE #lobby away carol "in a meeting" ts=0',
      "FETCHED lobby count=0 last=0",
      "NOTICE motd be kind",
    ]);
    // SEND: the ACK first, then the sender's own copy.
    assert.deepEqual(
      bobSees.slice(5),
      [1, 2, 3, 4, 5].flatMap((i) => [`ACK ${i} lobby ${i}`, `MESSAGE lobby ${i} <bob> m${i}`]),
    );

    // The handshake: WELCOME, then each room in order: MEMBERS, the away members (ts 0), the last
    // --history messages flagged HISTORY, FETCHED; after every room, the motd.
    const carolFrom = await mark(carol);
    const bobFrom = await mark(bob);
    assert.deepEqual(await step(alice, [hello("alice", ["Lobby", "dev"])]), [
      "WELCOME alice [lobby,dev]",
      "MEMBERS lobby [carol,bob,alice]",
      'PRESENCE #lobby away carol "in a meeting" ts=0',
      "MESSAGE lobby 3 HISTORY <bob> m3",
      "MESSAGE lobby 4 HISTORY <bob> m4",
      "MESSAGE lobby 5 HISTORY <bob> m5",
      "FETCHED lobby count=3 last=5",
      "MEMBERS dev [carol,alice]",
      'PRESENCE #dev away carol "in a meeting" ts=0',
      "FETCHED dev count=0 last=0",
      "NOTICE motd be kind",
    ]);
    // The others hear of the join, room by room.
    assert.deepEqual(await seenBy(carol, carolFrom), [
      "PRESENCE #lobby join alice",
      "PRESENCE #dev join alice",
    ]);
    assert.deepEqual(await seenBy(bob, bobFrom), ["PRESENCE #lobby join alice"]);

    // JOIN of a new room: MEMBERS, history, FETCHED, as in the handshake (no motd).
    assert.deepEqual(
      await step(
        bob,
        [{ type: "join", room: "ops" }, send(6, "ops", "o1"), send(7, "ops", "o2")],
        message("ops", 2),
      ),
      [
        "MEMBERS ops [bob]",
        "FETCHED ops count=0 last=0",
        "ACK 6 ops 1",
        "MESSAGE ops 1 <bob> o1",
        "ACK 7 ops 2",
        "MESSAGE ops 2 <bob> o2",
      ],
    );
    const bobBeforeJoin = await mark(bob);
    assert.deepEqual(await step(alice, [{ type: "join", room: "OPS" }]), [
      "MEMBERS ops [bob,alice]",
      "MESSAGE ops 1 HISTORY <bob> o1",
      "MESSAGE ops 2 HISTORY <bob> o2",
      "FETCHED ops count=2 last=2",
    ]);
    assert.deepEqual(await seenBy(bob, bobBeforeJoin), ["PRESENCE #ops join alice"]);

    // JOIN of a room already joined: the member list (and away statuses) again, no history, and a FETCHED
    // with count 0: every JOIN ends with one FETCHED, the "join finished" signal.
    assert.deepEqual(await step(alice, [{ type: "join", room: "ops" }]), [
      "MEMBERS ops [bob,alice]",
      "FETCHED ops count=0 last=2",
    ]);
    assert.deepEqual(await step(alice, [{ type: "join", room: "lobby" }]), [
      "MEMBERS lobby [carol,bob,alice]",
      'PRESENCE #lobby away carol "in a meeting" ts=0',
      "FETCHED lobby count=0 last=5",
    ]);

    // SEND: ACK before MESSAGE for the sender; the others get the MESSAGE only. A resend gets the same ACK, alone.
    const carolBeforeSend = await mark(carol);
    assert.deepEqual(await step(alice, [send(70, "lobby", "hello")], message("lobby", 6)), [
      "ACK 70 lobby 6",
      "MESSAGE lobby 6 <alice> hello",
    ]);
    assert.deepEqual(
      await step(alice, [send(70, "lobby", "hello")], (m) => m.type === "ack" && m.id === 70),
      [
        "ACK 70 lobby 6",
      ],
    );
    assert.deepEqual(await seenBy(carol, carolBeforeSend), ["MESSAGE lobby 6 <alice> hello"]);

    // PRIVATE: the DIRECT copy first, then the recipient's away status, then the ACK (room "", seq 0).
    const carolBeforeDm = await mark(carol);
    assert.deepEqual(
      await step(alice, [{ type: "private", id: 71, to: "CAROL", flags: 0, text: "psst" }]),
      ["DIRECT alice->carol psst", 'PRESENCE # away carol "in a meeting"', 'ACK 71 "" 0'],
    );
    assert.deepEqual(await seenBy(carol, carolBeforeDm), ["DIRECT alice->carol psst"]);
    // Errors answering a SEND or a PRIVATE carry its id in ref.
    assert.deepEqual(await step(alice, [{ type: "private", id: 72, to: "nobody", flags: 0, text: "hi" }]), [
      "ERROR NO_SUCH_USER ref=72",
    ]);
    assert.deepEqual(await step(alice, [send(73, "nowhere", "hi")]), ["ERROR NOT_IN_ROOM ref=73"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("frames sent behind a HELLO, before its WELCOME arrives, are handled after it, in order", async () => {
  await using server = await startServer(["--ephemeral", ...QUIET]);
  await using dave = await RawClient.connect(server.port, "dave");
  assert.deepEqual(
    await step(dave, [hello("dave", ["lobby"]), send(1, "lobby", "early"), { type: "join", room: "dev" }]),
    [
      "WELCOME dave [lobby]",
      "MEMBERS lobby [dave]",
      "FETCHED lobby count=0 last=0",
      "ACK 1 lobby 1",
      "MESSAGE lobby 1 <dave> early",
      "MEMBERS dev [dave]",
      "FETCHED dev count=0 last=0",
    ],
  );

  // A refused HELLO: its fatal ERROR, then the close; what followed it is never handled.
  await using bad = await RawClient.connect(server.port, "bad");
  await bad.write(await wire([hello("no spaces", []), send(1, "lobby", "never")]));
  await bad.closed();
  assert.deepEqual(bad.messages.map(show), ["ERROR fatal INVALID_NAME ref=0"]);

  // A first frame that is not a HELLO: one line of text, no frame, and the close.
  await using early = await RawClient.connect(server.port, "early");
  await early.write(encodeMessage(send(1, "lobby", "before hello")));
  await early.closed();
  assert.deepEqual(early.messages, []);
  assert.match(early.text(), /^This port speaks the chat binary protocol v1, not HTTP or text; .*\r\n$/);
});

Deno.test("frames behind a HELLO wait for its password check, then are handled in order", async () => {
  await using server = await startServer(["--ephemeral", ...QUIET], { env: { CHAT_PASSWORD: "letmein!" } });
  await using erin = await RawClient.connect(server.port, "erin");
  assert.deepEqual(
    await step(
      erin,
      [hello("erin", ["lobby"], "letmein!"), send(1, "lobby", "checked")],
      message("lobby", 1),
    ),
    [
      "WELCOME erin [lobby]",
      "MEMBERS lobby [erin]",
      "FETCHED lobby count=0 last=0",
      "ACK 1 lobby 1",
      "MESSAGE lobby 1 <erin> checked",
    ],
  );
});

Deno.test("a joiner gets the history up to FETCHED's lastSeq, then every later message live, once each, in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-order-" });
  try {
    // The on-disk store: messages wait for their commit, which a HELLO or JOIN forces first.
    await using server = await startServer(["--data-dir", dir, ...QUIET]);
    await using bob = await RawClient.connect(server.port, "bob");
    await using alice = await RawClient.connect(server.port, "alice");
    await step(bob, [hello("bob", ["lobby"])]);
    const total = 300;
    // bob's messages stream in, ten a write, and alice's HELLO goes out in the middle of them: where the join
    // falls among them is up to the machine, and whatever it is, the order below must hold.
    for (let chunk = 0; chunk < total / 10; chunk++) {
      if (chunk === total / 20) await alice.send(hello("alice", ["lobby"]));
      const ids = Array.from({ length: 10 }, (_, i) => chunk * 10 + i + 1);
      await bob.write(await wire(ids.map((id) => send(id, "lobby", `n${id}`))));
    }
    await alice.next("message", (m) => m.seq === total);
    const frames = alice.messages.filter((m) => m.type === "message" || m.type === "fetched");
    const at = frames.findIndex((m) => m.type === "fetched");
    const fetched = frames[at];
    assert.ok(fetched?.type === "fetched", frames.map(show).join("\n"));
    const last = fetched.lastSeq;
    const before = frames.slice(0, at).map((m) =>
      m.type === "message" ? [m.seq, m.flags & MessageFlags.HISTORY] : []
    );
    const after = frames.slice(at + 1).map((m) =>
      m.type === "message" ? [m.seq, m.flags & MessageFlags.HISTORY] : []
    );
    const history = Math.min(50, last);
    assert.equal(fetched.count, history);
    assert.deepEqual(
      before,
      Array.from({ length: history }, (_, i) => [last - history + 1 + i, MessageFlags.HISTORY]),
    );
    assert.deepEqual(after, Array.from({ length: total - last }, (_, i) => [last + 1 + i, 0]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history keeps the size a message was accepted with: a frame larger than the maxFrame WELCOME announces", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-order-" });
  try {
    const text = "x".repeat(50_000);
    {
      await using server = await startServer([
        "--data-dir",
        dir,
        "--max-frame",
        "65536",
        "--max-text",
        "60000",
      ]);
      await using bob = await RawClient.connect(server.port, "bob");
      await step(bob, [hello("bob", ["lobby"])]);
      assert.deepEqual(await step(bob, [send(1, "lobby", text)], message("lobby", 1)), [
        "ACK 1 lobby 1",
        "MESSAGE lobby 1 <bob> (50000 characters)",
      ]);
    }
    await using server = await startServer(["--data-dir", dir, "--max-frame", "4096", "--max-text", "3000"]);
    await using alice = await RawClient.connect(server.port, "alice");
    await step(alice, [hello("alice", ["lobby"])]);
    const welcome = alice.messages.find((m) => m.type === "welcome");
    assert.equal(welcome?.type === "welcome" && welcome.maxFrame, 4096);
    const history = alice.messages.find((m) => m.type === "message");
    assert.ok(history?.type === "message" && history.text === text, alice.describe());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the optional features, in the order docs/PROTOCOL.md states, and only for clients that list them", async () => {
  await using server = await startServer(["--ephemeral", "--history", "2", ...QUIET]);
  await using carol = await RawClient.connect(server.port, "carol");
  await using bob = await RawClient.connect(server.port, "bob");
  await using alice = await RawClient.connect(server.port, "alice");

  // WELCOME lists the server's features; carol lists them all, is away, and sets lobby's topic.
  await step(carol, [helloWithFeatures("carol", ["lobby", "dev"]), { type: "away", text: "in a meeting" }]);
  const welcome = carol.messages.find((m) => m.type === "welcome");
  assert.deepEqual(welcome?.type === "welcome" && welcome.features, ["list", "topic", "who-any", "dms"]);
  const topic = (room: string, text: string): ClientMessage => ({ type: "topic", room, set: true, text });
  assert.deepEqual(await step(carol, [topic("lobby", "be kind")]), ['TOPIC_IS lobby "be kind" by carol']);

  // bob lists no feature: his join's answer is the one clients always had, without TOPIC_IS.
  assert.deepEqual(
    await step(
      bob,
      [hello("bob", ["lobby"]), send(1, "lobby", "m1"), send(2, "lobby", "m2")],
      message("lobby", 2),
    ),
    [
      "WELCOME bob [lobby]",
      "MEMBERS lobby [carol,bob]",
      'PRESENCE #lobby away carol "in a meeting" ts=0',
      "FETCHED lobby count=0 last=0",
      "ACK 1 lobby 1",
      "MESSAGE lobby 1 <bob> m1",
      "ACK 2 lobby 2",
      "MESSAGE lobby 2 <bob> m2",
    ],
  );

  // alice lists them: each room's TOPIC_IS comes after its away statuses and before its history, an empty one
  // for a room without a topic.
  assert.deepEqual(await step(alice, [helloWithFeatures("alice", ["lobby", "dev"])]), [
    "WELCOME alice [lobby,dev]",
    "MEMBERS lobby [carol,bob,alice]",
    'PRESENCE #lobby away carol "in a meeting" ts=0',
    'TOPIC_IS lobby "be kind" by carol',
    "MESSAGE lobby 1 HISTORY <bob> m1",
    "MESSAGE lobby 2 HISTORY <bob> m2",
    "FETCHED lobby count=2 last=2",
    "MEMBERS dev [carol,alice]",
    'PRESENCE #dev away carol "in a meeting" ts=0',
    'TOPIC_IS dev "" ts=0',
    "FETCHED dev count=0 last=0",
  ]);
  // JOIN of a room already joined: the same, without history.
  assert.deepEqual(await step(alice, [{ type: "join", room: "dev" }]), [
    "MEMBERS dev [carol,alice]",
    'PRESENCE #dev away carol "in a meeting" ts=0',
    'TOPIC_IS dev "" ts=0',
    "FETCHED dev count=0 last=0",
  ]);

  // A change reaches the members that list topic (carol, alice), and not bob.
  const carolFrom = await mark(carol);
  const bobFrom = await mark(bob);
  assert.deepEqual(await step(alice, [topic("lobby", "be kinder")]), ['TOPIC_IS lobby "be kinder" by alice']);
  assert.deepEqual(await seenBy(carol, carolFrom), ['TOPIC_IS lobby "be kinder" by alice']);
  assert.deepEqual(await seenBy(bob, bobFrom), []);
  // Asked, anyone gets the answer; a room one is not in cannot have its topic set.
  assert.deepEqual(await step(bob, [{ type: "topic", room: "lobby", set: false, text: "" }]), [
    'TOPIC_IS lobby "be kinder" by alice',
  ]);
  assert.deepEqual(await step(bob, [topic("dev", "mine")]), ["ERROR NOT_IN_ROOM ref=0"]);

  // LIST: one ROOMS page, in name order.
  assert.deepEqual(await step(alice, [{ type: "list", after: "", limit: 0 }]), [
    'ROOMS [dev 2, lobby 3 "be kinder"]',
  ]);
  assert.deepEqual(await step(alice, [{ type: "list", after: "", limit: 1 }]), ["ROOMS more [dev 2]"]);

  // WHO for a room alice is not in: flagged LISTING; for a client that does not list who-any: NOT_IN_ROOM.
  assert.deepEqual(await step(alice, [{ type: "who", room: "ops" }]), ["MEMBERS ops LISTING []"]);
  await step(bob, [{ type: "join", room: "ops" }]);
  assert.deepEqual(await step(alice, [{ type: "who", room: "ops" }]), ["MEMBERS ops LISTING [bob]"]);
  assert.deepEqual(await step(bob, [{ type: "who", room: "dev" }]), ["ERROR NOT_IN_ROOM ref=0"]);
});

Deno.test("stored direct messages: CONVERSATIONS after the rooms and before the motd, ACK before the copy, as docs/PROTOCOL.md states", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-order-dms-" });
  try {
    for (const name of ["alice", "bob"]) {
      const r = await runChat(["user", "add", name, "--data-dir", `${dir}/data`], {
        env: { CHAT_PASSWORD: `${name} password` },
      });
      assert.equal(r.code, 0, r.output);
    }
    await Deno.writeTextFile(`${dir}/motd`, "be kind\n");
    await using server = await startServer(["--data-dir", `${dir}/data`, "--motd", `${dir}/motd`, ...QUIET]);
    await using alice = await RawClient.connect(server.port, "alice");
    await using bob = await RawClient.connect(server.port, "bob");
    const dms = ["dms"];
    assert.deepEqual(await step(alice, [hello("alice", ["lobby"], "alice password", dms)]), [
      "WELCOME alice [lobby]",
      "MEMBERS lobby [alice]",
      "FETCHED lobby count=0 last=0",
      "CONVERSATIONS []",
      "NOTICE motd be kind",
    ]);
    // bob is offline: the PRIVATE is stored all the same; the ACK names the conversation, then alice's copy.
    const dm = (id: number, to: string, text: string): ClientMessage => ({
      type: "private",
      id,
      to,
      flags: 0,
      text,
    });
    assert.deepEqual(await step(alice, [dm(1, "bob", "hi")], message("@bob", 1)), [
      "ACK 1 @bob 1",
      "MESSAGE @bob 1 <alice> hi",
    ]);
    assert.deepEqual(await step(bob, [hello("bob", ["lobby"], "bob password", dms)]), [
      "WELCOME bob [lobby]",
      "MEMBERS lobby [alice,bob]",
      "FETCHED lobby count=0 last=0",
      "CONVERSATIONS [alice 1]",
      "NOTICE motd be kind",
    ]);
    assert.deepEqual(await step(bob, [{ type: "fetch", room: "@alice", after: 0, before: 0, limit: 50 }]), [
      "MESSAGE @alice 1 HISTORY <alice> hi",
      "FETCHED @alice count=1 last=1",
    ]);
    const aliceFrom = await mark(alice);
    assert.deepEqual(await step(bob, [dm(2, "ALICE", "hello")], message("@alice", 2)), [
      "ACK 2 @alice 2",
      "MESSAGE @alice 2 <bob> hello",
    ]);
    assert.deepEqual(
      await seenBy(alice, aliceFrom),
      ["MESSAGE @bob 2 <bob> hello"],
      "the recipient: @ the sender",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
