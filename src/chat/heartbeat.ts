/**
 * Heartbeats: one shared timer drives {@linkcode tick}, which drops peers
 * silent for longer than the timeout (and handshakes that took too long),
 * ends the grace period of ghosts, and pings peers that have been quiet
 * for their {@linkcode pingDelay} (then once a heartbeat), so they can prove
 * they are alive.
 *
 * @module
 */

import type { ServerMessage } from "../protocol/mod.ts";
import type { Context } from "./context.ts";
import type { Effect } from "./effects.ts";
import { drop, expireGhosts } from "./handshake.ts";

/** Slots a heartbeat's pings are spread over. */
const PING_SLOTS = 16;

/**
 * How long session `id` may stay silent before the server pings it: between
 * one and one and a half heartbeats, by its id. Sessions that connected
 * together would otherwise all be pinged on the same check, and 10,000 pings
 * and pongs at once keep their garbage alive past the young generation's
 * collections: an idle server's heap then grows by about 1.4 KB per ping
 * (BENCHMARKS.md, change 12). A second ping, a heartbeat later, still goes
 * out before the timeout (three heartbeats).
 */
export function pingDelay(id: number, heartbeatMs: number): number {
  return heartbeatMs + Math.floor(((id % PING_SLOTS) * heartbeatMs) / (2 * PING_SLOTS));
}

/** How often the server runs {@linkcode tick}: often enough to keep the ping slots apart. */
export function tickInterval(heartbeatMs: number): number {
  return Math.max(20, Math.min(1000, Math.floor(heartbeatMs / PING_SLOTS)));
}

/** Three beats per timeout: two may be lost before a healthy peer looks dead. */
export function heartbeatOf(timeoutMs: number): number {
  return Math.max(1, Math.floor(timeoutMs / 3));
}

export function tick(ctx: Context, now: number): Effect[] {
  const effects = expireGhosts(ctx, now);
  // Made on the first ping this check sends (most checks, every heartbeat / 16, send none), and shared by
  // every ping of the check: the runner encodes a message it is given again without encoding it again.
  let ping: ServerMessage | null = null;
  const heartbeat = ctx.heartbeatMs;
  const timeout = ctx.options.timeoutMs;
  // Deleting from a Set while iterating it is safe in JavaScript: no copy of thousands of sessions per tick.
  for (const s of ctx.sessions) {
    const silent = now - s.lastSeen;
    if (silent > timeout) effects.push(...drop(ctx, s, "timeout", now));
    else if (s.state === "ready" && silent >= pingDelay(s.id, heartbeat) && now - s.lastPinged >= heartbeat) {
      s.lastPinged = now;
      ping ??= { type: "ping", token: now >>> 0 };
      effects.push({ kind: "send", to: s.id, msg: ping });
    }
  }
  return effects;
}
