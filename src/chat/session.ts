/**
 * The broker's view of a connection and of a room. A session is known to
 * the rest of the program by its id only: effects name sessions by id, and
 * the runner keeps the connection that goes with each.
 *
 * @module
 */

import { FEATURES } from "../protocol/extensions.ts";
import type { Direct } from "../protocol/messages.ts";
import type { TokenBucket } from "./guard.ts";

/**
 * handshake: connected, no HELLO yet. ready: welcomed. ghost: the connection
 * dropped uncleanly; the name and room seats are held for the grace period in
 * case the user resumes. closed: gone.
 */
export type SessionState = "handshake" | "ready" | "ghost" | "closed";

/**
 * The outcome of checking a HELLO's password, made (asynchronously, off the
 * event loop) before the broker sees the HELLO. "none": no password needed or
 * given; "ok": it matched the account (or, for an unregistered name, the
 * server password); "wrong": it did not, or one was needed and missing.
 */
export interface SessionAuth {
  password: "none" | "ok" | "wrong";
  /** The HELLO proved operator rights (admin account or admin token). */
  admin: boolean;
}

/** Nothing checked: the default until the network layer reports a password check (shared, never mutated). */
export const NO_AUTH: Readonly<SessionAuth> = Object.freeze({ password: "none", admin: false });

/** A client that listed no feature (shared, never mutated). */
const NO_FEATURES: ReadonlySet<string> = new Set();

/** The feature sets handed out so far, one per combination of known features. */
const featureSets = new Map<string, ReadonlySet<string>>();

/**
 * The features a HELLO listed, as a set shared by every session that listed the same ones (never mutated): a
 * set of its own cost each idle connection about 220 bytes of heap. Names this version does not define are
 * left out, since nothing asks for them, which also keeps the shared sets few (one per combination).
 */
export function featureSet(listed: readonly string[] | undefined): ReadonlySet<string> {
  if (!listed || listed.length === 0) return NO_FEATURES;
  const known = FEATURES.filter((f) => listed.includes(f));
  const key = known.join(",");
  let set = featureSets.get(key);
  if (!set) featureSets.set(key, set = known.length === 0 ? NO_FEATURES : new Set(known));
  return set;
}

export class Session {
  readonly id: number;
  /** Remote address, for logs. */
  readonly address: string;
  state: SessionState = "handshake";
  /** Registered name (NFC), set by the handshake. */
  name = "";
  /** Case-folded name: the key for uniqueness and dedupe. */
  key = "";
  readonly rooms = new Set<Room>();
  readonly connectedAt: number;
  /** Last time any frame arrived from this peer. */
  lastSeen: number;
  /** Set by the network layer before the HELLO is handled: what the password check found. */
  auth: Readonly<SessionAuth> = NO_AUTH;
  /** Operator rights: an admin account or the admin token. */
  admin = false;
  /** Message rate limit; created with the first message, so an idle connection does not pay for it. */
  bucket: TokenBucket | null = null;
  /** Away message; empty when present. */
  away = "";
  /** Last time the server pinged this peer, so a quiet peer gets one ping per heartbeat. */
  lastPinged = 0;
  /** The token of the session this one resumed: still accepted, in case this session's WELCOME was lost. */
  prevToken = "";
  /** Secret that lets a reconnect take this session over (hex), set at welcome. */
  token = "";
  /** For a ghost: when its leave is announced, unless it resumes first. */
  ghostUntil = 0;
  /** For a ghost: why its connection ended, announced with the leave. */
  ghostReason = "";
  /**
   * A transient session (`chat send`, `chat tail`): it does not hold its name, is not listed as a member,
   * and its coming and going is not announced.
   */
  transient = false;
  /** Room creations, rate-limited; made with the first room this session creates. */
  roomBucket: TokenBucket | null = null;
  /**
   * In a cluster, a session connected to another node (its id there is `remoteSid`); "" for this node's own.
   * A remote session holds its name and room seats here too, so names, member lists and room sizes are the
   * cluster's; what is sent to it goes to its node.
   */
  remote = "";
  remoteSid = 0;
  /**
   * Optional features the client listed in its HELLO (FEATURES): frames and flags of a feature that the
   * client did not ask for are sent only to a client that lists it.
   */
  features: ReadonlySet<string> = NO_FEATURES;
  /**
   * The name key this session proved its own: a registered name whose password it gave, or the name it
   * registered. Only such a session is a party of stored conversations (src/chat/conversations.ts).
   */
  verified = "";
  /** For a ghost: direct messages held for it until it resumes (dropped if it does not); see conversations.ts. */
  held: Direct[] | null = null;
  /** Peers (name keys) this session was told its messages with are not stored: said once each. */
  toldUnstored: Set<string> | null = null;
  /** The next session in the same check slot of the heartbeat's wheel (src/chat/heartbeat.ts). */
  wheelNext: Session | null = null;

  constructor(id: number, address: string, now: number) {
    this.id = id;
    this.address = address;
    this.connectedAt = now;
    this.lastSeen = now;
  }
}

/**
 * A room's connected members, with a version that changes whenever they do:
 * the network layer keeps a flat list of their outboxes for fan-out and
 * rebuilds it only when the version moved.
 */
export class Members extends Set<Session> {
  version = 0;
  /** Transient members: they receive the room's messages but are not counted or listed. */
  transients = 0;
  /**
   * The member added last, while `version` is still the one its add made
   * (null otherwise): a list kept for the version before (fan-out, names)
   * grows by this one member instead of being made again. In a burst of
   * joins that turns a walk over every member per join into one push.
   */
  added: Session | null = null;

  override add(s: Session): this {
    if (!this.has(s)) {
      this.version++;
      this.added = s;
      if (s.transient) this.transients++;
    }
    return super.add(s);
  }

  override delete(s: Session): boolean {
    const had = super.delete(s);
    if (had) this.changed();
    if (had && s.transient) this.transients--;
    return had;
  }

  override clear(): void {
    this.changed();
    this.transients = 0;
    super.clear();
  }

  /** Something a list of the members shows changed (one of them left, or was renamed): lists are made again. */
  changed(): void {
    this.version++;
    this.added = null;
  }
}

/** Renames `s`: the member lists of its rooms are made again (they show names). */
export function rename(s: Session, name: string): void {
  s.name = name;
  for (const room of s.rooms) room.members.changed();
}

/** Sets the away message of `s`: the lists of its rooms are made again (a joiner learns who is away). */
export function setAway(s: Session, text: string): void {
  s.away = text;
  for (const room of s.rooms) room.members.changed();
}

export class Room {
  readonly name: string;
  /** Connected members: every broadcast goes to each of them. */
  readonly members = new Members();
  /** Members whose connection dropped and who may resume: listed as online, sent nothing. */
  readonly ghosts = new Set<Session>();
  /** Too large for presence: joins and leaves are not announced, joiners get a count instead of the list. */
  quiet = false;
  /**
   * What a joiner was told of the members at `members.version`, while no one is a ghost: the names MEMBERS
   * listed and who is away (src/chat/rooms.ts `listOf`).
   */
  listed: { version: number; names: string[]; away: Session[] } | null = null;

  constructor(name: string) {
    this.name = name;
  }

  /** Members including those in their grace period, transient ones excepted: what MEMBERS lists and ROOM counts. */
  get size(): number {
    return this.members.size - this.members.transients + this.ghosts.size;
  }

  /** Nobody is in it, not even in a grace period. */
  get empty(): boolean {
    return this.members.size === 0 && this.ghosts.size === 0;
  }
}
