/**
 * `chat serve --ephemeral` keeps its messages within a memory budget
 * (`--memory-store-mb`), all rooms together: a real server, real sockets.
 * Before, only each room was capped (10,000 messages), so the store grew
 * with the number of rooms.
 */

import assert from "node:assert/strict";
import { encodeMessage, type Fetched, type ServerMessage } from "../../src/protocol/mod.ts";
import { startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** The history a new client joining `room` gets, and where the room stands (its FETCHED). */
async function joinHistory(
  port: number,
  name: string,
  room: string,
): Promise<{ seqs: number[]; last: number }> {
  await using c = await RawClient.connect(port, name);
  await c.handshake(name, [room]);
  const fetched = await c.next("fetched", (f) => f.room === room) as Fetched;
  const seqs = c.messages.flatMap((m: ServerMessage) =>
    m.type === "message" && m.room === room ? [m.seq] : []
  );
  return { seqs, last: fetched.lastSeq };
}

Deno.test("chat serve --ephemeral --memory-store-mb 1: a busy room pushes out a quiet room's old messages", async () => {
  await using server = await startServer(["--ephemeral", "--memory-store-mb", "1", "--rate-limit", "0"]);
  await using bob = await RawClient.connect(server.port, "bob");
  await bob.handshake("bob", ["quiet", "busy"]);
  const text = "x".repeat(200);
  const send = (id: number, room: string) => encodeMessage({ type: "send", id, room, flags: 0, text });
  for (let id = 1; id <= 3; id++) await bob.write(send(id, "quiet"));
  await bob.next("ack", (a) => a.id === 3);
  assert.deepEqual(await joinHistory(server.port, "early", "quiet"), { seqs: [1, 2, 3], last: 3 });
  // 1 MiB holds about 2,000 messages of 200 bytes as the store counts them: 3,000 overflow it.
  for (let first = 4; first <= 3003; first += 500) {
    const ids = Array.from({ length: 500 }, (_, i) => first + i);
    const frames = ids.map((id) => send(id, "busy")) as Uint8Array<ArrayBuffer>[];
    await bob.write(new Uint8Array(await new Blob(frames).arrayBuffer()));
  }
  await bob.next("ack", (a) => a.id === 3003);
  const quiet = await joinHistory(server.port, "late", "quiet");
  assert.deepEqual(
    quiet,
    { seqs: [], last: 3 },
    "the oldest messages of the store went first; numbering stays",
  );
  const busy = await joinHistory(server.port, "later", "busy");
  assert.deepEqual(
    busy.seqs,
    Array.from({ length: 50 }, (_, i) => 2951 + i),
    "the busy room keeps its newest",
  );
});
