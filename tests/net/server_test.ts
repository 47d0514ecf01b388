import { ChatServer } from "../../src/net/server.ts";
import { silentLogger } from "../../src/net/log.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { encodeMessage } from "../../src/protocol/messages.ts";
import { probeRawConn } from "../../src/net/raw_conn.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import assert from "node:assert/strict";

/** Resolves once `check()` holds; fails with `what` after the deadline. */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function testServer(): ChatServer {
  return new ChatServer({
    store: new MemoryStore(),
    host: "127.0.0.1",
    port: 0,
    maxClients: 100,
    timeoutMs: 5000,
    maxFrame: 64 * 1024,
    maxText: 4096,
    maxRoomsPerClient: 10,
    maxRooms: 100,
    outboxBytes: 1 << 20,
    logger: silentLogger,
  });
}

/** The server's socket path: the runtime's raw ops, or the public Deno.Conn (CHAT_RAW_CONN=0). Both are tested. */
const PATHS = [{ raw: true, name: "raw runtime ops" }, { raw: false, name: "Deno.Conn" }];

for (const path of PATHS) {
  Deno.test(`ChatServer over ${path.name}: a message goes from one client to another, acknowledged`, async () => {
    assert.equal((await probeRawConn(!path.raw)).raw, path.raw);
    const server = testServer();
    const { port } = server.listen();
    const serving = server.serve();
    try {
      await using alice = await RawClient.connect(port, "alice");
      await using bob = await RawClient.connect(port, "bob");
      await alice.handshake("alice");
      await bob.handshake("bob");
      await alice.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "hi bob" });
      const ack = await alice.next("ack");
      const got = await bob.next("message");
      assert.deepEqual([ack.seq, got.seq, got.from, got.text], [1, 1, "alice", "hi bob"]);
    } finally {
      await server.shutdown();
      await serving;
      await probeRawConn();
    }
  });
}

// Each connection borrows a read slot from a shared slab; one not given back on some way out would make the
// slabs grow with every connection ever made instead of with those open.
for (const path of PATHS) {
  Deno.test(`ChatServer over ${path.name} gives every connection's read slot back, however the connection ends`, async () => {
    assert.equal((await probeRawConn(!path.raw)).raw, path.raw);
    const server = testServer();
    const { port } = server.listen();
    const serving = server.serve();
    const conns: Deno.TcpConn[] = [];
    try {
      const dial = async () => {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        conns.push(c);
        return c;
      };
      const hello = (name: string) =>
        encodeMessage({ type: "hello", version: 1, name, rooms: ["lobby"], extensions: [] });
      const joined = [await dial(), await dial(), await dial()];
      for (const [i, c] of joined.entries()) await c.write(hello(`user${i}`));
      const silent = await dial();
      const garbage = await dial();
      await until(() => server.readSlotsInUse === 5, "5 connections to hold a read slot each");

      joined[0].close(); // a joined client leaves
      silent.close(); // a connection that never said a word
      await garbage.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n")); // not chat: the server closes it
      await until(() => server.readSlotsInUse === 2, "3 of the slots to come back");

      // The rest are closed by the server; each read loop ends when its pending read fails, just after.
      await server.shutdown();
      await until(() => server.readSlotsInUse === 0, "the last 2 slots to come back after shutdown");
    } finally {
      await server.shutdown();
      await serving;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed above */ }
      }
      await probeRawConn();
    }
  });
}
