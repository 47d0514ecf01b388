/**
 * The broker's state, shared by the modules that each handle one part of
 * the chat (handshake, names, rooms, messaging, history, moderation,
 * heartbeat), and the small builders of effects they all use.
 *
 * @module
 */

import type { ErrorCode, ServerMessage } from "../protocol/mod.ts";
import type { Effect, SendEffect } from "./effects.ts";
import type { AddressBuckets, AuthFailures, RateOptions } from "./guard.ts";
import type { StoredLookalikes } from "./lookalikes.ts";
import type { NameRegistry } from "./names.ts";
import type { AccountStore, BanStore, ConversationTail, Page, RoomSettings } from "./ports.ts";
import type { RoomTable } from "./rooms.ts";
import type { Session } from "./session.ts";

/** Broker settings; the CLI validates them before they get here. */
export interface BrokerOptions {
  maxClients: number;
  /** Silence (ms) after which a peer is dropped; also the handshake deadline. */
  timeoutMs: number;
  maxFrame: number;
  maxText: number;
  /** Rooms one client may be in at once. */
  maxRoomsPerClient: number;
  /** Rooms the server tracks in all: each costs memory for as long as the server runs. */
  maxRooms: number;
  /** Registered names. */
  accounts: AccountStore;
  /** Bans by name and address. */
  bans: BanStore;
  /** Room topics. */
  roomSettings: RoomSettings;
  /** Only operators may set room topics (FORBIDDEN for others). Default false: any member may. */
  operatorTopics?: boolean;
  /** The message log's id, sent in WELCOME: a client's sequence numbers only compare within one log. */
  logId: string;
  /** Recent messages sent to a client joining a room (0: none). */
  historyLimit?: number;
  /** How long an uncleanly dropped user keeps its name and seats before its leave is announced (0: no wait). */
  graceMs?: number;
  /** Random bytes for resume tokens; injectable so tests are repeatable. */
  randomBytes?: (n: number) => Uint8Array;
  /** Server password mode: an unregistered name needs the server password (checked by the network layer). */
  requirePassword?: boolean;
  /** Whether users may register their name with /register. */
  allowRegister?: boolean;
  /** Message of the day, sent as a NOTICE after the welcome. */
  motd?: string;
  /** Per-client message rate limit. */
  rate?: RateOptions;
  /** Members above which a room goes quiet (no presence, a count instead of the member list); 0: never. */
  presenceLimit?: number;
  /**
   * False in a cluster: a stored message reaches its room from the shared log's stream (Broker.delivered),
   * on every node alike, not from the answer to this node's append. Default true.
   */
  deliverOnAppend?: boolean;
  /**
   * A node of a cluster: names are claimed cluster-wide before a welcome, and sessions are shared with the
   * other nodes (claim, share and unshare effects). Default false.
   */
  cluster?: boolean;
}

/**
 * What the broker does with the pages a read brings back (or the error), once the log answers; and with
 * the conversations listed, when the read asked for them.
 */
export type ReadThen = (answer: Page[] | Error, now: number, conversations?: ConversationTail[]) => Effect[];

/** Everything the broker knows, in one place its modules share. */
export interface Context {
  readonly options: Readonly<BrokerOptions>;
  readonly heartbeatMs: number;
  readonly historyLimit: number;
  readonly graceMs: number;
  readonly presenceLimit: number;
  readonly randomBytes: (n: number) => Uint8Array;
  /** Sessions in the handshake or ready: those the heartbeat watches. */
  readonly sessions: Set<Session>;
  /** Every session not yet closed (ghosts included), by id: how log answers find their session. */
  readonly byId: Map<number, Session>;
  /** Sessions whose connection dropped and who may still resume, oldest first. */
  readonly ghosts: Set<Session>;
  /** Ready transient sessions (`chat send`, `chat tail`): they hold no name but count towards the client limit. */
  readonly transients: Set<Session>;
  /** Room creations per address. */
  readonly roomCreations: AddressBuckets;
  readonly names: NameRegistry;
  /** Registered and banned names by look-alike skeleton. */
  readonly lookalikes: StoredLookalikes;
  readonly rooms: RoomTable;
  readonly authFailures: AuthFailures;
  /** Muted name keys and when each mute ends (Infinity: until lifted), as of the ban store's `version`. */
  readonly mutes: { version: number; until: Map<string, number> };
  /** Ids of direct messages delivered live, for dedupe: those are not stored, so this in-memory window is their guard. */
  readonly directReceipts: Map<string, number>;
  /** Reads asked of the log, by token, and what to do with their answer. */
  readonly reads: Map<number, ReadThen>;
  /** In a cluster: name claims in flight, by session id, and what to do with the answer. */
  readonly claims: Map<number, (ok: boolean, now: number) => Effect[]>;
  /** In a cluster: the other nodes' sessions, by "node:sid". */
  readonly remotes: Map<string, Session>;
  /** Ids given to other nodes' sessions so far. */
  remoteIds: number;
  nextReadToken: number;
}

/**
 * In a cluster, what the other nodes must learn of `s` now (its rooms, name or away message changed): a
 * share effect for a ready session of this node that holds a name, nothing otherwise.
 */
export function share(ctx: Context, s: Session): Effect[] {
  if (!ctx.options.cluster || s.remote !== "" || s.transient || s.state !== "ready") return [];
  return [{
    kind: "share",
    state: {
      sid: s.id,
      name: s.name,
      key: s.key,
      rooms: [...s.rooms].map((r) => r.name),
      away: s.away,
      token: s.token,
      prevToken: s.prevToken,
    },
  }];
}

/** One frame to one session. */
export function send(to: Session, msg: ServerMessage): SendEffect {
  return { kind: "send", to: to.id, msg };
}

/** A non-fatal error answering the frame with id `ref` (0: no id). */
export function refuse(to: Session, code: ErrorCode, ref: number, message: string): Effect[] {
  return [{ kind: "send", to: to.id, msg: { type: "error", fatal: false, code, ref, message } }];
}

/** A fatal error: the last frame before the session's close. */
export function fatal(to: Session, code: ErrorCode, message: string): SendEffect {
  return { kind: "send", to: to.id, msg: { type: "error", fatal: true, code, ref: 0, message }, final: true };
}
