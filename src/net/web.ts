/**
 * The web side of the chat port: HTTP/1.1 connections handed over by the
 * connection pipeline once their first bytes read as a request line
 * (src/net/connection.ts), the routes they are served (src/net/web_routes.ts),
 * and the upgrade of `GET /ws` to a WebSocket that the chat pipeline then
 * runs on (src/net/ws_conn.ts).
 *
 * Each request head must arrive within the handshake deadline (`--timeout`),
 * counted from the connection's start or the end of the previous response;
 * a connection idle past it is closed, and so is any connection idle when
 * the server stops. Keep-alive is honoured for HTTP/1.1, up to
 * {@linkcode MAX_REQUESTS} requests.
 *
 * The upgrade checks, in order: GET, `Upgrade: websocket` and `Connection:
 * upgrade`, `Sec-WebSocket-Version: 13`, a key, the subprotocol `chat.v1`,
 * and the Origin (a browser's page must come from an allowed origin: by
 * default the server's own). Behind a trusted proxy (`--trust-proxy`) the
 * client's address comes from X-Forwarded-For, and the per-address limits
 * are applied to it here, since the listener could only see the proxy.
 *
 * @module
 */

import { encodeMessage, ErrorCode } from "../protocol/mod.ts";
import { HeadParser, HttpError, type HttpRequest, listOf, responseHead, sniffHttp } from "./http.ts";
import type { Logger } from "./log.ts";
import { type CidrSet, forwardedFor } from "./proxy.ts";
import type { StreamConn } from "./tls_stream.ts";
import { type Reply, route, SECURITY_FIELDS, textReply, type WebAssets } from "./web_routes.ts";
import { acceptKey, CloseCode, SUBPROTOCOL, validKey } from "./websocket.ts";
import { writeAll, WsConn } from "./ws_conn.ts";

/** Requests one keep-alive connection may make: a page and its assets take a handful. */
export const MAX_REQUESTS = 100;

/** Bytes read at a time from an HTTP connection: a request head is usually one read. */
const READ_CHUNK = 4096;

/** A byte stream that may have started TLS (src/net/tls_server.ts). */
type Stream = StreamConn & { readonly secure?: boolean };

export interface WebFrontOptions {
  assets: WebAssets;
  /** Origins allowed to open the WebSocket (normalised, see {@linkcode normalizeOrigin}); empty: the page's own. */
  origins: readonly string[];
  /** Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed. */
  trustProxy: CidrSet;
  /** Deadline of a request head, and of an idle keep-alive connection (the handshake timeout). */
  timeoutMs: number;
  /** Plaintext requests are redirected to https (the server has `--require-tls`). */
  tlsRequired: boolean;
  /** The largest chat frame: a WebSocket message holds one, so at most 4 + this. */
  maxFrame: number;
  logger: Logger;
  /** Null while the server accepts clients, else why not. */
  health(): string | null;
  metrics(): string;
  /** Counts a WebSocket from a forwarded address, or says why it is refused (then it is not counted). */
  admit(ip: string): string | null;
  /** A WebSocket from a forwarded address that {@linkcode admit} counted has ended. */
  release(ip: string): void;
  /** Runs the chat pipeline on an upgraded WebSocket; `onEnd` must run once, when it has ended. */
  upgraded(ws: WsConn, address: string, onEnd: () => void): void;
}

/** An origin as browsers send it (`scheme://host[:port]`, lower case, default port left out); throws a TypeError if `text` is not one. */
export function normalizeOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`"${text}" is not an origin like https://chat.example.org`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`"${text}" is not an http or https origin`);
  }
  if (
    (url.pathname !== "/" && url.pathname !== "") || url.search || url.hash || url.username || url.password
  ) {
    throw new TypeError(
      `"${text}" is not an origin: give the scheme, host and port only, like https://chat.example.org`,
    );
  }
  return url.origin;
}

/** The address part of "host:port" (IPv6 included, as the listener writes it). */
function hostOf(address: string): string {
  const i = address.lastIndexOf(":");
  return i < 0 ? address : address.slice(0, i);
}

/** A Host header: a name or an address, with an optional port; nothing that could change a URL built from it. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export class WebFront {
  readonly options: WebFrontOptions;
  /** Responses sent, by status, for /metrics. */
  readonly responses = new Map<number, number>();
  #open = new Set<HttpConnection>();
  #stopping = false;

  constructor(options: WebFrontOptions) {
    this.options = options;
  }

  /** HTTP connections open (not upgraded). */
  get open(): number {
    return this.#open.size;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Whether the first bytes of a connection open an HTTP request ("more": not yet known). */
  sniff(prefix: Uint8Array): "yes" | "no" | "more" {
    return sniffHttp(prefix);
  }

  /**
   * Serves `stream`, whose first bytes `prefix` open an HTTP request, from
   * the peer `address` ("ip:port"). `onEnd` runs once, when the connection
   * is closed (or its WebSocket has ended).
   */
  take(stream: Stream, prefix: Uint8Array, address: string, onEnd: () => void): void {
    const conn = new HttpConnection(this, stream, address, onEnd);
    this.#open.add(conn);
    void conn.run(prefix).finally(() => this.#open.delete(conn));
  }

  /** The server is stopping: idle connections close now, busy ones after their response. */
  shutdown(): void {
    this.#stopping = true;
    for (const c of this.#open) c.stop();
  }

  count(status: number): void {
    this.responses.set(status, (this.responses.get(status) ?? 0) + 1);
  }
}

/** One HTTP connection, from its first request to its close or upgrade. */
class HttpConnection {
  readonly #front: WebFront;
  readonly #stream: Stream;
  readonly #address: string;
  readonly #peer: string;
  #onEnd: (() => void) | null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** No byte of the next request has arrived: the connection may be closed without cutting anything off. */
  #idle = true;
  #closed = false;

  constructor(front: WebFront, stream: Stream, address: string, onEnd: () => void) {
    this.#front = front;
    this.#stream = stream;
    this.#address = address;
    this.#peer = hostOf(address);
    this.#onEnd = onEnd;
  }

  async run(prefix: Uint8Array): Promise<void> {
    const buf = new Uint8Array(READ_CHUNK);
    let pending = prefix;
    try {
      for (let served = 0; served < MAX_REQUESTS; served++) {
        this.#idle = pending.byteLength === 0;
        if (this.#idle && this.#front.stopping) return;
        this.#arm();
        const parser = new HeadParser();
        let parsed = pending.byteLength > 0 ? parser.push(pending) : null;
        while (parsed === null) {
          const n = await this.#stream.read(buf);
          if (!n) return;
          this.#idle = false;
          parsed = parser.push(buf.subarray(0, n));
        }
        const { request, rest } = parsed;
        if (request.path === "/ws") {
          await this.#upgrade(request, rest);
          return;
        }
        const keep = await this.#serve(request, served + 1 < MAX_REQUESTS);
        if (!keep) return;
        pending = rest;
      }
    } catch (err) {
      if (err instanceof HttpError) await this.#respondError(err);
      // Anything else is the socket failing or closed by the deadline: nothing more to say.
    } finally {
      clearTimeout(this.#timer);
      this.#end();
    }
  }

  /** The server is stopping: close now if nothing is in progress. */
  stop(): void {
    if (this.#idle) this.#close();
  }

  /** Serves one request; resolves to whether the connection stays open for another. */
  async #serve(req: HttpRequest, more: boolean): Promise<boolean> {
    const refusal = this.#check(req);
    if (refusal) return await this.#respond(req, refusal, false).then(() => false);
    const keep = more && req.minor === 1 && !listOf(req.headers.get("connection")).includes("close") &&
      !this.#front.stopping;
    const reply = route(req, this.#front.options);
    // A 405 may come with a body we did not read: the connection cannot go on.
    const stays = keep && reply.status !== 405;
    await this.#respond(req, reply, stays);
    return stays && !this.#front.stopping;
  }

  /** What every request must pass before it is routed: a Host, no body, TLS where required. */
  #check(req: HttpRequest): Reply | null {
    const host = req.headers.get("host");
    if (req.minor === 1 && host === undefined) {
      return textReply(400, "an HTTP/1.1 request needs a Host header");
    }
    if (host !== undefined && !HOST.test(host)) return textReply(400, "the Host header is not a host name");
    const length = req.headers.get("content-length");
    if (req.headers.has("transfer-encoding") || (length !== undefined && length !== "0")) {
      if (req.method !== "GET" && req.method !== "HEAD") return null; // 405 says more than 400
      return textReply(400, "a request body is not accepted here");
    }
    if (this.#front.options.tlsRequired && !this.#stream.secure) {
      if (host === undefined) return textReply(403, "this server accepts TLS connections only: use https://");
      const path = req.target.startsWith("/") ? req.target : new URL(req.target).pathname;
      return textReply(308, "this server accepts TLS connections only", [[
        "Location",
        `https://${host}${path}`,
      ]]);
    }
    return null;
  }

  /** Upgrades `GET /ws` to a WebSocket, or refuses it with an HTTP error and closes. */
  async #upgrade(req: HttpRequest, rest: Uint8Array): Promise<void> {
    const refusal = this.#check(req) ?? this.#checkUpgrade(req);
    if (refusal) {
      await this.#respond(req, refusal, false);
      return;
    }
    const options = this.#front.options;
    let address = this.#address;
    let forwarded: string | null = null;
    if (options.trustProxy.has(this.#peer)) {
      try {
        forwarded = forwardedFor(req.headers.get("x-forwarded-for"), options.trustProxy);
      } catch (err) {
        await this.#respond(req, textReply(400, (err as Error).message), false);
        return;
      }
      // The proxy does not say the client's port.
      if (forwarded !== null) address = `${forwarded}:0`;
    }
    // The security headers too: README promises them on every response, and they cost a few hundred bytes once.
    const head = responseHead(101, [
      ...SECURITY_FIELDS,
      ["Upgrade", "websocket"],
      ["Connection", "Upgrade"],
      ["Sec-WebSocket-Accept", acceptKey(req.headers.get("sec-websocket-key")!)],
      ["Sec-WebSocket-Protocol", SUBPROTOCOL],
    ]);
    await writeAll(this.#stream, head);
    this.#front.count(101);
    clearTimeout(this.#timer);
    const ws = new WsConn(this.#stream, rest, 4 + options.maxFrame);
    const onEnd = this.#onEnd!;
    this.#onEnd = null;
    const via = forwarded === null ? "" : ` via ${this.#address}`;
    // Admitted when the listener accepted the socket, unless it came from a proxy: then by the forwarded address.
    const refused = forwarded === null ? null : options.admit(forwarded);
    if (refused !== null) {
      options.logger.warn(`refused ${address}${via}: ${refused}`);
      refuseWebSocket(ws, refused);
      onEnd();
      return;
    }
    options.logger.debug(`websocket ${address}${via}`);
    options.upgraded(ws, address, () => {
      if (forwarded !== null) options.release(forwarded);
      onEnd();
    });
  }

  /** The WebSocket handshake's own checks (RFC 6455 section 4.2.1), then the binding's and the Origin. */
  #checkUpgrade(req: HttpRequest): Reply | null {
    const h = req.headers;
    if (req.method !== "GET") {
      return textReply(405, `${req.method} is not allowed here: a WebSocket opens with GET`, [[
        "Allow",
        "GET",
      ]]);
    }
    if (!listOf(h.get("upgrade")).includes("websocket") || !listOf(h.get("connection")).includes("upgrade")) {
      return textReply(426, "/ws is the WebSocket endpoint: open it with a WebSocket client", [
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
      ]);
    }
    if (req.minor !== 1) return textReply(400, "a WebSocket opens over HTTP/1.1");
    if (h.get("sec-websocket-version") !== "13") {
      return textReply(426, "this server speaks WebSocket version 13", [["Sec-WebSocket-Version", "13"]]);
    }
    if (!validKey(h.get("sec-websocket-key"))) {
      return textReply(400, "missing or malformed Sec-WebSocket-Key");
    }
    // Subprotocol names are case-sensitive: listOf() would lower-case them.
    const protocols = (h.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim());
    if (!protocols.includes(SUBPROTOCOL)) {
      return textReply(400, `a chat WebSocket must offer the subprotocol ${SUBPROTOCOL}`);
    }
    const origin = h.get("origin");
    if (origin !== undefined && !this.#originAllowed(req, origin)) {
      this.#front.options.logger.warn(
        `refused a WebSocket from ${this.#address}: origin ${origin.slice(0, 200)}`,
      );
      return textReply(403, `origin ${origin.slice(0, 200)} may not open a WebSocket here`);
    }
    if (this.#front.stopping) return textReply(503, "the server is shutting down");
    return null;
  }

  /** The Origin is listed by --web-origin or, without that list, is this server's own origin. */
  #originAllowed(req: HttpRequest, origin: string): boolean {
    let normal: string;
    try {
      normal = normalizeOrigin(origin);
    } catch {
      return false; // "null" (a sandboxed or file: page) and anything else that is not an http(s) origin
    }
    const listed = this.#front.options.origins;
    if (listed.length > 0) return listed.includes(normal);
    const host = req.headers.get("host");
    if (host === undefined) return false;
    try {
      return normalizeOrigin(`${this.#scheme(req)}://${host}`) === normal;
    } catch {
      return false;
    }
  }

  /** The scheme the browser used: this connection's, or the last X-Forwarded-Proto a trusted proxy set. */
  #scheme(req: HttpRequest): "http" | "https" {
    const options = this.#front.options;
    if (options.trustProxy.has(this.#peer)) {
      const proto = listOf(req.headers.get("x-forwarded-proto")).pop();
      if (proto === "https" || proto === "http") return proto;
    }
    return this.#stream.secure ? "https" : "http";
  }

  /** Sends `reply` (its body only for GET); `keep` says whether the connection stays open. */
  async #respond(req: HttpRequest | null, reply: Reply, keep: boolean): Promise<void> {
    const fields: Array<readonly [string, string]> = [...SECURITY_FIELDS, ...reply.fields];
    if (reply.status !== 304) fields.push(["Content-Length", String(reply.body.byteLength)]);
    fields.push(["Date", new Date().toUTCString()], ["Connection", keep ? "keep-alive" : "close"]);
    const head = responseHead(reply.status, fields);
    const body = req?.method === "HEAD" || reply.status === 304 ? null : reply.body;
    const bytes = body === null || body.byteLength === 0 ? head : concat(head, body);
    this.#front.count(reply.status);
    const what = req ? `${req.method} ${req.target.slice(0, 200)}` : "(unreadable request)";
    this.#front.options.logger.debug(`http ${this.#address} ${what} ${reply.status}`);
    await writeAll(this.#stream, bytes);
  }

  async #respondError(err: HttpError): Promise<void> {
    try {
      await this.#respond(null, textReply(err.status, err.message), false);
    } catch { /* the peer is gone */ }
  }

  /** (Re)starts the deadline of the request being read. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#close(), this.#front.options.timeoutMs);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#stream.close();
    } catch { /* closed already */ }
  }

  /** Closes the connection unless a WebSocket took it over, and reports the end once. */
  #end(): void {
    const onEnd = this.#onEnd;
    if (onEnd === null) return;
    this.#onEnd = null;
    this.#close();
    onEnd();
  }
}

/**
 * A proxied WebSocket over the per-address limits: one TOO_MANY_CONNECTIONS
 * error frame, then the close (which bounds a write the client never reads).
 */
function refuseWebSocket(ws: WsConn, refusal: string): void {
  const frame = encodeMessage({
    type: "error",
    fatal: true,
    code: ErrorCode.TOO_MANY_CONNECTIONS,
    ref: 0,
    message: refusal,
  });
  ws.write(frame).catch(() => {});
  ws.close(CloseCode.POLICY_VIOLATION, "too many connections");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
