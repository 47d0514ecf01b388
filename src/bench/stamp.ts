/**
 * The text of a bench message: its send time and its sender, in ASCII at
 * fixed offsets, padded to the requested size. A receiver reads both from the
 * raw bytes without decoding the text, whatever protocol carried it.
 *
 * Layout: `SSSSSSSSSSSS IIIIII xxxx...`: 12 digits of send time in whole
 * microseconds on the generator's monotonic clock, a space, 6 digits of
 * sender index, a space, then padding.
 *
 * @module
 */

/** Digits of the send time: 10^12 microseconds is 11 days of process uptime. */
const STAMP_DIGITS = 12;
/** Digits of the sender index. */
const SENDER_DIGITS = 6;
/** Offset of the sender index in the text. */
const SENDER_AT = STAMP_DIGITS + 1;

/** Smallest text that holds the stamp, the sender and their separators. */
export const MIN_TEXT_SIZE = STAMP_DIGITS + 1 + SENDER_DIGITS + 1;

/** Most senders one run can have: the index must fit its digits. */
export const MAX_SENDERS = 10 ** SENDER_DIGITS - 1;

/** Builds texts of one sender: the padding is made once, the stamp per message. */
export class StampWriter {
  readonly #tail: string;

  constructor(sender: number, size: number) {
    if (!Number.isInteger(size) || size < MIN_TEXT_SIZE) {
      throw new RangeError(`message size must be an integer of at least ${MIN_TEXT_SIZE}, got ${size}`);
    }
    if (!Number.isInteger(sender) || sender < 0 || sender > MAX_SENDERS) {
      throw new RangeError(`sender index must be an integer in 0..${MAX_SENDERS}, got ${sender}`);
    }
    this.#tail = ` ${String(sender).padStart(SENDER_DIGITS, "0")} ${"x".repeat(size - MIN_TEXT_SIZE)}`;
  }

  /** The text for a message sent at `nowMs` (a performance.now() value). */
  text(nowMs: number): string {
    return String(Math.floor(nowMs * 1000)).padStart(STAMP_DIGITS, "0") + this.#tail;
  }
}

/** The send time (ms) stamped at `buf[at..]`, or NaN when the bytes there are not a stamp. */
export function readStamp(buf: Uint8Array, at: number): number {
  return readDigits(buf, at, STAMP_DIGITS) / 1000;
}

/** The sender index stamped in the text starting at `buf[at]`, or NaN. */
export function readSender(buf: Uint8Array, at: number): number {
  return readDigits(buf, at + SENDER_AT, SENDER_DIGITS);
}

function readDigits(buf: Uint8Array, at: number, count: number): number {
  if (at + count > buf.byteLength) return NaN;
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return v;
}
