import assert from "node:assert/strict";
import { hex, NOT_CHAT_LINE } from "../../src/protocol/mod.ts";
import { joinJson, type JsonClient } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** Sends `bytes` as the first thing on a fresh connection and returns everything the server answered. */
async function firstBytes(port: number, bytes: Uint8Array, label: string): Promise<string> {
  await using raw = await RawClient.connect(port, label);
  await raw.write(bytes);
  await raw.closed();
  return raw.text();
}

/** Has `from` say `text`, and waits until it is acknowledged and everyone in `all` has it. */
async function chat(from: JsonClient, text: string, all: JsonClient[]): Promise<void> {
  await from.say(text);
  let seq = 0;
  for (const c of all) seq = (await c.next("message", (m) => m.text === text && m.from === from.name)).seq;
  await from.until(() => from.all("ack").some((a) => a.seq === seq) || undefined, `the ack of seq ${seq}`);
}

Deno.test("garbage, HTTP, malformed and oversized frames each get an answer and a close, while chat goes on", async () => {
  await using server = await startServer();
  await using alice = await joinJson(server.port, "alice");
  await using bob = await joinJson(server.port, "bob");
  const both = [alice, bob];
  await chat(alice, "before", both);

  const noise = crypto.getRandomValues(new Uint8Array(64));
  assert.equal(
    await firstBytes(server.port, noise, "noise"),
    NOT_CHAT_LINE,
    `answer to random bytes ${hex(noise)}`,
  );
  await chat(bob, "after noise", both);

  // HTTP is served on the chat port (the web client): an HTTP answer, then the close it asked for.
  const http = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.match(
    await firstBytes(server.port, http, "http"),
    /^HTTP\/1\.1 200 OK\r\n/,
    "answer to an HTTP request",
  );
  await chat(alice, "after http", both);

  {
    await using raw = await RawClient.connect(server.port, "malformed");
    await raw.handshake("malformed");
    await alice.next("presence", (e) => e.event === "join" && e.name === "malformed");
    // A SEND whose payload stops after two of the eight id bytes.
    await raw.write(new Uint8Array([0, 0, 0, 3, 0x02, 0, 0]));
    const err = await raw.next("error");
    assert.equal(err.code, "BAD_FRAME", raw.describe());
    assert.equal(err.fatal, true);
    await raw.closed();
    assert.equal(raw.decodeError, null, raw.describe());
    const leave = await alice.next("presence", (e) => e.event === "leave" && e.name === "malformed");
    assert.equal(leave.reason, "bad_frame");
  }
  await chat(bob, "after malformed", both);

  {
    await using raw = await RawClient.connect(server.port, "huge");
    await raw.handshake("huge");
    // A header claiming 4 GiB: refused from the four length bytes, before any body arrives.
    await raw.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x02]));
    const err = await raw.next("error");
    assert.equal(err.code, "TOO_LARGE", raw.describe());
    assert.equal(err.fatal, true);
    await raw.closed();
    const leave = await alice.next("presence", (e) => e.event === "leave" && e.name === "huge");
    assert.equal(leave.reason, "too_large");
  }
  await chat(alice, "after huge", both);

  // Nothing lost, nothing doubled: both saw the same five messages as seqs 1..5.
  const expected = ["before", "after noise", "after http", "after malformed", "after huge"];
  for (const c of both) {
    assert.deepEqual(
      c.messages().map((m) => [m.seq, m.text]),
      expected.map((t, i) => [i + 1, t]),
      c.describe(),
    );
    assert.equal(c.proc.status, null, `${c.name} is still running`);
  }
});
