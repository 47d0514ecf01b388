import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

Deno.test("a SEND resent with the same id is acknowledged twice with one seq and delivered once", async () => {
  await using server = await startServer();
  await using bob = await joinJson(server.port, "bob");
  await using raw = await RawClient.connect(server.port, "resender");
  await raw.handshake("resender");

  const send = { type: "send", id: 42, room: "lobby", flags: 0, text: "only once" } as const;
  await raw.send(send);
  await raw.send(send);
  const first = await raw.next("ack");
  const second = await raw.next("ack");
  assert.deepEqual([first.id, second.id], [42, 42]);
  assert.equal(second.seq, first.seq);
  assert.equal(second.ts, first.ts);

  // A later message is the marker: once bob has it, a duplicate would have arrived before it.
  await raw.send({ ...send, id: 43, text: "marker" });
  const marker = await raw.next("ack");
  assert.equal(marker.seq, first.seq + 1);
  await bob.next("message", (m) => m.text === "marker");
  assert.deepEqual(bob.messages().map((m) => [m.seq, m.from, m.text]), [
    [first.seq, "resender", "only once"],
    [marker.seq, "resender", "marker"],
  ]);
  // The sender's own copy of the broadcast is not doubled either.
  const own = raw.messages.flatMap((m) => m.type === "message" ? [m.text] : []);
  assert.deepEqual(own, ["only once", "marker"]);
});
