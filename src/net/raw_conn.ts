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
 * public API, so the raw path is taken only once {@linkcode probeRawConn}
 * has seen it behave (a byte each way over a loopback pair, end of stream as
 * 0, a close that fails a pending read); otherwise, or when
 * `CHAT_RAW_CONN=0` turns it off, {@linkcode rawConn} hands back the TcpConn
 * unchanged, so a runtime without the ops loses only memory. The server logs
 * which path it took. The runtime is pinned (README, .ci/run) and a test
 * fails if the raw path stops being available on it.
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

const FOUND: CoreOps | null = findCore();

/** The ops in use: set by {@linkcode probeRawConn} once they behaved, null while unproven or turned off. */
let CORE: CoreOps | null = null;

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

/** Which socket path {@linkcode rawConn} takes, and why. */
export interface SocketPath {
  raw: boolean;
  why: string;
}

/**
 * Decides the socket path: checks that the runtime's ops behave as
 * {@linkcode RawConn} needs on a loopback pair, and turns the raw path on
 * only then. `off` (CHAT_RAW_CONN=0) keeps the public path whatever the
 * runtime has. Idempotent; resolves to what was decided, for the log.
 */
export async function probeRawConn(off = false): Promise<SocketPath> {
  CORE = null;
  if (off) return { raw: false, why: "turned off (CHAT_RAW_CONN=0)" };
  if (!FOUND) return { raw: false, why: "the runtime does not expose its socket ops" };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let dialled: Deno.TcpConn | null = null;
  let accepted: Deno.TcpConn | null = null;
  try {
    [dialled, accepted] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }),
      listener.accept(),
    ]);
    const rid = resourceId(accepted);
    if (rid === null) return { raw: false, why: "a connection carries no resource id" };
    const raw = new RawConn(rid, FOUND);
    const buf = new Uint8Array(4);
    await dialled.write(new Uint8Array([7]));
    if (await raw.read(buf) !== 1 || buf[0] !== 7) {
      return { raw: false, why: "a raw read did not return the byte sent" };
    }
    if (await raw.write(new Uint8Array([9])) !== 1) return { raw: false, why: "a raw write did not write" };
    const back = new Uint8Array(4);
    if (await dialled.read(back) !== 1 || back[0] !== 9) {
      return { raw: false, why: "a raw write did not arrive" };
    }
    dialled.close();
    dialled = null;
    if (await raw.read(buf) !== 0) return { raw: false, why: "the end of the stream did not read as 0" };
    raw.close();
    accepted = null;
    try {
      raw.close();
      return { raw: false, why: "a closed connection could be closed again" };
    } catch (err) {
      if (!(err instanceof Deno.errors.BadResource)) throw err;
    }
    CORE = FOUND;
    return { raw: true, why: "the runtime's socket ops behave as expected" };
  } catch (err) {
    return { raw: false, why: `the probe failed: ${(err as Error).message}` };
  } finally {
    try {
      dialled?.close();
    } catch { /* closed */ }
    try {
      accepted?.close();
    } catch { /* closed */ }
    listener.close();
  }
}
