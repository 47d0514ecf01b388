/**
 * Direct messages end to end (issue 15, item 11): real `chat serve` processes, real `chat join --json`
 * clients and raw protocol clients. Between registered names a DM is stored: delivered to a user who
 * connects later, once and in order, acknowledged once when resent, kept across a server restart, readable
 * only by its two parties, and kept in the local transcript. Between other names it is live only, and a
 * user in its grace period gets it on resume. A client without the `dms` feature still gets DIRECT.
 */

import assert from "node:assert/strict";
import type { DirectEvent } from "../../src/client/events.ts";
import { Feature, type HelloExtensions } from "../../src/protocol/mod.ts";
import { joinJson, type JoinOptions, type JsonClient } from "../_helpers/json_client.ts";
import { startNats } from "../_helpers/nats.ts";
import { runChat, startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

const password = (name: string) => `${name}'s long password`;

/** A private temporary directory, removed on dispose. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "chat-dms-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Registers `names` offline with `chat user add`, each with its own password. */
async function addUsers(dataDir: string, ...names: string[]): Promise<void> {
  for (const name of names) {
    const r = await runChat(["user", "add", name, "--data-dir", dataDir], {
      env: { CHAT_PASSWORD: password(name) },
    });
    assert.equal(r.code, 0, r.output);
  }
}

/** `chat join --json` as `name`, with its password; `home` keeps its journal and transcript across runs. */
function asUser(port: number, name: string, home?: string, options: JoinOptions = {}): Promise<JsonClient> {
  const env: Record<string, string> = { CHAT_PASSWORD: password(name), ...options.env };
  if (home) Object.assign(env, { XDG_DATA_HOME: `${home}/data`, XDG_STATE_HOME: `${home}/state` });
  return joinJson(port, name, { ...options, env });
}

/** A raw protocol client signed in as `name` (password given), speaking dms unless `old`. */
async function rawUser(
  port: number,
  name: string,
  extensions: HelloExtensions & { old?: boolean } = {},
): Promise<RawClient> {
  const { old, ...rest } = extensions;
  const raw = await RawClient.connect(port, name);
  await raw.handshake(name, [], {
    password: password(name),
    ...(old ? {} : { features: [Feature.DMS] }),
    ...rest,
  });
  return raw;
}

const directs = (c: JsonClient, from: string) => c.all("direct").filter((e) => e.from === from);
const summary = (e: DirectEvent) => `${e.seq} ${e.from}>${e.to} ${e.text}${e.history ? " (history)" : ""}`;

Deno.test("DMs to a registered user who is offline wait for it: delivered once, in order, kept across a server restart and in its transcript", async () => {
  await using data = await tempDir();
  await using bobHome = await tempDir();
  await addUsers(data.path, "alice", "bob");
  const server = await startServer(["--data-dir", data.path]);
  let restarted: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    await using alice = await asUser(server.port, "alice");
    for (const i of [1, 2, 3]) await alice.say(`/msg bob offline ${i}`);
    const acks = await alice.until(
      (events) => {
        const got = events.filter((e) => e.type === "ack");
        return got.length >= 3 ? got : undefined;
      },
      "three acks",
    );
    assert.deepEqual(acks.map((a) => a.type === "ack" && [a.room, a.seq]), [["@bob", 1], ["@bob", 2], [
      "@bob",
      3,
    ]]);
    assert.deepEqual(alice.all("error"), [], "bob being offline is no error: the conversation is stored");

    await using bob = await asUser(server.port, "bob", bobHome.path);
    const early = await bob.until((events) => {
      const got = events.filter((e): e is DirectEvent => e.type === "direct");
      return got.length >= 3 ? got : undefined;
    }, "the three DMs sent while bob was away");
    assert.deepEqual(early.map(summary), [
      "1 alice>bob offline 1 (history)",
      "2 alice>bob offline 2 (history)",
      "3 alice>bob offline 3 (history)",
    ]);
    await alice.say("/msg bob now live");
    await bob.next("direct", (e) => e.text === "now live");
    await bob.say("/msg alice thanks");
    await alice.next("direct", (e) => e.text === "thanks");
    assert.deepEqual(directs(bob, "alice").map(summary), [
      "1 alice>bob offline 1 (history)",
      "2 alice>bob offline 2 (history)",
      "3 alice>bob offline 3 (history)",
      "4 alice>bob now live",
    ], "each once");
    await bob.say("/quit");
    await bob.proc.exit();

    // The transcript keeps the conversation: chat history --room @alice shows it, bob's side.
    const history = await runChat(["history", "--port", String(server.port), "--room", "@alice"], {
      env: { XDG_DATA_HOME: `${bobHome.path}/data`, XDG_STATE_HOME: `${bobHome.path}/state` },
    });
    assert.equal(history.code, 0, history.output);
    assert.deepEqual(
      history.stdout.map((l) => l.replace(/^\d\d:\d\d:\d\d /, "")),
      [
        "@alice <alice> offline 1",
        "@alice <alice> offline 2",
        "@alice <alice> offline 3",
        "@alice <alice> now live",
        "@alice <bob> thanks",
      ],
      history.output,
    );

    // A crash of the server loses nothing it acknowledged: the conversation is there after the restart.
    server.proc.kill("SIGKILL");
    await server.proc.exit();
    restarted = await startServer(["--data-dir", data.path]);
    await using raw = await rawUser(restarted.port, "bob");
    const list = await raw.next("conversations");
    assert.deepEqual(list.conversations.map((c) => [c.peer, c.lastSeq]), [["alice", 5]]);
    await raw.send({ type: "fetch", room: "@alice", after: 0, before: 0, limit: 50 });
    await raw.next("fetched", (m) => m.room === "@alice");
    const texts = raw.messages.flatMap((m) =>
      m.type === "message" && m.room === "@alice" ? [`${m.seq} ${m.text}`] : []
    );
    assert.deepEqual(texts, ["1 offline 1", "2 offline 2", "3 offline 3", "4 now live", "5 thanks"]);
  } finally {
    await server[Symbol.asyncDispose]();
    await restarted?.[Symbol.asyncDispose]();
  }
});

Deno.test("a PRIVATE resent after a reconnect is acknowledged with its first seq and delivered once", async () => {
  await using data = await tempDir();
  await addUsers(data.path, "alice", "bob");
  await using server = await startServer(["--data-dir", data.path, "--grace", "10000"]);
  await using bob = await asUser(server.port, "bob");
  const first = await RawClient.connect(server.port, "alice 1");
  const welcome = await first.handshake("alice", [], {
    password: password("alice"),
    features: [Feature.DMS],
  });
  await first.send({ type: "private", id: 77, to: "bob", flags: 0, text: "exactly once" });
  const ack = await first.next("ack");
  assert.deepEqual([ack.id, ack.room, ack.seq], [77, "@bob", 1]);
  // The connection dies; the client comes back with its resume token and sends the message again, not knowing
  // whether the first copy arrived.
  await first[Symbol.asyncDispose]();
  await using again = await RawClient.connect(server.port, "alice 2");
  await again.handshake("alice", [], {
    password: password("alice"),
    features: [Feature.DMS],
    resumeToken: welcome.resumeToken,
  });
  await again.send({ type: "private", id: 77, to: "bob", flags: 0, text: "exactly once" });
  assert.deepEqual(await again.next("ack"), ack, "the first receipt");
  await again.send({ type: "private", id: 78, to: "bob", flags: 0, text: "and then" });
  await bob.next("direct", (e) => e.text === "and then");
  assert.deepEqual(directs(bob, "alice").map(summary), ["1 alice>bob exactly once", "2 alice>bob and then"]);
});

Deno.test("an unregistered user in its grace period gets a DM sent meanwhile when it resumes", async () => {
  await using server = await startServer(["--grace", "20000"]);
  await using daveHome = await tempDir();
  await using alice = await joinJson(server.port, "alice");
  const dave = await joinJson(server.port, "dave", {
    env: { XDG_DATA_HOME: `${daveHome.path}/data`, XDG_STATE_HOME: `${daveHome.path}/state` },
  });
  try {
    // dave's client dies without a goodbye: the server holds his name for the grace period.
    dave.proc.kill("SIGKILL");
    await dave.proc.exit();
    await server.proc.stderr.next((l) => /disconnect dave .*reason=disconnected/.test(l), "dave's drop");
  } finally {
    await dave[Symbol.asyncDispose]();
  }
  await alice.say("/msg dave are you there?");
  // Said once, before the ACK: the message is live only (neither name is registered).
  const notice = await alice.next("notice", (n) => n.kind === "unstored");
  assert.match(
    notice.text,
    /^messages with dave are not stored \(you are not signed in as a registered name\)/,
  );
  const ack = await alice.next("ack");
  assert.deepEqual([ack.room, ack.seq], ["", 0], "accepted (not NO_SUCH_USER), and not stored");
  assert.deepEqual(alice.all("error"), []);
  // The same client comes back (its journal holds the resume token) within the grace period.
  await using back = await joinJson(server.port, "dave", {
    env: { XDG_DATA_HOME: `${daveHome.path}/data`, XDG_STATE_HOME: `${daveHome.path}/state` },
  });
  const got = await back.next("direct", (e) => e.from === "alice");
  assert.deepEqual([got.text, got.seq], ["are you there?", undefined]);
  assert.equal(alice.all("presence").filter((p) => p.name === "dave" && p.event === "leave").length, 0);
});

Deno.test("only the two parties read a conversation: a third user is refused, and so is an unregistered one", async () => {
  await using data = await tempDir();
  await addUsers(data.path, "alice", "bob", "carol");
  await using server = await startServer(["--data-dir", data.path]);
  await using alice = await rawUser(server.port, "alice");
  await alice.send({ type: "private", id: 1, to: "bob", flags: 0, text: "for bob only" });
  await alice.next("ack");
  await using carol = await rawUser(server.port, "carol");
  await carol.send({ type: "fetch", room: "@alice+bob", after: 0, before: 0, limit: 50 });
  const refused = await carol.next("error");
  assert.deepEqual([refused.code, refused.fatal], ["FORBIDDEN", false]);
  await carol.send({ type: "fetch", room: "@bob", after: 0, before: 0, limit: 50 });
  assert.deepEqual(await carol.next("fetched"), {
    type: "fetched",
    room: "@bob",
    count: 0,
    more: false,
    lastSeq: 0,
  });
  await using mallory = await RawClient.connect(server.port, "mallory");
  await mallory.handshake("mallory", [], { features: [Feature.DMS] });
  await mallory.send({ type: "fetch", room: "@alice", after: 0, before: 0, limit: 50 });
  assert.equal((await mallory.next("error")).code, "FORBIDDEN");
  assert.ok(
    ![...carol.messages, ...mallory.messages].some((m) => m.type === "message" && m.text === "for bob only"),
    "nothing of alice's conversation reached them",
  );
});

Deno.test("a client that does not speak dms still gets every DM as DIRECT, and its own acked as before", async () => {
  await using data = await tempDir();
  await addUsers(data.path, "alice", "bob");
  await using server = await startServer(["--data-dir", data.path]);
  await using bob = await rawUser(server.port, "bob", { old: true });
  assert.equal(bob.messages.some((m) => m.type === "conversations"), false);
  await using alice = await asUser(server.port, "alice");
  await alice.say("/msg bob hello old client");
  const ack = await alice.next("ack");
  assert.deepEqual([ack.room, ack.seq], ["@bob", 1], "stored all the same");
  const direct = await bob.next("direct");
  assert.deepEqual({ ...direct, ts: 0 }, {
    type: "direct",
    from: "alice",
    to: "bob",
    ts: 0,
    flags: 0,
    text: "hello old client",
  });
  await bob.send({ type: "private", id: 5, to: "alice", flags: 0, text: "hi back" });
  const bobAck = await bob.next("ack");
  assert.deepEqual([bobAck.id, bobAck.room, bobAck.seq], [5, "", 0], "an ACK as it always was");
  const echo = await bob.next("direct");
  assert.equal(echo.text, "hi back");
  const got = await alice.next("direct", (e) => e.text === "hi back");
  assert.equal(got.seq, 2, "alice's client sees the stored conversation");
});

Deno.test("two nodes of a cluster: a DM stored on one reaches its party on the other, live and after an absence", async () => {
  await using nats = await startNats();
  const cluster = (extra: string[] = []) =>
    startServer(["--cluster", nats.urls.join(","), "--grace", "2000", "--allow-register", ...extra]);
  await using a = await cluster();
  await using alice = await asUser(a.port, "alice");
  await alice.say(`/register ${password("alice")}`);
  await alice.next("notice", (n) => n.kind === "registered");
  const bobFirst = await asUser(a.port, "bob");
  await bobFirst.say(`/register ${password("bob")}`);
  await bobFirst.next("notice", (n) => n.kind === "registered");
  await bobFirst.say("/quit");
  await bobFirst.proc.exit();
  await bobFirst[Symbol.asyncDispose]();
  // The second node starts now: it loads both accounts when it joins.
  await using b = await cluster();
  await alice.say("/msg bob sent while you were away");
  const ack = await alice.next("ack");
  assert.deepEqual([ack.room, ack.seq], ["@bob", 1]);
  await using bob = await asUser(b.port, "bob");
  const missed = await bob.next("direct", (e) => e.from === "alice");
  assert.deepEqual(summary(missed), "1 alice>bob sent while you were away (history)");
  await alice.say("/msg bob and now live");
  assert.equal(summary(await bob.next("direct", (e) => e.from === "alice")), "2 alice>bob and now live");
  await bob.say("/msg alice hi from b");
  assert.equal(summary(await alice.next("direct", (e) => e.from === "bob")), "3 bob>alice hi from b");
  assert.deepEqual(directs(bob, "alice").map((e) => e.seq), [1, 2], "each once");
});
