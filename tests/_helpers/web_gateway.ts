/**
 * Serves the browser client to tests: the committed assets
 * (src/web/assets_gen.ts) over HTTP with the CSP `chat serve` sends, and a
 * WebSocket at `/ws` (subprotocol `chat.v1`) that carries each protocol
 * frame to and from a real `chat serve` over TCP, one frame per binary
 * message. It stands in for the server's own HTTP side (issue 18, branch
 * `webserver`) until that is on main, and keeps the browser tests about the
 * page: everything the page says reaches a real server and comes back
 * from it.
 *
 * @module
 */

import { encodeFrame, FrameDecoder } from "../../src/protocol/frame.ts";
import { MAX_FRAME_CEILING } from "../../src/protocol/limits.ts";
import { WEB_ASSETS } from "../../src/web/assets_gen.ts";

/** The Content-Security-Policy of issue 18: the page's own script, style and WebSocket, nothing else. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export class WebGateway implements AsyncDisposable {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  /** The chat server's TCP port; {@linkcode retarget} changes it (a restarted server). */
  chatPort: number;
  /** WebSocket upgrades seen (a reconnecting page makes more). */
  upgrades = 0;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #sockets = new Set<{ ws: WebSocket; tcp: Deno.TcpConn | null }>();

  constructor(chatPort: number) {
    this.chatPort = chatPort;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}/`;
  }

  /** Points new WebSocket connections at another chat port. */
  retarget(chatPort: number): void {
    this.chatPort = chatPort;
  }

  #handle(req: Request): Response {
    const url = new URL(req.url);
    if (url.pathname === "/ws") return this.#upgrade(req);
    const asset = WEB_ASSETS.get(url.pathname);
    if (!asset || req.method !== "GET") return new Response("not found\n", { status: 404 });
    const headers = new Headers({
      "Content-Type": asset.type,
      "Content-Security-Policy": CSP,
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "no-cache",
      ETag: asset.etag,
    });
    if (req.headers.get("If-None-Match") === asset.etag) return new Response(null, { status: 304, headers });
    return new Response(asset.body as Uint8Array<ArrayBuffer>, { headers });
  }

  #upgrade(req: Request): Response {
    const origin = req.headers.get("Origin");
    if (origin !== new URL(this.url).origin) return new Response("foreign origin\n", { status: 403 });
    if (!(req.headers.get("Sec-WebSocket-Protocol") ?? "").split(/\s*,\s*/).includes("chat.v1")) {
      return new Response("subprotocol chat.v1 required\n", { status: 400 });
    }
    this.upgrades++;
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "chat.v1" });
    socket.binaryType = "arraybuffer";
    const pair: { ws: WebSocket; tcp: Deno.TcpConn | null } = { ws: socket, tcp: null };
    this.#sockets.add(pair);
    const early: Uint8Array[] = [];
    let writing = Promise.resolve();
    const write = (bytes: Uint8Array) => {
      writing = writing.then(async () => {
        const tcp = pair.tcp;
        if (!tcp) return;
        for (let off = 0; off < bytes.byteLength;) off += await tcp.write(bytes.subarray(off));
      }).catch(() => this.#drop(pair));
    };
    socket.onmessage = (ev) => {
      const bytes = new Uint8Array(ev.data as ArrayBuffer);
      if (pair.tcp) write(bytes);
      else early.push(bytes);
    };
    socket.onclose = () => this.#drop(pair);
    socket.onopen = async () => {
      try {
        pair.tcp = await Deno.connect({ hostname: "127.0.0.1", port: this.chatPort });
      } catch {
        this.#drop(pair);
        return;
      }
      for (const b of early.splice(0)) write(b);
      const decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
      try {
        for await (const chunk of pair.tcp.readable) {
          for (const f of decoder.push(chunk)) {
            if (socket.readyState === WebSocket.OPEN) socket.send(encodeFrame(f) as Uint8Array<ArrayBuffer>);
          }
        }
      } catch {
        // The server or the page went away; either way the pair ends.
      }
      this.#drop(pair);
    };
    return response;
  }

  #drop(pair: { ws: WebSocket; tcp: Deno.TcpConn | null }): void {
    if (!this.#sockets.delete(pair)) return;
    try {
      pair.tcp?.close();
    } catch { /* closed already */ }
    if (pair.ws.readyState === WebSocket.OPEN || pair.ws.readyState === WebSocket.CONNECTING) {
      pair.ws.close(1001, "chat server connection ended");
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const pair of [...this.#sockets]) this.#drop(pair);
    await this.#server.shutdown();
  }
}
