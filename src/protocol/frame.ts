/**
 * Frame layout and the push-based frame decoder.
 *
 * A frame is `length:u32 | type:u8 | payload`, where `length` counts the
 * type byte and the payload (so it is at least 1). The decoder accepts bytes
 * in chunks of any size and keeps partial input itself.
 *
 * @module
 */

import { ErrorCode, ProtocolError } from "./errors.ts";
import { DEFAULT_MAX_FRAME, HEADER_SIZE, MAX_FRAME_CEILING } from "./limits.ts";

/** Frame type codes. Client-to-server 0x01-0x3f, both ways 0x40-0x7f, server-to-client 0x80-0xbf. */
export const FrameType = {
  HELLO: 0x01,
  SEND: 0x02,
  JOIN: 0x03,
  LEAVE: 0x04,
  WHO: 0x05,
  BYE: 0x06,
  FETCH: 0x07,
  PRIVATE: 0x08,
  NICK: 0x09,
  AWAY: 0x0a,
  REGISTER: 0x0b,
  MODERATE: 0x0c,
  LIST: 0x0d,
  TOPIC: 0x0e,
  PING: 0x40,
  PONG: 0x41,
  WELCOME: 0x81,
  MESSAGE: 0x82,
  ACK: 0x83,
  PRESENCE: 0x84,
  MEMBERS: 0x85,
  ERROR: 0x86,
  FETCHED: 0x87,
  DIRECT: 0x88,
  NOTICE: 0x89,
  ROOM: 0x8a,
  ROOMS: 0x8b,
  TOPIC_IS: 0x8c,
  CONVERSATIONS: 0x8d,
} as const;

/** One of the frame type codes. */
export type FrameType = typeof FrameType[keyof typeof FrameType];

/** Names of frame types, for messages and logs. */
export const FRAME_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(FrameType).map(([k, v]) => [v, k]),
);

/** "CHAT" in ASCII: the first four payload bytes of every HELLO. */
export const MAGIC = new Uint8Array([0x43, 0x48, 0x41, 0x54]);

/** The protocol version this implementation speaks. */
export const PROTOCOL_VERSION = 1;

/** A decoded frame. `payload` is only valid until the next `push()`. */
export interface Frame {
  type: number;
  payload: Uint8Array;
}

/** Options for {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest accepted `length` field (type byte + payload). */
  maxFrame?: number;
}

/**
 * Splits a byte stream into frames. Feed it chunks with {@linkcode push};
 * it returns every complete frame and keeps the rest. A length above the
 * limit fails as soon as the four length bytes are seen, before anything is
 * buffered for it.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder();
 * for (const frame of decoder.push(new Uint8Array([0, 0, 0, 1, 0x40]))) {
 *   console.log(frame.type); // 64
 * }
 * ```
 */
export class FrameDecoder {
  readonly maxFrame: number;
  // Header bytes seen so far, while fewer than HEADER_SIZE have arrived. Made on the first split header:
  // most streams never split one, and an idle connection should cost as little as possible.
  #header: Uint8Array | null = null;
  #headerLen = 0;
  // Body of the frame being assembled (payload only, type is kept aside).
  #body: Uint8Array | null = null;
  #bodyLen = 0;
  #type = 0;
  #failed: ProtocolError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    if (!Number.isInteger(maxFrame) || maxFrame < 1 || maxFrame > MAX_FRAME_CEILING) {
      throw new RangeError(`maxFrame must be an integer in 1..${MAX_FRAME_CEILING}, got ${maxFrame}`);
    }
    this.maxFrame = maxFrame;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#body ? this.#headerLen + this.#bodyLen : this.#headerLen;
  }

  /** The error that stopped this decoder, or null. */
  get error(): ProtocolError | null {
    return this.#failed;
  }

  /**
   * Consumes a chunk and returns the frames it completes. On a bad length
   * the decoder fails for good (the stream cannot be resynchronised): if no
   * frame preceded the bad header in this chunk it throws
   * {@linkcode ProtocolError}; otherwise it returns those frames first and
   * the caller finds the failure in {@linkcode error} (and the next push
   * throws it). Either way no frame that arrived whole is lost.
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failed) throw this.#failed;
    const frames: Frame[] = [];
    try {
      this.#consume(chunk, frames);
    } catch (err) {
      if (frames.length === 0 || !(err instanceof ProtocolError)) throw err;
    }
    return frames;
  }

  #consume(chunk: Uint8Array, frames: Frame[]): void {
    let i = 0;
    const n = chunk.byteLength;
    while (i < n) {
      if (this.#body === null) {
        // Fast path: a whole frame inside the chunk with no partial header.
        if (this.#headerLen === 0 && n - i >= HEADER_SIZE) {
          const length = readLength(chunk, i);
          this.#checkLength(length);
          if (n - i - 4 >= length) {
            frames.push({ type: chunk[i + 4], payload: chunk.subarray(i + 5, i + 4 + length) });
            i += 4 + length;
            continue;
          }
        }
        const take = Math.min(HEADER_SIZE - this.#headerLen, n - i);
        const header = this.#header ??= new Uint8Array(HEADER_SIZE);
        header.set(chunk.subarray(i, i + take), this.#headerLen);
        this.#headerLen += take;
        i += take;
        if (this.#headerLen >= 4) this.#checkLength(readLength(header, 0));
        if (this.#headerLen < HEADER_SIZE) break;
        const length = readLength(header, 0);
        this.#type = header[4];
        this.#body = new Uint8Array(length - 1);
        this.#bodyLen = 0;
      }
      const body = this.#body;
      const take = Math.min(body.byteLength - this.#bodyLen, n - i);
      body.set(chunk.subarray(i, i + take), this.#bodyLen);
      this.#bodyLen += take;
      i += take;
      if (this.#bodyLen === body.byteLength) {
        frames.push({ type: this.#type, payload: body });
        this.#body = null;
        this.#headerLen = 0;
      }
    }
  }

  #checkLength(length: number): void {
    if (length === 0) {
      this.#failed = new ProtocolError(
        ErrorCode.BAD_FRAME,
        "Cannot decode frame: length 0 leaves no room for the type byte",
      );
      throw this.#failed;
    }
    if (length > this.maxFrame) {
      this.#failed = new ProtocolError(
        ErrorCode.TOO_LARGE,
        `Cannot decode frame: length ${length} exceeds limit ${this.maxFrame}`,
      );
      throw this.#failed;
    }
  }
}

function readLength(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
}

/**
 * The bytes of one frame: the length, the type and `payload`, whatever they
 * hold. What a transport that carries frames whole (a WebSocket message per
 * frame) turns a decoded {@linkcode Frame} back into; messages are encoded
 * with `encodeMessage()`.
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + frame.payload.byteLength);
  new DataView(out.buffer).setUint32(0, frame.payload.byteLength + 1);
  out[4] = frame.type;
  out.set(frame.payload, HEADER_SIZE);
  return out;
}

/** Bytes {@linkcode sniffHello} needs to decide: the header and the magic. */
export const SNIFF_SIZE = HEADER_SIZE + MAGIC.byteLength;

/**
 * Decides from the first bytes of a connection whether the peer speaks this
 * protocol: "yes" once the header and magic of a HELLO are seen, "no" as soon
 * as one byte differs (an HTTP request or typed text fails on the first
 * byte), "more" while the prefix still matches.
 */
export function sniffHello(prefix: Uint8Array, maxFrame = DEFAULT_MAX_FRAME): "yes" | "no" | "more" {
  const n = Math.min(prefix.byteLength, SNIFF_SIZE);
  if (n >= 4) {
    const length = readLength(prefix, 0);
    if (length < 1 + MAGIC.byteLength || length > maxFrame) return "no";
  } else {
    // The high bytes of any length within maxFrame are bounded; check what we have.
    const partial = [maxFrame >>> 24, (maxFrame >>> 16) & 0xff];
    for (let i = 0; i < Math.min(n, 2); i++) {
      if (prefix[i] > partial[i] && (i === 0 || prefix[0] === partial[0])) return "no";
    }
  }
  if (n >= 5 && prefix[4] !== FrameType.HELLO) return "no";
  for (let i = 5; i < n; i++) {
    if (prefix[i] !== MAGIC[i - 5]) return "no";
  }
  return n >= SNIFF_SIZE ? "yes" : "more";
}

/** The line sent to a peer that does not speak the protocol, before closing. */
export const NOT_CHAT_LINE =
  "This port speaks the chat binary protocol v1, not HTTP or text; connect with `chat join`.\r\n";
