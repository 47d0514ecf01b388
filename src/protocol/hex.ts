/**
 * Bytes as lowercase hex and back: resume tokens and store ids travel as
 * bytes on the wire and as hex in journals, logs and databases.
 *
 * @module
 */

export function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return out;
}

/**
 * Parses hex (an odd last digit is ignored); a pair that is not hex becomes 0.
 * Digit by digit, without a string per pair: every WELCOME parses two.
 */
export function unhex(text: string): Uint8Array {
  const out = new Uint8Array(text.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const hi = digit(text.charCodeAt(2 * i));
    const lo = digit(text.charCodeAt(2 * i + 1));
    out[i] = hi < 0 || lo < 0 ? 0 : (hi << 4) | lo;
  }
  return out;
}

/** The value of a hex digit's code unit, or -1. */
function digit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}
