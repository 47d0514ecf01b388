/**
 * The few DER (ASN.1 Distinguished Encoding Rules) writers a self-signed
 * X.509 certificate needs, and PEM armour. Writers only, no parser: we never
 * read certificates field by field (fingerprints hash the whole DER). Kept in
 * the program instead of an npm package so that nothing in `chat`'s module
 * graph has to be downloaded when it first runs: Deno fetches an npm
 * package's metadata in the background on the first run, and its progress bar
 * drew over the server's "listening" line and blanked the terminal client.
 *
 * @module
 */

/** Universal tags used below (X.690 section 8). */
const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One tag-length-value: the length in short form below 128, else long form (X.690 8.1.3). */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(content);
  const n = body.length;
  let header: number[];
  if (n < 0x80) {
    header = [tag, n];
  } else {
    const lenBytes: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) lenBytes.unshift(rest % 256);
    header = [tag, 0x80 | lenBytes.length, ...lenBytes];
  }
  return concat([Uint8Array.from(header), body]);
}

export function sequence(...items: Uint8Array[]): Uint8Array {
  return tlv(TAG.sequence, ...items);
}

export function set(...items: Uint8Array[]): Uint8Array {
  return tlv(TAG.set, ...items);
}

/** A context-specific tag: `[n] EXPLICIT` wraps a whole value, `[n] IMPLICIT` replaces a primitive's tag. */
export function contextTag(n: number, constructed: boolean, ...content: Uint8Array[]): Uint8Array {
  return tlv(0x80 | (constructed ? 0x20 : 0) | n, ...content);
}

export function boolean(value: boolean): Uint8Array {
  return tlv(TAG.boolean, Uint8Array.of(value ? 0xff : 0x00));
}

/**
 * A non-negative INTEGER from its big-endian bytes: leading zeros dropped, and
 * one 0x00 put back when the top bit is set, which would otherwise make it negative.
 */
export function unsignedInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.length === 0 ? Uint8Array.of(0) : bytes.subarray(start);
  return tlv(TAG.integer, ...(trimmed[0] & 0x80 ? [Uint8Array.of(0), trimmed] : [trimmed]));
}

export function smallInteger(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0x7f) {
    throw new RangeError(`Cannot encode integer ${n}: only 0-127`);
  }
  return tlv(TAG.integer, Uint8Array.of(n));
}

/** An OBJECT IDENTIFIER from dotted form: the first two arcs share a byte, the rest are base-128. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0) || arcs[0] > 2) {
    throw new RangeError(`Cannot encode OID "${dotted}"`);
  }
  const bytes: number[] = [];
  for (const arc of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
    const groups: number[] = [arc % 128];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) {
      groups.unshift(0x80 | (rest % 128));
    }
    bytes.push(...groups);
  }
  return tlv(TAG.oid, Uint8Array.from(bytes));
}

export function utf8String(text: string): Uint8Array {
  return tlv(TAG.utf8String, new TextEncoder().encode(text));
}

export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.octetString, bytes);
}

/** A BIT STRING of whole bytes (no unused bits). */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.bitString, Uint8Array.of(0), bytes);
}

/**
 * An X.509 Time: UTCTime for the years 1950-2049 and GeneralizedTime
 * otherwise, to the second, in UTC (RFC 5280 4.1.2.5).
 */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z";
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? tlv(TAG.utcTime, new TextEncoder().encode(digits.slice(2)))
    : tlv(TAG.generalizedTime, new TextEncoder().encode(digits));
}

/**
 * The 4 or 16 bytes of an IPv4 or IPv6 address in text form, or null when
 * `text` is not one (then it is a DNS name).
 */
export function ipBytes(text: string): Uint8Array | null {
  const v4 = (s: string): number[] | null => {
    const parts = s.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
    return parts.map(Number);
  };
  if (!text.includes(":")) {
    const four = v4(text);
    return four && Uint8Array.from(four);
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes(".")) {
        const tail = v4(p);
        if (!tail) return null;
        out.push(tail[0] * 256 + tail[1], tail[2] * 256 + tail[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array(missing).fill(0), ...tail];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

/** PEM armour: base64 in 64-character lines between BEGIN and END lines (RFC 7468). */
export function pem(label: string, der: Uint8Array): string {
  let binary = "";
  for (const b of der) binary += String.fromCharCode(b);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
