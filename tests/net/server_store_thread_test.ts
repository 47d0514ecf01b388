/**
 * The server with its SQLite commits on a worker thread (the default of
 * `chat serve --data-dir`): the event loop keeps serving sockets while a
 * commit syncs, an ACK and a delivery still wait for the commit, and a
 * commit that fails refuses its whole batch and delivers none of it.
 * The worker is tests/_helpers/sqlite_test_worker.ts, whose commits can be
 * made slow or failing by the text of a message.
 */

import assert from "node:assert/strict";
import { PipelinedQueue } from "../../src/chat/pipeline.ts";
import { silentLogger } from "../../src/net/log.ts";
import { encodeMessage } from "../../src/protocol/mod.ts";
import { ChatServer } from "../../src/net/server.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { ThreadedSqliteStore } from "../../src/store/sqlite_threaded.ts";
import { concat } from "../_helpers/bytes.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { SIGNALS } from "../_helpers/sqlite_test_worker.ts";

const FAULTY = new URL("../_helpers/sqlite_test_worker.ts", import.meta.url);

/** Runs `fn` against a server on a threaded store in a temp dir, then shuts everything down. */
async function withServer(fn: (port: number, server: ChatServer) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-thread-" });
  const store = await ThreadedSqliteStore.open(new SqliteStore(dir), {
    dir,
    retention: {},
    maxBytes: 0,
    workerUrl: FAULTY,
  });
  const server = new ChatServer({
    store,
    host: "127.0.0.1",
    port: 0,
    maxClients: 10,
    timeoutMs: 30_000,
    maxFrame: 64 * 1024,
    maxText: 4096,
    maxRoomsPerClient: 10,
    maxRooms: 100,
    outboxBytes: 1 << 20,
    logger: silentLogger,
  });
  const { port } = server.listen();
  const serving = server.serve();
  try {
    await fn(port, server);
  } finally {
    await server.shutdown();
    await serving;
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Resolves when the test worker says a slow commit reached `phase`; `seen` tells whether it has. */
function slowCommit(phase: "start" | "end"): { reached: Promise<void>; seen(): boolean; close(): void } {
  const channel = new BroadcastChannel(SIGNALS);
  let seen = false;
  const reached = new Promise<void>((resolve) => {
    channel.onmessage = (e: MessageEvent) => {
      if (e.data?.slow !== phase) return;
      seen = true;
      resolve();
    };
  });
  return { reached, seen: () => seen, close: () => channel.close() };
}

Deno.test("while a commit syncs on the worker, the server answers a PING; the ACK and the delivery wait for the commit", () =>
  withServer(async (port, server) => {
    assert.ok(
      server.runner.queue instanceof PipelinedQueue,
      "the server asks the storage thread ahead of its answers",
    );
    await using alice = await RawClient.connect(port, "alice");
    await using bob = await RawClient.connect(port, "bob");
    await alice.handshake("alice");
    await bob.handshake("bob");
    const started = slowCommit("start");
    const ended = slowCommit("end");
    try {
      await alice.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "slow:3000 hello" });
      await started.reached;
      // The worker's thread is blocked in the commit now; the server's is not.
      await bob.send({ type: "ping", token: 77 });
      const pong = await bob.next("pong");
      assert.equal(pong.token, 77);
      assert.equal(ended.seen(), false, "the PONG came only after the commit: the event loop waited for it");
      assert.ok(!alice.messages.some((m) => m.type === "ack"), "acknowledged before the commit was synced");
      assert.ok(!bob.messages.some((m) => m.type === "message"), "delivered before the commit was synced");
      const ack = await alice.next("ack");
      assert.equal(ended.seen(), true, "the ACK came before the commit ended");
      const got = await bob.next("message");
      assert.deepEqual([ack.seq, got.seq, got.text], [1, 1, "slow:3000 hello"]);
    } finally {
      started.close();
      ended.close();
    }
  }));

Deno.test("a commit that fails on the worker refuses every message of its batch, delivers none, and leaves no gap", () =>
  withServer(async (port) => {
    await using alice = await RawClient.connect(port, "alice");
    await using bob = await RawClient.connect(port, "bob");
    await alice.handshake("alice");
    await bob.handshake("bob");
    const started = slowCommit("start");
    try {
      // A slow first commit: the next two messages go to the log together while it runs, a batch of two.
      await alice.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "slow:1000 first" });
      await started.reached;
    } finally {
      started.close();
    }
    // Both in one write, so one read: they are asked of the log together, as one commit.
    const secondFrame = encodeMessage({
      type: "send",
      id: 2,
      room: "lobby",
      flags: 0,
      text: "throw: second",
    });
    const thirdFrame = encodeMessage({ type: "send", id: 3, room: "lobby", flags: 0, text: "third" });
    await alice.write(concat([secondFrame, thirdFrame]));
    const first = await alice.next("ack");
    assert.deepEqual([first.id, first.seq], [1, 1]);
    for (const id of [2, 3]) {
      const refused = await alice.next("error", (e) => e.ref === id);
      assert.equal(refused.code, "STORAGE_ERROR", JSON.stringify(refused));
      assert.match(refused.message, /not stored.*not delivered, retry later/);
    }
    // Sent again, the third is stored under the number the failed batch gave back.
    await alice.send({ type: "send", id: 3, room: "lobby", flags: 0, text: "third" });
    const third = await alice.next("ack");
    assert.deepEqual([third.id, third.seq], [3, 2]);
    await bob.next("message", (m) => m.text === "third");
    const delivered = bob.messages.flatMap((m) => m.type === "message" ? [[m.seq, m.text]] : []);
    assert.deepEqual(
      delivered,
      [[1, "slow:1000 first"], [2, "third"]],
      "nothing of the failed batch was delivered",
    );
  }));
