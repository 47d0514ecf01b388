/**
 * The TCP listener: binds a port and accepts connections, handing each one
 * on with its peer's address. TLS and plaintext share the port (the
 * connection's first byte decides, src/net/tls_server.ts).
 *
 * @module
 */

import { AcceptFailures } from "./accept_errors.ts";
import type { Logger } from "./log.ts";

export class TcpListener {
  readonly addr: Deno.NetAddr;
  #listener: Deno.TcpListener;
  #log: Logger;
  #closed = false;

  /** Binds `host:port`; throws Deno.errors.AddrInUse when the port is taken. */
  constructor(host: string, port: number, log: Logger) {
    this.#listener = Deno.listen({ hostname: host, port, transport: "tcp" });
    this.addr = this.#listener.addr as Deno.NetAddr;
    this.#log = log;
  }

  /** Accepts connections until {@linkcode close}, giving each to `accepted`. */
  async serve(accepted: (conn: Deno.TcpConn, remote: Deno.NetAddr) => void): Promise<void> {
    const failures = new AcceptFailures(this.#log);
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        // A peer that reset is skipped at once; EMFILE and friends pause; nothing kills the loop.
        const pause = this.#closed ? "stop" : failures.handle(err, Date.now());
        if (pause === "stop") break;
        if (pause > 0) await new Promise((r) => setTimeout(r, pause));
        continue;
      }
      accepted(conn, conn.remoteAddr as Deno.NetAddr);
    }
  }

  close(): void {
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
  }
}
