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

/** Parses hex (an odd last digit is ignored); a pair that is not hex becomes 0. */
export function unhex(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor(text.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16) || 0;
  return out;
}
