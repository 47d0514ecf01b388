import assert from "node:assert/strict";
import { encodeMessage, ProtocolError } from "../../src/protocol/mod.ts";
import {
  FrameSplitter,
  LineSplitter,
  NatsSplitter,
  respCommand,
  respEnd,
  RespSplitter,
  type Splitter,
} from "../../src/bench/split.ts";

/** Feeds `parts` in order and returns every unit seen, copied. */
function split(splitter: Splitter, parts: Uint8Array[]): Uint8Array[] {
  const units: Uint8Array[] = [];
  const sink = { unit: (buf: Uint8Array, start: number, end: number) => units.push(buf.slice(start, end)) };
  for (const p of parts) splitter.push(p, sink);
  return units;
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Every way of cutting `stream` in two, plus byte by byte: each must give back `units`. */
function assertEveryCut(make: () => Splitter, units: Uint8Array[]): void {
  const stream = join(units);
  for (let cut = 0; cut <= stream.byteLength; cut++) {
    const got = split(make(), [stream.subarray(0, cut), stream.subarray(cut)]);
    assert.deepEqual(got, units, `cut at ${cut}`);
  }
  const bytes = Array.from(stream, (b) => new Uint8Array([b]));
  assert.deepEqual(split(make(), bytes), units, "byte by byte");
}

const text = new TextEncoder();
const frames = [
  encodeMessage({ type: "ping", token: 7 }),
  encodeMessage({ type: "message", room: "lobby", seq: 1, ts: 2, flags: 0, from: "alice", text: "hi" }),
  encodeMessage({
    type: "message",
    room: "lobby",
    seq: 2,
    ts: 3,
    flags: 0,
    from: "bob",
    text: "x".repeat(700),
  }),
  encodeMessage({ type: "ack", id: 9, room: "lobby", seq: 2, ts: 3 }),
];

Deno.test("FrameSplitter.push() returns the same whole frames wherever the stream is cut", () => {
  assertEveryCut(() => new FrameSplitter(65536), frames);
});

Deno.test("FrameSplitter.push() keeps a partial frame until it completes", () => {
  const s = new FrameSplitter(65536);
  const f = frames[1];
  assert.deepEqual(split(s, [f.subarray(0, 10)]), []);
  assert.equal(s.buffered, 10);
  assert.deepEqual(split(s, [f.subarray(10)]), [f]);
  assert.equal(s.buffered, 0);
});

Deno.test("FrameSplitter.push() rejects a length of 0 or above its limit", () => {
  assert.throws(() => split(new FrameSplitter(1024), [new Uint8Array([0, 0, 0, 0, 1])]), ProtocolError);
  assert.throws(() => split(new FrameSplitter(1024), [new Uint8Array([0, 0, 4, 1, 1])]), ProtocolError);
});

Deno.test("LineSplitter.push() returns each line with its newline wherever the stream is cut", () => {
  const lines = ["joined room\n", "000000001234 000001 xxxx\n", "\n", "last line\n"].map((l) =>
    text.encode(l)
  );
  assertEveryCut(() => new LineSplitter(), lines);
});

Deno.test("RespSplitter.push() returns whole RESP values wherever the stream is cut", () => {
  const values = [
    "*3\r\n$9\r\nsubscribe\r\n$4\r\nroom\r\n:1\r\n",
    "*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$5\r\nhello\r\n",
    ":1000\r\n",
    "+PONG\r\n",
    "-ERR unknown command\r\n",
    "$-1\r\n",
  ].map((v) => text.encode(v));
  assertEveryCut(() => new RespSplitter(), values);
});

Deno.test("respEnd() reports an incomplete value as -1 and rejects an unknown type byte", () => {
  const v = text.encode("*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$5\r\nhello\r\n");
  for (let n = 0; n < v.byteLength; n++) assert.equal(respEnd(v.subarray(0, n), 0), -1, `first ${n} bytes`);
  assert.equal(respEnd(v, 0), v.byteLength);
  assert.throws(() => respEnd(text.encode("?x\r\n"), 0), ProtocolError);
});

Deno.test("RespSplitter records where each pub/sub payload starts, and -1 for other values", () => {
  const push = "*3\r\n$7\r\nmessage\r\n$10\r\nbench-ab-0\r\n$5\r\nhello\r\n";
  const stream = text.encode(push + ":1\r\n" + push);
  for (let cut = 0; cut <= stream.byteLength; cut++) {
    const s = new RespSplitter();
    const seen: string[] = [];
    const sink = {
      unit: (buf: Uint8Array, _start: number, end: number) =>
        seen.push(s.payloadAt < 0 ? "other" : new TextDecoder().decode(buf.subarray(s.payloadAt, end - 2))),
    };
    s.push(stream.subarray(0, cut), sink);
    s.push(stream.subarray(cut), sink);
    assert.deepEqual(seen, ["hello", "other", "hello"], `cut at ${cut}`);
  }
});

Deno.test("respCommand() encodes a command as an array of bulk strings", () => {
  assert.equal(
    new TextDecoder().decode(respCommand("PUBLISH", "room", "héllo")),
    "*3\r\n$7\r\nPUBLISH\r\n$4\r\nroom\r\n$6\r\nhéllo\r\n",
  );
});

Deno.test("NatsSplitter.push() returns control lines and whole deliveries wherever the stream is cut", () => {
  const units = [
    'INFO {"server_id":"x","max_payload":1048576}\r\n',
    "PONG\r\n",
    "MSG lobby 1 5\r\nhello\r\n",
    "MSG lobby 1 _INBOX.reply 12\r\nline\r\nbreaks\r\n",
    "PING\r\n",
    "MSG lobby 1 0\r\n\r\n",
  ].map((u) => text.encode(u));
  assertEveryCut(() => new NatsSplitter(), units);
});

Deno.test("NatsSplitter records where each delivery's payload starts, and -1 for control lines", () => {
  const splitter = new NatsSplitter();
  const seen: Array<[string, number]> = [];
  const sink = {
    unit: (buf: Uint8Array, start: number, end: number) =>
      seen.push([
        new TextDecoder().decode(buf.subarray(start, end)),
        splitter.payloadAt < 0 ? -1 : splitter.payloadAt - start,
      ]),
  };
  splitter.push(text.encode("PONG\r\nMSG a 9 3\r\nabc\r\n"), sink);
  assert.deepEqual(seen, [["PONG\r\n", -1], ["MSG a 9 3\r\nabc\r\n", 11]]);
});

Deno.test("NatsSplitter.push() rejects a MSG line whose size is not a number", () => {
  assert.throws(
    () => new NatsSplitter().push(text.encode("MSG a 1 x3\r\nabc\r\n"), { unit() {} }),
    ProtocolError,
  );
});
