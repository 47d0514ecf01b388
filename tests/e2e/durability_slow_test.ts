/**
 * Slow readers (issue 4): the server cuts off a reader that does not keep
 * up instead of queueing for it without bound, tells it why when it can, and
 * the reader catches up from the store when it comes back.
 */

import assert from "node:assert/strict";
import {
  decodeServerMessage,
  encodeMessage,
  FrameDecoder,
  MAX_FRAME_CEILING,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../../src/protocol/mod.ts";
import {
  assertCompleteLog,
  assertUniqueTexts,
  mib,
  residentBytes,
  RssSampler,
  serveOn,
  tempDir,
} from "../_helpers/durable.ts";
import { DEFAULT_OUTBOX_BYTES } from "../../src/net/outbox.ts";
import { withDeadline } from "../_helpers/deadline.ts";
import { joinJson } from "../_helpers/json_client.ts";

const TEXT_BYTES = 4000;
const text = (i: number) => `flood ${i} `.padEnd(TEXT_BYTES, "x");
/** 32 MB of MESSAGE frames: far more than a reader's budget (1 MiB) plus the kernel's socket buffers. */
const FLOOD = 8_000;
const FLOOD_BYTES = FLOOD * TEXT_BYTES;
/** Messages before the measured flood, so the baseline is a server with its hot paths compiled. */
const WARM = 200;
/**
 * How much more the server's peak RSS may grow with a frozen reader than in
 * the same flood with every reader keeping up. A queue without a bound holds
 * the whole flood for the frozen reader: measured at about 70 MB more with
 * `--outbox-bytes 1073741824`. The garbage a busy server carries between
 * collections (about 40 MB here, mostly the flood's frame buffers) varies by
 * up to 20 MB between runs on a loaded machine.
 */
const EXTRA_RSS_BOUND = 32 * 1024 * 1024;
/** The bound on the peak itself, for the record: about twice what a healthy run uses. */
const PEAK_RSS_BOUND = 256 * 1024 * 1024;
const FLOOD_MS = 60_000;

/**
 * Sends `count` messages over a bare socket as fast as a window of unacked
 * sends allows, reading (and dropping) its own copies as they come so it
 * never becomes a slow consumer itself. Resolves once every message is
 * acknowledged.
 */
async function flood(port: number, name: string, count: number, text: (i: number) => string): Promise<void> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  // Enough in flight that commits carry many messages each; its own copies stay far below its budget.
  const window = 100;
  let acked = 0;
  let wake = () => {};
  const progress = () => new Promise<void>((r) => wake = r);
  const welcomed = progress();
  const reading = (async () => {
    const decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
    const buf = new Uint8Array(256 * 1024);
    while (acked < count) {
      const n = await conn.read(buf);
      if (n === null) throw new Error(`${name}: the server closed the connection after ${acked} acks`);
      for (const frame of decoder.push(buf.subarray(0, n))) {
        const m = decodeServerMessage(frame);
        if (m.type === "ack") acked++;
        else if (m.type === "error") throw new Error(`${name}: ${m.code}: ${m.message}`);
        else if (m.type !== "welcome") continue;
        wake();
      }
    }
  })();
  const write = async (bytes: Uint8Array) => {
    let off = 0;
    while (off < bytes.byteLength) off += await conn.write(bytes.subarray(off));
  };
  await write(encodeMessage({ type: "hello", version: PROTOCOL_VERSION, name, rooms: [], extensions: [] }));
  await Promise.race([welcomed, reading]);
  for (let sent = 0; sent < count;) {
    const more = progress();
    while (sent < count && sent - acked < window) {
      sent++;
      await write(encodeMessage({ type: "send", id: sent, room: "lobby", flags: 0, text: text(sent) }));
    }
    await Promise.race([more, reading]);
  }
  await reading;
}

/**
 * Floods a fresh durable server with a `chat join --json` reader connected,
 * frozen by SIGSTOP during the flood when `freeze` is set. Returns the
 * server's resident memory before and at its peak during the flood, and the
 * reader, thawed, for the caller to check.
 */
async function measuredFlood(freeze: boolean) {
  await using data = await tempDir("chat-e2e-data-");
  await using server = await serveOn(0, data.path);
  await using reader = await joinJson(server.port, "reader", { flags: ["--reconnect-attempts", "0"] });
  await flood(server.port, "warmup", WARM, (i) => `warm ${i}`);
  await reader.waitMessages(WARM);
  const baseline = residentBytes(server.proc.pid);
  if (freeze) reader.proc.kill("SIGSTOP");
  let peak: number;
  {
    using rss = new RssSampler(server.proc.pid);
    await withDeadline(flood(server.port, "flooder", FLOOD, text), FLOOD_MS, () => server.proc.describe());
    if (freeze) {
      await server.proc.stderr.next((l) => /disconnect reader .*reason=slow_consumer/.test(l), "the cut-off");
    }
    rss.sample();
    peak = rss.peak;
  }
  if (freeze) reader.proc.kill("SIGCONT");
  const got = await reader.waitMessages(WARM + FLOOD, FLOOD_MS);
  return { baseline, peak, got, reconnected: reader.all("welcome").some((w) => w.reconnected) };
}

Deno.test("a reader frozen by SIGSTOP during a flood is cut off, server memory stays bounded, and it ends with every message once", async () => {
  const control = await measuredFlood(false);
  const frozen = await measuredFlood(true);

  const got = frozen.got;
  assertCompleteLog(got, "reader");
  assert.equal(got.length, WARM + FLOOD);
  assertUniqueTexts(got, "reader");
  assert.equal(got.at(-1)!.text, text(FLOOD));
  assert.ok(frozen.reconnected, "the frozen reader was cut off and came back");
  assert.ok(!control.reconnected, "the reader that kept up was never cut off");

  const growth = (r: typeof control) => r.peak - r.baseline;
  const summary = `server RSS in a ${mib(FLOOD_BYTES)} flood: keeping up ${mib(control.baseline)} -> ${
    mib(control.peak)
  }, frozen reader ${mib(frozen.baseline)} -> ${mib(frozen.peak)}`;
  assert.ok(growth(frozen) < growth(control) + EXTRA_RSS_BOUND, summary);
  assert.ok(frozen.peak < PEAK_RSS_BOUND, summary);
});

Deno.test("a reader that stops reading is told SLOW_CONSUMER before its connection is closed", async () => {
  // Frames sized so that a full queue leaves less room than any ERROR frame needs: the frame saying why the
  // reader is cut off must go past the budget, or it is lost.
  const frameBytes = (len: number) =>
    encodeMessage({
      type: "message",
      room: "lobby",
      seq: 1,
      ts: 1,
      flags: 0,
      from: "flooder",
      text: "x".repeat(len),
    })
      .byteLength;
  let len = 3000;
  while (DEFAULT_OUTBOX_BYTES % frameBytes(len) >= 16) len++;
  await using data = await tempDir("chat-e2e-data-");
  // A long timeout: the server sends no PING to the silent reader, so its queue holds flood frames only.
  await using server = await serveOn(0, data.path, ["--timeout", "60000"]);
  using lazy = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const hello = encodeMessage({
    type: "hello",
    version: PROTOCOL_VERSION,
    name: "lazy",
    rooms: [],
    extensions: [],
  });
  await lazy.write(hello);
  // 12 MB for a reader that reads nothing: its budget and the socket buffers overflow long before the end.
  const sized = (i: number) => `flood ${i} `.padEnd(len, "x");
  await withDeadline(flood(server.port, "flooder", 3000, sized), FLOOD_MS, () => server.proc.describe());
  await server.proc.stderr.next((l) => /disconnect lazy .*reason=slow_consumer/.test(l), "the cut-off");

  // Read everything the server still flushes (it waits about a second for that) up to the close.
  const decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
  const received: ServerMessage[] = [];
  const buf = new Uint8Array(256 * 1024);
  for (;;) {
    const n = await lazy.read(buf);
    if (n === null) break;
    for (const frame of decoder.push(buf.subarray(0, n))) received.push(decodeServerMessage(frame));
  }
  const last = received.at(-1);
  assert.ok(last?.type === "error", `the last frame is ${JSON.stringify(last?.type)}`);
  assert.equal(last.code, "SLOW_CONSUMER");
  assert.equal(last.fatal, true);
  // Everything before it is whole and in order: a prefix of the room's log.
  const seqs = received.flatMap((m) => (m.type === "message" ? [m.seq] : []));
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
});
