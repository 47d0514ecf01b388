/**
 * The abuse battery of issue 5, against one real server with explicit limits: garbage, truncated and
 * oversized frames, invalid UTF-8, unknown frame types, HTTP, a crowd of 500 connections from one address,
 * a HELLO sent byte by byte, a client that never reads while a room is flooded, and a flood over the rate
 * limit. Meanwhile a well-behaved pair of `chat join --json` clients chats in the lobby and must see every
 * message; afterwards the server's resident memory must be within a stated bound.
 *
 * The random bytes are seeded: set FUZZ_SEED to explore, and replay a failure with the seed it prints.
 */

import assert from "node:assert/strict";
import { parseStatusBytes } from "../../src/bench/procfs.ts";
import { FLOOD_STRIKES } from "../../src/chat/guard.ts";
import {
  encodeFrame,
  encodeMessage,
  FrameType,
  type Hello,
  hex,
  MAGIC,
  type Message,
  NOT_CHAT_LINE,
  type Presence,
  PROTOCOL_VERSION,
  WireWriter,
} from "../../src/protocol/mod.ts";
import { WAIT_MS, waitFor } from "../_helpers/deadline.ts";
import { joinJson, type JsonClient } from "../_helpers/json_client.ts";
import { Prng, testSeed } from "../_helpers/prng.ts";
import type { LineReader } from "../_helpers/line_reader.ts";
import { startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

const SEED = testSeed(0x5afe_0005);

/** Short, so the HELLO sent byte by byte hits it within the test; also the silence limit of everyone. */
const TIMEOUT_MS = 3000;
const MAX_CONNS_PER_IP = 50;
const OUTBOX_BYTES = 256 * 1024;
const RATE = 20;
const BURST = 40;
/** Large texts fill a non-reader's socket buffers and outbox in a second or two at a legal rate. */
const MAX_TEXT = 60_000;

const SERVER_FLAGS = [
  "--ephemeral",
  "--limit-loopback",
  "--max-conns-per-ip",
  String(MAX_CONNS_PER_IP),
  // The battery opens about 530 connections in well under a minute; the per-minute limit is tested on its own.
  "--conn-rate-per-ip",
  "100000",
  "--outbox-bytes",
  String(OUTBOX_BYTES),
  "--rate-limit",
  String(RATE),
  "--rate-burst",
  String(BURST),
  "--timeout",
  String(TIMEOUT_MS),
  "--max-text",
  String(MAX_TEXT),
  // Leaves are announced at once, so the warden sees each drop and its reason without waiting.
  "--grace",
  "0",
];

/**
 * The bound on the server's resident memory after the battery. Measured on Linux x86-64 with Deno 2.9.6:
 * 53-54 MiB idle, 77-85 MiB after the battery (peak 80-85 MiB). What the server may legitimately hold by then
 * is small: at most 50 connections, each with an outbox capped at 256 KiB and a 4 KiB read buffer, and the
 * in-memory store with the battery's messages (about 5 MiB, mostly the flood's 60 KB texts). 150 MiB, about
 * twice the measurement, leaves room for V8's heap growth and allocator slack on a loaded machine, yet fails
 * when something is kept per connection (500 refused ones) or per queued frame (the slow consumer's backlog).
 */
const RSS_BOUND_MIB = 150;

/** The rooms: the pair chats in the lobby; the abusers go elsewhere, watched by a warden. */
const ABUSE_ROOM = "abuse";
const FLOOD_ROOM = "flood";

/** The pair sends one message per this many ms at most: far below the rate limit of 20 a second. */
const PACE_MS = 100;

interface Battery {
  port: number;
  /** The server's stderr: its log lines. */
  log: LineReader;
  rng: Prng;
  /** A raw client in the abuse room that reads everything: it sees each abuser come and go. */
  warden: RawClient;
}

/** Waits `ms`, or less once `signal` aborts: pacing for senders that must stay under a rate, not a wait for an event. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (signal?.aborted) done();
    else signal?.addEventListener("abort", done);
  });
}

/**
 * Sends a PING every third of the timeout until disposed: a raw client that only reads would otherwise be
 * dropped for silence (the server counts frames from the peer, not what it reads).
 */
function keepAlive(raw: RawClient): AsyncDisposable {
  const stop = new AbortController();
  const done = (async () => {
    for (let token = 1; !stop.signal.aborted; token++) {
      await pause(TIMEOUT_MS / 3, stop.signal);
      if (!stop.signal.aborted && !raw.ended) await raw.send({ type: "ping", token }).catch(ignoreClosed);
    }
  })();
  return {
    async [Symbol.asyncDispose]() {
      stop.abort();
      await done;
    },
  };
}

/** Keeps the well-behaved pair chatting, alternately and one message at a time, until stopped. */
class Chatter {
  readonly sent: Array<{ from: string; text: string }> = [];
  readonly #pair: JsonClient[];
  readonly #done: Promise<void>;
  readonly #stop = new AbortController();
  #error: unknown = null;

  constructor(pair: JsonClient[]) {
    this.#pair = pair;
    this.#done = this.#run().catch((err) => {
      this.#error = err;
    });
  }

  async #run(): Promise<void> {
    for (let i = 0; !this.#stop.signal.aborted; i++) {
      const from = this.#pair[i % this.#pair.length];
      const text = `steady ${i} from ${from.name}`;
      const started = Date.now();
      await from.say(text);
      this.sent.push({ from: from.name, text });
      for (const c of this.#pair) await c.next("message", (m) => m.text === text);
      await pause(PACE_MS - (Date.now() - started), this.#stop.signal);
    }
  }

  /** Stops after the message in flight has reached both; fails if any message went missing meanwhile. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#done;
    if (this.#error) throw this.#error;
  }
}

/** Waits for every one of `tasks`, then fails with the first failure: nothing is left running behind a failure. */
async function settled(tasks: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  for (const r of results) if (r.status === "rejected") throw r.reason;
}

/**
 * Resident and peak memory of a process, in MiB, from /proc/PID/status. Read through `cat`: Deno asks for
 * --allow-all to read /proc of another process, and the test task grants --allow-run instead.
 */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdout: "piped" }).output();
  assert.ok(out.success, `cannot read /proc/${pid}/status`);
  const status = new TextDecoder().decode(out.stdout);
  const mib = (field: "VmRSS" | "VmHWM") => (parseStatusBytes(status, field) ?? NaN) / 2 ** 20;
  return { rss: mib("VmRSS"), peak: mib("VmHWM") };
}

/** True for the errors a write gets when the server has already closed: expected after a fatal error. */
function closedByPeer(err: unknown): boolean {
  return err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.ConnectionAborted;
}

/** Rethrows anything but a close by the server. */
function ignoreClosed(err: unknown): void {
  if (!closedByPeer(err)) throw err;
}

/** Writes `bytes`, ignoring a close by the server (it may hang up before reading everything). */
async function writeAll(raw: RawClient, bytes: Uint8Array): Promise<void> {
  await raw.write(bytes).catch(ignoreClosed);
}

/** Waits until any message of `raw` so far (not only those after a cursor) satisfies `match`, and returns it. */
function seen(raw: RawClient, match: (m: Message) => boolean, what: string): Promise<Message> {
  return waitFor(raw, () => raw.messages.find(match), what);
}

/** The PRESENCE leave of `name` that `watcher` has seen, if any. */
function leaveSeen(watcher: RawClient, name: string): Presence | undefined {
  return watcher.messages.find((m): m is Presence =>
    m.type === "presence" && m.event === "leave" && m.name === name
  );
}

/** Waits for the warden to see `name` leave, and returns that event. */
function leaveOf(warden: RawClient, name: string): Promise<Presence> {
  return waitFor(warden, () => leaveSeen(warden, name), `the leave of ${name}`);
}

/** The one fatal error `raw` got before its close; fails unless that is all it got after `after` messages. */
function fatalError(raw: RawClient, after = 0): { code: string; message: string } {
  const rest = raw.messages.slice(after);
  assert.equal(raw.decodeError, null, raw.describe());
  assert.equal(rest.length, 1, `expected one fatal error, got:\n${raw.describe()}`);
  const [err] = rest;
  assert.ok(err.type === "error" && err.fatal, `expected a fatal error, got:\n${raw.describe()}`);
  return err;
}

/** Asserts that the server refused a connection that did not start with a HELLO: the text line, or one fatal error. */
function assertRefused(raw: RawClient, what: string): void {
  assert.ok(raw.ended, `${what}: still open`);
  if (raw.text() === NOT_CHAT_LINE) return;
  assert.equal(raw.decodeError, null, `${what}: neither the text line nor frames:\n${raw.describe()}`);
  const err = fatalError(raw);
  assert.ok(["BAD_FRAME", "TOO_LARGE", "TIMEOUT"].includes(err.code), `${what}: ${err.code}`);
}

/** Opens a raw connection, sends `bytes` first, and waits for the server to hang up. */
async function firstBytes(port: number, bytes: Uint8Array, label: string): Promise<RawClient> {
  const raw = await RawClient.connect(port, label);
  try {
    await writeAll(raw, bytes);
    await raw.closed(TIMEOUT_MS + WAIT_MS);
    return raw;
  } catch (err) {
    await raw[Symbol.asyncDispose]();
    throw err;
  }
}

/** A raw client welcomed into the abuse room. */
async function abuser(b: Battery, name: string): Promise<RawClient> {
  const raw = await RawClient.connect(b.port, name);
  try {
    await raw.handshake(name, [ABUSE_ROOM]);
    return raw;
  } catch (err) {
    await raw[Symbol.asyncDispose]();
    throw err;
  }
}

async function randomBytes(b: Battery): Promise<void> {
  for (let i = 0; i < 8; i++) {
    const noise = b.rng.bytes(b.rng.range(1, 2048));
    // Half of them start like a frame (a zero length byte), to get past the first-byte check.
    if (i % 2 === 1) noise[0] = 0;
    await using raw = await firstBytes(b.port, noise, `noise ${i}`);
    assertRefused(raw, `random bytes ${hex(noise.subarray(0, 16))}... (FUZZ_SEED=${SEED})`);
  }
  for (let i = 0; i < 4; i++) {
    await using raw = await abuser(b, `noisy${i}`);
    const before = raw.messages.length;
    const noise = b.rng.bytes(4096);
    await writeAll(raw, noise);
    // A frame left incomplete waits for the silence limit; anything else fails at once.
    await raw.closed(2 * TIMEOUT_MS + WAIT_MS);
    const last = raw.messages.at(-1);
    assert.ok(
      last?.type === "error" && last.fatal && raw.messages.length > before,
      `noise ${hex(noise.subarray(0, 16))}... after a handshake (FUZZ_SEED=${SEED}):\n${raw.describe()}`,
    );
    await leaveOf(b.warden, `noisy${i}`);
  }
}

async function truncatedFrames(b: Battery): Promise<void> {
  {
    // A SEND whose payload stops after two of the eight id bytes, with a length that agrees.
    await using raw = await abuser(b, "cut1");
    const before = raw.messages.length;
    await writeAll(raw, new Uint8Array([0, 0, 0, 3, FrameType.SEND, 0, 0]));
    await raw.closed();
    assert.equal(fatalError(raw, before).code, "BAD_FRAME");
    assert.equal((await leaveOf(b.warden, "cut1")).reason, "bad_frame");
  }
  {
    // A header promising 100 bytes, ten of them, then the connection ends: a disconnect, nothing more.
    const raw = await abuser(b, "cut2");
    await writeAll(raw, new Uint8Array([0, 0, 0, 100, FrameType.SEND, ...b.rng.bytes(10)]));
    await raw[Symbol.asyncDispose]();
    assert.equal((await leaveOf(b.warden, "cut2")).reason, "disconnected");
  }
  {
    // Half a HELLO, then the connection ends.
    const hello = encodeMessage({
      type: "hello",
      version: PROTOCOL_VERSION,
      name: "cut3",
      rooms: [ABUSE_ROOM],
      extensions: [],
    });
    const raw = await RawClient.connect(b.port, "cut3");
    await writeAll(raw, hello.subarray(0, 12));
    await raw[Symbol.asyncDispose]();
  }
}

async function hugeLength(b: Battery): Promise<void> {
  // Before the handshake a length over the limit is not a chat peer at all.
  await using first = await firstBytes(b.port, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x01]), "4 GiB first");
  assert.equal(first.text(), NOT_CHAT_LINE, first.describe());

  // After it, the four length bytes are enough to refuse: no body is awaited or buffered.
  for (const [name, length] of [["huge", 0xffff_ffff], ["justover", 65537]] as const) {
    await using raw = await abuser(b, name);
    const before = raw.messages.length;
    const header = new Uint8Array(5);
    new DataView(header.buffer).setUint32(0, length);
    header[4] = FrameType.SEND;
    await writeAll(raw, header);
    await raw.closed();
    const err = fatalError(raw, before);
    assert.equal(err.code, "TOO_LARGE");
    assert.match(err.message, new RegExp(`length ${length} exceeds limit 65536`));
    assert.equal((await leaveOf(b.warden, name)).reason, "too_large");
  }
}

async function invalidUtf8(b: Battery): Promise<void> {
  {
    await using raw = await abuser(b, "mojibake");
    const before = raw.messages.length;
    // SEND id 1 to the abuse room, text "\xc3(" (a lead byte without its continuation).
    const send = new WireWriter(FrameType.SEND).u64(1).str8(ABUSE_ROOM).u8(0).u32(2)
      .bytes(new Uint8Array([0xc3, 0x28])).finish();
    await writeAll(raw, send);
    await raw.closed();
    const err = fatalError(raw, before);
    assert.equal(err.code, "BAD_FRAME");
    assert.match(err.message, /not valid UTF-8/);
    assert.equal((await leaveOf(b.warden, "mojibake")).reason, "bad_frame");
    assert.ok(!b.warden.messages.some((m) => m.type === "message" && m.from === "mojibake"));
  }
  {
    // A HELLO whose name is not UTF-8.
    const hello = new WireWriter(FrameType.HELLO).bytes(MAGIC).u16(PROTOCOL_VERSION).u8(2)
      .bytes(new Uint8Array([0xff, 0xfe])).u8(0).finish();
    await using raw = await firstBytes(b.port, hello, "bad name");
    const err = fatalError(raw);
    assert.equal(err.code, "BAD_FRAME");
    assert.match(err.message, /not valid UTF-8/);
  }
}

async function unknownTypes(b: Battery): Promise<void> {
  // As the first frame, an unknown type is not a chat peer.
  await using first = await firstBytes(
    b.port,
    encodeFrame({ type: 0x3f, payload: b.rng.bytes(20) }),
    "unknown first",
  );
  assert.equal(first.text(), NOT_CHAT_LINE, first.describe());

  // After the handshake, unknown types are answered and skipped: the connection goes on.
  await using raw = await abuser(b, "odd");
  const types = [0x0f, 0x3f, 0x42, 0x7f, 0xc0, 0xff];
  for (const type of types) {
    await writeAll(raw, encodeFrame({ type, payload: b.rng.bytes(b.rng.int(100)) }));
    const err = await raw.next("error");
    assert.equal(err.code, "UNKNOWN_TYPE", raw.describe());
    assert.equal(err.fatal, false);
  }
  await raw.send({ type: "send", id: 1, room: ABUSE_ROOM, flags: 0, text: "still here" });
  const ack = await raw.next("ack");
  await seen(
    b.warden,
    (m) => m.type === "message" && m.seq === ack.seq && m.text === "still here",
    "odd's message",
  );
  // A server-to-client frame from a client is a known type in the wrong direction: fatal.
  const before = raw.messages.length;
  await writeAll(raw, encodeMessage({ type: "notice", kind: "motd", text: "hi" }));
  await raw.closed();
  assert.equal(fatalError(raw, before).code, "UNEXPECTED_FRAME");
  assert.equal((await leaveOf(b.warden, "odd")).reason, "unexpected_frame");
}

async function http(b: Battery): Promise<void> {
  // The chat port serves HTTP too (the web client): a request gets an HTTP answer, and the close it asked for.
  const request = new TextEncoder().encode(
    "GET / HTTP/1.1\r\nHost: chat\r\nUser-Agent: curl/8\r\nConnection: close\r\n\r\n",
  );
  await using raw = await firstBytes(b.port, request, "http");
  assert.match(raw.text(), /^HTTP\/1\.1 200 OK\r\n/, raw.describe());
}

/** A HELLO for the abuse room. */
function helloFor(name: string): Hello {
  return { type: "hello", version: PROTOCOL_VERSION, name, rooms: [ABUSE_ROOM], extensions: [] };
}

/**
 * 500 connections at once from 127.0.0.1, each sending a HELLO: up to the per-address limit are welcomed,
 * the rest refused with TOO_MANY_CONNECTIONS before any protocol work.
 */
async function crowd(b: Battery, othersOpen: number): Promise<void> {
  const total = 500;
  const free = MAX_CONNS_PER_IP - othersOpen;
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < total; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, total - i) }, (_, j) => RawClient.connect(b.port, `crowd${i + j}`)),
      );
      clients.push(...batch);
      // A refused connection may be closed before its HELLO arrives: the refusal is read all the same.
      await Promise.all(batch.map((c) => c.send(helloFor(c.label)).catch(ignoreClosed)));
    }
    // Each is either welcomed or told TOO_MANY_CONNECTIONS and closed. The server writes that refusal best
    // effort (it gives the write 100 ms before closing), so on a loaded machine some are closed in silence.
    const settledOn = (c: RawClient) => c.messages[0]?.type === "welcome" || c.ended || undefined;
    await Promise.all(
      clients.map((c) => waitFor(c, () => settledOn(c), `a welcome or a close on ${c.label}`)),
    );
    const admitted = clients.filter((c) => c.messages[0]?.type === "welcome");
    const refused = clients.filter((c) => c.messages[0]?.type !== "welcome");
    const told = refused.filter((c) => c.messages.length > 0);
    assert.ok(admitted.length <= free, `${admitted.length} admitted, more than the ${free} free slots`);
    // A slot may still be held for a moment by a connection closed just before; nearly all must be usable.
    assert.ok(admitted.length >= free - 5, `only ${admitted.length} of ${free} free slots were usable`);
    // Unloaded, every refusal carries the error (453 of 453 in our runs); with the CPU busy elsewhere we saw
    // as few as 185 of 453, the others closed before the write got its turn. Each is refused either way.
    assert.ok(told.length > 0, `none of ${refused.length} refusals was explained`);
    for (const c of told) {
      const err = fatalError(c);
      assert.equal(err.code, "TOO_MANY_CONNECTIONS");
      assert.equal(err.message, `too many connections from 127.0.0.1 (limit ${MAX_CONNS_PER_IP})`);
    }
    console.log(
      `crowd of ${total}: ${admitted.length} welcomed, ${refused.length} refused (${told.length} with the error)`,
    );
  } finally {
    await Promise.all(clients.map((c) => c[Symbol.asyncDispose]()));
  }
  // Once they are gone the address may connect again (the server frees a slot when it sees the close).
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 1;; attempt++) {
    await using again = await RawClient.connect(b.port, `after the crowd ${attempt}`);
    await again.send(helloFor("aftercrowd")).catch(ignoreClosed);
    const answer = await waitFor(
      again,
      () => again.messages[0] ?? (again.ended ? null : undefined),
      "an answer",
    );
    if (answer?.type === "welcome") break;
    assert.ok(
      answer === null || (answer.type === "error" && answer.code === "TOO_MANY_CONNECTIONS"),
      again.describe(),
    );
    assert.ok(Date.now() < deadline, "the address never got a slot back after the crowd left");
    await pause(20);
  }
}

/** A HELLO one byte at a time, 200 ms apart: closed at the handshake deadline, long before it completes. */
async function slowloris(b: Battery): Promise<void> {
  const hello = encodeMessage({
    type: "hello",
    version: PROTOCOL_VERSION,
    name: "slowloris",
    rooms: [ABUSE_ROOM],
    extensions: [],
  });
  const stepMs = 200;
  assert.ok(hello.byteLength * stepMs > 1.5 * TIMEOUT_MS, "the HELLO must take longer than the deadline");
  await using raw = await RawClient.connect(b.port, "slowloris");
  const since = Date.now();
  let sent = 0;
  while (sent < hello.byteLength && !raw.ended) {
    try {
      await raw.write(hello.subarray(sent, sent + 1));
    } catch (err) {
      if (!closedByPeer(err)) throw err;
      break;
    }
    sent++;
    // Wakes early when the server hangs up.
    await raw.changes.next(Date.now() + stepMs);
  }
  await raw.closed(WAIT_MS);
  const took = Date.now() - since;
  assert.ok(sent < hello.byteLength, `the whole HELLO went through (${took} ms)`);
  assert.ok(took >= TIMEOUT_MS - 100, `closed after only ${took} ms`);
  // The deadline is checked on the server's tick (every heartbeat / 2): allow that and a loaded machine.
  assert.ok(took < TIMEOUT_MS + 2500, `closed only after ${took} ms`);
  assert.equal(fatalError(raw).code, "TIMEOUT");
}

/**
 * A member of the flood room that never reads (but keeps the connection alive with PINGs) while another
 * floods the room within the rate limit: the non-reader is dropped as a slow consumer, and a reading member
 * gets every message.
 */
async function slowConsumer(b: Battery): Promise<void> {
  await using reader = await RawClient.connect(b.port, "reader");
  await reader.handshake("reader", [FLOOD_ROOM]);
  await using _readerAlive = keepAlive(reader);
  await using flooder = await RawClient.connect(b.port, "flooder");
  await flooder.handshake("flooder", [FLOOD_ROOM]);

  const sink = await Deno.connect({ hostname: "127.0.0.1", port: b.port });
  const stop = new AbortController();
  const ping = encodeMessage({ type: "ping", token: 7 });
  const sinkPings = (async () => {
    const writeAllTo = async (bytes: Uint8Array) => {
      for (let off = 0; off < bytes.byteLength;) off += await sink.write(bytes.subarray(off));
    };
    try {
      await writeAllTo(encodeMessage({
        type: "hello",
        version: PROTOCOL_VERSION,
        name: "sink",
        rooms: [FLOOD_ROOM],
        extensions: [],
      }));
      while (!stop.signal.aborted) {
        await pause(TIMEOUT_MS / 6, stop.signal);
        if (!stop.signal.aborted) await writeAllTo(ping);
      }
    } catch (err) {
      // Once dropped, the server's close makes the next PING fail.
      if (!closedByPeer(err) && !(err instanceof Deno.errors.BadResource)) throw err;
    }
  })();
  try {
    await seen(reader, (m) => m.type === "presence" && m.event === "join" && m.name === "sink", "sink joins");
    const texts: string[] = [];
    // The burst at once, then 1 every 60 ms (about 17 a second, under the rate of 20), until the sink is gone.
    const maxMessages = 400;
    while (!leaveSeen(reader, "sink") && texts.length < maxMessages) {
      const id = texts.length + 1;
      const text = `${id} `.padEnd(MAX_TEXT - 100, String.fromCharCode(97 + id % 26));
      texts.push(text);
      await flooder.send({ type: "send", id, room: FLOOD_ROOM, flags: 0, text });
      if (id >= BURST) await pause(60);
    }
    const leave = leaveSeen(reader, "sink");
    assert.ok(leave, `the sink was not dropped after ${texts.length} messages of ${MAX_TEXT} bytes`);
    assert.equal(leave.reason, "slow_consumer");
    await b.log.next((l) => /disconnect sink .*reason=slow_consumer/.test(l), "the slow consumer log line");

    // The reader and the flooder got every message, in order, and the flooder every ACK, no error.
    const n = texts.length;
    await waitFor(
      reader,
      () => reader.messages.filter((m) => m.type === "message").length >= n || undefined,
      `${n} messages`,
    );
    await waitFor(
      flooder,
      () => flooder.messages.filter((m) => m.type === "ack").length >= n || undefined,
      `${n} acks`,
    );
    const got = reader.messages.filter((m) => m.type === "message");
    assert.deepEqual(got.map((m) => [m.seq, m.text]), texts.map((t, i) => [i + 1, t]));
    assert.deepEqual(flooder.messages.filter((m) => m.type === "error"), []);
    assert.deepEqual(reader.messages.filter((m) => m.type === "error"), []);
    console.log(
      `slow consumer dropped after ${n} messages (${
        (n * MAX_TEXT / 2 ** 20).toFixed(1)
      } MiB sent to the room)`,
    );
  } finally {
    stop.abort();
    try {
      sink.close();
    } catch { /* closed */ }
    await sinkPings;
  }
}

/** SENDs far over the rate limit: RATE_LIMITED answers for the excess, then a disconnect for flooding. */
async function rateFlood(b: Battery): Promise<void> {
  await using raw = await abuser(b, "spammer");
  const total = 120;
  const frames = Array.from(
    { length: total },
    (_, i) => encodeMessage({ type: "send", id: i + 1, room: ABUSE_ROOM, flags: 0, text: `spam ${i + 1}` }),
  );
  const all = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
  frames.reduce((at, f) => (all.set(f, at), at + f.byteLength), 0);
  await writeAll(raw, all);
  await raw.closed();
  const acks = raw.messages.filter((m) => m.type === "ack");
  const limited = raw.messages.filter((m) => m.type === "error" && m.code === "RATE_LIMITED" && !m.fatal);
  // The burst goes through (plus whatever trickled in meanwhile at 20 a second), the rest is refused.
  assert.ok(acks.length >= BURST && acks.length <= BURST + 2, `${acks.length} acks`);
  assert.deepEqual(acks.map((a) => a.id), acks.map((_, i) => i + 1));
  // Refusals are strikes: the one that reaches FLOOD_STRIKES disconnects instead of answering.
  assert.equal(limited.length, FLOOD_STRIKES - 1, raw.describe());
  assert.ok(limited.every((e) => e.type === "error" && !e.fatal && e.ref > BURST));
  // The disconnect itself is announced: one fatal RATE_LIMITED, then the close.
  const fatal = raw.messages.filter((m) => m.type === "error" && m.fatal);
  assert.equal(fatal.length, 1, raw.describe());
  assert.ok(fatal.every((e) => e.type === "error" && e.code === "RATE_LIMITED"), raw.describe());
  const leave = await leaveOf(b.warden, "spammer");
  assert.equal(leave.reason, "flood");
  // Only the accepted ones reached the room.
  const delivered = b.warden.messages.filter((m) => m.type === "message" && m.from === "spammer");
  assert.equal(delivered.length, acks.length);
}

Deno.test("the abuse battery leaves the well-behaved pair untouched and the server's memory bounded", async () => {
  await using srv = await startServer(SERVER_FLAGS);
  const startup = srv.proc.stderr.lines.find((l) => l.includes("listening on"))!;
  const pid = Number(startup.match(/\bpid (\d+)/)?.[1]);
  assert.equal(pid, srv.proc.pid, startup);

  await using alice = await joinJson(srv.port, "alice");
  await using bob = await joinJson(srv.port, "bob");
  await using warden = await RawClient.connect(srv.port, "warden");
  await warden.handshake("warden", [ABUSE_ROOM]);
  await using _wardenAlive = keepAlive(warden);
  const b: Battery = { port: srv.port, log: srv.proc.stderr, rng: new Prng(SEED), warden };
  const idle = await memoryOf(pid);

  const chatter = new Chatter([alice, bob]);
  const started = Date.now();
  try {
    await settled([
      slowloris(b),
      (async () => {
        await randomBytes(b);
        await truncatedFrames(b);
        await hugeLength(b);
        await invalidUtf8(b);
        await unknownTypes(b);
        await http(b);
      })(),
    ]);
    // Open now: alice, bob and the warden.
    await crowd(b, 3);
    await slowConsumer(b);
    await rateFlood(b);
  } finally {
    await chatter.stop();
  }
  const after = await memoryOf(pid);
  console.log(
    `battery took ${Date.now() - started} ms; server RSS idle ${idle.rss.toFixed(1)} MiB, after ${
      after.rss.toFixed(1)
    } MiB, peak ${after.peak.toFixed(1)} MiB; the pair exchanged ${chatter.sent.length} messages`,
  );
  assert.ok(after.rss < RSS_BOUND_MIB, `server RSS ${after.rss.toFixed(1)} MiB exceeds ${RSS_BOUND_MIB} MiB`);

  // The pair saw every one of its messages, once, in order, and nothing went wrong for either.
  assert.ok(chatter.sent.length >= 20, `the pair only exchanged ${chatter.sent.length} messages`);
  const expected = chatter.sent.map((s, i) => [i + 1, s.from, s.text]);
  for (const c of [alice, bob]) {
    assert.deepEqual(c.messages().map((m) => [m.seq, m.from, m.text]), expected, c.describe());
    const mine = expected.filter(([, from]) => from === c.name).map(([seq]) => seq);
    await c.until(
      (events) => events.filter((e) => e.type === "ack").length >= mine.length || undefined,
      "every ack",
    );
    assert.deepEqual(c.all("ack").map((a) => a.seq), mine);
    assert.deepEqual(c.all("error"), [], c.describe());
    assert.equal(c.all("welcome").length, 1, c.describe());
    assert.ok(
      c.all("status").every((s) => s.state === "connecting" || s.state === "connected"),
      c.describe(),
    );
    assert.equal(c.proc.status, null, `${c.name} is still running`);
  }
});

Deno.test("new connections per minute are limited per address, and loopback only with --limit-loopback", async () => {
  const limits = ["--ephemeral", "--conn-rate-per-ip", "5"];
  /** Opens `n` connections one after another, each closed once answered or admitted; returns the refusals. */
  const connectSerially = async (port: number, n: number) => {
    const refusals: string[] = [];
    for (let i = 0; i < n; i++) {
      await using raw = await RawClient.connect(port, `c${i}`);
      await raw.send(helloFor(`c${i}`)).catch(ignoreClosed);
      const answer = await waitFor(raw, () => raw.messages[0], `an answer on c${i}`);
      if (answer.type === "error") refusals.push(`${i}: ${answer.code} ${answer.message}`);
      else assert.equal(answer.type, "welcome", raw.describe());
    }
    return refusals;
  };
  {
    await using server = await startServer([...limits, "--limit-loopback"]);
    assert.deepEqual(await connectSerially(server.port, 7), [
      "5: TOO_MANY_CONNECTIONS too many new connections from 127.0.0.1 (limit 5 a minute)",
      "6: TOO_MANY_CONNECTIONS too many new connections from 127.0.0.1 (limit 5 a minute)",
    ]);
  }
  {
    // Loopback is exempt by default (a local TLS terminator makes every client look like 127.0.0.1).
    await using server = await startServer(limits);
    assert.deepEqual(await connectSerially(server.port, 7), []);
  }
});
