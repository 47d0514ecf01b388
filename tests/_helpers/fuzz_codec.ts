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
  decodeMessage,
  encodeMessage,
  ERROR_CODES,
  type Extension,
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

export const extension = (rng: Prng): Extension => ({ tag: rng.int(256), value: rng.bytes(rng.int(20)) });

export type Generators = { [K in Message["type"]]: (rng: Prng) => Extract<Message, { type: K }> };

/** One generator per message type: the type checker fails this table when a type is added. */
export const GENERATORS: Generators = {
  hello: (rng) => ({
    type: "hello",
    version: rng.int(3),
    name: short(rng),
    rooms: list(rng, 6, short),
    extensions: list(rng, 3, extension),
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
    extensions: list(rng, 3, extension),
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
    names: list(rng, 30, short),
  }),
  room: (rng) => ({ type: "room", room: short(rng), members: u32(rng), quiet: rng.chance(0.5) }),
  error: (rng) => ({
    type: "error",
    fatal: rng.chance(0.5),
    code: rng.chance(0.8) ? rng.pick(ERROR_CODES) : short(rng),
    ref: u64(rng),
    message: str(rng, 80),
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
  const out = new Uint8Array(HEADER_SIZE + payload.byteLength);
  new DataView(out.buffer).setUint32(0, payload.byteLength + 1);
  out[4] = type;
  out.set(payload, HEADER_SIZE);
  return out;
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

/** Decodes one frame that passed the decoder: either a ProtocolError, or a value that re-encodes to the same bytes. */
function checkDecode(
  type: number,
  payload: Uint8Array,
  frameBytes: Uint8Array,
  original: Message | undefined,
) {
  let msg: Message;
  try {
    msg = decodeMessage({ type, payload });
  } catch (e) {
    assertProtocolError(e, "decodeMessage()");
    assert.equal(original, undefined, `decodeMessage() rejected a valid ${original?.type}: ${e.message}`);
    return;
  }
  if (original) assert.deepStrictEqual(msg, original, "a valid frame did not round-trip");
  // The encoding is canonical: whatever decodes re-encodes to the same bytes.
  if (msg.type === "members" && msg.names.length > MAX_MEMBERS_PER_FRAME) return;
  assert.ok(
    sameBytes(encodeMessage(msg), frameBytes),
    `${msg.type} did not re-encode to the bytes it came from`,
  );
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
