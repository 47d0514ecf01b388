/**
 * Heartbeats: one shared timer drives {@linkcode tick}, which drops peers
 * silent for longer than the timeout (and handshakes that took too long),
 * ends the grace period of ghosts, and pings peers that have been quiet
 * for their {@linkcode pingDelay} (then once a heartbeat), so they can prove
 * they are alive.
 *
 * A check does not walk every session: each waits in a {@linkcode Wheel}
 * slot for the time it may next need a ping or a timeout, and a check looks
 * only at the slots that came due. A session is then looked at about once a
 * heartbeat instead of on every check (sixteen times a heartbeat): at
 * 100,000 connections, 60,000 looks a second instead of a million.
 *
 * @module
 */

import type { ServerMessage } from "../protocol/mod.ts";
import type { Context } from "./context.ts";
import type { Effect } from "./effects.ts";
import { drop, expireGhosts } from "./handshake.ts";
import type { Session } from "./session.ts";

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

/**
 * Sessions by the check slot in which each may next need attention
 * (`floor(time / slotMs)`). A session's time only ever moves later (its last
 * frame and last ping only move forward), so a session looked at too early
 * is simply put back, in the slot of its new time. Each slot is a list
 * threaded through the sessions themselves (`Session.wheelNext`): putting a
 * session back allocates nothing.
 */
export class Wheel {
  readonly slotMs: number;
  #slots = new Map<number, { head: Session; tail: Session }>();
  /** Slots up to this one have been looked at (the current one is looked at again on the next check). */
  #done: number;
  /** Sessions waiting, for tests. */
  size = 0;

  constructor(slotMs: number, now: number) {
    this.slotMs = slotMs;
    this.#done = Math.floor(now / slotMs) - 1;
  }

  /** `s` (in no slot now) is looked at on the first check at or after `at`. */
  add(s: Session, at: number): void {
    const slot = Math.floor(at / this.slotMs);
    s.wheelNext = null;
    const list = this.#slots.get(slot);
    if (list === undefined) this.#slots.set(slot, { head: s, tail: s });
    else {
      list.tail.wheelNext = s;
      list.tail = s;
    }
    this.size++;
  }

  /**
   * Takes the sessions of every slot due at `now` out of the wheel and calls
   * `visit` with each, oldest slot first, in the order they were added.
   * `visit` may add a session back (for the current slot, it is looked at
   * again on the next check).
   */
  due(now: number, visit: (s: Session) => void): void {
    const last = Math.floor(now / this.slotMs);
    const from = this.#done + 1;
    this.#done = last - 1;
    // A late check (a stalled event loop) catches up slot by slot; a long stall skips the empty ones quickly.
    if (last - from >= this.#slots.size) {
      const slots = [...this.#slots.keys()].filter((k) => k <= last).sort((a, b) => a - b);
      for (const k of slots) this.#visit(k, visit);
    } else {
      for (let k = from; k <= last; k++) this.#visit(k, visit);
    }
  }

  #visit(slot: number, visit: (s: Session) => void): void {
    const list = this.#slots.get(slot);
    if (list === undefined) return;
    this.#slots.delete(slot);
    let s: Session | null = list.head;
    while (s !== null) {
      const next: Session | null = s.wheelNext;
      s.wheelNext = null;
      this.size--;
      visit(s);
      s = next;
    }
  }
}

const WHEELS = new WeakMap<Context, Wheel>();

function wheelOf(ctx: Context, now: number): Wheel {
  let wheel = WHEELS.get(ctx);
  if (wheel === undefined) WHEELS.set(ctx, wheel = new Wheel(tickInterval(ctx.heartbeatMs), now));
  return wheel;
}

/** A new session: its heartbeat is watched from now on (until it leaves `ctx.sessions`). */
export function watch(ctx: Context, s: Session, now: number): void {
  wheelOf(ctx, now).add(s, nextLook(ctx, s, now));
}

/**
 * When `s` may next need a ping or a timeout, at the earliest: past the
 * timeout, or when it has been silent for its ping delay and not pinged for
 * a heartbeat. A handshake that has already been silent that long is looked
 * at on every check, since it may be welcomed (and due a ping) at any time.
 */
function nextLook(ctx: Context, s: Session, now: number): number {
  const heartbeat = ctx.heartbeatMs;
  const timesOut = s.lastSeen + ctx.options.timeoutMs + 1;
  const pingable = Math.max(s.lastSeen + pingDelay(s.id, heartbeat), s.lastPinged + heartbeat);
  if (pingable > now) return Math.min(timesOut, pingable);
  return s.state === "ready" ? timesOut : Math.min(timesOut, now + 1);
}

export function tick(ctx: Context, now: number): Effect[] {
  const effects = expireGhosts(ctx, now);
  // Made on the first ping this check sends (most checks, every heartbeat / 16, send none), and shared by
  // every ping of the check: the runner encodes a message it is given again without encoding it again.
  let ping: ServerMessage | null = null;
  const heartbeat = ctx.heartbeatMs;
  const timeout = ctx.options.timeoutMs;
  const wheel = wheelOf(ctx, now);
  wheel.due(now, (s) => {
    // Gone (closed, a ghost, taken over by a resume): no longer watched.
    if (!ctx.sessions.has(s)) return;
    const silent = now - s.lastSeen;
    if (silent > timeout) {
      effects.push(...drop(ctx, s, "timeout", now));
      return;
    }
    if (s.state === "ready" && silent >= pingDelay(s.id, heartbeat) && now - s.lastPinged >= heartbeat) {
      s.lastPinged = now;
      ping ??= { type: "ping", token: now >>> 0 };
      effects.push({ kind: "send", to: s.id, msg: ping });
    }
    wheel.add(s, nextLook(ctx, s, now));
  });
  return effects;
}
