/**
 * The rate limit `chat serve` is given is the one its WELCOME announces (RATE_LIMIT) and the one it
 * applies; `--rate-limit 0` announces none and limits nothing.
 */

import assert from "node:assert/strict";
import { startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** Writes SENDs with ids 1..count to lobby, back to back. */
async function sendMany(raw: RawClient, count: number): Promise<void> {
  for (let id = 1; id <= count; id++) {
    await raw.send({ type: "send", id, room: "lobby", flags: 0, text: `m${id}` });
  }
}

Deno.test("WELCOME announces the rate limit chat serve applies (--rate-limit 1 --rate-burst 2)", async () => {
  await using server = await startServer(["--rate-limit", "1", "--rate-burst", "2"]);
  await using raw = await RawClient.connect(server.port, "limited");
  const welcome = await raw.handshake("limited", ["lobby"]);
  assert.deepStrictEqual(welcome.rateLimit, { perSecond: 1, burst: 2 }, raw.describe());
  // A burst of 2, then one a second: the third of three messages sent at once is refused.
  await sendMany(raw, 3);
  await raw.next("ack", (m) => m.id === 2);
  const refused = await raw.next("error", (m) => m.ref === 3);
  assert.equal(refused.code, "RATE_LIMITED", raw.describe());
});

Deno.test("with --rate-limit 0, WELCOME announces no rate limit and no message is refused", async () => {
  await using server = await startServer(["--rate-limit", "0", "--rate-burst", "1"]);
  await using raw = await RawClient.connect(server.port, "free");
  const welcome = await raw.handshake("free", ["lobby"]);
  assert.equal(welcome.rateLimit, undefined, raw.describe());
  await sendMany(raw, 20);
  // The server answers in order: once the last ACK is in, every answer before it is too.
  await raw.next("ack", (m) => m.id === 20);
  assert.deepStrictEqual(raw.messages.filter((m) => m.type === "error"), [], raw.describe());
  assert.equal(raw.messages.filter((m) => m.type === "ack").length, 20);
});
