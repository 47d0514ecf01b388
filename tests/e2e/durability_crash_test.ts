/**
 * Issue 4's crash test: a server killed with SIGKILL in the middle of a
 * stream and restarted on the same data dir loses no acknowledged message,
 * and no client sees one twice. Three `chat join` senders pipe 1500 numbered
 * lines each (4500 messages) while a `chat join --json` and a `chat tail
 * --json` receive: the first 750 each, then, once the first receiver has 1000
 * messages, the other 750 each, and the kill as soon as one of those arrives.
 */

import assert from "node:assert/strict";
import type { ClientEvent } from "../../src/client/events.ts";
import {
  assertCompleteLog,
  assertUniqueTexts,
  pollUntil,
  serveOn,
  tailCursor,
  tailJson,
  tempDir,
  xdgHome,
} from "../_helpers/durable.ts";
import { joinJson } from "../_helpers/json_client.ts";

const SENDERS = 3;
const PER_SENDER = 1500;
const TOTAL = SENDERS * PER_SENDER;
/** The server dies once the first receiver has this many messages of the first part (900). */
const KILL_AT = 600;
/** Delivering everything twice over on two loaded cores takes a while; a passing run needs far less. */
const STREAM_MS = 90_000;

/** Acks a sender printed before it first saw the connection drop: the server had sent them before dying. */
function acksBeforeDrop(events: readonly ClientEvent[]): number {
  let n = 0;
  for (const e of events) {
    if (e.type === "status" && e.state === "reconnecting") return n;
    if (e.type === "ack") n++;
  }
  return n;
}

Deno.test("a server killed with SIGKILL mid-stream and restarted loses no acknowledged message and doubles none", async () => {
  await using data = await tempDir("chat-e2e-data-");
  await using first = await serveOn(0, data.path);
  const port = first.port;
  const forever = ["--reconnect-attempts", "0"];

  await using reader = await joinJson(port, "reader", { flags: forever });
  await using followerHome = await tempDir("chat-e2e-home-");
  await using follower = tailJson(port, "follower", forever, { env: xdgHome(followerHome.path) });
  // tail prints only messages and, a transient session, makes no presence: its saved position in the (empty)
  // room says it is in the room before anything is sent.
  await pollUntil(
    () => tailCursor(followerHome.path, port, "follower", "lobby") === 0 ? true : undefined,
    "the follower's position in lobby",
  );
  const senders = [];
  for (let k = 1; k <= SENDERS; k++) {
    // A long timeout: on end of input a sender waits that long for its last acknowledgements.
    senders.push(await joinJson(port, `s${k}`, { flags: [...forever, "--timeout", "30000"] }));
  }
  try {
    const texts = (k: number) => Array.from({ length: PER_SENDER }, (_, i) => `s${k} #${i + 1}`);
    // A short first part and a long second one: however fast the server, most of the stream is still in flight
    // when the kill lands.
    const half = PER_SENDER / 5;
    const lines = (k: number, from: number, to: number) => texts(k).slice(from, to).join("\n") + "\n";
    // The first half at once: each sender reads it faster than the server stores it.
    await Promise.all(senders.map((s, i) => s.proc.write(lines(i + 1, 0, half))));
    await reader.until(
      (events) => events.filter((e) => e.type === "message").length >= KILL_AT || undefined,
      `${KILL_AT} messages`,
      STREAM_MS,
    );
    // The second half, and the kill as soon as the first of it is stored: the rest is in flight, at every stage
    // from stdin to the store's next commit.
    await Promise.all(senders.map((s, i) => s.proc.write(lines(i + 1, half, PER_SENDER))));
    await reader.until(
      (events) =>
        events.some((e) => e.type === "message" && Number(e.text.split("#")[1]) > half) || undefined,
      "a message of the second half",
      STREAM_MS,
    );
    first.proc.kill("SIGKILL");
    await first.proc.exit();
    for (const c of [reader, ...senders]) await c.next("status", (e) => e.state === "reconnecting");
    await follower.proc.stderr.next((l) => /reconnecting/.test(l), "the tail reconnecting");
    const ackedBeforeKill = senders.map((s) => acksBeforeDrop(s.events()));
    assert.ok(
      ackedBeforeKill.some((n) => n < PER_SENDER),
      `the kill came after the stream ended (acks before it: ${ackedBeforeKill})`,
    );

    await using second = await serveOn(port, data.path);
    for (const s of senders) {
      await s.next("welcome", (e) => e.reconnected);
      await s.proc.closeStdin();
    }
    for (const s of senders) assert.equal((await s.proc.exit(STREAM_MS)).code, 0, s.describe());

    const expected = new Set(senders.flatMap((_, i) => texts(i + 1)));
    for (const r of [reader, follower]) {
      const got = await r.waitMessages(TOTAL, STREAM_MS);
      assertCompleteLog(got, r.name);
      assert.equal(got.length, TOTAL, `${r.name}: extra messages after the last`);
      assert.deepEqual(assertUniqueTexts(got, r.name), expected, `${r.name}: not every message`);
    }
    // Every acknowledgement a sender received names the seq at which its message sits, exactly once.
    const bySeq = new Map(reader.messages().map((m) => [m.seq, m]));
    senders.forEach((s, i) => {
      const acks = s.all("ack");
      assert.equal(new Set(acks.map((a) => a.id)).size, PER_SENDER, `${s.name}: one ack per message`);
      assert.equal(acks.length, PER_SENDER, `${s.name}: an id acknowledged twice`);
      const mine = acks.map((a) => bySeq.get(a.seq));
      assert.ok(mine.every((m) => m?.from === s.name), `${s.name}: an ack names another sender's seq`);
      assert.deepEqual(new Set(mine.map((m) => m!.text)), new Set(texts(i + 1)));
    });
    second.proc.kill("SIGTERM");
    assert.equal((await second.proc.exit()).code, 0, second.proc.describe());
  } finally {
    for (const s of senders) await s[Symbol.asyncDispose]();
  }
});
