/**
 * A TCP proxy for network-failure tests: it listens on 127.0.0.1:0 and
 * forwards each connection to a server, and on command either cuts every
 * connection (both sockets closed, as when a NAT or a Wi-Fi link drops) or
 * freezes them (nothing forwarded any more and nothing closed: a network
 * that went silent, which only a timeout can detect).
 *
 * @module
 */

import { Changes, tail, WAIT_MS, waitFor } from "./deadline.ts";

/** One forwarded connection: the client's socket and ours to the server. */
class Pair {
  readonly client: Deno.TcpConn;
  readonly server: Deno.TcpConn;
  frozen = false;
  #closed = false;
  #release!: () => void;
  /** Resolves once both sockets are closed: what a frozen pump waits for. */
  readonly released = new Promise<void>((r) => this.#release = r);

  constructor(client: Deno.TcpConn, server: Deno.TcpConn) {
    this.client = client;
    this.server = server;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [this.client, this.server]) {
      try {
        c.close();
      } catch {
        // Closed already.
      }
    }
    this.#release();
  }
}

export class TcpProxy implements AsyncDisposable {
  /** The port clients connect to. */
  readonly port: number;
  /** The server port connections are forwarded to. */
  readonly target: number;
  readonly changes = new Changes();
  /** Connections accepted so far, cut or not. */
  accepted = 0;
  /** Every event (accept, cut, freeze, end), for failure messages. */
  readonly log: string[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #pairs = new Set<Pair>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;
  #closed = false;

  constructor(target: number) {
    this.target = target;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  /** Connections being forwarded now (frozen ones included). */
  get open(): number {
    return this.#pairs.size;
  }

  /** The proxy never ends on its own: {@linkcode waitFor} only stops at its deadline. */
  get ended(): boolean {
    return this.#closed;
  }

  describe(): string {
    return `proxy :${this.port} -> :${this.target} (${this.#pairs.size} open):\n${tail(this.log)}`;
  }

  /** Closes every open connection at both ends; returns how many there were. */
  cut(): number {
    const n = this.#pairs.size;
    for (const p of this.#pairs) p.close();
    this.#pairs.clear();
    this.log.push(`cut ${n}`);
    this.changes.notify();
    return n;
  }

  /**
   * Stops forwarding on every open connection without closing it: bytes in
   * flight are dropped and neither end hears anything more. Connections
   * accepted later are forwarded as usual.
   */
  freeze(): number {
    let n = 0;
    for (const p of this.#pairs) {
      if (!p.frozen) n++;
      p.frozen = true;
    }
    this.log.push(`froze ${n}`);
    this.changes.notify();
    return n;
  }

  /** Waits until `accepted` reaches `n`. */
  async waitAccepted(n: number, timeoutMs = WAIT_MS): Promise<void> {
    await waitFor(this, () => this.accepted >= n || undefined, `${n} accepted connections`, timeoutMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Closed already.
    }
    await this.#accepting;
    for (const p of this.#pairs) p.close();
    this.#pairs.clear();
    await Promise.all(this.#tasks);
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.TcpConn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // The listener was closed.
      }
      this.#track(this.#open(client));
    }
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  async #open(client: Deno.TcpConn): Promise<void> {
    let server: Deno.TcpConn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: this.target });
    } catch (err) {
      // The server is down: the client sees its connection closed, as it would on a direct refusal.
      this.log.push(`connect to :${this.target} failed: ${(err as Error).message}`);
      client.close();
      return;
    }
    if (this.#closed) {
      client.close();
      server.close();
      return;
    }
    client.setNoDelay(true);
    server.setNoDelay(true);
    const pair = new Pair(client, server);
    this.#pairs.add(pair);
    this.accepted++;
    this.log.push(`accepted #${this.accepted}`);
    this.changes.notify();
    await Promise.all([this.#pump(pair, client, server), this.#pump(pair, server, client)]);
    this.#pairs.delete(pair);
    pair.close();
    this.changes.notify();
  }

  /** Copies `from` to `to` until either end closes; a frozen pair swallows what it reads. */
  async #pump(pair: Pair, from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        if (pair.frozen) {
          await pair.released;
          return;
        }
        const n = await from.read(buf);
        if (n === null) break;
        if (pair.frozen) continue;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // A reset, or our own close() interrupting the read or write.
    }
    // One side ended: end the other too, as a dropped route would.
    pair.close();
  }
}
