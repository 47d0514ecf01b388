/**
 * A chat server with the browser client in front of it, for the browser
 * tests: `chat serve` on 127.0.0.1 with a temporary data directory, and the
 * page from the server itself when it answers HTTP (issue 18's server side),
 * else from a {@linkcode WebGateway} beside it.
 *
 * @module
 */

import { type ServerProcess, startServer } from "./process.ts";
import { WebGateway } from "./web_gateway.ts";

/**
 * A chat server and the page in front of it. The page comes from `chat serve` itself when it answers HTTP
 * (issue 18's server side); from a {@linkcode WebGateway} beside it otherwise. `stop()` kills the server
 * as a crash would; `start()` brings it back on the same data directory (and, when it serves the page, on the
 * same port, so the open page's address still holds).
 */
export class WebChat implements AsyncDisposable {
  server: ServerProcess;
  readonly gateway: WebGateway | null;
  readonly dataDir: string;
  readonly #flags: string[];
  #running = true;

  private constructor(server: ServerProcess, gateway: WebGateway | null, dataDir: string, flags: string[]) {
    this.server = server;
    this.gateway = gateway;
    this.dataDir = dataDir;
    this.#flags = flags;
  }

  static async start(flags: string[] = []): Promise<WebChat> {
    const dataDir = await Deno.makeTempDir({ prefix: "chat-web-data-" });
    const server = await startServer(["--data-dir", dataDir, ...flags]);
    const gateway = await servesPage(server.port) ? null : new WebGateway(server.port);
    return new WebChat(server, gateway, dataDir, flags);
  }

  get url(): string {
    return this.gateway?.url ?? `http://127.0.0.1:${this.server.port}/`;
  }

  get port(): number {
    return this.server.port;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.server.proc.kill("SIGKILL");
    await this.server[Symbol.asyncDispose]();
  }

  async start(): Promise<void> {
    const port = this.gateway ? [] : ["--port", String(this.server.port)];
    this.server = await startServer(["--data-dir", this.dataDir, ...this.#flags, ...port]);
    this.#running = true;
    this.gateway?.retarget(this.server.port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.gateway?.[Symbol.asyncDispose]();
    if (this.#running) await this.server[Symbol.asyncDispose]();
    await Deno.remove(this.dataDir, { recursive: true });
  }
}

/** True when `chat serve` on `port` answers HTTP with the browser client's page. */
export async function servesPage(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    const body = await res.text();
    return res.ok && body.includes('src="/app.js"');
  } catch {
    return false; // a server without an HTTP side answers with one line of text and closes
  }
}
