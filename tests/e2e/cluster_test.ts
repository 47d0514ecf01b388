/**
 * Several servers, one chat (issue 17): real `chat serve --cluster` nodes on
 * a real nats-server (.ci/run installs it), real clients on each node.
 */

import assert from "node:assert/strict";
import { encodeMessage, PROTOCOL_VERSION } from "../../src/protocol/mod.ts";
import { WAIT_MS, waitFor } from "../_helpers/deadline.ts";
import { joinJson } from "../_helpers/json_client.ts";
import { NatsCluster, NatsServer, startNats } from "../_helpers/nats.ts";
import { assertOneLine, ChatProcess, listeningPort, runChat, startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** A chat node of the cluster on `urls`. */
function node(urls: string[], extra: string[] = []) {
  return startServer(["--cluster", urls.join(","), "--grace", "2000", ...extra]);
}

Deno.test("two nodes are one chat: messages, presence, member lists and names across them", async () => {
  await using nats = await startNats();
  await using a = await node(nats.urls);
  await using b = await node(nats.urls);
  await using alice = await joinJson(a.port, "alice");
  await using bob = await joinJson(b.port, "bob");
  await alice.next("presence", (e) => e.event === "join" && e.name === "bob");
  await alice.say("hello from a");
  const got = await bob.next("message", (m) => m.text === "hello from a");
  assert.deepEqual([got.from, got.seq], ["alice", 1]);
  await bob.say("/who");
  const members = await bob.next("members", (e) => e.online.length === 2);
  assert.deepEqual([...members.online].sort(), ["alice", "bob"]);
  // The name is the cluster's: BOB on the other node, and a look-alike, are refused.
  await using taken = await joinJson(a.port, "BOB", { welcome: false });
  const refused = await taken.next("error");
  assert.equal(refused.code, "NAME_TAKEN");
  await bob.say("/quit");
  const left = await alice.next("presence", (e) => e.event === "leave" && e.name === "bob");
  assert.equal(left.reason, "quit");
});

Deno.test("a name claimed on two nodes at once goes to one of them; the other gets NAME_TAKEN", async () => {
  await using nats = await startNats();
  await using a = await node(nats.urls);
  await using b = await node(nats.urls);
  const clients: RawClient[] = [];
  try {
    for (let round = 0; round < 5; round++) {
      const name = `twin${round}`;
      const pair = await Promise.all([
        RawClient.connect(a.port, `a-${name}`),
        RawClient.connect(b.port, `b-${name}`),
      ]);
      clients.push(...pair);
      const hello = encodeMessage({ type: "hello", version: PROTOCOL_VERSION, name, rooms: [] });
      await Promise.all(pair.map((c) => c.write(hello)));
      const outcomes = await Promise.all(
        pair.map((c) =>
          waitFor(
            c,
            () => c.messages.find((m) => m.type === "welcome" || m.type === "error"),
            `${c.label}'s answer`,
          )
        ),
      );
      const kinds = outcomes.map((m) => m.type === "error" ? m.code : m.type).sort();
      assert.deepEqual(kinds, ["NAME_TAKEN", "welcome"], `round ${round}`);
    }
  } finally {
    for (const c of clients) await c[Symbol.asyncDispose]();
  }
});

Deno.test("senders on different nodes to one room: every client sees the same gap-free sequence", async () => {
  await using nats = await startNats();
  await using a = await node(nats.urls);
  await using b = await node(nats.urls);
  const senders = [
    await RawClient.connect(a.port, "s1"),
    await RawClient.connect(b.port, "s2"),
    await RawClient.connect(a.port, "s3"),
  ];
  await using watchA = await RawClient.connect(a.port, "watchA");
  await using watchB = await RawClient.connect(b.port, "watchB");
  try {
    for (const [i, c] of senders.entries()) await c.handshake(`sender${i}`, ["race"]);
    await watchA.handshake("watchA", ["race"]);
    await watchB.handshake("watchB", ["race"]);
    const each = 200;
    // Everyone at once, each in bursts: the sequencer numbers them all, in one order, for every node.
    await Promise.all(senders.map(async (c, i) => {
      for (let k = 1; k <= each; k += 20) {
        const frames = [];
        for (let j = k; j < k + 20 && j <= each; j++) {
          frames.push(encodeMessage({ type: "send", id: j, room: "race", flags: 0, text: `s${i}-${j}` }));
        }
        for (const f of frames) await c.write(f);
      }
    }));
    const total = senders.length * each;
    const seen = (c: RawClient) => c.messages.filter((m) => m.type === "message");
    for (const w of [watchA, watchB]) {
      await waitFor(
        w,
        () => seen(w).length >= total || undefined,
        `${total} messages on ${w.label}`,
        WAIT_MS * 3,
      );
      assert.deepEqual(
        seen(w).map((m) => m.type === "message" && m.seq),
        Array.from({ length: total }, (_, i) => i + 1),
      );
    }
    const order = (c: RawClient) => seen(c).map((m) => m.type === "message" && m.text);
    assert.deepEqual(order(watchA), order(watchB), "the same order on both nodes");
    assert.equal(new Set(order(watchA)).size, total, "each message once");
    for (const c of senders) {
      await waitFor(
        c,
        () => c.messages.filter((m) => m.type === "ack").length >= each || undefined,
        `acks on ${c.label}`,
      );
    }
  } finally {
    for (const c of senders) await c[Symbol.asyncDispose]();
  }
});

Deno.test("a node that loses NATS refuses messages with a clear error and recovers by itself", async () => {
  await using nats = await startNats();
  // A long timeout: the raw test client answers no PING.
  await using a = await node(nats.urls, ["--timeout", "60000"]);
  await using alice = await RawClient.connect(a.port, "alice");
  await alice.handshake("alice", ["ops"]);
  await alice.send({ type: "send", id: 1, room: "ops", flags: 0, text: "before" });
  assert.equal((await alice.next("ack")).seq, 1);
  await nats.kill();
  await a.proc.stderr.next((l) => /cluster: lost the connection to NATS/.test(l), "the node's status line");
  await alice.send({ type: "send", id: 2, room: "ops", flags: 0, text: "while down" });
  const refused = await alice.next("error", () => true, WAIT_MS * 3);
  assert.deepEqual([refused.code, refused.ref, refused.fatal], ["STORAGE_ERROR", 2, false]);
  assert.match(refused.message, /lost its connection to the cluster/);
  await nats.start();
  await a.proc.stderr.next(
    (l) => /cluster: connected to NATS again/.test(l),
    "the node's recovery line",
    WAIT_MS * 3,
  );
  // A new message is stored again (once a sequencer holds the lease), numbered on from before the outage.
  await alice.send({ type: "send", id: 3, room: "ops", flags: 0, text: "after" });
  const ack = await alice.next("ack", () => true, WAIT_MS * 3);
  assert.deepEqual([ack.id, ack.seq], [3, 2]);
});

Deno.test("a NATS outage longer than a node's heartbeat announces no false leave, and members stay shared", async () => {
  await using nats = await startNats();
  await using a = await node(nats.urls);
  await using b = await node(nats.urls);
  await using frank = await joinJson(a.port, "frank");
  await using gina = await joinJson(b.port, "gina");
  await frank.next("presence", (e) => e.event === "join" && e.name === "gina");
  // Each node lists the others once a second: let both have seen the other before the outage.
  await new Promise((r) => setTimeout(r, 2500));
  // A clean stop, as an operator restarting NATS does: it keeps the buckets' last values, which then expire.
  await nats.kill("SIGTERM");
  for (const n of [a, b]) await n.proc.stderr.next((l) => /lost the connection to NATS/.test(l), "outage");
  // Longer than the nodes bucket keeps a node's "alive" (4 s): every node's key has expired when NATS is back.
  await new Promise((r) => setTimeout(r, 6000));
  await nats.start();
  for (const n of [a, b]) {
    await n.proc.stderr.next((l) => /connected to NATS again/.test(l), "recovery", WAIT_MS * 3);
  }
  // A node that was cut off itself cannot tell who stopped: a node judged gone at once after the outage had its
  // users' leave announced a grace period (2 s) later. Wait past that, then look.
  await new Promise((r) => setTimeout(r, 4000 + 2000 + 1000));
  await gina.say("still here");
  await frank.next("message", (m) => m.text === "still here", WAIT_MS * 3);
  assert.deepEqual(frank.all("presence").filter((e) => e.name === "gina" && e.event === "leave"), []);
  for (const n of [a, b]) {
    assert.ok(!n.proc.stderr.lines.some((l) => /is gone/.test(l)), n.proc.stderr.lines.join("\n"));
  }
  await frank.say("/who");
  const members = await frank.next("members", () => true);
  assert.deepEqual([...members.online].sort(), ["frank", "gina"]);
});

Deno.test("a node paused until the others cleared it away comes back with its users", async () => {
  await using nats = await startNats();
  await using a = await node(nats.urls);
  // Its clients keep waiting for it (WELCOME's timeout) while it is paused.
  await using b = await node(nats.urls, ["--timeout", "60000"]);
  await using frank = await joinJson(a.port, "frank");
  await using gina = await joinJson(b.port, "gina");
  await frank.next("presence", (e) => e.event === "join" && e.name === "gina");
  // Each node lists the others once a second: let a have seen b before b stops.
  await new Promise((r) => setTimeout(r, 2500));
  b.proc.kill("SIGSTOP");
  try {
    await frank.next("presence", (e) => e.event === "leave" && e.name === "gina", WAIT_MS * 2);
    // The node a takes b for gone for good: b's sessions and name claims are deleted from the buckets.
    await a.proc.stderr.next((l) => /cleared the sessions and names node/.test(l), "the sweep", WAIT_MS * 2);
  } finally {
    b.proc.kill("SIGCONT");
  }
  await a.proc.stderr.next((l) => /cluster: node \S+ is back/.test(l), "b back", WAIT_MS * 2);
  await frank.next("presence", (e) => e.event === "join" && e.name === "gina", WAIT_MS * 2);
  await frank.say("/who");
  const members = await frank.next("members", (e) => e.online.length === 2, WAIT_MS * 2);
  assert.deepEqual([...members.online].sort(), ["frank", "gina"]);
  await gina.say("back");
  await frank.next("message", (m) => m.text === "back", WAIT_MS * 2);
});

Deno.test("chat user --cluster manages the cluster's accounts: every node asks for the password at once", async () => {
  await using nats = await startNats();
  await using a = await node(nats.urls);
  await using b = await node(nats.urls);
  const env = { CHAT_PASSWORD: "kim's own secret" };
  const added = await runChat(["user", "add", "kim", "--admin", "--cluster", nats.urls[0]], { env });
  assert.equal(added.code, 0, added.output);
  assert.deepEqual(added.stdout, ["registered kim"]);
  /** What node `port` answers a HELLO as kim without a password: a welcome until its watcher has the account. */
  const answer = async (port: number) => {
    await using c = await RawClient.connect(port, "kim?");
    await c.write(encodeMessage({ type: "hello", version: PROTOCOL_VERSION, name: "kim", rooms: [] }));
    return await waitFor(
      c,
      () => c.messages.find((m) => m.type === "welcome" || m.type === "error"),
      "an answer",
    );
  };
  for (const n of [a, b]) {
    let refused = await answer(n.port);
    for (let tries = 1; refused.type === "welcome" && tries < 20; tries++) refused = await answer(n.port);
    assert.deepEqual([refused.type, refused.type === "error" && refused.code], ["error", "AUTH_FAILED"]);
  }
  await using kim = await joinJson(b.port, "kim", { env });
  // An operator: a kick of someone offline is refused for that reason, not as FORBIDDEN.
  await kim.say("/kick nobody");
  assert.equal((await kim.next("error")).code, "NO_SUCH_USER");
  const listed = await runChat(["user", "list", "--cluster", nats.urls[0]]);
  assert.equal(listed.code, 0, listed.output);
  assert.match(listed.stdout.join("\n"), /^kim \(admin\) {2}registered /);
  const removed = await runChat(["user", "remove", "kim", "--cluster", nats.urls[0]]);
  assert.deepEqual([removed.code, removed.stdout], [0, ["removed kim"]]);
  assert.deepEqual((await runChat(["user", "list", "--cluster", nats.urls[0]])).stdout, []);
  const other = await runChat(["user", "list", "--cluster", nats.urls[0], "--cluster-name", "nope"]);
  assert.equal(other.code, 1, other.output);
  assertOneLine(
    other.stderr,
    [/no cluster "nope" on that NATS/, /start a node with --cluster first/],
    "other",
  );
});

Deno.test("a node started before its NATS cluster has a leader waits for one, then joins and serves", async () => {
  // One server of three: no quorum, so JetStream does not answer (its requests time out) until a second runs.
  await using cluster = await NatsCluster.start(1);
  await using proc = new ChatProcess(
    [
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--cluster",
      cluster.servers[0].url,
      "--cluster-replicas",
      "3",
    ],
    { label: "server" },
  );
  await proc.stderr.next((l) => /cluster: JetStream is not ready yet/.test(l), "the node's waiting line");
  await cluster.startAll();
  const listening = await proc.stderr.next(
    (l) => listeningPort(l) !== undefined,
    "the listening line",
    WAIT_MS * 3,
  );
  await using alice = await joinJson(listeningPort(listening)!, "alice");
  await alice.say("after the wait");
  const got = await alice.next("message", (m) => m.text === "after the wait");
  assert.equal(got.seq, 1);
});

Deno.test("a node pointed at a NATS server without JetStream fails at once, saying so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-nats-nojs-" });
  try {
    await using nats = new NatsServer("plain", dir, [], { jetstream: false });
    await nats.start();
    const started = Date.now();
    const run = await runChat(["serve", "--host", "127.0.0.1", "--port", "0", "--cluster", nats.url]);
    assert.equal(run.code, 1, run.output);
    assertOneLine(run.stderr, [/cannot join the cluster/, /jetstream is not enabled/i, /-js/], "chat serve");
    // Not asked again as if JetStream were electing its leaders (that waits up to 30 s).
    assert.ok(Date.now() - started < WAIT_MS, `took ${Date.now() - started} ms`);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a NATS server of three killed during a burst: every acknowledged message is there once, gap-free", async () => {
  await using cluster = await NatsCluster.start();
  // A long timeout: the raw test clients send no PING while JetStream elects new leaders.
  const flags = ["--cluster-replicas", "3", "--timeout", "60000"];
  await using a = await node(cluster.urls, flags);
  await using b = await node(cluster.urls, flags);
  await using sender = await RawClient.connect(a.port, "sender");
  await sender.handshake("sender", ["r3"]);
  await using reader = await RawClient.connect(b.port, "reader");
  await reader.handshake("reader", ["r3"]);
  const total = 300;
  const sending = (async () => {
    for (let id = 1; id <= total; id++) {
      await sender.send({ type: "send", id, room: "r3", flags: 0, text: `m${id}` });
      if (id === 100) await cluster.servers[2].kill();
      if (id % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await sending;
  // Every message is acknowledged or refused; what is acknowledged is stored once, in order, gap-free.
  const answered = () => {
    const acks = sender.messages.filter((m) => m.type === "ack").length;
    const errors = sender.messages.filter((m) => m.type === "error").length;
    return acks + errors >= total || undefined;
  };
  await waitFor(sender, answered, "an answer to every message", WAIT_MS * 6);
  const acked = new Map<number, number>();
  for (const m of sender.messages) if (m.type === "ack") acked.set(m.id, m.seq);
  assert.ok(acked.size > 100, `only ${acked.size} of ${total} acknowledged`);
  const last = Math.max(...acked.values());
  // The reader's node learns of them through its own consumer, whose leader may have been on the killed
  // server: under load its election takes seconds.
  const seqs = () => reader.messages.flatMap((m) => m.type === "message" ? [m.seq] : []);
  await waitFor(reader, () => seqs().length >= last || undefined, "every stored message", WAIT_MS * 6)
    .catch((err) => {
      const have = new Set(seqs());
      const missing = Array.from({ length: last }, (_, i) => i + 1).filter((q) => !have.has(q));
      throw new Error(
        `the reader has ${have.size} of ${last} stored messages (${acked.size} acknowledged); ` +
          `missing seqs ${missing.slice(0, 20).join(",")}${
            missing.length > 20 ? ",..." : ""
          }\n${err.message}`,
      );
    });
  const got = reader.messages.filter((m) => m.type === "message");
  assert.deepEqual(
    got.map((m) => m.type === "message" && m.seq),
    Array.from({ length: got.length }, (_, i) => i + 1),
  );
  const texts = got.map((m) => m.type === "message" && m.text);
  assert.equal(new Set(texts).size, texts.length, "no message twice");
  for (const [id, seq] of acked) assert.equal(texts[seq - 1], `m${id}`, `ack ${id} said seq ${seq}`);
  const refused = sender.messages.filter((m) => m.type === "error").length;
  console.log(
    `R3, one NATS server killed: ${total} sent, ${acked.size} acknowledged, ${refused} refused, ` +
      `${got.length} stored and delivered, 0 duplicates, 0 gaps`,
  );
});
