/**
 * Trusted proxies (`chat serve --trust-proxy CIDR`): address ranges in CIDR
 * notation, and the client address a request forwarded by such a proxy
 * names in X-Forwarded-For.
 *
 * The rule is the one that cannot be spoofed: X-Forwarded-For is read only
 * when the TCP peer is trusted, and then from the right, skipping addresses
 * that are trusted themselves; the first other one is the client. Whatever
 * a client wrote into the header itself sits to the left of what the
 * proxies appended, and is never reached.
 *
 * @module
 */

/** An address as 16 bytes (IPv4 as an IPv4-mapped IPv6 address), or null when `text` is not one. */
export function parseIp(text: string): Uint8Array | null {
  const v4 = parseIpv4(text);
  if (v4) {
    const out = new Uint8Array(16);
    out[10] = 0xff;
    out[11] = 0xff;
    out.set(v4, 12);
    return out;
  }
  return parseIpv6(text);
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    // Decimal only, no leading zeros: "010" is octal to some parsers and would mean another address.
    if (!/^(0|[1-9]\d{0,2})$/.test(parts[i])) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || text.length > 45) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => s === "" ? [] : s.split(":");
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const words: number[] = [];
  const read = (list: string[], last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (last && i === list.length - 1 && g.includes(".")) {
        const v4 = parseIpv4(g);
        if (!v4) return false;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return false;
        words.push(parseInt(g, 16));
      }
    }
    return true;
  };
  if (!read(head, halves.length === 1)) return null;
  const headWords = words.length;
  if (!read(tail, true)) return null;
  const tailWords = words.splice(headWords);
  const missing = 8 - headWords - tailWords.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...words, ...new Array(halves.length === 1 ? 0 : missing).fill(0), ...tailWords];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >>> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  return out;
}

/** The usual text of a parsed address: dotted quad for IPv4 (mapped or not), RFC 5952 form for IPv6. */
export function formatIp(ip: Uint8Array): string {
  if (isV4Mapped(ip)) return `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  const words = Array.from({ length: 8 }, (_, i) => (ip[2 * i] << 8) | ip[2 * i + 1]);
  // The longest run of two or more zero words becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  return best < 0 ? hex(words) : `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

function isV4Mapped(ip: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

/** One range: an address and how many leading bits must match. */
interface Range {
  base: Uint8Array;
  bits: number;
}

/** Address ranges, as `--trust-proxy` gives them. */
export class CidrSet {
  readonly #ranges: Range[];
  /** The ranges as given, for the startup log. */
  readonly text: readonly string[];

  /** Parses each entry ("10.0.0.0/8", "::1", "fd00::/8"); throws a RangeError naming the first bad one. */
  constructor(entries: readonly string[]) {
    this.#ranges = entries.map(parseCidr);
    this.text = [...entries];
  }

  get size(): number {
    return this.#ranges.length;
  }

  /** True when `ip` (text) lies in one of the ranges; false for anything that is not an address. */
  has(ip: string): boolean {
    if (this.#ranges.length === 0) return false;
    const bytes = parseIp(ip);
    return bytes !== null && this.#ranges.some((r) => inRange(bytes, r));
  }
}

function parseCidr(entry: string): Range {
  const slash = entry.indexOf("/");
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  const base = parseIp(addr);
  if (!base) {
    throw new RangeError(`"${entry}" is not an address or a CIDR range (like 10.0.0.0/8 or fd00::/8)`);
  }
  const v4 = parseIpv4(addr) !== null;
  const max = v4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b) || Number(b) > max) {
      throw new RangeError(`"${entry}": the prefix length must be 0 to ${max}`);
    }
    bits = Number(b);
  }
  // IPv4 ranges are stored mapped, so their prefix covers the 96 mapping bits too.
  return { base, bits: v4 ? bits + 96 : bits };
}

function inRange(ip: Uint8Array, r: Range): boolean {
  const whole = r.bits >>> 3;
  for (let i = 0; i < whole; i++) if (ip[i] !== r.base[i]) return false;
  const rest = r.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (ip[whole] & mask) === (r.base[whole] & mask);
}

/**
 * The client address of a request whose peer is a trusted proxy: the
 * rightmost X-Forwarded-For entry that is not trusted itself (the leftmost
 * when all are), in its usual text form. Null without the header; a
 * RangeError when the entry it settles on is not an address.
 */
export function forwardedFor(header: string | undefined, trusted: CidrSet): string | null {
  if (header === undefined) return null;
  const entries = header.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (entries.length === 0) return null;
  for (let i = entries.length - 1; i >= 0; i--) {
    const ip = parseIp(entries[i]);
    if (ip === null) {
      throw new RangeError(`X-Forwarded-For entry "${entries[i].slice(0, 64)}" is not an address`);
    }
    const text = formatIp(ip);
    if (i === 0 || !trusted.has(text)) return text;
  }
  return null;
}
