/**
 * Bursts within the default limits must not cost readers who keep up: a
 * reader is judged by what it fails to drain over time, and one sender's
 * burst is paced by the server (issue 16, item 2). The server runs with its
 * defaults (burst 500, outbox 1 MiB, SQLite).
 */

import assert from "node:assert/strict";
import { encodeMessage } from "../../src/protocol/mod.ts";
import { WAIT_MS, waitFor } from "../_helpers/deadline.ts";
import { startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** 4 KB texts, the default --max-text: 260 of them are just over 1 MiB of frames, produced by one write. */
const TEXT_BYTES = 4096;

const count = (c: RawClient, type: string) => c.messages.filter((m) => m.type === type).length;

function assertNothingBad(c: RawClient): void {
  const errors = c.messages.filter((m) => m.type === "error");
  assert.deepEqual(errors, [], `${c.label} got errors`);
  assert.equal(c.ended, false, `${c.label} was disconnected`);
}

Deno.test("a 1 MiB burst into a room, in one write, drops none of the readers that keep up", async () => {
  await using server = await startServer();
  const readers: RawClient[] = [];
  try {
    for (let i = 1; i <= 4; i++) {
      const r = await RawClient.connect(server.port, `reader${i}`);
      readers.push(r);
      await r.handshake(`reader${i}`, ["burst"]);
    }
    await using sender = await RawClient.connect(server.port, "sender");
    await sender.handshake("sender", ["burst"]);
    const n = 260;
    const frames = Array.from(
      { length: n },
      (_, i) =>
        encodeMessage({
          type: "send",
          id: i + 1,
          room: "burst",
          flags: 0,
          text: `${i + 1} `.padEnd(TEXT_BYTES, "x"),
        }),
    );
    const burst = new Uint8Array(frames.reduce((sum, f) => sum + f.byteLength, 0));
    let at = 0;
    for (const f of frames) {
      burst.set(f, at);
      at += f.byteLength;
    }
    assert.ok(burst.byteLength > 1024 * 1024, `${burst.byteLength} bytes`);
    await sender.write(burst);
    for (const c of [...readers, sender]) {
      await waitFor(
        c,
        () => count(c, "message") >= n || undefined,
        `${n} messages on ${c.label}`,
        WAIT_MS * 3,
      );
      assertNothingBad(c);
      const seqs = c.messages.flatMap((m) => m.type === "message" ? [m.seq] : []);
      assert.deepEqual(
        seqs,
        Array.from({ length: n }, (_, i) => i + 1),
        `${c.label} got every message once, in order`,
      );
    }
    await waitFor(sender, () => count(sender, "ack") >= n || undefined, `${n} acks`);
    assert.equal(server.proc.stderr.lines.some((l) => /slow_consumer/.test(l)), false, "nobody was dropped");
  } finally {
    for (const r of readers) await r[Symbol.asyncDispose]();
  }
});

Deno.test("two senders bursting 4 KB direct messages at one reading user do not drop that user", async () => {
  // The smallest outbox the server allows: two bursts land on it faster than one write drains it.
  await using server = await startServer(["--outbox-bytes", "65536"]);
  await using target = await RawClient.connect(server.port, "target");
  await target.handshake("target");
  await using a = await RawClient.connect(server.port, "a");
  await a.handshake("a");
  await using b = await RawClient.connect(server.port, "b");
  await b.handshake("b");
  const n = 260;
  const burst = (from: string) => {
    const frames = Array.from(
      { length: n },
      (_, i) =>
        encodeMessage({
          type: "private",
          id: i + 1,
          to: "target",
          flags: 0,
          text: `${from}${i} `.padEnd(TEXT_BYTES, "y"),
        }),
    );
    const out = new Uint8Array(frames.reduce((sum, f) => sum + f.byteLength, 0));
    let at = 0;
    for (const f of frames) {
      out.set(f, at);
      at += f.byteLength;
    }
    return out;
  };
  await Promise.all([a.write(burst("a")), b.write(burst("b"))]);
  await waitFor(
    target,
    () => count(target, "direct") >= 2 * n || undefined,
    `${2 * n} direct messages`,
    WAIT_MS * 3,
  );
  assertNothingBad(target);
  for (const c of [a, b]) {
    await waitFor(c, () => count(c, "ack") >= n || undefined, `${n} acks on ${c.label}`);
    assertNothingBad(c);
  }
  assert.equal(server.proc.stderr.lines.some((l) => /slow_consumer/.test(l)), false, "nobody was dropped");
});
