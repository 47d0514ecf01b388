/**
 * HTTP/1.1 on the chat port, at the byte level: telling an HTTP request from
 * other first bytes ({@linkcode sniffHttp}), a push parser for the request
 * head that checks its limits before it buffers ({@linkcode HeadParser}),
 * and the bytes of a response head ({@linkcode responseHead}). No sockets
 * and no timers here: src/net/web.ts drives a connection with these.
 *
 * Only what the chat port serves is parsed: GET and HEAD without a body.
 * A request that carries a body is refused rather than read, so no body
 * framing (chunked, Content-Length) is ever trusted.
 *
 * @module
 */

/** Largest request head (request line, header fields, blank line): a browser sends 1-2 KiB. */
export const MAX_HEAD_BYTES = 8 * 1024;

/** Most header fields in one request head: a browser sends about 20. */
export const MAX_HEADERS = 64;

/** A request that cannot be served as sent: the status says why, the message says what. */
export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

/** A parsed request head. */
export interface HttpRequest {
  /** As sent: methods are case-sensitive. */
  method: string;
  /** The request target as sent: `/path?query`, or an absolute URL. */
  target: string;
  /** The target's path, without the query. */
  path: string;
  /** The minor version of HTTP/1.x: 0 or 1. */
  minor: 0 | 1;
  /** Header fields by lower-case name; repeated fields joined with ", " (as RFC 9110 allows for lists). */
  headers: ReadonlyMap<string, string>;
}

/** The request methods an HTTP request can open with, each followed by its space. */
const METHODS: readonly Uint8Array[] = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
  "CONNECT",
  "TRACE",
]
  .map((m) => new TextEncoder().encode(`${m} `));

/**
 * Decides from the first bytes of a connection whether they open an HTTP
 * request: "yes" once a known method and its space are seen, "more" while
 * the bytes are still the start of one, "no" otherwise. Eight bytes always
 * decide.
 */
export function sniffHttp(prefix: Uint8Array): "yes" | "no" | "more" {
  let more = false;
  for (const m of METHODS) {
    const n = Math.min(m.byteLength, prefix.byteLength);
    let i = 0;
    while (i < n && prefix[i] === m[i]) i++;
    if (i < n) continue;
    if (n === m.byteLength) return "yes";
    more = true;
  }
  return more ? "more" : "no";
}

/** Where a head's first buffer starts: most heads fit, and it doubles up to MAX_HEAD_BYTES. */
const FIRST_BUFFER = 1024;

/**
 * Collects a request head from chunks. {@linkcode push} returns null while
 * the head is incomplete, then the request and the bytes that followed it
 * in the last chunk (the next request, or WebSocket frames). Past
 * {@linkcode MAX_HEAD_BYTES} without the blank line it throws 431 before
 * buffering more; a malformed head throws 400 (505 for another version).
 * One parser reads one head.
 */
export class HeadParser {
  #buf: Uint8Array | null = null;
  #len = 0;
  /** Where the search for the blank line resumes. */
  #scanned = 0;

  push(chunk: Uint8Array): { request: HttpRequest; rest: Uint8Array } | null {
    const room = MAX_HEAD_BYTES - this.#len;
    const take = Math.min(room, chunk.byteLength);
    this.#append(chunk.subarray(0, take));
    const buf = this.#buf!;
    const end = findBlankLine(buf, Math.max(0, this.#scanned - 3), this.#len);
    if (end < 0) {
      this.#scanned = this.#len;
      if (take < chunk.byteLength || this.#len >= MAX_HEAD_BYTES) {
        throw new HttpError(431, `the request head exceeds ${MAX_HEAD_BYTES} bytes`);
      }
      return null;
    }
    const request = parseHead(buf.subarray(0, end - 4));
    // What follows the head: the end of the buffered bytes, then whatever of the chunk did not fit.
    const buffered = buf.subarray(end, this.#len);
    const unread = chunk.subarray(take);
    let rest: Uint8Array;
    if (unread.byteLength === 0) rest = buffered.slice();
    else if (buffered.byteLength === 0) rest = unread;
    else {
      rest = new Uint8Array(buffered.byteLength + unread.byteLength);
      rest.set(buffered);
      rest.set(unread, buffered.byteLength);
    }
    return { request, rest };
  }

  #append(bytes: Uint8Array): void {
    const need = this.#len + bytes.byteLength;
    if (this.#buf === null || need > this.#buf.byteLength) {
      let size = this.#buf?.byteLength ?? FIRST_BUFFER;
      while (size < need) size *= 2;
      const grown = new Uint8Array(Math.min(size, MAX_HEAD_BYTES));
      if (this.#buf) grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len = need;
  }
}

/** The index just past the first CR LF CR LF in buf[from..to), or -1. */
function findBlankLine(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 3 < to; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i + 4;
  }
  return -1;
}

/** tchar of RFC 9110: what a method and a header name are made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A field value: visible characters, spaces, tabs and obs-text; no other control character. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A request target: visible ASCII. */
const TARGET = /^[\x21-\x7e]+$/;

/** Parses the head without its final blank line: the request line, then one header field per line. */
function parseHead(head: Uint8Array): HttpRequest {
  // Latin-1, byte for byte: a field's bytes are kept exactly, and no byte can hide a CR or LF.
  let text = "";
  for (let i = 0; i < head.byteLength; i += 4096) {
    text += String.fromCharCode(...head.subarray(i, Math.min(i + 4096, head.byteLength)));
  }
  const lines = text.split("\r\n");
  const line = lines[0];
  const parts = line.split(" ");
  if (parts.length !== 3 || !TOKEN.test(parts[0]) || !TARGET.test(parts[1])) {
    throw new HttpError(400, `malformed request line ${JSON.stringify(line.slice(0, 100))}`);
  }
  const [method, target, version] = parts;
  const v = /^HTTP\/(\d)\.(\d)$/.exec(version);
  if (!v) throw new HttpError(400, `malformed request line ${JSON.stringify(line.slice(0, 100))}`);
  if (v[1] !== "1") {
    throw new HttpError(505, `HTTP/${v[1]}.${v[2]} is not supported: this server speaks HTTP/1.1`);
  }
  if (lines.length - 1 > MAX_HEADERS) {
    throw new HttpError(431, `the request has ${lines.length - 1} header fields, more than ${MAX_HEADERS}`);
  }
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const field = lines[i];
    const colon = field.indexOf(":");
    const name = colon < 0 ? "" : field.slice(0, colon);
    // A line starting with whitespace is obsolete line folding; whitespace before the colon is refused too.
    if (!TOKEN.test(name)) {
      throw new HttpError(400, `malformed header field ${JSON.stringify(field.slice(0, 100))}`);
    }
    const value = field.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!FIELD_VALUE.test(value)) throw new HttpError(400, `header field ${name} holds a control character`);
    const key = name.toLowerCase();
    const earlier = headers.get(key);
    if (earlier !== undefined && key === "host") throw new HttpError(400, "more than one Host header field");
    headers.set(key, earlier === undefined ? value : `${earlier}, ${value}`);
  }
  return { method, target, path: pathOf(target), minor: v[2] === "0" ? 0 : 1, headers };
}

/** The path of an origin-form (`/a?b`) or absolute-form (`http://h/a?b`) target; "" for any other form. */
function pathOf(target: string): string {
  if (target.startsWith("/")) {
    const q = target.search(/[?#]/);
    return q < 0 ? target : target.slice(0, q);
  }
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target).pathname;
    } catch {
      throw new HttpError(400, `malformed request target ${JSON.stringify(target.slice(0, 100))}`);
    }
  }
  return "";
}

/** The comma-separated elements of a list header, trimmed and lower-cased (Connection, Upgrade, ...). */
export function listOf(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
}

/** Reason phrases of the statuses this server sends. */
const REASONS: Readonly<Record<number, string>> = {
  101: "Switching Protocols",
  200: "OK",
  304: "Not Modified",
  308: "Permanent Redirect",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/** A response head: status line, the fields in order, blank line. Field values must hold no CR or LF. */
export function responseHead(status: number, fields: ReadonlyArray<readonly [string, string]>): Uint8Array {
  let text = `HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}\r\n`;
  for (const [name, value] of fields) {
    if (/[\r\n]/.test(value)) throw new TypeError(`header ${name} holds a line break`);
    text += `${name}: ${value}\r\n`;
  }
  return new TextEncoder().encode(`${text}\r\n`);
}
