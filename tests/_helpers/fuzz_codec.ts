/**
 * Generators and the decoder oracle for randomized tests of the protocol codec: random valid messages of
 * every type, damaged copies of their frames, and {@linkcode runDecoderCase}, which feeds a random stream
 * in random chunks to a FrameDecoder and checks every frame against an independent split of the stream.
 * Shared by tests/protocol/fuzz_test.ts (a bounded seeded run), the broker fuzz and `deno task fuzz`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeFrame,
  encodeMessage,
  ERROR_CODES,
  ErrorCode,
  type Extension,
  type Frame,
  FRAME_NAMES,
  FrameDecoder,
  HEADER_SIZE,
  MAX_MEMBERS_PER_FRAME,
  type Message,
  ProtocolError,
} from "../../src/protocol/mod.ts";
import type { Prng } from "./prng.ts";

// ---------------------------------------------------------------------------
// Random valid messages.

/** Characters of every UTF-8 width, plus the awkward ones (NUL, BOM, a combining mark). */
const CHARS = [..."abcXYZ019 _-.", "é", "ß", "Ω", "日", "本", "😀", "👋", "\u0000", "\ufeff", "\u0301", "\n"];

export function str(rng: Prng, maxChars: number): string {
  let s = "";
  for (let n = rng.int(maxChars + 1); n > 0; n--) s += rng.pick(CHARS);
  return s;
}

/** A str8 field: at most 60 characters of at most 4 bytes, so always within 255 bytes. */
export const short = (rng: Prng): string => str(rng, rng.chance(0.8) ? 12 : 60);

export function u64(rng: Prng): number {
  switch (rng.int(5)) {
    case 0:
      return 0;
    case 1:
      return rng.int(1000);
    case 2:
      return rng.int(0x1_0000_0000);
    case 3:
      return Number.MAX_SAFE_INTEGER;
    default:
      return rng.int(0x20_0000) * 0x1_0000_0000 + rng.int(0x1_0000_0000);
  }
}

export const u32 = (rng: Prng): number => rng.int(0x1_0000_0000);

export function list<T>(rng: Prng, max: number, item: (rng: Prng) => T): T[] {
  return Array.from({ length: rng.int(max + 1) }, () => item(rng));
}

/** A block of a tag neither HELLO nor WELCOME defines (0x01-0x08 are typed fields): kept raw, in order. */
export const extension = (rng: Prng): Extension => ({
  tag: rng.range(0x09, 0xff),
  value: rng.bytes(rng.int(20)),
});

/** Fields that are present only sometimes, as a decoder leaves absent ones out. */
function some<T extends object>(rng: Prng, fields: { [K in keyof T]: () => T[K] }): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(fields) as Array<keyof T>) if (rng.chance(0.5)) out[key] = fields[key]();
  return out;
}

function extensions(rng: Prng): { extensions?: Extension[] } {
  const list = Array.from({ length: rng.chance(0.5) ? 0 : rng.range(1, 3) }, () => extension(rng));
  return list.length > 0 ? { extensions: list } : {};
}

export type Generators = { [K in Message["type"]]: (rng: Prng) => Extract<Message, { type: K }> };

/** One generator per message type: the type checker fails this table when a type is added. */
export const GENERATORS: Generators = {
  hello: (rng) => ({
    type: "hello",
    version: rng.int(3),
    name: short(rng),
    rooms: list(rng, 6, short),
    ...some(rng, {
      password: () => str(rng, 20),
      adminToken: () => str(rng, 20),
      resumeToken: () => rng.bytes(rng.pick([16, 16, 0, 3])),
      since: () => new Map(list(rng, 4, (rng) => [short(rng), u64(rng)] as const)),
      transient: () => true as const,
      features: () => list(rng, 4, short),
    }),
    ...extensions(rng),
  }),
  send: (rng) => ({ type: "send", id: u64(rng), room: short(rng), flags: rng.int(256), text: str(rng, 300) }),
  join: (rng) => ({ type: "join", room: short(rng) }),
  leave: (rng) => ({ type: "leave", room: short(rng) }),
  who: (rng) => ({ type: "who", room: short(rng) }),
  bye: (rng) => ({ type: "bye", reason: str(rng, 80) }),
  fetch: (rng) => ({
    type: "fetch",
    room: short(rng),
    after: u64(rng),
    before: u64(rng),
    limit: rng.int(0x10000),
  }),
  private: (rng) => ({
    type: "private",
    id: u64(rng),
    to: short(rng),
    flags: rng.int(256),
    text: str(rng, 300),
  }),
  nick: (rng) => ({ type: "nick", name: short(rng) }),
  away: (rng) => ({ type: "away", text: str(rng, 80) }),
  register: (rng) => ({ type: "register", password: str(rng, 40) }),
  moderate: (rng) => ({
    type: "moderate",
    action: rng.pick(["kick", "ban", "unban", "mute", "unmute"] as const),
    target: short(rng),
    durationMs: u64(rng),
    reason: str(rng, 80),
  }),
  notice: (rng) => ({ type: "notice", kind: short(rng), text: str(rng, 80) }),
  direct: (rng) => ({
    type: "direct",
    from: short(rng),
    to: short(rng),
    ts: u64(rng),
    flags: rng.int(256),
    text: str(rng, 300),
  }),
  ping: (rng) => ({ type: "ping", token: u32(rng) }),
  pong: (rng) => ({ type: "pong", token: u32(rng) }),
  welcome: (rng) => ({
    type: "welcome",
    version: rng.int(3),
    name: short(rng),
    heartbeatMs: u32(rng),
    timeoutMs: u32(rng),
    maxFrame: u32(rng),
    maxText: u32(rng),
    rooms: list(rng, 6, short),
    ...some(rng, {
      resumeToken: () => rng.bytes(16),
      storeId: () => rng.bytes(rng.pick([16, 16, 0])),
      rateLimit: () => ({ perSecond: u32(rng), burst: u32(rng) }),
      features: () => list(rng, 4, short),
    }),
    ...extensions(rng),
  }),
  message: (rng) => ({
    type: "message",
    room: short(rng),
    seq: u64(rng),
    ts: u64(rng),
    flags: rng.int(256),
    from: short(rng),
    text: str(rng, 300),
  }),
  ack: (rng) => ({ type: "ack", id: u64(rng), room: short(rng), seq: u64(rng), ts: u64(rng) }),
  presence: (rng) => ({
    type: "presence",
    room: short(rng),
    event: rng.pick(["join", "leave", "nick", "away"] as const),
    name: short(rng),
    reason: short(rng),
    text: str(rng, 80),
    ts: u64(rng),
  }),
  members: (rng) => ({
    type: "members",
    room: short(rng),
    more: rng.chance(0.5),
    ...some(rng, { listing: () => true as const }),
    names: list(rng, 30, short),
  }),
  room: (rng) => ({
    type: "room",
    room: short(rng),
    members: u32(rng),
    quiet: rng.chance(0.5),
    ...some(rng, { listing: () => true as const }),
  }),
  list: (rng) => ({ type: "list", after: short(rng), limit: rng.int(0x10000) }),
  topic: (rng) => ({ type: "topic", room: short(rng), set: rng.chance(0.5), text: str(rng, 80) }),
  rooms: (rng) => ({
    type: "rooms",
    more: rng.chance(0.5),
    rooms: list(rng, 20, (rng) => ({
      room: short(rng),
      members: u32(rng),
      quiet: rng.chance(0.5),
      topic: str(rng, 60),
    })),
  }),
  topicIs: (rng) => ({ type: "topicIs", room: short(rng), text: str(rng, 80), by: short(rng), ts: u64(rng) }),
  error: (rng) => ({
    type: "error",
    fatal: rng.chance(0.5),
    code: rng.chance(0.8) ? rng.pick(ERROR_CODES) : short(rng),
    ref: u64(rng),
    message: str(rng, 80),
  }),
  conversations: (rng) => ({
    type: "conversations",
    conversations: list(rng, 20, (rng) => ({ peer: short(rng), lastSeq: u64(rng), ts: u64(rng) })),
  }),
  fetched: (rng) => ({
    type: "fetched",
    room: short(rng),
    count: rng.int(0x10000),
    more: rng.chance(0.5),
    lastSeq: u64(rng),
  }),
};

export const TYPES: Array<Message["type"]> = Object.keys(GENERATORS) as Array<Message["type"]>;

// ---------------------------------------------------------------------------
// Mutations.

function setLength(frame: Uint8Array, length: number): Uint8Array {
  const out = frame.slice();
  new DataView(out.buffer).setUint32(0, length >>> 0);
  return out;
}

function withPayload(type: number, payload: Uint8Array): Uint8Array {
  return encodeFrame({ type, payload });
}

/** A damaged copy of `frame`, or `frame` itself when the dice say "valid". */
export function mutate(rng: Prng, frame: Uint8Array, maxFrame: number): Uint8Array {
  const payload = frame.subarray(HEADER_SIZE);
  switch (rng.int(9)) {
    case 0: {
      // Flip bits in one to four random bytes, length and type included.
      const out = frame.slice();
      for (let n = rng.range(1, 4); n > 0; n--) out[rng.int(out.byteLength)] ^= 1 << rng.int(8);
      return out;
    }
    case 1: {
      // Overwrite one payload byte with a boundary value.
      if (payload.byteLength === 0) return frame;
      const out = frame.slice();
      out[HEADER_SIZE + rng.int(payload.byteLength)] = rng.pick([0, 1, 2, 0x7f, 0x80, 0xff]);
      return out;
    }
    case 2: {
      // A wrong length field: the framing of everything after it is off.
      const real = frame.byteLength - 4;
      return setLength(
        frame,
        rng.pick([0, 1, real - 1, real + 1, maxFrame, maxFrame + 1, u32(rng), rng.int(64)]),
      );
    }
    case 3:
      // A payload cut short, with a length field that agrees.
      return withPayload(frame[4], payload.subarray(0, rng.int(payload.byteLength + 1)));
    case 4: {
      // Garbage appended to the payload, with a length field that agrees.
      const out = new Uint8Array(payload.byteLength + rng.range(1, 8));
      out.set(payload);
      out.set(rng.bytes(out.byteLength - payload.byteLength), payload.byteLength);
      return withPayload(frame[4], out);
    }
    case 5:
      // The payload of one type under the type byte of another (or an unknown one).
      return withPayload(rng.int(256), payload);
    case 6:
      // A well-framed payload of random bytes.
      return withPayload(rng.int(256), rng.bytes(rng.int(40)));
    default:
      return frame;
  }
}

// ---------------------------------------------------------------------------
// The oracle: how a correct decoder splits a stream, computed independently.

interface Expected {
  /** [start, end) of each complete frame. */
  frames: Array<[number, number]>;
  /** The first bad length: its code and the offset of its fourth byte. */
  error: { code: string; at: number } | null;
}

function split(stream: Uint8Array, maxFrame: number): Expected {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const frames: Array<[number, number]> = [];
  let at = 0;
  while (at + 4 <= stream.byteLength) {
    const length = view.getUint32(at);
    if (length === 0) return { frames, error: { code: "BAD_FRAME", at: at + 3 } };
    if (length > maxFrame) return { frames, error: { code: "TOO_LARGE", at: at + 3 } };
    if (at + 4 + length > stream.byteLength) break;
    frames.push([at, at + 4 + length]);
    at += 4 + length;
  }
  return { frames, error: null };
}

/** Where the frame in progress at `offset` starts: after the last complete frame before it. */
function partialStart(expected: Expected, offset: number): number {
  let start = 0;
  for (const [, end] of expected.frames) if (end <= offset) start = end;
  return start;
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

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

function assertProtocolError(e: unknown, where: string): asserts e is ProtocolError {
  assert.ok(e instanceof ProtocolError, `${where}: threw ${e} instead of a ProtocolError`);
  assert.ok(ERROR_CODES.includes(e.code), `${where}: code ${e.code} is not in ERROR_CODES`);
}

/**
 * The decoder of a frame type's direction, by the ranges of docs/PROTOCOL.md: the client's for
 * 0x80-0xbf (server to client), the server's for the rest (client to server, and PING/PONG both ways).
 */
export function decodeByDirection(frame: Frame): Message {
  return frame.type >= 0x80 ? decodeServerMessage(frame) : decodeClientMessage(frame);
}

type Outcome = { msg: Message } | { code: string; message: string };

function attempt(where: string, decode: () => Message): Outcome {
  try {
    return { msg: decode() };
  } catch (e) {
    assertProtocolError(e, where);
    return { code: e.code, message: e.message };
  }
}

/**
 * Decodes one frame that passed the decoder with both ends' decoders: each gives a ProtocolError or a
 * value that re-encodes to the same bytes; the end a known type is not meant for refuses it with
 * UNEXPECTED_FRAME, and PING and PONG read the same at both ends.
 */
function checkDecode(
  type: number,
  payload: Uint8Array,
  frameBytes: Uint8Array,
  original: Message | undefined,
) {
  const asServer = attempt("decodeClientMessage()", () => decodeClientMessage({ type, payload }));
  const asClient = attempt("decodeServerMessage()", () => decodeServerMessage({ type, payload }));
  const name = FRAME_NAMES[type] ?? `type 0x${type.toString(16)}`;
  let mine: Outcome;
  if (FRAME_NAMES[type] === undefined) {
    for (const o of [asServer, asClient]) assert.ok("code" in o && o.code === ErrorCode.UNKNOWN_TYPE, name);
    return;
  } else if (type >= 0x80) {
    assert.ok("code" in asServer && asServer.code === ErrorCode.UNEXPECTED_FRAME, `the server read ${name}`);
    mine = asClient;
  } else if (type < 0x40) {
    assert.ok("code" in asClient && asClient.code === ErrorCode.UNEXPECTED_FRAME, `a client read ${name}`);
    mine = asServer;
  } else {
    assert.deepStrictEqual(asClient, asServer, `both ends read ${name} alike`);
    mine = asServer;
  }
  if ("code" in mine) {
    assert.equal(original, undefined, `the decoder rejected a valid ${original?.type}: ${mine.message}`);
    return;
  }
  const msg = mine.msg;
  if (original) assert.deepStrictEqual(msg, original, "a valid frame did not round-trip");
  if (msg.type === "members" && msg.names.length > MAX_MEMBERS_PER_FRAME) return;
  const again = encodeMessage(msg);
  if (msg.type === "hello" || msg.type === "welcome") {
    // Extension blocks may come in any order and repeat (the last counts), so only the value is canonical.
    assert.deepStrictEqual(decodeByDirection({ type, payload: again.subarray(HEADER_SIZE) }), msg);
    return;
  }
  // Every other encoding is canonical: whatever decodes re-encodes to the same bytes.
  assert.ok(sameBytes(again, frameBytes), `${msg.type} did not re-encode to the bytes it came from`);
}

/**
 * One decoder case: a stream of one to four frames, each valid or damaged, maybe with garbage after it and
 * maybe cut short, pushed in random chunks. Throws (an AssertionError) when the decoder or the codec
 * disagrees with the oracle.
 */
export function runDecoderCase(rng: Prng): void {
  const maxFrame = rng.pick([64, 4096, 65536]);
  // A stream of one to four frames, each valid or damaged, maybe followed by garbage, maybe cut short.
  const parts: Uint8Array[] = [];
  const originals = new Map<number, { end: number; value: Message }>();
  let offset = 0;
  for (let n = rng.range(1, 4); n > 0; n--) {
    const value = GENERATORS[rng.pick(TYPES)](rng);
    const frame = encodeMessage(value);
    const bytes = mutate(rng, frame, maxFrame);
    if (bytes === frame) originals.set(offset, { end: offset + frame.byteLength, value });
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  if (rng.chance(0.15)) parts.push(rng.bytes(rng.range(1, 12)));
  let stream = concat(parts);
  if (rng.chance(0.15)) stream = stream.subarray(0, rng.int(stream.byteLength));

  const expected = split(stream, maxFrame);
  const decoder = new FrameDecoder({ maxFrame });
  const seen: Array<[number, number]> = [];
  let start = 0;
  let failed = false;
  while (start < stream.byteLength) {
    const end = Math.min(stream.byteLength, start + rng.pick([1, 2, 3, 5, 7, 16, 64, 1000, 100_000]));
    let frames;
    try {
      frames = decoder.push(stream.subarray(start, end));
    } catch (e) {
      assertProtocolError(e, "FrameDecoder.push()");
      assert.ok(expected.error, `push() threw ${e.code} on a well-framed stream`);
      assert.equal(e.code, expected.error.code);
      assert.ok(start <= expected.error.at && expected.error.at < end, "push() failed in the wrong chunk");
      failed = true;
      break;
    }
    for (const f of frames) {
      const [fs, fe] = expected.frames[seen.length] ?? [-1, -1];
      assert.equal(f.type, stream[fs + 4], "frame type differs from the oracle");
      assert.ok(sameBytes(f.payload, stream.subarray(fs + 5, fe)), "frame payload differs from the oracle");
      const original = originals.get(fs);
      checkDecode(
        f.type,
        f.payload,
        stream.subarray(fs, fe),
        original?.end === fe ? original.value : undefined,
      );
      seen.push([fs, fe]);
    }
    if (decoder.error) {
      // Frames before a bad header in the same chunk came out first; the failure is reported after them.
      assertProtocolError(decoder.error, "FrameDecoder.error");
      assert.ok(expected.error, `decoder failed with ${decoder.error.code} on a well-framed stream`);
      assert.equal(decoder.error.code, expected.error.code);
      assert.ok(start <= expected.error.at && expected.error.at < end, "decoder failed in the wrong chunk");
      failed = true;
      start = end;
      break;
    }
    assert.ok(decoder.buffered <= maxFrame + HEADER_SIZE, `buffered ${decoder.buffered} > maxFrame + header`);
    assert.equal(decoder.buffered, end - partialStart(expected, end), "buffered is not the partial frame");
    start = end;
  }
  if (failed) {
    // Every frame completed before the bad header came out, none lost; the decoder then stays failed.
    assert.deepStrictEqual(seen, expected.frames);
    assert.throws(() => decoder.push(new Uint8Array([0, 0, 0, 1, 0x40])), ProtocolError);
  } else {
    assert.equal(expected.error, null, "the decoder missed a bad length");
    assert.deepStrictEqual(seen, expected.frames);
  }
}
