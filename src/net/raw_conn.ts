/**
 * A plain TCP connection driven straight through the runtime's read, write
 * and close ops by its resource id, without the Deno.TcpConn object around it.
 *
 * Why: an idle connection spends its life in one pending read. Through
 * `Deno.TcpConn.read` that read is an async function of its own (a generator
 * with its register file, two promises and their reactions) and an entry in
 * the connection's set of pending reads; the TcpConn itself keeps two address
 * objects and that set alive. None of it is needed once the connection is
 * accepted: the read op's own promise says everything. At 10,000 idle
 * connections this measured about 1.7 KiB of server RSS less per connection
 * (BENCHMARKS.md, "What moved the numbers").
 *
 * The ops are reached through `Deno[Deno.internal].core`, which is not a
 * public API. {@linkcode rawConn} checks for what it needs and otherwise hands
 * back the TcpConn unchanged, so a runtime without them loses only memory.
 * The runtime is pinned (README, .ci/run) and a test fails if the raw path
 * stops being available on it.
 *
 * @module
 */

import type { StreamConn } from "./tls_stream.ts";

/** The three ops used here, as the runtime's core exposes them. */
interface CoreOps {
  /** Resolves to the bytes read; 0 at the end of the stream. */
  read(rid: number, buf: Uint8Array): Promise<number>;
  write(rid: number, bytes: Uint8Array): Promise<number>;
  close(rid: number): void;
}

const CORE: CoreOps | null = findCore();

function findCore(): CoreOps | null {
  try {
    const internal = (Deno as unknown as Record<symbol, unknown>)[
      (Deno as unknown as { internal: symbol }).internal
    ] as { core?: Partial<CoreOps> } | undefined;
    const core = internal?.core;
    if (
      core && typeof core.read === "function" && typeof core.write === "function" &&
      typeof core.close === "function"
    ) {
      return core as CoreOps;
    }
  } catch { /* not this runtime */ }
  return null;
}

/** The resource id a Deno connection carries under the runtime's internal symbol, or null. */
export function resourceId(conn: Deno.Conn): number | null {
  for (const key of Object.getOwnPropertySymbols(conn)) {
    if (key.description === "Deno.internal.rid") {
      const rid = (conn as unknown as Record<symbol, unknown>)[key];
      return typeof rid === "number" && Number.isInteger(rid) && rid >= 0 ? rid : null;
    }
  }
  return null;
}

/**
 * A connection by resource id. `read` resolves to 0, not null, at the end
 * of the stream (the op's own answer, passed on without another promise):
 * {@linkcode StreamConn} allows either.
 */
export class RawConn implements StreamConn {
  readonly rid: number;
  readonly #core: CoreOps;

  constructor(rid: number, core: CoreOps) {
    this.rid = rid;
    this.#core = core;
  }

  read(buf: Uint8Array): Promise<number> {
    return this.#core.read(this.rid, buf);
  }

  write(bytes: Uint8Array): Promise<number> {
    return this.#core.write(this.rid, bytes);
  }

  /** Closes the socket: a pending read or write rejects, as with Deno.Conn. Throws if already closed. */
  close(): void {
    this.#core.close(this.rid);
  }
}

/**
 * `conn` as a {@linkcode RawConn} when the runtime allows it, else `conn`
 * itself. Call it once the TcpConn's own settings (no-delay, addresses) are
 * done with, and then drop the TcpConn: the RawConn owns the socket.
 */
export function rawConn(conn: Deno.TcpConn): StreamConn {
  const rid = CORE ? resourceId(conn) : null;
  return rid === null || !CORE ? conn : new RawConn(rid, CORE);
}
