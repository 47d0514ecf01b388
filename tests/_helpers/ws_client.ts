/**
 * HTTP and WebSocket by hand, for tests that must send what a browser never
 * would (a foreign Origin, no subprotocol, unmasked or text frames) or
 * behave as no browser does (never read): a raw request/response reader,
 * client frame encoding, and a WebSocket client that decodes the chat
 * frames it receives.
 *
 * @module
 */

import {
  type ClientMessage,
  decodeServerMessage,
  encodeMessage,
  FrameDecoder,
  type Hello,
  MAX_FRAME_CEILING,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../../src/protocol/mod.ts";
import assert from "node:assert/strict";
import { Changes, tail, WAIT_MS, waitFor } from "./deadline.ts";

type Conn = Pick<Deno.Conn, "read" | "write" | "close">;

export interface HttpResponse {
  status: number;
  /** Header fields by lower-case name (repeated ones joined with ", "). */
  headers: Map<string, string>;
  body: Uint8Array;
  text: string;
}

async function writeAll(conn: Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.byteLength;) off += await conn.write(bytes.subarray(off));
}

/** Reads HTTP responses from one connection, in order (keep-alive), and what follows the last one. */
export class HttpReader {
  readonly #conn: Conn;
  #buf = new Uint8Array(0);
  #ended = false;

  constructor(conn: Conn) {
    this.#conn = conn;
  }

  /** Bytes read past the last response (a WebSocket's first frames). */
  takeRest(): Uint8Array {
    const rest = this.#buf;
    this.#buf = new Uint8Array(0);
    return rest;
  }

  /** True when the server closed before anything more arrived. */
  async ended(): Promise<boolean> {
    if (this.#buf.byteLength > 0) return false;
    return !(await this.#more());
  }

  /** The next response; `head` says it answers a HEAD (no body whatever Content-Length says). */
  async response(head = false): Promise<HttpResponse> {
    let end: number;
    while ((end = indexOf(this.#buf, "\r\n\r\n")) < 0) {
      if (!(await this.#more())) throw new Error(`connection ended before a response head: ${this.#show()}`);
    }
    const lines = new TextDecoder().decode(this.#buf.subarray(0, end)).split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      const k = line.slice(0, i).toLowerCase();
      const v = line.slice(i + 1).trim();
      headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
    }
    this.#buf = this.#buf.slice(end + 4);
    const noBody = head || status === 101 || status === 304 || status === 204;
    const length = noBody ? 0 : Number(headers.get("content-length") ?? "0");
    while (this.#buf.byteLength < length) {
      if (!(await this.#more())) throw new Error(`connection ended inside a body: ${this.#show()}`);
    }
    const body = this.#buf.slice(0, length);
    this.#buf = this.#buf.slice(length);
    return { status, headers, body, text: new TextDecoder().decode(body) };
  }

  async #more(): Promise<boolean> {
    if (this.#ended) return false;
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.#conn.read(chunk);
    } catch {
      n = null;
    }
    if (n === null || n === 0) {
      this.#ended = true;
      return false;
    }
    const joined = new Uint8Array(this.#buf.byteLength + n);
    joined.set(this.#buf);
    joined.set(chunk.subarray(0, n), this.#buf.byteLength);
    this.#buf = joined;
    return true;
  }

  #show(): string {
    return JSON.stringify(new TextDecoder().decode(this.#buf).slice(0, 300));
  }
}

function indexOf(buf: Uint8Array, text: string): number {
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.byteLength <= buf.byteLength; i++) {
    for (let j = 0; j < needle.byteLength; j++) if (buf[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Sends a raw request and reads its response on a new plaintext connection to 127.0.0.1:`port`. */
export async function httpOnce(port: number, request: string, head = false): Promise<HttpResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, new TextEncoder().encode(request));
    return await new HttpReader(conn).response(head);
  } finally {
    conn.close();
  }
}

/** A GET request with `Connection: close` and the given extra header lines. */
export function getRequest(path: string, port: number, extra: string[] = [], method = "GET"): string {
  return [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, "Connection: close", ...extra, "", ""]
    .join("\r\n");
}

export interface FrameOptions {
  fin?: boolean;
  /** False sends the frame unmasked, as no client may. */
  mask?: boolean;
  /** RSV1-3 as the high bits of the first byte (0x70 sets all three). */
  rsv?: number;
  /** Overrides the payload length field (to announce more than is sent). */
  length?: number;
}

/** A client frame: masked with a random key unless told otherwise. */
export function clientFrame(opcode: number, payload: Uint8Array, options: FrameOptions = {}): Uint8Array {
  const { fin = true, mask = true, rsv = 0 } = options;
  const n = options.length ?? payload.byteLength;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + (mask ? 4 : 0) + payload.byteLength);
  out[0] = (fin ? 0x80 : 0) | rsv | opcode;
  out[1] = (mask ? 0x80 : 0) | (ext === 0 ? n : ext === 2 ? 126 : 127);
  if (ext === 2) {
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else if (ext === 8) {
    const high = Math.floor(n / 2 ** 32);
    new DataView(out.buffer).setUint32(2, high);
    new DataView(out.buffer).setUint32(6, n >>> 0);
  }
  let at = 2 + ext;
  const key = crypto.getRandomValues(new Uint8Array(4));
  if (mask) {
    out.set(key, at);
    at += 4;
  }
  for (let i = 0; i < payload.byteLength; i++) out[at + i] = mask ? payload[i] ^ key[i & 3] : payload[i];
  return out;
}

export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** The upgrade request of a chat WebSocket; `protocols` null leaves the subprotocol out. */
export function upgradeRequest(
  port: number,
  options: { origin?: string; protocols?: string | null; host?: string; extra?: string[]; path?: string } =
    {},
): string {
  const lines = [
    `GET ${options.path ?? "/ws"} HTTP/1.1`,
    `Host: ${options.host ?? `127.0.0.1:${port}`}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))}`,
    "Sec-WebSocket-Version: 13",
  ];
  const protocols = options.protocols === undefined ? "chat.v1" : options.protocols;
  if (protocols !== null) lines.push(`Sec-WebSocket-Protocol: ${protocols}`);
  if (options.origin !== undefined) lines.push(`Origin: ${options.origin}`);
  lines.push(...(options.extra ?? []), "", "");
  return lines.join("\r\n");
}

/**
 * A WebSocket client by hand: the upgrade is sent raw, frames are encoded
 * here, and binary messages are decoded as chat frames. It reads only while
 * `reading` is true.
 */
export class WsClient implements AsyncDisposable {
  readonly label: string;
  readonly response: HttpResponse;
  readonly messages: ServerMessage[] = [];
  readonly changes = new Changes();
  /** Every frame received; only control frames keep their payload. */
  readonly frames: ServerFrame[] = [];
  /** The close frame's code once it arrived (1005 when it carried none). */
  closeCode: number | null = null;
  closeReason = "";
  readonly #conn: Conn;
  readonly #decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
  #buf: Uint8Array;
  #ended = false;
  #pump: Promise<void> | null = null;
  #cursor = 0;

  private constructor(conn: Conn, label: string, response: HttpResponse, rest: Uint8Array, read: boolean) {
    this.#conn = conn;
    this.label = label;
    this.response = response;
    this.#buf = rest;
    this.#parse();
    if (read) this.#pump = this.#read();
  }

  /**
   * Sends the upgrade `request` on `conn` and reads the answer. Returns the
   * client when the server switched protocols, else the HTTP response (and
   * closes `conn`). `read: false` makes a client that never reads.
   */
  static async open(
    conn: Conn,
    request: string,
    label = "ws client",
    read = true,
  ): Promise<WsClient | HttpResponse> {
    await writeAll(conn, new TextEncoder().encode(request));
    const reader = new HttpReader(conn);
    const response = await reader.response();
    if (response.status !== 101) {
      conn.close();
      return response;
    }
    return new WsClient(conn, label, response, reader.takeRest(), read);
  }

  /** Opens a chat WebSocket on 127.0.0.1:`port`, failing unless the server switched protocols. */
  static async connect(port: number, label = "ws client", read = true): Promise<WsClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const got = await WsClient.open(conn, upgradeRequest(port), label, read);
    if (!(got instanceof WsClient)) throw new Error(`${label}: upgrade refused: ${got.status} ${got.text}`);
    return got;
  }

  get ended(): boolean {
    return this.#ended;
  }

  describe(): string {
    const state = this.#ended ? ` (closed${this.closeCode !== null ? ` with ${this.closeCode}` : ""})` : "";
    return `${this.label}${state}:\n${tail(this.messages.map((m) => JSON.stringify(m).slice(0, 200)))}`;
  }

  /** Sends one chat message as one binary WebSocket message. */
  send(msg: ClientMessage): Promise<void> {
    return this.sendRaw(clientFrame(0x2, encodeMessage(msg)));
  }

  /** Sends bytes as they are (frames built with {@linkcode clientFrame}). */
  sendRaw(bytes: Uint8Array): Promise<void> {
    return writeAll(this.#conn, bytes);
  }

  /** The next message of `type` after the one the previous call returned. */
  async next<K extends ServerMessage["type"]>(
    type: K,
    timeoutMs = WAIT_MS,
  ): Promise<Extract<ServerMessage, { type: K }>> {
    return await waitFor(
      this,
      () => {
        for (let i = this.#cursor; i < this.messages.length; i++) {
          if (this.messages[i].type === type) {
            this.#cursor = i + 1;
            return this.messages[i] as Extract<ServerMessage, { type: K }>;
          }
        }
        return undefined;
      },
      `${this.label}: ${type}`,
      timeoutMs,
    );
  }

  /** Waits until the server has closed the connection; resolves to the close frame's code (null: none came). */
  async closed(timeoutMs = WAIT_MS): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      if (Date.now() >= deadline) {
        throw new Error(`${this.label}: not closed after ${timeoutMs} ms\n${this.describe()}`);
      }
      await this.changes.next(deadline);
    }
    return this.closeCode;
  }

  async #read(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null || n === 0) break;
        const joined = new Uint8Array(this.#buf.byteLength + n);
        joined.set(this.#buf);
        joined.set(chunk.subarray(0, n), this.#buf.byteLength);
        this.#buf = joined;
        this.#parse();
        this.changes.notify();
      }
    } catch { /* reset: ended */ }
    this.#ended = true;
    this.changes.notify();
  }

  /** Takes whole server frames off the buffer (walking it once, then keeping only the tail). */
  #parse(): void {
    const b = this.#buf;
    let at = 0;
    for (;;) {
      if (b.byteLength - at < 2) break;
      let n = b[at + 1] & 0x7f;
      let h = 2;
      if (n === 126) {
        if (b.byteLength - at < 4) break;
        n = (b[at + 2] << 8) | b[at + 3];
        h = 4;
      } else if (n === 127) {
        if (b.byteLength - at < 10) break;
        n = new DataView(b.buffer, b.byteOffset + at).getUint32(6);
        h = 10;
      }
      if (b[at + 1] & 0x80) throw new Error(`${this.label}: the server masked a frame`);
      if (b.byteLength - at < h + n) break;
      const frame = {
        fin: (b[at] & 0x80) !== 0,
        opcode: b[at] & 0x0f,
        payload: b.subarray(at + h, at + h + n),
      };
      at += h + n;
      if (frame.opcode === 0x8) {
        this.closeCode = n >= 2 ? (frame.payload[0] << 8) | frame.payload[1] : 1005;
        this.closeReason = new TextDecoder().decode(frame.payload.subarray(2));
        // Answered as RFC 6455 asks (and browsers do), so the server need not wait for its grace to end.
        this.sendRaw(clientFrame(0x8, frame.payload.slice(0, Math.min(2, n)))).catch(() => {});
      } else if (frame.opcode === 0x2) {
        for (const f of this.#decoder.push(frame.payload)) this.messages.push(decodeServerMessage(f));
      }
      // Control frames are kept whole; a data frame's payload is decoded already and not kept.
      this.frames.push({
        ...frame,
        payload: frame.opcode >= 0x8 ? frame.payload.slice() : new Uint8Array(0),
      });
    }
    this.#buf = b.slice(at);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#conn.close();
    } catch { /* closed */ }
    await this.#pump;
  }
}

/**
 * Deno's own WebSocket class speaking chat.v1, as the web client in a
 * browser does: every binary message decoded as a chat frame.
 */
export class BrowserSocket implements AsyncDisposable {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  readonly changes = new Changes();
  /** Resolves once the WebSocket is open; rejects if it could not be. */
  readonly opened: Promise<void>;
  /** The close code once the WebSocket closed. */
  closeCode: number | null = null;
  readonly #decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
  readonly #closed: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url, ["chat.v1"]);
    this.ws.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = (e) => reject(new Error(`WebSocket error: ${(e as ErrorEvent).message}`));
    });
    this.#closed = new Promise((resolve) => {
      this.ws.onclose = (e) => {
        this.closeCode = e.code;
        this.changes.notify();
        resolve();
      };
    });
    this.ws.onmessage = (e) => {
      for (const f of this.#decoder.push(new Uint8Array(e.data as ArrayBuffer))) {
        this.messages.push(decodeServerMessage(f));
      }
      this.changes.notify();
    };
  }

  get ended(): boolean {
    return this.closeCode !== null;
  }

  describe(): string {
    return `browser socket:\n${tail(this.messages.map((m) => JSON.stringify(m).slice(0, 200)))}`;
  }

  send(msg: ClientMessage): void {
    this.ws.send(encodeMessage(msg));
  }

  /** The first message of `type` that `match` accepts, waiting for it. */
  find<K extends ServerMessage["type"]>(
    type: K,
    match: (m: Extract<ServerMessage, { type: K }>) => boolean = () => true,
  ): Promise<Extract<ServerMessage, { type: K }>> {
    return waitFor(
      this,
      () =>
        this.messages.find((m): m is Extract<ServerMessage, { type: K }> =>
          m.type === type && match(m as Extract<ServerMessage, { type: K }>)
        ),
      type,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.ws.readyState < WebSocket.CLOSING) this.ws.close();
    await this.#closed;
  }
}

/** A HELLO for `name` joining `rooms`. */
export function hello(name: string, rooms = ["lobby"]): Hello {
  return { type: "hello", version: PROTOCOL_VERSION, name, rooms, extensions: [] };
}

/** The value of one sample of a /metrics page, e.g. `chat_connections{transport="tcp"}`; fails if it is absent. */
export function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text);
  assert.ok(m, `no ${name} in\n${text}`);
  return Number(m[1]);
}
