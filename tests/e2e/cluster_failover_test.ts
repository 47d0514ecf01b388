/**
 * Clients that fail over between the nodes of a cluster (issue 17): real
 * `chat serve --cluster` nodes on a real nats-server, real `chat join`,
 * `chat send` and `chat tail` processes given both nodes with `--host`, and a
 * node killed with SIGKILL under them.
 */

import assert from "node:assert/strict";
import type { ClientEvent, MessageEvent } from "../../src/client/events.ts";
import { MAX_FETCH } from "../../src/protocol/mod.ts";
import { WAIT_MS, waitFor } from "../_helpers/deadline.ts";
import { joinJson, type JsonClient } from "../_helpers/json_client.ts";
import { startNats } from "../_helpers/nats.ts";
import { ChatProcess, runChat, type ServerProcess, startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

const GRACE_MS = 2000;

/** A chat node of the cluster on `urls`. */
function node(urls: string[], extra: string[] = []): Promise<ServerProcess> {
  return startServer(["--cluster", urls.join(","), "--grace", String(GRACE_MS), ...extra]);
}

/** `--host` for these nodes, in this order. */
function hosts(...nodes: ServerProcess[]): string {
  return nodes.map((n) => `127.0.0.1:${n.port}`).join(",");
}

/** Starts the doomed node and waits until it holds the sequencer's lease: its death is the worst case. */
async function sequencerNode(urls: string[]): Promise<ServerProcess> {
  const a = await node(urls);
  const leader = /cluster: node \S+ is the sequencer/;
  if (!a.proc.stderr.lines.some((l) => leader.test(l))) {
    await a.proc.stderr.next((l) => leader.test(l), "the sequencer's lease");
  }
  return a;
}

/** A whole room read back from `port` with FETCH, page after page. */
async function fetchAll(port: number, room: string): Promise<MessageEvent[]> {
  await using raw = await RawClient.connect(port, "fetcher");
  await raw.handshake("fetcher", [room]);
  // The join's own answer first: its recent history, and the FETCHED that ends it.
  await raw.next("fetched");
  const got: MessageEvent[] = [];
  for (let after = 0;;) {
    // Only what answers this FETCH: the join's recent history came before it.
    const from = raw.messages.length;
    await raw.send({ type: "fetch", room, after, before: 0, limit: MAX_FETCH });
    const page = await raw.next("fetched");
    for (const m of raw.messages.slice(from)) {
      if (m.type !== "message" || m.room !== room) continue;
      got.push({
        type: "message",
        room,
        seq: m.seq,
        ts: m.ts,
        from: m.from,
        text: m.text,
        action: false,
        history: true,
      });
    }
    if (!page.more) return got;
    after = got[got.length - 1].seq;
  }
}

/** Sequence numbers that are missing from 1..max, and those seen more than once. */
function gapsAndDuplicates(seqs: readonly number[]): { gaps: number[]; duplicates: number[] } {
  const seen = new Map<number, number>();
  for (const s of seqs) seen.set(s, (seen.get(s) ?? 0) + 1);
  const max = Math.max(0, ...seqs);
  const gaps = [];
  for (let s = 1; s <= max; s++) if (!seen.has(s)) gaps.push(s);
  return { gaps, duplicates: [...seen].filter(([, n]) => n > 1).map(([s]) => s) };
}

Deno.test("a node killed mid-burst: its clients fail over, resend, and every acknowledged message is there once, gap-free", async () => {
  await using nats = await startNats();
  await using a = await sequencerNode(nats.urls);
  await using b = await node(nats.urls);
  // One data dir for every client here: the transcripts they write (per server list) are read by chat history.
  const shared = await Deno.makeTempDir({ prefix: "chat-failover-" });
  const env = { XDG_DATA_HOME: `${shared}/data` };
  const room = "burst";
  const senders: JsonClient[] = [];
  try {
    await using reader = await joinJson(b.port, "reader", { flags: ["--room", room], env });
    const count = 3;
    const each = 150;
    for (let i = 0; i < count; i++) {
      // The doomed node first: they connect to it, and move to the other when it dies.
      const c = await joinJson(hosts(a, b), `w${i}`, { flags: ["--room", room], env });
      senders.push(c);
      const welcome = c.all("welcome")[0];
      assert.equal(welcome.server, `127.0.0.1:${a.port}`, "connected to the first server listed");
    }
    let written = 0;
    const writeLines = async (from: number, to: number) => {
      for (let k = from; k < to; k += 10) {
        await Promise.all(senders.map(async (c, i) => {
          for (let j = k; j < Math.min(k + 10, to); j++) {
            await c.say(`w${i}-${j}`);
            written++;
          }
        }));
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    // The burst runs on while the node dies: the kill comes once a third of it is delivered.
    const burst = writeLines(0, each);
    await reader.until(
      (events) => events.filter((e) => e.type === "message").length >= (count * each) / 3 || undefined,
      "a third of the burst",
      WAIT_MS * 3,
    );
    const ackedBefore = senders.reduce((n, c) => n + c.all("ack").length, 0);
    const writtenBefore = written;
    a.proc.kill("SIGKILL");
    const killedAt = Date.now();
    await a.proc.exit();
    await burst;

    // Every line acknowledged, through the other node, and every sender has seen the whole burst there.
    const total = count * each;
    for (const c of senders) {
      const moved = await c.next("welcome", (e) => e.reconnected, WAIT_MS * 3);
      assert.equal(moved.server, `127.0.0.1:${b.port}`, `${c.name} moved to the other node`);
      await c.until(
        (events) => events.filter((e) => e.type === "ack").length >= each || undefined,
        "every ack",
        WAIT_MS * 6,
      );
    }
    for (const c of senders) await c.waitMessages(total, WAIT_MS * 3);
    const settledMs = Date.now() - killedAt;
    for (const c of senders) {
      await c.proc.closeStdin();
      assert.equal((await c.proc.exit(WAIT_MS * 2)).code, 0, c.describe());
    }
    const acks = senders.flatMap((c) => c.all("ack"));
    assert.equal(new Set(acks.map((e) => e.id)).size, acks.length, "each id acknowledged once");
    const ackedSeqs = acks.map((e) => e.seq);
    assert.equal(new Set(ackedSeqs).size, ackedSeqs.length, "no two acks share a sequence number");

    // What the reader on the surviving node got, what FETCH reads there, and what every sender showed.
    const delivered = await reader.waitMessages(total, WAIT_MS * 3);
    const stored = await fetchAll(b.port, room);
    const views: Array<[string, readonly MessageEvent[]]> = [
      ["the reader", delivered],
      ["FETCH from the surviving node", stored],
      ...senders.map((c): [string, MessageEvent[]] => [c.name, c.messages().filter((m) => m.room === room)]),
    ];
    let duplicates = 0;
    let gaps = 0;
    for (const [who, got] of views) {
      const check = gapsAndDuplicates(got.map((m) => m.seq));
      duplicates += check.duplicates.length;
      gaps += check.gaps.length;
      assert.deepEqual(check, { gaps: [], duplicates: [] }, `${who}: sequence`);
      const texts = got.map((m) => m.text);
      assert.equal(new Set(texts).size, texts.length, `${who}: a text twice`);
      assert.equal(got.length, total, `${who}: every message`);
    }
    const bySeq = new Map(stored.map((m) => [m.seq, m]));
    for (const c of senders) {
      const mine = stored.filter((m) => m.from === c.name).map((m) => m.text);
      assert.deepEqual(
        mine,
        Array.from({ length: each }, (_, j) => `${c.name}-${j}`),
        `${c.name}'s lines, in order`,
      );
      for (const ack of c.all("ack")) {
        assert.equal(bySeq.get(ack.seq)?.from, c.name, `ack ${ack.id} seq ${ack.seq}`);
      }
    }

    // The local transcript the senders kept (under the list of both nodes) has each message once.
    const history = await runChat(["history", "--host", hosts(a, b), "--room", room, "--json"], { env });
    assert.equal(history.code, 0, history.output);
    const kept = history.stdout.map((l) => JSON.parse(l) as MessageEvent);
    assert.deepEqual(gapsAndDuplicates(kept.map((m) => m.seq)), { gaps: [], duplicates: [] }, "chat history");
    assert.equal(kept.length, total, "chat history holds every message");

    console.log(
      `chat node killed mid-burst (${count} clients failing over; at the kill ${writtenBefore} lines written, ` +
        `${ackedBefore} acknowledged): ${total} sent, ${acks.length} acknowledged ` +
        `(${
          total - ackedBefore
        } after the kill; all in, and every sender had all ${total}, ${settledMs} ms after it), ` +
        `${delivered.length} delivered to a reader on the other node, ${stored.length} read back by FETCH, ` +
        `${duplicates} duplicates, ${gaps} gaps`,
    );
  } finally {
    for (const c of senders) await c[Symbol.asyncDispose]();
    await Deno.remove(shared, { recursive: true });
  }
});

Deno.test("presence across a node's death: a user who comes back on the other node makes no noise, one who does not leaves once, after the grace period", async () => {
  await using nats = await startNats();
  await using a = await node(nats.urls);
  await using b = await node(nats.urls);
  await using bob = await joinJson(b.port, "bob");
  // alice (JSON) and erin (plain lines) can fail over; carol knows only the doomed node.
  await using alice = await joinJson(hosts(a, b), "alice");
  await using erin = new ChatProcess(
    ["join", "--plain", "--host", hosts(a, b), "--name", "erin"],
    { label: "erin" },
  );
  await erin.stdout.next((l) => /connected to 127\.0\.0\.1:\d+ as erin/.test(l), "erin's welcome");
  await using carol = await joinJson(a.port, "carol", { flags: ["--reconnect-attempts", "0"] });
  for (const name of ["alice", "erin", "carol"]) {
    await bob.next("presence", (e) => e.event === "join" && e.name === name);
  }
  const mark = bob.events().length;

  a.proc.kill("SIGKILL");
  const killedAt = Date.now();
  await alice.next("welcome", (e) => e.reconnected && e.server === `127.0.0.1:${b.port}`, WAIT_MS * 2);
  await erin.stdout.next(
    (l) => l.includes(`reconnected to 127.0.0.1:${b.port}`),
    "erin's line saying she is on the other node",
    WAIT_MS * 2,
  );
  // carol keeps trying her one server, in vain.
  await carol.next("status", (e) => e.state === "reconnecting" && e.server === `127.0.0.1:${a.port}`);
  const left = await bob.next("presence", (e) => e.event === "leave" && e.name === "carol", WAIT_MS * 3);
  const after = Date.now() - killedAt;
  assert.ok(after >= GRACE_MS, `carol's leave ${after} ms after the kill, before the grace period`);
  assert.equal(left.reason, "disconnected");
  // A marker sent after the leave: whatever presence the death caused has reached bob before it.
  await alice.say("marker");
  await bob.next("message", (m) => m.text === "marker");
  const since = bob.events().slice(mark).filter((e): e is Extract<ClientEvent, { type: "presence" }> =>
    e.type === "presence"
  );
  assert.deepEqual(
    since.map((e) => `${e.event} ${e.name}`),
    ["leave carol"],
    "one leave for carol, and nothing for alice and erin, who came back on the other node",
  );
  console.log(`presence: carol left once, ${after} ms after her node was killed (grace ${GRACE_MS} ms)`);
});

Deno.test("chat send with two hosts, the first down: it sends through the second within its timeout", async () => {
  await using nats = await startNats();
  await using a = await node(nats.urls);
  await using b = await node(nats.urls);
  a.proc.kill("SIGKILL");
  await a.proc.exit();
  // Exit 0 means acknowledged within --timeout (chat send's one deadline); the dead node costs one refusal.
  const sent = await runChat(["send", "--host", hosts(a, b), "--room", "ops", "--timeout", "5000", "via b"]);
  assert.equal(sent.code, 0, sent.output);
  const ack = JSON.parse(sent.stdout[0]);
  assert.deepEqual([ack.type, ack.room, ack.seq], ["ack", "ops", 1]);
  assert.deepEqual(sent.stderr, []);
  const stored = await fetchAll(b.port, "ops");
  assert.deepEqual(stored.map((m) => m.text), ["via b"]);
});

Deno.test("chat send with two hosts, the first hung (it accepts and never answers): the second within the timeout", async () => {
  await using nats = await startNats();
  await using b = await node(nats.urls);
  // A listener that takes connections and says nothing: what a stopped (SIGSTOP) or wedged node looks like.
  const hung = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of hung) held.push(conn);
  })();
  try {
    const hungPort = (hung.addr as Deno.NetAddr).port;
    const sent = await runChat([
      "send",
      "--host",
      `127.0.0.1:${hungPort},127.0.0.1:${b.port}`,
      "--room",
      "ops",
      "--timeout",
      "6000",
      "past a hung node",
    ]);
    assert.equal(sent.code, 0, sent.output);
    assert.equal(JSON.parse(sent.stdout[0]).seq, 1);
    assert.ok(held.length >= 1, "the hung server was tried first");
  } finally {
    hung.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});

Deno.test("chat tail restarted on another node with its saved cursor prints each message once", async () => {
  await using nats = await startNats();
  await using a = await node(nats.urls);
  await using b = await node(nats.urls);
  // Both tails share one state dir: the second finds the cursor the first saved.
  const state = await Deno.makeTempDir({ prefix: "chat-failover-tail-" });
  const env = { XDG_STATE_HOME: state };
  const send = async (port: number, text: string) => {
    const r = await runChat(["send", "--port", String(port), "--room", "feed", text]);
    assert.equal(r.code, 0, r.output);
  };
  try {
    const args = ["tail", "--json", "--host", hosts(a, b), "--name", "t", "--room", "feed"];
    {
      await using first = new ChatProcess(args, { label: "tail on a", env });
      for (let i = 1; i <= 5; i++) await send(a.port, `m${i}`);
      await waitFor(first.stdout, () => first.stdout.lines.length >= 5 || undefined, "five messages");
      first.kill("SIGTERM");
      assert.equal((await first.exit()).code, 0, first.describe());
      assert.deepEqual(first.stdout.lines.map((l) => JSON.parse(l).text), ["m1", "m2", "m3", "m4", "m5"]);
    }
    // While no tail runs: three more, through the other node; then the first node dies.
    for (let i = 6; i <= 8; i++) await send(b.port, `m${i}`);
    a.proc.kill("SIGKILL");
    await a.proc.exit();
    await using second = new ChatProcess(args, { label: "tail restarted", env });
    await waitFor(second.stdout, () => second.stdout.lines.length >= 3 || undefined, "the three it missed");
    await send(b.port, "m9");
    await waitFor(second.stdout, () => second.stdout.lines.length >= 4 || undefined, "the live one");
    const printed = second.stdout.lines.map((l) => JSON.parse(l) as MessageEvent);
    assert.deepEqual(printed.map((m) => [m.seq, m.text]), [[6, "m6"], [7, "m7"], [8, "m8"], [9, "m9"]]);
    second.kill("SIGTERM");
    assert.equal((await second.exit()).code, 0, second.describe());
    assert.equal(second.stdout.lines.length, 4, "nothing twice, nothing after");
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});
