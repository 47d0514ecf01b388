/**
 * What the broker asks the network layer to do. The broker never touches a
 * socket: it returns effects, and the network layer performs them in order,
 * synchronously, right after the call that produced them.
 *
 * @module
 */

import type { CloseReason } from "./close.ts";
import type { Room, Session } from "./session.ts";

/** Queue `bytes` (one complete frame) on one session's outbox. */
export interface SendEffect<L> {
  kind: "send";
  to: Session<L>;
  bytes: Uint8Array;
  /** Only perform once the store's pending batch has committed (an ACK must mean "on disk"). */
  durable?: boolean;
}

/**
 * Queue the same `bytes` on every member of `room` (as it is when the effect
 * is performed), except `except`. The frame is encoded once for all of them.
 */
export interface BroadcastEffect<L> {
  kind: "broadcast";
  room: Room<L>;
  bytes: Uint8Array;
  except: Session<L> | null;
  /** Only perform once the store's pending batch has committed (nobody sees a message not in history). */
  durable?: boolean;
}

/** Flush what is queued for the session, then close its connection. */
export interface CloseEffect<L> {
  kind: "close";
  to: Session<L>;
  reason: CloseReason;
}

/** Perform the effects that follow this one (in the same list) only after `ms`: a failed login's penalty. */
export interface DelayEffect {
  kind: "delay";
  ms: number;
}

/**
 * Hash `password` (slow: scrypt, off the event loop) and then call
 * `Broker.registered(to, hash, now)`: the broker decided /register may go ahead.
 */
export interface RegisterEffect<L> {
  kind: "register";
  to: Session<L>;
  password: string;
}

export type Effect<L> = SendEffect<L> | BroadcastEffect<L> | CloseEffect<L> | DelayEffect | RegisterEffect<L>;
