// src/net/connection.ts over an in-memory stream: input held for reads and for the log, sniffing, TLS, read slots.

import assert from "node:assert/strict";
import { brokerOver } from "../_helpers/async_broker.ts";
import { AsyncLog, settled } from "../_helpers/async_log.ts";
import { concat } from "../_helpers/bytes.ts";
import { waitFor } from "../_helpers/deadline.ts";
import { MemoryStream } from "../_helpers/memory_stream.ts";
import type { BrokerOptions } from "../../src/chat/broker.ts";
import { Connection, INFLIGHT_BYTES, READ_BUFFER } from "../../src/net/connection.ts";
import type { Logger } from "../../src/net/log.ts";
import { ReadSlots } from "../../src/net/read_slots.ts";
import { Runner } from "../../src/net/runner.ts";
import {
  type ClientMessage,
  decodeServerMessage,
  encodeMessage,
  ErrorCode,
  FrameDecoder,
  NOT_CHAT_LINE,
  type ServerMessage,
} from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

const frames = (...msgs: ClientMessage[]): Uint8Array => concat(msgs.map((m) => encodeMessage(m)));
const hello = (name: string): ClientMessage => ({
  type: "hello",
  version: 1,
  name,
  rooms: [],
  extensions: [],
});
const send = (id: number, room: string, text: string): ClientMessage => ({
  type: "send",
  id,
  room,
  flags: 0,
  text,
});

/** What the server wrote on `stream`, decoded. */
function received(stream: MemoryStream): ServerMessage[] {
  return new FrameDecoder({ maxFrame: 1 << 20 }).push(stream.bytes()).map((f) => decodeServerMessage(f));
}

/** Frame types, errors by code, acks and messages with their room and seq. */
const labels = (ms: ServerMessage[]) =>
  ms.map((m) =>
    m.type === "error"
      ? m.code
      : m.type === "ack" || m.type === "message"
      ? `${m.type} ${m.room}#${m.seq}`
      : m.type
  );

/** A server's pipeline over a log that answers a microtask later, or (held) when the test says. */
function server(options: { held?: boolean; tlsRequired?: boolean; broker?: Partial<BrokerOptions> } = {}) {
  const store = new MemoryStore();
  const log = new AsyncLog(store, options.held ?? false);
  const broker = brokerOver(store, {
    timeoutMs: 600_000,
    maxText: 4096,
    maxRoomsPerClient: 5,
    ...options.broker,
  });
  const lines: string[] = [];
  const logger: Logger = {
    debug: (l) => lines.push(l),
    info: (l) => lines.push(l),
    warn: (l) => lines.push(l),
    error: (l) => lines.push(l),
  };
  const runner = new Runner({ broker, log, logger, schedule: (run) => queueMicrotask(run) });
  const slots = new ReadSlots(READ_BUFFER);
  /** A connection from 10.0.0.1:4000 over a new in-memory stream, its pipeline running. */
  const connect = (secure?: boolean) => {
    const stream = new MemoryStream(secure);
    const state = { ended: false };
    const conn = new Connection(runner, stream, "10.0.0.1:4000", {
      maxFrame: 64 * 1024,
      outboxBytes: 1 << 20,
      tlsRequired: options.tlsRequired ?? false,
      logger,
      slots,
    }, () => state.ended = true);
    const running = conn.run();
    return { stream, conn, running, state };
  };
  return { broker, runner, log, slots, lines, connect };
}

/** Connects one client per name and waits until each is welcomed with its room's history. */
async function welcomed(connect: ReturnType<typeof server>["connect"], names: string[]) {
  const clients = names.map(() => connect());
  names.forEach((name, i) => clients[i].stream.send(frames(hello(name))));
  for (const c of clients) await sawFrame(c.stream, "fetched");
  return clients;
}

/** Waits until the server has written a frame of `type` (the `n`th one). */
function sawFrame(stream: MemoryStream, type: string, n = 1): Promise<ServerMessage[]> {
  return waitFor(stream, () => {
    const got = received(stream);
    return got.filter((m) => m.type === type).length >= n ? got : undefined;
  }, `${n} ${type} frame(s)`);
}

Deno.test("Connection handles the frames after a HELLO in the same chunk once the HELLO's read is answered, in order", async () => {
  const { log, connect } = server({ held: true });
  const { stream, conn } = connect();
  stream.send(frames(hello("alice"), send(1, "lobby", "first words"), { type: "ping", token: 9 }));
  await settled();
  assert.deepEqual(log.waiting, [{ method: "page", count: 1, room: "lobby" }]);
  assert.deepEqual(received(stream), [], "nothing before the read is answered");
  assert.equal(conn.session.state, "handshake");
  assert.equal(stream.reading, false, "the socket is not read meanwhile");
  await log.release();
  assert.deepEqual(log.waiting, [{ method: "append", count: 1 }], "the SEND, handled once the HELLO was");
  // An append holds nothing below the in-flight limit: the PING is answered before the log stores the SEND.
  assert.deepEqual(labels(received(stream)), ["welcome", "members", "fetched", "pong"]);
  await log.release();
  await sawFrame(stream, "message");
  assert.deepEqual(labels(received(stream)).slice(4), ["ack lobby#1", "message lobby#1"]);
  stream.end();
});

Deno.test("Connection puts a SEND that follows a JOIN in the same chunk in the room just joined", async () => {
  const { log, connect } = server({ held: true });
  const { stream } = connect();
  stream.send(frames(hello("alice")));
  await log.release();
  await sawFrame(stream, "fetched");
  stream.send(frames({ type: "join", room: "dev" }, send(1, "dev", "hi dev")));
  await log.release(); // the JOIN's read
  await log.release(); // the SEND's append
  await sawFrame(stream, "message");
  assert.deepEqual(labels(received(stream)).slice(3), ["members", "fetched", "ack dev#1", "message dev#1"]);
});

Deno.test("Connection stops reading while more than INFLIGHT_BYTES of its messages wait for the log, and goes on after", async () => {
  const TEXT = 16_000;
  const COUNT = 12;
  const { log, runner, connect } = server({ held: true, broker: { maxText: TEXT } });
  const { stream } = connect();
  stream.send(frames(hello("alice")));
  await log.release();
  await sawFrame(stream, "fetched");
  const burst = Array.from({ length: COUNT }, (_, i) => send(i + 1, "lobby", String(i % 10).repeat(TEXT)));
  stream.send(frames(...burst));
  await settled();
  // Handled so far: the appends in the batch out, and those queued behind it.
  const out = log.waiting;
  assert.equal(out.length, 1);
  const handled = out[0].count + runner.queue.pending - 1;
  assert.equal(
    handled,
    Math.floor(INFLIGHT_BYTES / TEXT) + 1,
    "the first past the limit is the last handled",
  );
  assert.ok(stream.unread > 0, "the rest is left unread");
  assert.equal(stream.reading, false, "and no read is asked");
  await settled();
  assert.equal(log.waiting[0].count + runner.queue.pending - 1, handled, "still waiting");

  while (received(stream).filter((m) => m.type === "ack").length < COUNT) await log.release();
  const acks = received(stream).filter((m) => m.type === "ack");
  assert.deepEqual(acks.map((m) => m.type === "ack" && m.id), burst.map((_, i) => i + 1));
  assert.equal(stream.unread, 0);
  await waitFor(stream, () => stream.reading || undefined, "a read to wait for more input");
});

Deno.test("Connection answers bytes that are not chat with NOT_CHAT_LINE and closes, giving its read slot back", async () => {
  const { connect, slots, lines } = server();
  const { stream, running, state } = connect();
  assert.equal(slots.inUse, 1);
  stream.send(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: chat\r\n\r\n"));
  await running;
  assert.equal(new TextDecoder().decode(stream.bytes()), NOT_CHAT_LINE);
  assert.deepEqual([stream.closed, state.ended, slots.inUse], [true, true, 0]);
  assert.ok(lines.includes("disconnect 10.0.0.1:4000 reason=not_chat"), lines.join("\n"));
});

Deno.test("Connection refuses a plaintext client with TLS_REQUIRED where TLS is required, and lets a TLS one in", async () => {
  const { connect, broker, lines } = server({ tlsRequired: true });
  const plain = connect();
  plain.stream.send(frames(hello("alice")));
  await plain.running;
  const got = received(plain.stream);
  assert.deepEqual(got.map((m) => m.type === "error" && [m.code, m.fatal]), [[ErrorCode.TLS_REQUIRED, true]]);
  assert.equal(plain.stream.closed, true);
  assert.equal(plain.conn.session.state, "closed");
  assert.ok(lines.includes("disconnect 10.0.0.1:4000 reason=tls_required"), lines.join("\n"));
  assert.equal(broker.online, 0);

  const secure = connect(true);
  secure.stream.send(frames(hello("alice")));
  await sawFrame(secure.stream, "welcome");
  secure.stream.end();
  await secure.running;
});

Deno.test("Connection gives its read slot back however it ends: EOF, BYE, a failed read, a bad frame", async () => {
  const endings: Array<[string, (stream: MemoryStream) => void]> = [
    ["eof", (s) => s.end()],
    ["bye", (s) => s.send(frames({ type: "bye", reason: "" }))],
    ["failed read", (s) => s.fail(new Deno.errors.ConnectionReset("reset by peer"))],
    // A PING whose token is cut short: a frame that does not decode.
    [
      "bad frame",
      (s) => s.send(new Uint8Array([0, 0, 0, 3, encodeMessage({ type: "ping", token: 1 })[4], 0, 1])),
    ],
  ];
  for (const [what, end] of endings) {
    const { connect, slots, broker } = server();
    const { stream, running, state, conn } = connect();
    stream.send(frames(hello("alice")));
    await sawFrame(stream, "fetched");
    assert.equal(slots.inUse, 1, what);
    end(stream);
    await running;
    assert.deepEqual([slots.inUse, state.ended, stream.closed], [0, true, true], what);
    assert.equal(conn.session.state, "closed", what);
    assert.equal(broker.online, 0, what);
  }
});

Deno.test("Connection answers the whole frames of a chunk before the bad header that follows them", async () => {
  const { connect } = server();
  const { stream, running } = connect();
  stream.send(frames(hello("alice")));
  await sawFrame(stream, "fetched");
  const tooLarge = new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0x01]); // a length past the frame limit
  const chunk = frames({ type: "ping", token: 1 }, { type: "ping", token: 2 });
  stream.send(new Uint8Array([...chunk, ...tooLarge]));
  await running;
  assert.deepEqual(labels(received(stream)).slice(3), ["pong", "pong", ErrorCode.TOO_LARGE]);
});

Deno.test("Connection drops only the client whose frame hit a bug in the server, logged, with reason internal", async () => {
  const { broker, runner, lines, connect } = server();
  const [alice, bob] = await welcomed(connect, ["alice", "bob"]);
  const handle = broker.handle.bind(broker);
  broker.handle = (s, msg, now) => {
    if (msg.type === "send" && msg.text === "boom") throw new TypeError("a bug");
    return handle(s, msg, now);
  };
  alice.stream.send(frames(send(1, "lobby", "boom")));
  await alice.running;
  assert.ok(alice.state.ended);
  assert.equal(runner.counters.closes.internal, 1);
  assert.ok(
    lines.some((l) => /internal error handling a frame from 10\.0\.0\.1:4000: TypeError: a bug/.test(l)),
  );
  // bob is served as before.
  bob.stream.send(frames(send(1, "lobby", "still here")));
  const got = await sawFrame(bob.stream, "ack");
  assert.deepEqual(labels(got).filter((l) => l.startsWith("ack")), ["ack lobby#1"]);
});

Deno.test("Connection: a bug while reading a connection, outside a frame's handling, drops that client only", async () => {
  const { runner, lines, connect } = server();
  const [alice, bob] = await welcomed(connect, ["alice", "bob"]);
  // Performing the effects of alice's PING throws once: after the frame's own handling, in the read's callback.
  const perform = runner.perform.bind(runner);
  let armed = true;
  runner.perform = (effects) => {
    if (armed && effects.some((e) => e.kind === "send" && e.msg.type === "pong")) {
      armed = false;
      throw new TypeError("a bug in perform");
    }
    return perform(effects);
  };
  alice.stream.send(frames({ type: "ping", token: 7 }));
  await alice.running;
  assert.ok(alice.state.ended && alice.stream.closed);
  assert.equal(runner.counters.closes.internal, 1);
  assert.ok(
    lines.some((l) => /internal error reading from 10\.0\.0\.1:4000: TypeError: a bug in perform/.test(l)),
  );
  bob.stream.send(frames(send(1, "lobby", "still here")));
  const got = await sawFrame(bob.stream, "ack");
  assert.deepEqual(labels(got).filter((l) => l.startsWith("ack")), ["ack lobby#1"]);
});
