/**
 * What the accept loop does when `accept()` fails. Most failures are a peer
 * that connected and reset before we took the connection: nothing is wrong
 * with the server, so the loop takes the next connection at once and says
 * nothing worth a warning. Only running out of descriptors or memory earns
 * a pause (the same accept would fail again at once), and its log lines are
 * rate-limited so a flood cannot fill the log.
 *
 * How Deno 2.9.6 on Linux reports them (measured): a connection reset before
 * accept is `Deno.errors.NotConnected`, code "ENOTCONN", "Transport endpoint
 * is not connected (os error 107)" (the runtime's getpeername on the new
 * socket fails); out of descriptors is a plain `Error`, code "EMFILE", "Too
 * many open files (os error 24)"; a listener closed while accept() waits is
 * `Deno.errors.BadResource`, "Listener has been closed", without a code.
 *
 * @module
 */

import type { Logger } from "./log.ts";

/**
 * - `peer_gone`: the connection died before we took it; accept the next one at once.
 * - `exhausted`: descriptors, buffers or memory ran out; pause, then try again.
 * - `closed`: the listener is gone; stop accepting.
 * - `unexpected`: anything else; pause as for `exhausted`, so an unknown error cannot spin the loop.
 */
export type AcceptErrorKind = "peer_gone" | "exhausted" | "closed" | "unexpected";

/**
 * Errno codes of a connection that failed between the peer's connect and our
 * accept. Linux's accept(2) also passes pending network errors of the new
 * socket (ENETDOWN, EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH,
 * EOPNOTSUPP, ENETUNREACH) and asks callers to retry as for EAGAIN.
 */
const PEER_GONE = new Set([
  "ENOTCONN",
  "ECONNABORTED",
  "ECONNRESET",
  "EPIPE",
  "EPROTO",
  "ENOPROTOOPT",
  "ENETDOWN",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EHOSTUNREACH",
  "ENONET",
  "EOPNOTSUPP",
  "EAGAIN",
  "EWOULDBLOCK",
  "EINTR",
]);

/** Errno codes of a server out of a resource: accepting again at once would fail the same way. */
const EXHAUSTED = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/** Sorts a failed `accept()` by what the loop should do next. */
export function classifyAcceptError(err: unknown): AcceptErrorKind {
  if (err instanceof Deno.errors.BadResource) return "closed";
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (PEER_GONE.has(code)) return "peer_gone";
    if (EXHAUSTED.has(code)) return "exhausted";
  }
  // Without a code, the error class still tells a vanished peer.
  if (
    err instanceof Deno.errors.NotConnected || err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.ConnectionAborted || err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.Interrupted || err instanceof Deno.errors.WouldBlock
  ) {
    return "peer_gone";
  }
  return "unexpected";
}

/** How long the loop waits after a resource error: long enough to stop a spin, short enough to go unnoticed. */
export const EXHAUSTED_PAUSE_MS = 50;

/** One log line per this many ms at most, per kind, however fast accept() fails. */
export const ACCEPT_LOG_EVERY_MS = 10_000;

/** Counts of failed accepts by kind since the loop started. */
export interface AcceptFailureCounts {
  peer_gone: number;
  exhausted: number;
  unexpected: number;
}

/** A kind's rate-limited log: when it last wrote, and what it held back since. */
interface Window {
  loggedAt: number;
  suppressed: number;
}

/**
 * Decides, for each failed accept, whether the loop stops, pauses or goes on,
 * and logs at most one line per kind per {@linkcode ACCEPT_LOG_EVERY_MS}:
 * peers gone at debug level, resource and unknown errors at warn, each line
 * with the number held back since the previous one.
 */
export class AcceptFailures {
  readonly counts: AcceptFailureCounts = { peer_gone: 0, exhausted: 0, unexpected: 0 };
  #log: Logger;
  #everyMs: number;
  #windows = new Map<AcceptErrorKind, Window>();

  constructor(log: Logger, everyMs = ACCEPT_LOG_EVERY_MS) {
    this.#log = log;
    this.#everyMs = everyMs;
  }

  /** Handles a failed accept at `now`: "stop", or the ms to wait before the next accept (0: at once). */
  handle(err: unknown, now: number): "stop" | number {
    const kind = classifyAcceptError(err);
    if (kind === "closed") return "stop";
    this.counts[kind]++;
    const message = err instanceof Error ? err.message : String(err);
    switch (kind) {
      case "peer_gone":
        this.#note(
          kind,
          now,
          (held) => this.#log.debug(`accept: a peer reset before accept (${message})${held}`),
        );
        return 0;
      case "exhausted":
        this.#note(kind, now, (held) => this.#log.warn(`accept failed, pausing: ${message}${held}`));
        return EXHAUSTED_PAUSE_MS;
      case "unexpected":
        this.#note(kind, now, (held) => this.#log.warn(`accept failed: ${message}${held}`));
        return EXHAUSTED_PAUSE_MS;
    }
  }

  /** Writes through `write` if this kind's window allows, else counts the line as held back. */
  #note(kind: AcceptErrorKind, now: number, write: (held: string) => void): void {
    const w = this.#windows.get(kind);
    if (w !== undefined && now - w.loggedAt < this.#everyMs) {
      w.suppressed++;
      return;
    }
    const held = w !== undefined && w.suppressed > 0
      ? ` (${w.suppressed} more like it in the last ${Math.round((now - w.loggedAt) / 1000)} s not logged)`
      : "";
    write(held);
    this.#windows.set(kind, { loggedAt: now, suppressed: 0 });
  }
}
