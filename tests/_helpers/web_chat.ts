/**
 * A chat server for the browser tests: `chat serve` on 127.0.0.1 with a
 * temporary data directory, serving the browser client on its own port.
 *
 * @module
 */

import { type ServerProcess, startServer } from "./process.ts";

/**
 * A chat server and its page. `stop()` kills the server as a crash would; `start()` brings it back on the
 * same data directory and the same port, so the open page's address still holds.
 */
export class WebChat implements AsyncDisposable {
  server: ServerProcess;
  readonly dataDir: string;
  readonly #flags: string[];
  #running = true;

  private constructor(server: ServerProcess, dataDir: string, flags: string[]) {
    this.server = server;
    this.dataDir = dataDir;
    this.#flags = flags;
  }

  /**
   * Starts the server; fails when it does not answer `GET /` with the page. `prepare` runs first, on the
   * empty data directory (to register names with `chat user add`, say).
   */
  static async start(
    flags: string[] = [],
    prepare?: (dataDir: string) => Promise<void>,
  ): Promise<WebChat> {
    const dataDir = await Deno.makeTempDir({ prefix: "chat-web-data-" });
    try {
      await prepare?.(dataDir);
    } catch (err) {
      await Deno.remove(dataDir, { recursive: true });
      throw err;
    }
    const server = await startServer(["--data-dir", dataDir, ...flags]);
    if (!await servesPage(server.port)) {
      await server[Symbol.asyncDispose]();
      await Deno.remove(dataDir, { recursive: true });
      throw new Error(`chat serve on port ${server.port} does not serve the browser client at /`);
    }
    return new WebChat(server, dataDir, flags);
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}/`;
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
    this.server = await startServer([
      "--data-dir",
      this.dataDir,
      ...this.#flags,
      "--port",
      String(this.server.port),
    ]);
    this.#running = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
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
