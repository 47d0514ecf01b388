import assert from "node:assert/strict";
import { ChatClient, type ClientConn, ClientError, type ClientOptions } from "../../src/client/client.ts";
import type { ClientEvent } from "../../src/client/events.ts";
import {
  type ClientMessage,
  decodeClientMessage,
  encodeMessage,
  FrameDecoder,
  type RateLimit,
  type ServerMessage,
} from "../../src/protocol/mod.ts";
import { Changes, WAIT_MS, withDeadline } from "../_helpers/deadline.ts";

// ChatClient, the connection shell, over an in-memory transport: how it paces connection attempts.

/** A connection to a pretend server that welcomes every HELLO into the rooms asked for. */
class FakeConn implements ClientConn {
  written: ClientMessage[] = [];
  /** When each frame was written (Date.now()), by index into `written`. */
  writtenAt: number[] = [];
  /** The rate the pretend server announces in WELCOME, if any. */
  rateLimit: RateLimit | undefined;
  /** A hung server: the connection is accepted, and nothing ever answers. */
  silent = false;
  #decoder = new FrameDecoder();
  #incoming: Uint8Array[] = [];
  #reader: ((n: number | null) => void) | null = null;
  #buf: Uint8Array | null = null;
  #closed = false;

  /** The server sends `m`. */
  push(m: ServerMessage): void {
    this.#incoming.push(encodeMessage(m));
    this.#feed();
  }

  /** The server closes the connection. */
  end(): void {
    this.#closed = true;
    this.#feed();
  }

  #feed(): void {
    if (!this.#reader || !this.#buf) return;
    const read = this.#reader;
    const next = this.#incoming.shift();
    if (next) {
      this.#buf.set(next);
      this.#reader = null;
      read(next.length);
    } else if (this.#closed) {
      this.#reader = null;
      read(null);
    }
  }

  read(buf: Uint8Array): Promise<number | null> {
    return new Promise((resolve) => {
      this.#reader = resolve;
      this.#buf = buf;
      this.#feed();
    });
  }

  write(bytes: Uint8Array): Promise<number> {
    for (const frame of this.silent ? [] : this.#decoder.push(bytes)) {
      const m = decodeClientMessage(frame);
      this.written.push(m);
      this.writtenAt.push(Date.now());
      if (m.type === "ping") this.push({ type: "pong", token: m.token });
      if (m.type === "hello") {
        this.push({
          type: "welcome",
          version: 1,
          name: m.name,
          heartbeatMs: 1000,
          timeoutMs: 60_000,
          maxFrame: 65536,
          maxText: 4096,
          rooms: m.rooms,
          ...(this.rateLimit ? { rateLimit: this.rateLimit } : {}),
        });
        this.push({ type: "members", room: m.rooms[0], more: false, names: [m.name] });
      }
    }
    return Promise.resolve(bytes.length);
  }

  close(): void {
    this.end();
  }
}

/** A minute between attempts: only reconnect() brings a client back within a test's deadline. */
const MINUTE = { quick: 0, backoff: { baseMs: 60_000, maxMs: 60_000, jitter: 0 } };

/** A client whose connect() refuses while `refuse` says so, and records every attempt. */
class Harness {
  events: ClientEvent[] = [];
  changes = new Changes();
  conns: FakeConn[] = [];
  attempts = 0;
  /** host:port of every attempt, in order. */
  tried: string[] = [];
  /** Refuses a connection to `host` while it says so. */
  refuse: (host: string) => boolean = () => false;
  /** Never answers a connection to `host` (a host that drops packets) while it says so. */
  hang: (host: string) => boolean = () => false;
  /** Accepts a connection to `host` but never answers on it (a hung server) while it says so. */
  silent: (host: string) => boolean = () => false;
  /** The rate announced to every connection made from now on. */
  rateLimit: RateLimit | undefined;
  client: ChatClient;

  constructor(options: Partial<ClientOptions> = {}) {
    this.client = new ChatClient({
      servers: [{ host: "fake", port: 1 }],
      name: "alice",
      rooms: ["lobby"],
      timeoutMs: 60_000,
      reconnectAttempts: 0,
      // The quick pace throughout, shrunk to milliseconds; backoff_test.ts pins the real one.
      pace: { quick: 0, backoff: { baseMs: 5, maxMs: 20, jitter: 0 } },
      connect: (host, port) => {
        this.attempts++;
        this.tried.push(`${host}:${port}`);
        if (this.hang(host)) return new Promise<ClientConn>(() => {});
        if (this.refuse(host)) return Promise.reject(new Deno.errors.ConnectionRefused("refused"));
        const conn = new FakeConn();
        conn.rateLimit = this.rateLimit;
        conn.silent = this.silent(host);
        this.conns.push(conn);
        return Promise.resolve(conn);
      },
      ...options,
    }, (e) => {
      this.events.push(e);
      this.changes.notify();
    });
  }

  /** Waits for an event matching `match` after the first `from` events. */
  async next(match: (e: ClientEvent) => boolean, from = 0, timeoutMs = WAIT_MS): Promise<ClientEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.slice(from).find(match);
      if (hit) return hit;
      if (Date.now() >= deadline) {
        throw new Error(`no matching event within ${timeoutMs} ms; saw ${JSON.stringify(this.events)}`);
      }
      await this.changes.next(deadline);
    }
  }

  statuses(): string[] {
    return this.events.flatMap((e) => (e.type === "status" ? [e.state] : []));
  }
}

Deno.test("ChatClient.start() without a deadline fails at once when nothing listens", async () => {
  const h = new Harness();
  h.refuse = () => true;
  await assert.rejects(h.client.start(), (e: ClientError) => e.code === "CONNECTION_REFUSED");
  assert.equal(h.attempts, 1);
});

Deno.test("ChatClient.start() with a deadline tries again while refused, and connects once the server is there", async () => {
  const h = new Harness();
  h.refuse = () => h.attempts <= 3;
  await h.client.start({ retryUntil: Date.now() + WAIT_MS });
  assert.equal(h.attempts, 4);
  assert.equal(h.client.state, "connected");
  await h.client.quit();
});

Deno.test("ChatClient.start() with a deadline gives up at it, saying what failed and how often it tried", async () => {
  const h = new Harness();
  h.refuse = () => true;
  const started = Date.now();
  await assert.rejects(
    h.client.start({ retryUntil: started + 200 }),
    (e: ClientError) =>
      e.code === "CONNECTION_REFUSED" && /connection refused \(\d+ attempts in \d+ ms\)$/.test(e.message),
  );
  assert.ok(Date.now() - started >= 200, "not before the deadline");
  assert.ok(h.attempts >= 3, `${h.attempts} attempts`);
});

Deno.test("ChatClient.start() with a deadline does not try again after a refusal for good", async () => {
  const h = new Harness({
    connect: () => Promise.reject(new ClientError("TLS_UNTRUSTED", "certificate not trusted")),
  });
  await assert.rejects(
    h.client.start({ retryUntil: Date.now() + WAIT_MS }),
    (e: ClientError) => e.code === "TLS_UNTRUSTED",
  );
});

Deno.test("ChatClient keeps reconnecting after a lost connection, with no limit, until the server is back", async () => {
  const h = new Harness();
  await h.client.start();
  h.refuse = () => h.attempts <= 8;
  h.conns[0].end();
  const back = await h.next((e) => e.type === "welcome" && e.reconnected);
  assert.ok(back);
  const tries = h.events.filter((e) => e.type === "status" && e.state === "reconnecting");
  assert.deepEqual(tries.map((e) => e.type === "status" && e.attempt), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(tries.every((e) => e.type === "status" && e.of === 0), "no limit announced");
  await h.client.quit();
});

Deno.test("ChatClient.reconnect() while waiting for the next attempt makes it at once", async () => {
  // A minute between attempts: only reconnect() can bring the client back within the test's deadline.
  const h = new Harness({ pace: MINUTE });
  await h.client.start();
  const mark = h.events.length;
  h.conns[0].end();
  await h.next((e) => e.type === "status" && e.state === "reconnecting" && e.delayMs === 60_000, mark);
  assert.equal(h.attempts, 1);
  h.client.reconnect();
  await h.next((e) => e.type === "welcome" && e.reconnected, mark);
  assert.equal(h.attempts, 2);
  const said = h.events.slice(mark).filter((e) => e.type === "status" && e.state === "reconnecting");
  assert.deepEqual(said.map((e) => e.type === "status" && e.delayMs), [60_000, 0], "says it tries now");
  await h.client.quit();
});

Deno.test("ChatClient.reconnect() after a refusal for good tries at once, as 'connecting', not 'reconnecting'", async () => {
  const h = new Harness({ pace: MINUTE });
  await h.client.start();
  h.conns[0].push({ type: "error", fatal: true, code: "KICKED", ref: 0, message: "go away" });
  h.conns[0].end();
  const exit = await h.client.done;
  assert.equal(exit.code, "KICKED");
  assert.equal(h.client.state, "disconnected");
  const mark = h.events.length;
  h.client.reconnect();
  assert.equal(h.attempts, 2, "connects at once, not after a delay");
  await h.next((e) => e.type === "welcome" && e.reconnected, mark);
  assert.deepEqual(h.statuses().slice(-3), ["disconnected", "connecting", "connected"]);
  await h.client.quit();
});

Deno.test("ChatClient.quit() while waiting to reconnect stops at once", async () => {
  const h = new Harness({ pace: MINUTE });
  await h.client.start();
  h.conns[0].end();
  await h.next((e) => e.type === "status" && e.state === "reconnecting");
  await h.client.quit();
  assert.deepEqual(await h.client.done, { ok: true });
  assert.equal(h.attempts, 1, "no attempt after the quit");
});

Deno.test("ChatClient gives up reconnecting at giveUpAt", async () => {
  const h = new Harness({ giveUpAt: Date.now() + 150 });
  await h.client.start();
  h.refuse = () => true;
  h.conns[0].end();
  const exit = await h.client.done;
  assert.equal(exit.ok, false);
  assert.equal(exit.code, "CONNECTION_REFUSED");
  assert.match(exit.message ?? "", /gave up reconnecting to fake:1/);
});

/** The pretend server stores `sends` one every `gapMs`: the room's copy, then the ACK. */
function storeSlowly(conn: FakeConn, ids: number[], gapMs: number): void {
  ids.forEach((id, i) =>
    setTimeout(() => {
      conn.push({ type: "message", room: "lobby", seq: i + 1, ts: 1, flags: 0, from: "alice", text: "x" });
      conn.push({ type: "ack", id, room: "lobby", seq: i + 1, ts: 1 });
    }, gapMs * (i + 1))
  );
}

Deno.test("ChatClient.waitAcked() waits as long as acknowledgements keep coming", async () => {
  const h = new Harness();
  await h.client.start();
  const ids = [1, 2, 3, 4].map((n) => h.client.send(`m${n}`));
  storeSlowly(h.conns[0], ids, 100);
  // 400 ms in all, but never 250 ms without progress.
  assert.equal(await h.client.waitAcked(250), true);
  await h.client.quit();
});

Deno.test("ChatClient.waitAcked() with fixed waits no longer than its time, progress or not", async () => {
  const h = new Harness();
  await h.client.start();
  const ids = [1, 2, 3, 4].map((n) => h.client.send(`m${n}`));
  storeSlowly(h.conns[0], ids, 100);
  assert.equal(await h.client.waitAcked(250, { fixed: true }), false);
  assert.ok(h.client.pending > 0);
  await h.client.quit();
});

Deno.test("ChatClient sends at the rate the server announced, in order, waking itself for the rest", async () => {
  const h = new Harness();
  // 20 a second (18 with the margin: one every 56 ms), a burst of 2 (1 with the margin).
  h.rateLimit = { perSecond: 20, burst: 2 };
  await h.client.start();
  const conn = h.conns[0];
  const ids = [1, 2, 3, 4, 5].map((n) => h.client.send(`m${n}`));
  const sends = () =>
    conn.written.flatMap((m, i) => (m.type === "send" ? [{ id: m.id, at: conn.writtenAt[i] }] : []));
  const deadline = Date.now() + WAIT_MS;
  while (sends().length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const got = sends();
  assert.deepEqual(got.map((s) => s.id), ids, "all of them, in order");
  for (let i = 1; i < got.length; i++) {
    assert.ok(got[i].at - got[i - 1].at >= 45, `gap ${got[i].at - got[i - 1].at} ms before the ${i + 1}th`);
  }
  await h.client.quit();
});

Deno.test("ChatClient does not take its session back after REPLACED: it stops, and reconnects only when asked", async () => {
  const h = new Harness();
  await h.client.start();
  const msg = "replaced by a newer session of alice (from 127.0.0.1)";
  h.conns[0].push({ type: "error", fatal: true, code: "REPLACED", ref: 0, message: msg });
  h.conns[0].end();
  const exit = await withDeadline(
    h.client.done,
    WAIT_MS,
    () => `still reconnecting: ${JSON.stringify(h.events)}`,
  );
  assert.deepEqual(exit, { ok: false, code: "REPLACED", message: `gave up reconnecting to fake:1: ${msg}` });
  assert.equal(h.attempts, 1, "no attempt of its own");
  assert.deepEqual(h.statuses().slice(-1), ["disconnected"]);
  h.client.reconnect();
  await h.next((e) => e.type === "welcome" && e.reconnected);
  await h.client.quit();
});

Deno.test("ChatClient gives up after reconnectAttempts failed attempts, announcing the limit", async () => {
  const h = new Harness({ reconnectAttempts: 2 });
  await h.client.start();
  h.refuse = () => true;
  h.conns[0].end();
  const exit = await withDeadline(h.client.done, WAIT_MS, () => JSON.stringify(h.events));
  assert.equal(exit.code, "CONNECTION_REFUSED");
  const tries = h.events.filter((e) => e.type === "status" && e.state === "reconnecting");
  assert.deepEqual(tries.map((e) => e.type === "status" && [e.attempt, e.of]), [[1, 2], [2, 2]]);
  assert.equal(h.attempts, 3, "the first connection and two attempts");
});

// Several servers (the nodes of a cluster): the first that answers, the next when it goes away.

const NODES = [{ host: "a", port: 1 }, { host: "b", port: 2 }, { host: "c", port: 3 }];

Deno.test("ChatClient.start() with several servers connects to the first that answers, skipping the refused at once", async () => {
  // A minute between rounds: skipping a refused server must not wait for it.
  const h = new Harness({ servers: NODES, pace: MINUTE });
  h.refuse = (host) => host === "a";
  await withDeadline(h.client.start(), WAIT_MS, () => JSON.stringify(h.events));
  assert.deepEqual(h.tried, ["a:1", "b:2"]);
  assert.equal(h.client.server, "b:2");
  const said = h.events.flatMap((e) => e.type === "status" ? [`${e.state} ${e.server}`] : []);
  assert.deepEqual(said, ["connecting a:1", "connecting b:2", "connected b:2"]);
  const welcome = h.events.find((e) => e.type === "welcome");
  assert.equal(welcome?.type === "welcome" && welcome.server, "b:2");
  await h.client.quit();
});

Deno.test("ChatClient.start() with several servers and none answering fails with what each said", async () => {
  const h = new Harness({ servers: NODES.slice(0, 2) });
  h.refuse = () => true;
  await assert.rejects(
    h.client.start(),
    (e: ClientError) =>
      e.code === "CONNECTION_REFUSED" &&
      e.message === "cannot connect to a:1: connection refused; cannot connect to b:2: connection refused",
  );
  assert.deepEqual(h.tried, ["a:1", "b:2"], "each once");
});

Deno.test("ChatClient.start() does not try the next server after a refusal that every node would repeat", async () => {
  for (const code of ["BANNED", "AUTH_FAILED", "NAME_TAKEN"]) {
    let tries = 0;
    const h = new Harness({
      servers: NODES,
      connect: () => {
        tries++;
        return Promise.reject(new ClientError(code, "refused"));
      },
    });
    await assert.rejects(h.client.start(), (e: ClientError) => e.code === code);
    assert.equal(tries, 1, `${code}: every node of a cluster would refuse the same`);
  }
});

Deno.test("ChatClient.start() moves on from a server that never answers, or never welcomes, at its deadline", async () => {
  const cases = [
    // A host that drops packets: connect() never settles; the deadline is timeoutMs.
    { deadMs: 200, options: { timeoutMs: 200 }, set: (h: Harness) => h.hang = (host) => host === "a" },
    // A hung server: connected, and not a byte back; the deadline is attemptTimeoutMs.
    {
      deadMs: 150,
      options: { attemptTimeoutMs: 150 },
      set: (h: Harness) => h.silent = (host) => host === "a",
    },
  ];
  for (const c of cases) {
    const h = new Harness({ servers: NODES.slice(0, 2), ...c.options });
    c.set(h);
    const started = Date.now();
    await withDeadline(h.client.start(), WAIT_MS, () => JSON.stringify(h.events));
    assert.ok(Date.now() - started >= c.deadMs, "not before the deadline");
    assert.deepEqual(h.tried, ["a:1", "b:2"]);
    assert.equal(h.client.server, "b:2");
    await h.client.quit();
  }
});

Deno.test("ChatClient.start() with a deadline goes round the servers until one answers", async () => {
  const h = new Harness({ servers: NODES.slice(0, 2) });
  h.refuse = (host) => host === "a" || h.attempts <= 4;
  await h.client.start({ retryUntil: Date.now() + WAIT_MS });
  assert.deepEqual(h.tried, ["a:1", "b:2", "a:1", "b:2", "a:1", "b:2"]);
  assert.equal(h.client.server, "b:2");
  await h.client.quit();
});

Deno.test("ChatClient fails over at once to the next server, resuming where it was and resending its outbox once", async () => {
  // A minute between rounds: only a failover without a wait brings it back within the deadline.
  const h = new Harness({ servers: NODES.slice(0, 2), pace: MINUTE });
  await h.client.start();
  const a = h.conns[0];
  a.push({ type: "message", room: "lobby", seq: 1, ts: 1, flags: 0, from: "bob", text: "hi" });
  const id = h.client.send("unacknowledged");
  await h.next((e) => e.type === "message" && e.seq === 1);
  assert.ok(a.written.some((m) => m.type === "send" && m.id === id));
  const mark = h.events.length;
  h.refuse = (host) => host === "a";
  a.end();
  const back = await h.next((e) => e.type === "welcome" && e.reconnected, mark);
  assert.equal(back.type === "welcome" && back.server, "b:2");
  assert.deepEqual(h.tried, ["a:1", "b:2"], "the next server first, without waiting");
  const moved = h.events.slice(mark).find((e) => e.type === "status" && e.state === "reconnecting");
  assert.deepEqual(
    moved?.type === "status" && [moved.server, moved.attempt, moved.delayMs],
    ["b:2", 1, 0],
  );
  const b = h.conns[1];
  const hello = b.written[0];
  assert.equal(hello.type, "hello");
  assert.deepEqual(hello.type === "hello" && hello.since, new Map([["lobby", 1]]), "resumes after seq 1");
  assert.deepEqual(b.written.filter((m) => m.type === "send").map((m) => m.type === "send" && m.id), [id]);
  await h.client.quit();
});

Deno.test("ChatClient goes round robin: after the second server, the first again", async () => {
  const h = new Harness({ servers: NODES.slice(0, 2), pace: MINUTE });
  await h.client.start();
  h.conns[0].end();
  await h.next((e) => e.type === "welcome" && e.server === "b:2");
  const mark = h.events.length;
  h.conns[1].end();
  await h.next((e) => e.type === "welcome" && e.server === "a:1", mark);
  assert.deepEqual(h.tried, ["a:1", "b:2", "a:1"]);
  await h.client.quit();
});

Deno.test("ChatClient with every server down waits the backoff between full rounds, and counts rounds as attempts", async () => {
  const h = new Harness({ servers: NODES, reconnectAttempts: 2 });
  await h.client.start();
  h.refuse = () => true;
  h.conns[0].end();
  const exit = await withDeadline(h.client.done, WAIT_MS, () => JSON.stringify(h.events));
  assert.equal(exit.code, "CONNECTION_REFUSED");
  assert.equal(
    exit.message,
    "gave up reconnecting to a:1, b:2, c:3: cannot connect to a:1: connection refused",
  );
  // The lost server last in each round; only the second round waits (5 ms, the test's quick pace).
  assert.deepEqual(h.tried, ["a:1", "b:2", "c:3", "a:1", "b:2", "c:3", "a:1"]);
  const tries = h.events.flatMap((e) =>
    e.type === "status" && e.state === "reconnecting" ? [[e.server, e.attempt, e.of, e.delayMs]] : []
  );
  assert.deepEqual(tries, [
    ["b:2", 1, 2, 0],
    ["c:3", 1, 2, 0],
    ["a:1", 1, 2, 0],
    ["b:2", 2, 2, 5],
    ["c:3", 2, 2, 0],
    ["a:1", 2, 2, 0],
  ]);
});
