import assert from "node:assert/strict";
import { Meter } from "../../src/bench/meter.ts";
import { StampWriter } from "../../src/bench/stamp.ts";
import {
  ChatEndpoint,
  type EndpointOptions,
  NaiveEndpoint,
  NatsEndpoint,
  RedisEndpoint,
} from "../../src/bench/targets.ts";
import { encodeMessage, MessageFlags } from "../../src/protocol/mod.ts";

const encoder = new TextEncoder();

function options(meter: Meter, over: Partial<EndpointOptions> = {}): EndpointOptions {
  return {
    host: "127.0.0.1",
    port: 1,
    name: "r0",
    room: "lobby",
    counted: true,
    sampled: true,
    senderIndex: -1,
    meter,
    bufferSize: 4096,
    localAddress: null,
    ...over,
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const stamps = new StampWriter(3, 64);

function message(seq: number, text: string, flags = 0): Uint8Array {
  return encodeMessage({ type: "message", room: "lobby", seq, ts: 1, flags, from: "s3", text });
}

Deno.test("ChatEndpoint counts live MESSAGE frames, times them, and skips history", async () => {
  const meter = new Meter();
  const e = new ChatEndpoint(options(meter));
  const welcome = encodeMessage({
    type: "welcome",
    version: 1,
    name: "r0",
    heartbeatMs: 1000,
    timeoutMs: 3000,
    maxFrame: 65536,
    maxText: 4096,
    rooms: ["lobby"],
    extensions: [],
  });
  const stream = concat([
    welcome,
    encodeMessage({ type: "members", room: "lobby", more: false, names: ["r0"] }),
    message(1, stamps.text(100), MessageFlags.HISTORY),
    message(2, stamps.text(100)),
    message(3, stamps.text(100)),
    encodeMessage({ type: "ack", id: 1, room: "lobby", seq: 3, ts: 1 }),
  ]);
  // Cut in the middle of a frame: the endpoint reassembles it.
  e.chunk(stream.subarray(0, 50), 101);
  e.chunk(stream.subarray(50), 102.5);
  await e.ready;
  assert.equal(meter.delivered, 2);
  assert.equal(meter.latency.count, 2);
  assert.ok(Math.abs(meter.latency.max - 2500) <= 2500 / 64, `latency ${meter.latency.max} us`);
  assert.equal(e.acks, 1);
  assert.equal(meter.errors, 0);
});

Deno.test("ChatEndpoint counts an ERROR frame, and a refused SEND frees its window slot", () => {
  const meter = new Meter();
  const e = new ChatEndpoint(options(meter, { counted: false }));
  e.chunk(
    encodeMessage({ type: "error", fatal: false, code: "NOT_IN_ROOM", ref: 5, message: "not in room" }),
    1,
  );
  assert.equal(meter.errors, 1);
  assert.match(meter.errorSamples[0], /r0: error NOT_IN_ROOM: not in room/);
  assert.equal(e.acks, 1);
});

Deno.test("ChatEndpoint rejects `ready` on a fatal error during the handshake", async () => {
  const meter = new Meter();
  const e = new ChatEndpoint(options(meter));
  e.chunk(encodeMessage({ type: "error", fatal: true, code: "SERVER_FULL", ref: 0, message: "full" }), 1);
  await assert.rejects(e.ready, /SERVER_FULL/);
});

Deno.test("a receiver that is not counted reads deliveries without counting them", () => {
  const meter = new Meter();
  const e = new ChatEndpoint(options(meter, { counted: false }));
  e.chunk(message(1, stamps.text(1)), 2);
  assert.equal(meter.delivered, 0);
});

Deno.test("RedisEndpoint is ready on the subscribe reply and counts pub/sub messages", async () => {
  const meter = new Meter();
  const e = new RedisEndpoint(options(meter), false);
  const text = stamps.text(10);
  e.chunk(encoder.encode("*3\r\n$9\r\nsubscribe\r\n$5\r\nlobby\r\n:1\r\n"), 10);
  await e.ready;
  const push = `*3\r\n$7\r\nmessage\r\n$5\r\nlobby\r\n$${text.length}\r\n${text}\r\n`;
  e.chunk(encoder.encode(push + push), 11);
  assert.equal(meter.delivered, 2);
  assert.equal(meter.latency.count, 2);
});

Deno.test("RedisEndpoint as a publisher counts PUBLISH replies as acknowledgements", async () => {
  const meter = new Meter();
  const e = new RedisEndpoint(options(meter, { counted: false, senderIndex: 0 }), true);
  e.chunk(encoder.encode("+PONG\r\n:100\r\n:100\r\n"), 1);
  await e.ready;
  assert.equal(e.acks, 2);
  assert.equal(
    new TextDecoder().decode(e.messageBytes(1, "lobby", "hi")),
    "*3\r\n$7\r\nPUBLISH\r\n$5\r\nlobby\r\n$2\r\nhi\r\n",
  );
});

Deno.test("NatsEndpoint is ready on the PONG after its SUB, and counts deliveries", async () => {
  const meter = new Meter();
  const e = new NatsEndpoint(options(meter), true);
  const text = stamps.text(10);
  e.chunk(encoder.encode('INFO {"server_id":"x"}\r\nPONG\r\n'), 10);
  await e.ready;
  const msg = `MSG lobby 1 ${text.length}\r\n${text}\r\n`;
  e.chunk(encoder.encode(msg + msg + "PING\r\n"), 11);
  assert.equal(meter.delivered, 2);
  assert.equal(meter.latency.count, 2);
  assert.equal(meter.errors, 0);
});

Deno.test("NatsEndpoint as a sender counts each batch as acknowledged by the PONG that follows it", async () => {
  const meter = new Meter();
  const e = new NatsEndpoint(options(meter, { counted: false, senderIndex: 0 }), false);
  e.chunk(encoder.encode("INFO {}\r\nPONG\r\n"), 1);
  await e.ready;
  const m = (id: number) => e.messageBytes(id, "lobby", "hi");
  assert.equal(new TextDecoder().decode(m(1)), "PUB lobby 2\r\nhi\r\n");
  e.sendAll([m(1), m(2), m(3)]);
  e.sendAll([m(4)]);
  e.chunk(encoder.encode("PONG\r\n"), 2);
  assert.equal(e.acks, 3, "the first batch");
  e.chunk(encoder.encode("PONG\r\n"), 3);
  assert.equal(e.acks, 4);
});

Deno.test("NatsEndpoint reports -ERR as an error", () => {
  const meter = new Meter();
  const e = new NatsEndpoint(options(meter), true);
  e.chunk(encoder.encode("-ERR 'Slow Consumer'\r\n"), 1);
  assert.equal(meter.errors, 1);
  assert.match(meter.errorSamples[0], /Slow Consumer/);
});

Deno.test("NaiveEndpoint is ready on its first line, counts later lines, and acks its own", async () => {
  const meter = new Meter();
  const e = new NaiveEndpoint(options(meter, { senderIndex: 3 }));
  const mine = stamps.text(5);
  const theirs = new StampWriter(4, 64).text(5);
  e.chunk(encoder.encode(`joined lobby\n${mine}\n${theirs}\n`), 6);
  await e.ready;
  assert.equal(meter.delivered, 2);
  assert.equal(e.acks, 1);
  assert.equal(new TextDecoder().decode(e.messageBytes(1, "lobby", "hi")), "hi\n");
});

Deno.test("an endpoint that reads an unframeable stream reports an error instead of throwing", () => {
  const meter = new Meter();
  const e = new ChatEndpoint(options(meter));
  e.chunk(encoder.encode("HTTP/1.1 400 Bad Request\r\n\r\n"), 1);
  assert.equal(meter.errors, 1);
  assert.match(meter.errorSamples[0], /unreadable stream/);
});

Deno.test("Meter.checkLag() unblocks senders once the lag has halved", () => {
  const meter = new Meter();
  let woke = 0;
  meter.onCatchUp = () => woke++;
  meter.lagLimit = 100;
  meter.expected = 100;
  meter.blocked = true;
  meter.delivered = 40;
  meter.checkLag();
  assert.equal(woke, 0);
  meter.delivered = 50;
  meter.checkLag();
  assert.equal(woke, 1);
  assert.equal(meter.blocked, false);
});

Deno.test("a read of nothing but heartbeats is not news for the settling, a read with anything else is", () => {
  const meter = new Meter();
  const e = new ChatEndpoint(options(meter));
  const ping = encodeMessage({ type: "ping", token: 7 });
  const join = encodeMessage({
    type: "presence",
    room: "lobby",
    event: "join",
    name: "bob",
    reason: "",
    text: "",
    ts: 1,
  });
  e.chunk(join, 5);
  assert.equal(meter.lastByteAt, 5);
  e.chunk(concat([ping, ping]), 9);
  assert.equal(meter.lastByteAt, 5);
  e.chunk(concat([ping, join]), 12);
  assert.equal(meter.lastByteAt, 12);
  // Half a frame is news on its way.
  e.chunk(ping.subarray(0, 3), 15);
  assert.equal(meter.lastByteAt, 15);

  const nats = new NatsEndpoint(options(meter), true);
  nats.chunk(encoder.encode("PING\r\n"), 20);
  assert.equal(meter.lastByteAt, 15);
  nats.chunk(encoder.encode("INFO {}\r\n"), 21);
  assert.equal(meter.lastByteAt, 21);
});
