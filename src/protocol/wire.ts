/**
 * Byte-level reading and writing of the field types the protocol uses:
 * big-endian integers and length-prefixed UTF-8 strings. The reader checks
 * every length against the bytes that remain before it decodes anything.
 *
 * @module
 */

import { ErrorCode, ProtocolError } from "./errors.ts";
import { MAX_MEDIUM_STRING, MAX_SHORT_STRING, MAX_U64_SAFE } from "./limits.ts";

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

const TWO_POW_32 = 0x1_0000_0000;

/** Reads fields from one frame payload, in order. */
export class WireReader {
  #bytes: Uint8Array;
  #offset = 0;
  #what: string;

  /** `what` names the frame in error messages ("Cannot decode SEND: ..."). */
  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#what = what;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#bytes.byteLength - this.#offset;
  }

  #need(n: number, field: string): void {
    if (this.remaining < n) {
      throw new ProtocolError(
        ErrorCode.BAD_FRAME,
        `Cannot decode ${this.#what}: ${field} needs ${n} bytes but ${this.remaining} remain`,
      );
    }
  }

  // Fields are read byte by byte rather than through a DataView: one fewer object per frame on the hot path.
  u8(field: string): number {
    this.#need(1, field);
    return this.#bytes[this.#offset++];
  }

  u16(field: string): number {
    this.#need(2, field);
    const b = this.#bytes;
    const o = this.#offset;
    this.#offset += 2;
    return (b[o] << 8) | b[o + 1];
  }

  u32(field: string): number {
    this.#need(4, field);
    const v = readU32(this.#bytes, this.#offset);
    this.#offset += 4;
    return v;
  }

  /** A u64 that must fit a JavaScript number exactly (at most 2^53 - 1). */
  u64(field: string): number {
    this.#need(8, field);
    const hi = readU32(this.#bytes, this.#offset);
    const lo = readU32(this.#bytes, this.#offset + 4);
    const v = hi * TWO_POW_32 + lo;
    if (v > MAX_U64_SAFE) {
      throw new ProtocolError(
        ErrorCode.BAD_FRAME,
        `Cannot decode ${this.#what}: ${field} exceeds 2^53 - 1`,
      );
    }
    this.#offset += 8;
    return v;
  }

  /** Raw bytes; the result is a view into the payload, not a copy. */
  bytes(n: number, field: string): Uint8Array {
    this.#need(n, field);
    const out = this.#bytes.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return out;
  }

  #string(n: number, field: string): string {
    const raw = this.bytes(n, field);
    const ascii = asciiString(raw);
    if (ascii !== null) return ascii;
    try {
      return utf8Decoder.decode(raw);
    } catch {
      throw new ProtocolError(
        ErrorCode.BAD_FRAME,
        `Cannot decode ${this.#what}: ${field} is not valid UTF-8`,
      );
    }
  }

  /** UTF-8 string with a u8 byte length. */
  str8(field: string): string {
    return this.#string(this.u8(field), field);
  }

  /** UTF-8 string with a u16 byte length. */
  str16(field: string): string {
    return this.#string(this.u16(field), field);
  }

  /** UTF-8 string with a u32 byte length; the length is checked against what remains first. */
  str32(field: string): string {
    return this.#string(this.u32(field), field);
  }

  /** UTF-8 string running to the end of the bytes (an extension value that is only text). */
  rest(field: string): string {
    return this.#string(this.remaining, field);
  }

  /** Fails unless every byte was consumed: v1 frames have no trailing data. */
  end(): void {
    if (this.remaining !== 0) {
      throw new ProtocolError(
        ErrorCode.BAD_FRAME,
        `Cannot decode ${this.#what}: ${this.remaining} unexpected trailing bytes`,
      );
    }
  }
}

/**
 * Finished frames are copied into shared slabs of this size and handed out
 * as views: allocating an ArrayBuffer per frame was the largest single cost of
 * encoding (7% of the server at a 20-receiver fan-out), a view is cheap. A
 * slab lives while any frame in it does. Larger frames get a buffer of their own.
 */
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX_FRAME = SLAB_SIZE / 8;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

// The buffer frames are built in, reused: a writer takes it while no other writer holds it.
let scratch: Uint8Array | null = new Uint8Array(4096);

/** Gives the scratch buffer back after a writer was abandoned by an exception (see encodeMessage). */
export function releaseScratch(): void {
  scratch ??= new Uint8Array(4096);
}

/**
 * Builds one frame. The header (length and type) is reserved up front and
 * filled in by {@linkcode WireWriter.finish}, so a frame is built in one buffer.
 */
export class WireWriter {
  #buf: Uint8Array;
  #offset: number;
  #shared: boolean;

  constructor(type: number, sizeHint = 64) {
    const size = Math.max(16, sizeHint + 5);
    this.#shared = scratch !== null && scratch.byteLength >= size;
    if (this.#shared) {
      this.#buf = scratch!;
      scratch = null;
    } else this.#buf = new Uint8Array(size);
    this.#buf[4] = type;
    this.#offset = 5;
  }

  #ensure(n: number): void {
    if (this.#offset + n <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < this.#offset + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#offset));
    if (this.#shared) {
      // Hand the scratch buffer back; this writer goes on in its own, larger one.
      scratch = this.#buf;
      this.#shared = false;
    }
    this.#buf = next;
  }

  u8(v: number): this {
    checkRange(v, 0xff, "u8");
    this.#ensure(1);
    this.#buf[this.#offset++] = v;
    return this;
  }

  u16(v: number): this {
    checkRange(v, 0xffff, "u16");
    this.#ensure(2);
    writeU16(this.#buf, this.#offset, v);
    this.#offset += 2;
    return this;
  }

  u32(v: number): this {
    checkRange(v, 0xffff_ffff, "u32");
    this.#ensure(4);
    writeU32(this.#buf, this.#offset, v);
    this.#offset += 4;
    return this;
  }

  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`Cannot encode u64: ${v} is not an integer in 0..2^53-1`);
    }
    this.#ensure(8);
    writeU32(this.#buf, this.#offset, Math.floor(v / TWO_POW_32));
    writeU32(this.#buf, this.#offset + 4, v >>> 0);
    this.#offset += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#ensure(b.byteLength);
    this.#buf.set(b, this.#offset);
    this.#offset += b.byteLength;
    return this;
  }

  #string(s: string, lenBytes: 1 | 2 | 4, max: number, field: string): this {
    // Worst case is 3 bytes per UTF-16 unit; encodeInto writes in place.
    this.#ensure(lenBytes + s.length * 3);
    const at = this.#offset + lenBytes;
    const written = s.length <= ASCII_ENCODE_MAX ? writeAscii(s, this.#buf, at) : -1;
    if (written >= 0) {
      // An ASCII string is written byte for byte: no view to encode into, no result object (names, rooms).
      if (lenBytes === 1) this.#buf[this.#offset] = written;
      else if (lenBytes === 2) writeU16(this.#buf, this.#offset, written);
      else writeU32(this.#buf, this.#offset, written);
      this.#offset = at + written;
      return this;
    }
    return this.#utf8(s, lenBytes, max, field, at);
  }

  #utf8(s: string, lenBytes: 1 | 2 | 4, max: number, field: string, at: number): this {
    const { written } = utf8Encoder.encodeInto(s, this.#buf.subarray(at));
    if (written > max) {
      throw new RangeError(`Cannot encode ${field}: ${written} bytes exceeds ${max}`);
    }
    if (lenBytes === 1) this.#buf[this.#offset] = written;
    else if (lenBytes === 2) writeU16(this.#buf, this.#offset, written);
    else writeU32(this.#buf, this.#offset, written);
    this.#offset = at + written;
    return this;
  }

  str8(s: string, field = "string"): this {
    return this.#string(s, 1, MAX_SHORT_STRING, field);
  }

  str16(s: string, field = "string"): this {
    return this.#string(s, 2, MAX_MEDIUM_STRING, field);
  }

  str32(s: string, field = "string"): this {
    return this.#string(s, 4, 0xffff_ffff, field);
  }

  /** Writes the length field and returns the finished frame. */
  finish(): Uint8Array {
    const n = this.#offset;
    writeU32(this.#buf, 0, n - 4);
    if (!this.#shared) return this.#buf.subarray(0, n);
    scratch = this.#buf;
    this.#shared = false;
    if (n > SLAB_MAX_FRAME) return this.#buf.slice(0, n);
    if (slabUsed + n > SLAB_SIZE) {
      slab = new ArrayBuffer(SLAB_SIZE);
      slabUsed = 0;
    }
    const frame = new Uint8Array(slab, slabUsed, n);
    frame.set(this.#buf.subarray(0, n));
    slabUsed += n;
    return frame;
  }
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * Strings up to this many bytes are decoded in JavaScript when they are ASCII
 * (names, rooms, most chat lines): cheaper than a call into the runtime's
 * decoder (measured 0.8 against 1.2 us for a room and a 100-byte line).
 * Longer ones, or any other byte, go through TextDecoder, which validates.
 */
const ASCII_FAST_MAX = 256;

/**
 * Strings up to this many UTF-16 units are written as ASCII in JavaScript when
 * they are: the names of a member list, rooms and senders. Encoding each
 * through `encodeInto` cost a view and a result object per string: 48 MB of
 * garbage for the member lists of 10,000 joins to rooms of 100 (BENCHMARKS.md,
 * "Loud rooms"). Longer strings (message texts) keep `encodeInto`.
 */
const ASCII_ENCODE_MAX = 64;

/** Writes `s` at `buf[at]` when every unit is ASCII and returns its length; -1 (bytes left undefined) otherwise. */
function writeAscii(s: string, buf: Uint8Array, at: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    buf[at + i] = c;
  }
  return n;
}

/** `raw` as a string if it is short ASCII (always valid UTF-8), else null. */
function asciiString(raw: Uint8Array): string | null {
  const n = raw.byteLength;
  if (n > ASCII_FAST_MAX) return null;
  let s = "";
  for (let i = 0; i < n; i++) {
    const c = raw[i];
    if (c >= 0x80) return null;
    s += String.fromCharCode(c);
  }
  return s;
}

/** Encoding a value that does not fit its field is a bug in the caller, never silently wrapped. */
function checkRange(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`Cannot encode ${field}: ${v} is not an integer in 0..${max}`);
  }
}

/** Byte length of `s` in UTF-8, without allocating. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
