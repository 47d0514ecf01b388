/**
 * The servers a client may connect to: a list of `HOST[:PORT]` (several
 * nodes of one cluster, in order of preference), how each is written in
 * messages, and the one key under which the client keeps what it saves about
 * them (journal, transcript, tail cursors, preferences). Pure: no sockets.
 *
 * @example
 * ```ts
 * const parsed = parseServers(["chat-a.example.org", "chat-b.example.org:4000"], 3000);
 * // { ok: true, servers: [{ host: "chat-a.example.org", port: 3000 }, { host: "chat-b.example.org", port: 4000 }] }
 * ```
 *
 * @module
 */

/** One server: where to connect. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

export type ParsedServers =
  | { ok: true; servers: ServerAddress[] }
  | { ok: false; reason: string };

/** Longest storage key kept as it is; a longer one (many long host names) is shortened with a hash. */
const MAX_KEY = 120;

/**
 * Parses `HOST[:PORT]` entries (`[v6-address]:PORT` for IPv6 with a port; a
 * bare IPv6 address takes `defaultPort`). Empty entries are skipped and a
 * server listed twice counts once; the order is kept (it is the order of
 * preference).
 */
export function parseServers(entries: readonly string[], defaultPort: number): ParsedServers {
  const servers: ServerAddress[] = [];
  const seen = new Set<string>();
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === "") continue;
    const one = parseServer(entry, defaultPort);
    if (typeof one === "string") return { ok: false, reason: `"${entry}": ${one}` };
    const key = storageName(one);
    if (seen.has(key)) continue;
    seen.add(key);
    servers.push(one);
  }
  if (servers.length === 0) return { ok: false, reason: "no server given" };
  return { ok: true, servers };
}

/** One entry, or why it is not one. */
function parseServer(entry: string, defaultPort: number): ServerAddress | string {
  let host = entry;
  let port: string | undefined;
  const bracketed = entry.match(/^\[([^\]]*)\](?::(.*))?$/);
  if (bracketed) {
    [, host, port] = bracketed;
  } else if (entry.indexOf(":") === entry.lastIndexOf(":") && entry.includes(":")) {
    // One colon: HOST:PORT. Several: a bare IPv6 address, which has no room for a port without brackets.
    [host, port] = entry.split(":");
  }
  if (host === "" || /[\s/@\[\]]/.test(host)) {
    return "expected HOST or HOST:PORT (an IPv6 address in brackets: [::1]:3000)";
  }
  if (port === undefined) return { host, port: defaultPort };
  const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(n >= 1 && n <= 65535)) return `the port must be a number from 1 to 65535, got "${port}"`;
  return { host, port: n };
}

/** How a server is named in events and messages: `host:port`, an IPv6 address in brackets. */
export function serverLabel(s: ServerAddress): string {
  return s.host.includes(":") ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

/** Every server of a list, for messages: "a:3000, b:3000". */
export function serversLabel(servers: readonly ServerAddress[]): string {
  return servers.map(serverLabel).join(", ");
}

/** `host:port` without brackets: the form storage keys were always made of. */
function storageName(s: ServerAddress): string {
  return `${s.host}:${s.port}`;
}

/**
 * The file-name-safe key under which a client keeps what it saves about
 * `servers`: `127.0.0.1_3000` for one server (as it always was), and for
 * several the same key whatever their order (`a_3000_b_3000`), so that the
 * same list finds its journal, transcript and cursors again. A key too long
 * for a file name keeps its start and ends with a hash of the whole.
 */
export function storageKey(servers: readonly ServerAddress[]): string {
  const whole = [...new Set(servers.map(storageName))].sort().join(",");
  const safe = whole.replace(/[^\p{L}\p{N}._-]/gu, "_");
  if (safe.length <= MAX_KEY) return safe;
  return `${safe.slice(0, MAX_KEY - 17)}_${fnv1a(whole)}`;
}

/** FNV-1a (64-bit) of `text`'s UTF-16 code units, as 16 hex digits: a stable name, not a secret. */
function fnv1a(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}
