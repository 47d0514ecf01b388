/**
 * What the broker asks the world to do, as plain values: protocol messages
 * to send, by session id and room name, and jobs for the message log. The
 * broker never touches a socket or a store: the runner (src/net/runner.ts)
 * performs effects in order, encoding each message once, and feeds what
 * the log answers back to the broker as inputs.
 *
 * @module
 */

import type { ServerMessage } from "../protocol/messages.ts";
import type { CloseReason } from "./close.ts";
import type { AppendJob, ProbeJob, ReadJob } from "./commit.ts";

/** Queue `msg` on session `to`'s outbox. */
export interface SendEffect {
  kind: "send";
  to: number;
  msg: ServerMessage;
  /** The last frame to a session being dropped: queued even past its outbox budget. */
  final?: boolean;
}

/**
 * Queue the same `msg` on every connected member of `room` (as it is when
 * the effect is performed), except session `except` (0: nobody). Encoded once
 * for all of them.
 */
export interface BroadcastEffect {
  kind: "broadcast";
  room: string;
  msg: ServerMessage;
  except: number;
}

/** Flush what is queued for the session, then close its connection. */
export interface CloseEffect {
  kind: "close";
  to: number;
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
export interface RegisterEffect {
  kind: "register";
  to: number;
  password: string;
}

/**
 * What other nodes of a cluster see of one of this node's sessions: its name, its rooms and its away
 * message, and (hashed by the cluster bus) the token that resumes it.
 */
export interface SharedSession {
  sid: number;
  name: string;
  key: string;
  rooms: string[];
  away: string;
  /** The session's resume tokens (hex), current and previous: the bus stores only their hashes. */
  token: string;
  prevToken: string;
}

/**
 * In a cluster: claim session `to`'s name for the whole cluster (atomically: one of two nodes claiming a
 * name, or two look-alikes, at once gets it), then call `Broker.claimed`. `resume` is the token the HELLO
 * presented: it lets the claim take over the name from a session on another node that it proves to be.
 */
export interface ClaimEffect {
  kind: "claim";
  to: number;
  name: string;
  key: string;
  token: string;
  resume: string;
}

/** In a cluster: tell the other nodes what this node's session now looks like. */
export interface ShareEffect {
  kind: "share";
  state: SharedSession;
}

/** In a cluster: this node's session `sid` has ended for `reason`; its name is free. */
export interface UnshareEffect {
  kind: "unshare";
  sid: number;
  name: string;
  key: string;
  reason: string;
  text: string;
}

export type Effect =
  | SendEffect
  | BroadcastEffect
  | CloseEffect
  | DelayEffect
  | RegisterEffect
  | ClaimEffect
  | ShareEffect
  | UnshareEffect
  | AppendJob
  | ProbeJob
  | ReadJob;
