/**
 * WebSocket framing (RFC 6455), server side: the handshake's accept key, a
 * reader of client frames that works in place, and the headers of the
 * frames the server sends. No sockets here: src/net/ws_conn.ts drives a
 * connection with these.
 *
 * The reader serves the chat binding (docs/PROTOCOL.md, "WebSocket
 * binding"): binary messages only, each holding exactly one chat frame,
 * at most 4 + maxFrame bytes. It unmasks payload bytes into the buffer they
 * were read into, towards its start, so a WebSocket connection reads into
 * the same small buffer as a TCP one and a quiet connection holds nothing
 * more than its state.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { ErrorCode, ProtocolError } from "../protocol/mod.ts";

/** The key suffix of RFC 6455 section 1.3. */
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The subprotocol of this binding: a client that does not offer it is refused. */
export const SUBPROTOCOL = "chat.v1";

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** Close codes this server sends (RFC 6455 section 7.4.1). */
export const CloseCode = {
  NORMAL: 1000,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  POLICY_VIOLATION: 1008,
  TOO_BIG: 1009,
} as const;

/** Payload bytes a control frame may carry (RFC 6455 section 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Sec-WebSocket-Accept for a client's Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + WS_GUID).digest("base64");
}

/** A Sec-WebSocket-Key must be 16 bytes in base64. */
export function validKey(key: string | undefined): boolean {
  return key !== undefined && /^[A-Za-z0-9+/]{22}==$/.test(key);
}

/**
 * A client broke the WebSocket rules or the binding's: a ProtocolError
 * (BAD_FRAME or TOO_LARGE), so the connection pipeline answers it like a
 * malformed chat frame, plus the close code the WebSocket close carries.
 */
export class WebSocketError extends ProtocolError {
  readonly closeCode: number;

  constructor(code: ErrorCode, closeCode: number, message: string) {
    super(code, message);
    this.name = "WebSocketError";
    this.closeCode = closeCode;
  }
}

function refuse(message: string, closeCode: number = CloseCode.PROTOCOL_ERROR): WebSocketError {
  return new WebSocketError(ErrorCode.BAD_FRAME, closeCode, `WebSocket: ${message}`);
}

/** Bytes of a server frame header for a payload of `n` bytes (the server does not mask). */
export function headerSize(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

/** Writes the header of a final, unmasked frame at `out[at]`; returns its size. */
export function writeHeader(out: Uint8Array, at: number, opcode: number, n: number): number {
  out[at] = 0x80 | opcode;
  if (n < 126) {
    out[at + 1] = n;
    return 2;
  }
  if (n < 65536) {
    out[at + 1] = 126;
    out[at + 2] = n >>> 8;
    out[at + 3] = n & 0xff;
    return 4;
  }
  out[at + 1] = 127;
  // A frame is at most 16 MiB + 4 here, but the field is 64 bits: the top four bytes stay 0 below 2^32.
  const high = Math.floor(n / 0x1_0000_0000);
  for (let k = 0; k < 4; k++) {
    out[at + 2 + k] = (high >>> (24 - 8 * k)) & 0xff;
    out[at + 6 + k] = (n >>> (24 - 8 * k)) & 0xff;
  }
  return 10;
}

/** A whole control frame (ping, pong, close) from the server. */
export function controlFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + payload.byteLength);
  writeHeader(out, 0, opcode, payload.byteLength);
  out.set(payload, 2);
  return out;
}

/** A close frame carrying `code` and a reason cut to what a control frame holds. */
export function closeFrame(code: number, reason = ""): Uint8Array {
  let text = new TextEncoder().encode(reason);
  if (text.byteLength > MAX_CONTROL_PAYLOAD - 2) {
    // Cut at a character boundary: a close reason must be valid UTF-8.
    let end = MAX_CONTROL_PAYLOAD - 2;
    while (end > 0 && (text[end] & 0xc0) === 0x80) end--;
    text = text.subarray(0, end);
  }
  const payload = new Uint8Array(2 + text.byteLength);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return controlFrame(Opcode.CLOSE, payload);
}

/**
 * Reads client frames from chunks, in place. {@linkcode process} unmasks
 * the payload bytes of binary messages to the front of the chunk and says
 * how many there are: the chat bytes. Control frames are answered through
 * the fields they set ({@linkcode ping}, {@linkcode closed}). A broken
 * rule sets {@linkcode error} and stops the reader: bytes after it are
 * ignored.
 */
export class FrameReader {
  /** Largest message: one chat frame, 4 + maxFrame bytes. */
  readonly maxMessage: number;
  /** The payload of the latest ping not yet answered: the caller sends the pong and clears it. */
  ping: Uint8Array | null = null;
  /** Set once the client's close frame arrived: its code (1005 when it gave none). */
  closed: number | null = null;
  /** Set once the client broke a rule; nothing more is read. */
  error: WebSocketError | null = null;

  // The frame header being read: bytes so far, and how many it needs (2 until the second byte says more).
  #head = new Uint8Array(14);
  #headLen = 0;
  #headNeed = 2;
  // The frame whose payload is being read.
  #opcode = 0;
  #fin = false;
  #remaining = 0;
  #mask = new Uint8Array(4);
  #maskAt = 0;
  // A control frame's payload, gathered whole before it is acted on.
  #control: Uint8Array | null = null;
  #controlLen = 0;
  // The data message being read: bytes so far, and the chat frame length its first four bytes give.
  #inMessage = false;
  #messageBytes = 0;
  #frameLength = 0;

  constructor(maxMessage: number) {
    this.maxMessage = maxMessage;
  }

  /** Handles `buf[0..n)`; returns k, the chat bytes now in `buf[0..k)`. */
  process(buf: Uint8Array, n: number): number {
    let out = 0;
    let i = 0;
    while (i < n && this.error === null && this.closed === null) {
      if (this.#remaining === 0) {
        // Header bytes: never more than 14, kept across chunks.
        while (i < n && this.#headLen < this.#headNeed) {
          this.#head[this.#headLen++] = buf[i++];
          if (this.#headLen === 2) this.#headNeed = 2 + lengthBytes(this.#head[1]) + 4;
        }
        if (this.#headLen === this.#headNeed) this.#startFrame();
        continue;
      }
      const take = Math.min(n - i, this.#remaining);
      if (this.#control !== null) {
        for (let j = 0; j < take; j++) {
          this.#control[this.#controlLen++] = buf[i + j] ^ this.#mask[this.#maskAt++ & 3];
        }
      } else {
        this.#chatBytes(buf, i, out, take);
        if (this.error !== null) break;
        out += take;
      }
      i += take;
      this.#remaining -= take;
      if (this.#remaining === 0) this.#endFrame();
    }
    return out;
  }

  /** Unmasks `take` payload bytes from buf[from] to buf[to] (to <= from) and checks them against the binding. */
  #chatBytes(buf: Uint8Array, from: number, to: number, take: number): void {
    const mask = this.#mask;
    let at = this.#maskAt;
    for (let j = 0; j < take; j++) buf[to + j] = buf[from + j] ^ mask[at++ & 3];
    this.#maskAt = at;
    // The chat frame's length: the message's first four bytes, which may come in pieces.
    for (let j = 0; this.#messageBytes + j < 4 && j < take; j++) {
      this.#frameLength = this.#frameLength * 256 + buf[to + j];
    }
    this.#messageBytes += take;
    if (this.#messageBytes >= 4 && this.#messageBytes > 4 + this.#frameLength) {
      this.error = refuse(
        `a binary message holds more than one frame (its frame is ${4 + this.#frameLength} bytes)`,
      );
    }
  }

  #startFrame(): void {
    const h = this.#head;
    const fin = (h[0] & 0x80) !== 0;
    const opcode = h[0] & 0x0f;
    if ((h[0] & 0x70) !== 0) return this.#fail(refuse("reserved bits set (no extension was agreed)"));
    if ((h[1] & 0x80) === 0) return this.#fail(refuse("a client frame is not masked"));
    let length = h[1] & 0x7f;
    let at = 2;
    if (length === 126) {
      length = (h[2] << 8) | h[3];
      at = 4;
    } else if (length === 127) {
      // The top bit must be clear, and nothing this large is allowed anyway: refuse above 2^32.
      if (h[2] !== 0 || h[3] !== 0 || h[4] !== 0 || h[5] !== 0) return this.#fail(this.#tooBig(Infinity));
      length = ((h[6] << 24) >>> 0) + (h[7] << 16) + (h[8] << 8) + h[9];
      at = 10;
    }
    this.#mask.set(h.subarray(at, at + 4));
    this.#maskAt = 0;
    this.#opcode = opcode;
    this.#fin = fin;
    this.#remaining = length;
    this.#headLen = 0;
    this.#headNeed = 2;
    if (opcode >= 0x8) {
      if (opcode !== Opcode.CLOSE && opcode !== Opcode.PING && opcode !== Opcode.PONG) {
        return this.#fail(refuse(`unknown opcode ${opcode}`));
      }
      if (!fin) return this.#fail(refuse("a fragmented control frame"));
      if (length > MAX_CONTROL_PAYLOAD) return this.#fail(refuse(`a control frame of ${length} bytes`));
      this.#control = new Uint8Array(length);
      this.#controlLen = 0;
    } else {
      if (opcode === Opcode.TEXT) {
        return this.#fail(
          refuse("a text message (this binding carries binary messages only)", CloseCode.UNSUPPORTED_DATA),
        );
      }
      if (opcode === Opcode.CONTINUATION ? !this.#inMessage : opcode !== Opcode.BINARY || this.#inMessage) {
        return this.#fail(refuse(
          opcode === Opcode.CONTINUATION
            ? "a continuation frame outside a message"
            : opcode === Opcode.BINARY
            ? "a new message before the last one ended"
            : `unknown opcode ${opcode}`,
        ));
      }
      if (opcode === Opcode.BINARY) {
        this.#inMessage = true;
        this.#messageBytes = 0;
        this.#frameLength = 0;
      }
      if (this.#messageBytes + length > this.maxMessage) {
        return this.#fail(this.#tooBig(this.#messageBytes + length));
      }
      this.#control = null;
    }
    if (length === 0) this.#endFrame();
  }

  #endFrame(): void {
    const control = this.#control;
    if (control !== null) {
      this.#control = null;
      if (this.#opcode === Opcode.PING) this.ping = control;
      else if (this.#opcode === Opcode.CLOSE) {
        if (control.byteLength === 1) return this.#fail(refuse("a close frame with a one-byte payload"));
        this.closed = control.byteLength >= 2 ? (control[0] << 8) | control[1] : 1005;
      }
      return;
    }
    if (!this.#fin) return;
    this.#inMessage = false;
    if (this.#messageBytes < 4 || this.#messageBytes !== 4 + this.#frameLength) {
      this.#fail(refuse(`a binary message of ${this.#messageBytes} bytes does not hold exactly one frame`));
    }
  }

  #tooBig(n: number): WebSocketError {
    return new WebSocketError(
      ErrorCode.TOO_LARGE,
      CloseCode.TOO_BIG,
      `WebSocket: a message of ${
        Number.isFinite(n) ? n : "over 2^32"
      } bytes exceeds the limit of ${this.maxMessage}`,
    );
  }

  #fail(err: WebSocketError): void {
    this.error ??= err;
  }
}

/** Bytes of extended payload length the second header byte announces. */
function lengthBytes(second: number): number {
  const n = second & 0x7f;
  return n === 126 ? 2 : n === 127 ? 8 : 0;
}

/** The length of the chat frame starting at `bytes[at]` (its u32 length field plus four), or -1 if cut short. */
function chatFrameSize(bytes: Uint8Array, at: number): number {
  if (at + 4 > bytes.byteLength) return -1;
  const length = ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
  return at + 4 + length > bytes.byteLength ? -1 : 4 + length;
}

/**
 * Wraps whole chat frames, as an outbox writes them (one, or several end to
 * end), into one binary WebSocket message each. Throws when the bytes do not
 * end at a frame boundary: the outbox only ever queues whole frames.
 */
export function wrapFrames(bytes: Uint8Array): Uint8Array {
  let total = 0;
  for (let at = 0; at < bytes.byteLength;) {
    const size = chatFrameSize(bytes, at);
    if (size < 0) {
      throw new TypeError(`WebSocket write: the bytes at ${at} of ${bytes.byteLength} are not a whole frame`);
    }
    total += headerSize(size) + size;
    at += size;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (let at = 0; at < bytes.byteLength;) {
    const size = chatFrameSize(bytes, at);
    o += writeHeader(out, o, Opcode.BINARY, size);
    out.set(bytes.subarray(at, at + size), o);
    o += size;
    at += size;
  }
  return out;
}
