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
  #view: DataView;
  #offset = 0;
  #what: string;

  /** `what` names the frame in error messages ("Cannot decode SEND: ..."). */
  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

  u8(field: string): number {
    this.#need(1, field);
    return this.#view.getUint8(this.#offset++);
  }

  u16(field: string): number {
    this.#need(2, field);
    const v = this.#view.getUint16(this.#offset);
    this.#offset += 2;
    return v;
  }

  u32(field: string): number {
    this.#need(4, field);
    const v = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return v;
  }

  /** A u64 that must fit a JavaScript number exactly (at most 2^53 - 1). */
  u64(field: string): number {
    this.#need(8, field);
    const hi = this.#view.getUint32(this.#offset);
    const lo = this.#view.getUint32(this.#offset + 4);
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
 * Builds one frame. The header (length and type) is reserved up front and
 * filled in by {@linkcode WireWriter.finish}, so a frame is built in one buffer.
 */
export class WireWriter {
  #buf: Uint8Array;
  #view: DataView;
  #offset: number;

  constructor(type: number, sizeHint = 64) {
    this.#buf = new Uint8Array(Math.max(16, sizeHint + 5));
    this.#view = new DataView(this.#buf.buffer);
    this.#view.setUint8(4, type);
    this.#offset = 5;
  }

  #ensure(n: number): void {
    if (this.#offset + n <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < this.#offset + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#offset));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(v: number): this {
    checkRange(v, 0xff, "u8");
    this.#ensure(1);
    this.#view.setUint8(this.#offset++, v);
    return this;
  }

  u16(v: number): this {
    checkRange(v, 0xffff, "u16");
    this.#ensure(2);
    this.#view.setUint16(this.#offset, v);
    this.#offset += 2;
    return this;
  }

  u32(v: number): this {
    checkRange(v, 0xffff_ffff, "u32");
    this.#ensure(4);
    this.#view.setUint32(this.#offset, v);
    this.#offset += 4;
    return this;
  }

  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`Cannot encode u64: ${v} is not an integer in 0..2^53-1`);
    }
    this.#ensure(8);
    this.#view.setUint32(this.#offset, Math.floor(v / TWO_POW_32));
    this.#view.setUint32(this.#offset + 4, v >>> 0);
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
    const { written } = utf8Encoder.encodeInto(s, this.#buf.subarray(at));
    if (written > max) {
      throw new RangeError(`Cannot encode ${field}: ${written} bytes exceeds ${max}`);
    }
    if (lenBytes === 1) this.#view.setUint8(this.#offset, written);
    else if (lenBytes === 2) this.#view.setUint16(this.#offset, written);
    else this.#view.setUint32(this.#offset, written);
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
    this.#view.setUint32(0, this.#offset - 4);
    return this.#buf.subarray(0, this.#offset);
  }
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
