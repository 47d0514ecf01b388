/**
 * Cheap stream splitters for the load generator's receivers: each finds
 * where one unit (a protocol v1 frame, a text line, a RESP value) ends and
 * hands the bytes to a sink without decoding them, so a receiver can count
 * millions of deliveries a second. Units cut across reads are reassembled in
 * a carry buffer; units wholly inside a read are passed as views of it.
 *
 * @module
 */

import { ErrorCode, HEADER_SIZE, ProtocolError } from "../protocol/mod.ts";

/** Receives each complete unit as `buf[start..end)`; valid only during the call. */
export interface UnitSink {
  unit(buf: Uint8Array, start: number, end: number): void;
}

/** Longest line or RESP value accepted: far above any bench message, small enough to bound memory. */
export const MAX_UNIT = 1024 * 1024;

/**
 * Splits a byte stream into units. Subclasses say where a unit that starts
 * at `start` ends: its end offset, or -1 when more bytes are needed.
 */
export abstract class Splitter {
  #carry = new Uint8Array(0);
  #carryLen = 0;

  /** Bytes held for an incomplete unit. */
  get buffered(): number {
    return this.#carryLen;
  }

  /** End offset of the unit starting at `start` in `buf` (which ends at buf.byteLength), or -1. */
  protected abstract measure(buf: Uint8Array, start: number): number;

  /** Largest unit this splitter accepts, checked before the carry grows. */
  protected abstract get limit(): number;

  /** Feeds one chunk; calls `sink.unit` for every unit it completes, in order. */
  push(chunk: Uint8Array, sink: UnitSink): void {
    const n = chunk.byteLength;
    let i = 0;
    if (this.#carryLen > 0) {
      // Append the chunk in growing steps until the carried unit completes: units are
      // small, so this copies little, and whatever follows is read from the chunk itself.
      let step = 256;
      for (;;) {
        if (i === n) return;
        const take = Math.min(step, n - i);
        this.#append(chunk.subarray(i, i + take));
        i += take;
        step *= 2;
        const view = this.#carry.subarray(0, this.#carryLen);
        const end = this.measure(view, 0);
        if (end >= 0) {
          // Bytes past the unit's end came from this chunk: read them again from there.
          i -= this.#carryLen - end;
          this.#carryLen = 0;
          sink.unit(view, 0, end);
          break;
        }
        if (this.#carryLen > this.limit) {
          throw new ProtocolError(
            ErrorCode.TOO_LARGE,
            `Cannot split stream: unit exceeds ${this.limit} bytes`,
          );
        }
      }
    }
    i = this.scan(chunk, i, sink);
    if (i < n) {
      if (n - i > this.limit) {
        throw new ProtocolError(ErrorCode.TOO_LARGE, `Cannot split stream: unit exceeds ${this.limit} bytes`);
      }
      this.#append(chunk.subarray(i));
    }
  }

  /**
   * Passes every whole unit of `chunk` from `i` on to the sink and returns
   * where the first incomplete one starts (chunk.byteLength if none).
   */
  protected scan(chunk: Uint8Array, i: number, sink: UnitSink): number {
    const n = chunk.byteLength;
    while (i < n) {
      const end = this.measure(chunk, i);
      if (end < 0) break;
      sink.unit(chunk, i, end);
      i = end;
    }
    return i;
  }

  #append(bytes: Uint8Array): void {
    const need = this.#carryLen + bytes.byteLength;
    if (need > this.#carry.byteLength) {
      const next = new Uint8Array(Math.max(need, this.#carry.byteLength * 2, 512));
      next.set(this.#carry.subarray(0, this.#carryLen));
      this.#carry = next;
    }
    this.#carry.set(bytes, this.#carryLen);
    this.#carryLen = need;
  }
}

/** Splits protocol v1 frames: `length:u32 | type:u8 | payload`; a unit is the whole frame. */
export class FrameSplitter extends Splitter {
  readonly maxFrame: number;

  constructor(maxFrame: number) {
    super();
    this.maxFrame = maxFrame;
  }

  protected get limit(): number {
    return this.maxFrame + 4;
  }

  protected measure(buf: Uint8Array, start: number): number {
    if (buf.byteLength - start < 4) return -1;
    const length = ((buf[start] << 24) >>> 0) + (buf[start + 1] << 16) + (buf[start + 2] << 8) +
      buf[start + 3];
    if (length === 0 || length > this.maxFrame) {
      throw new ProtocolError(
        length === 0 ? ErrorCode.BAD_FRAME : ErrorCode.TOO_LARGE,
        `Cannot split frames: length ${length} is not in 1..${this.maxFrame}`,
      );
    }
    const end = start + 4 + length;
    return end <= buf.byteLength ? end : -1;
  }

  /** The loop of {@linkcode Splitter.scan} with the length prefix read inline: it runs once per delivery. */
  protected override scan(chunk: Uint8Array, i: number, sink: UnitSink): number {
    const n = chunk.byteLength;
    const max = this.maxFrame;
    while (i + 4 <= n) {
      const length = ((chunk[i] << 24) >>> 0) + (chunk[i + 1] << 16) + (chunk[i + 2] << 8) + chunk[i + 3];
      if (length === 0 || length > max) return this.measure(chunk, i); // throws with the reason
      const end = i + 4 + length;
      if (end > n) break;
      sink.unit(chunk, i, end);
      i = end;
    }
    return i;
  }
}

/** Offset of the type byte in a frame unit. */
export const FRAME_TYPE_AT = HEADER_SIZE - 1;

/** Splits `\n`-terminated lines; a unit includes its newline. */
export class LineSplitter extends Splitter {
  protected get limit(): number {
    return MAX_UNIT;
  }

  protected measure(buf: Uint8Array, start: number): number {
    const nl = buf.indexOf(0x0a, start);
    return nl < 0 ? -1 : nl + 1;
  }
}

/** How every NATS delivery line starts: `MSG `. */
const NATS_MSG = new TextEncoder().encode("MSG ");

/**
 * Splits the NATS client protocol: control lines (`INFO`, `PING`, `PONG`,
 * `+OK`, `-ERR`) and deliveries, `MSG <subject> <sid> [reply] <size>` lines
 * followed by their payload and CRLF. A unit is one line, with its payload
 * for a delivery, whose start {@linkcode NatsSplitter.payloadAt} records.
 */
export class NatsSplitter extends Splitter {
  /** For the unit being passed to the sink: the start of a delivery's payload, or -1. */
  payloadAt = -1;

  protected get limit(): number {
    return MAX_UNIT;
  }

  protected measure(buf: Uint8Array, start: number): number {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) return -1;
    if (!startsWith(buf, start, NATS_MSG)) {
      this.payloadAt = -1;
      return nl + 1;
    }
    // The size is the last field of the line, which ends in CRLF.
    let at = nl - 1;
    if (buf[at] !== CR) {
      throw new ProtocolError(ErrorCode.BAD_FRAME, "Cannot split NATS: MSG line without CRLF");
    }
    let size = 0;
    let scale = 1;
    while (at > start && buf[at - 1] !== 0x20) {
      const d = buf[--at] - 0x30;
      if (d < 0 || d > 9) throw new ProtocolError(ErrorCode.BAD_FRAME, "Cannot split NATS: bad MSG size");
      size += d * scale;
      scale *= 10;
    }
    if (size > MAX_UNIT) {
      throw new ProtocolError(
        ErrorCode.TOO_LARGE,
        `Cannot split NATS: payload of ${size} bytes exceeds ${MAX_UNIT}`,
      );
    }
    const end = nl + 1 + size + 2;
    if (end > buf.byteLength) return -1;
    this.payloadAt = nl + 1;
    return end;
  }
}

/** Whether `buf[at..]` starts with `prefix`. */
export function startsWith(buf: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.byteLength > buf.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}

const CR = 0x0d;
const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
/** How every pub/sub delivery starts: `*3 $7 message`. */
const MESSAGE_PREFIX = encoder.encode("*3\r\n$7\r\nmessage\r\n");

/**
 * Splits RESP2 values (the Redis protocol): simple strings, errors,
 * integers, bulk strings and arrays of them. A unit is one top-level value.
 * Pub/sub deliveries, nearly all of the traffic, take a fast path that also
 * records where their payload starts ({@linkcode RespSplitter.payloadAt}).
 */
export class RespSplitter extends Splitter {
  /** For the unit being passed to the sink: the start of a pub/sub message's payload, or -1. */
  payloadAt = -1;

  protected get limit(): number {
    return MAX_UNIT;
  }

  protected measure(buf: Uint8Array, start: number): number {
    const end = this.#messageEnd(buf, start);
    if (end !== NOT_A_MESSAGE) return end;
    this.payloadAt = -1;
    return respEnd(buf, start);
  }

  /** End of the `*3 $7 message $N channel $M payload` push at `start`, -1 if cut short, or NOT_A_MESSAGE. */
  #messageEnd(buf: Uint8Array, start: number): number {
    const n = buf.byteLength;
    const prefix = Math.min(MESSAGE_PREFIX.byteLength, n - start);
    for (let k = 0; k < prefix; k++) if (buf[start + k] !== MESSAGE_PREFIX[k]) return NOT_A_MESSAGE;
    if (prefix < MESSAGE_PREFIX.byteLength) return -1;
    let at = start + MESSAGE_PREFIX.byteLength;
    const channel = bulkLength(buf, at);
    if (channel < 0) return channel === -1 ? -1 : NOT_A_MESSAGE;
    at = skipLengthLine(buf, at) + channel + 2;
    const payload = bulkLength(buf, at);
    if (payload < 0) return payload === -1 ? -1 : NOT_A_MESSAGE;
    this.payloadAt = skipLengthLine(buf, at);
    const end = this.payloadAt + payload + 2;
    return end <= n ? end : -1;
  }
}

/** Returned by the fast path for a value that is not a pub/sub message. */
const NOT_A_MESSAGE = -2;

/** The length of the bulk string header `$123\r\n` at `at`: -1 if cut short, -2 if not a bulk header. */
function bulkLength(buf: Uint8Array, at: number): number {
  const n = buf.byteLength;
  if (at >= n) return -1;
  if (buf[at] !== 0x24) return -2;
  let v = 0;
  for (let i = at + 1; i < n; i++) {
    const b = buf[i];
    if (b === CR) return i + 1 < n ? v : -1;
    const d = b - 0x30;
    if (d < 0 || d > 9) return -2;
    v = v * 10 + d;
  }
  return -1;
}

/** The offset just past the `$123\r\n` header at `at` (which bulkLength accepted). */
function skipLengthLine(buf: Uint8Array, at: number): number {
  let i = at + 1;
  while (buf[i] !== CR) i++;
  return i + 2;
}

/** End offset of the RESP value at `start`, or -1 when incomplete. Throws on a malformed prefix. */
export function respEnd(buf: Uint8Array, start: number): number {
  const n = buf.byteLength;
  if (start >= n) return -1;
  const kind = buf[start];
  const lineEnd = buf.indexOf(CR, start + 1);
  if (lineEnd < 0 || lineEnd + 1 >= n) return -1;
  switch (kind) {
    case 0x2b: // + simple string
    case 0x2d: // - error
    case 0x3a: // : integer
      return lineEnd + 2;
    case 0x24: { // $ bulk string
      const len = readInt(buf, start + 1, lineEnd);
      if (len < 0) return lineEnd + 2; // null bulk string
      const end = lineEnd + 2 + len + 2;
      return end <= n ? end : -1;
    }
    case 0x2a: { // * array
      const count = readInt(buf, start + 1, lineEnd);
      let at = lineEnd + 2;
      for (let k = 0; k < count; k++) {
        at = respEnd(buf, at);
        if (at < 0) return -1;
      }
      return at;
    }
    default:
      throw new ProtocolError(
        ErrorCode.BAD_FRAME,
        `Cannot split RESP: unexpected type byte 0x${kind.toString(16).padStart(2, "0")}`,
      );
  }
}

/** The signed decimal integer in `buf[from..to)`. */
export function readInt(buf: Uint8Array, from: number, to: number): number {
  let i = from;
  let sign = 1;
  if (buf[i] === 0x2d) {
    sign = -1;
    i++;
  }
  let v = 0;
  for (; i < to; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) throw new ProtocolError(ErrorCode.BAD_FRAME, "Cannot split RESP: bad integer");
    v = v * 10 + d;
  }
  return sign * v;
}

/** Encodes a command as a RESP array of bulk strings. */
export function respCommand(...args: string[]): Uint8Array {
  const chunks: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const a of args) {
    const bytes = encoder.encode(a);
    chunks.push(encoder.encode(`$${bytes.byteLength}\r\n`), bytes, CRLF);
  }
  return concat(chunks);
}

/** The bytes of `parts` in one buffer. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
