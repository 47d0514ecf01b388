/**
 * The chat domain's front door. Pure: every input takes the current time
 * and returns the effects to perform (src/chat/effects.ts); nothing here
 * reads a clock, a socket or a store. Its inputs are the frames a session
 * sends, the ends of connections, the heartbeat, and what the message log
 * answers (src/chat/commit.ts). Each part of the chat lives in its own
 * module: handshake (and resume, ghosts), names, rooms (and presence),
 * messaging (and DMs), history, moderation (and accounts), heartbeat.
 *
 * @module
 */

import { type ClientMessage, ErrorCode, type ProtocolError } from "../protocol/mod.ts";
import type { CloseReason } from "./close.ts";
import type { LogOutcome } from "./commit.ts";
import { type BrokerOptions, type Context, refuse, send, share } from "./context.ts";
import type { Effect, SharedSession } from "./effects.ts";
import { AddressBuckets, AuthFailures, ROOM_CREATION_PER_ADDRESS } from "./guard.ts";
import { claimed, DEFAULT_GRACE_MS, drop, fail, hello, protocolFailure, shutdown } from "./handshake.ts";
import { remoteGone, remoteNodeDown, remoteUpsert } from "./remote.ts";
import { heartbeatOf, tick, watch } from "./heartbeat.ts";
import { list, topic, topicChanged } from "./directory.ts";
import { DEFAULT_HISTORY, fetch, readDone } from "./history.ts";
import { delivered, logged, privateMessage, sendMessage } from "./messaging.ts";
import { moderate, register, registered } from "./moderation.ts";
import { StoredLookalikes } from "./lookalikes.ts";
import { NameRegistry, nick } from "./names.ts";
import type { RoomTopic, StoredMessage } from "./ports.ts";
import { away, DEFAULT_PRESENCE_LIMIT, join, leave, MAX_REASON_CHARS, RoomTable, who } from "./rooms.ts";
import { type Room, Session } from "./session.ts";

export type { BrokerOptions } from "./context.ts";
export { DEFAULT_HISTORY, FETCH_BYTES } from "./history.ts";
export { DEFAULT_GRACE_MS } from "./handshake.ts";
export { DEFAULT_MAX_ROOMS, DEFAULT_MAX_ROOMS_PER_CLIENT, DEFAULT_PRESENCE_LIMIT } from "./rooms.ts";
export { pingDelay, tickInterval } from "./heartbeat.ts";

export class Broker {
  readonly options: Readonly<BrokerOptions>;
  readonly heartbeatMs: number;
  #ctx: Context;
  #nextId = 1;

  constructor(options: BrokerOptions) {
    this.options = options;
    this.heartbeatMs = heartbeatOf(options.timeoutMs);
    this.#ctx = {
      options,
      heartbeatMs: this.heartbeatMs,
      historyLimit: options.historyLimit ?? DEFAULT_HISTORY,
      graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
      presenceLimit: options.presenceLimit ?? DEFAULT_PRESENCE_LIMIT,
      randomBytes: options.randomBytes ?? ((n) => crypto.getRandomValues(new Uint8Array(n))),
      sessions: new Set(),
      byId: new Map(),
      ghosts: new Set(),
      transients: new Set(),
      roomCreations: new AddressBuckets(ROOM_CREATION_PER_ADDRESS),
      names: new NameRegistry(),
      lookalikes: new StoredLookalikes(options.accounts),
      rooms: new RoomTable(),
      authFailures: new AuthFailures(),
      mutes: { version: -1, until: new Map() },
      directReceipts: new Map(),
      reads: new Map(),
      nextReadToken: 1,
      claims: new Map(),
      remotes: new Map(),
      remoteIds: 0,
    };
  }

  /** Names held: sessions that completed the handshake, ghosts included (transient sessions hold none). */
  get online(): number {
    return this.#ctx.names.size;
  }

  /** Rooms the server holds now: those with someone in them (empty rooms are forgotten). */
  get rooms(): number {
    return this.#ctx.rooms.size;
  }

  /** Sessions in the handshake or ready. */
  get sessions(): ReadonlySet<Session> {
    return this.#ctx.sessions;
  }

  room(name: string): Room | undefined {
    return this.#ctx.rooms.get(name);
  }

  /** The session with id `id`, until it is closed (ghosts included). */
  session(id: number): Session | undefined {
    return this.#ctx.byId.get(id);
  }

  /** Registers a new connection from `address`; it must send HELLO within the timeout. */
  open(address: string, now: number): Session {
    const s = new Session(this.#nextId++, address, now);
    this.#ctx.sessions.add(s);
    this.#ctx.byId.set(s.id, s);
    watch(this.#ctx, s, now);
    return s;
  }

  /** Handles one decoded frame from `s`. */
  handle(s: Session, msg: ClientMessage, now: number): Effect[] {
    const ctx = this.#ctx;
    if (s.state === "closed" || s.state === "ghost") return [];
    s.lastSeen = now;
    if (s.state === "handshake") {
      if (msg.type === "hello") return hello(ctx, s, msg, now);
      return fail(
        ctx,
        s,
        ErrorCode.UNEXPECTED_FRAME,
        `expected HELLO first, got ${msg.type.toUpperCase()}`,
        "unexpected_frame",
        now,
      );
    }
    switch (msg.type) {
      case "send":
        return sendMessage(ctx, s, msg, now);
      case "join":
        return join(ctx, s, msg.room, now);
      case "leave":
        return leave(ctx, s, msg.room, now);
      case "who":
        return who(ctx, s, msg.room);
      case "bye":
        return drop(ctx, s, "quit", now, [...msg.reason].slice(0, MAX_REASON_CHARS).join(""));
      case "fetch":
        return fetch(ctx, s, msg);
      case "private":
        return privateMessage(ctx, s, msg, now);
      case "nick":
      case "away":
      case "register":
        if (s.transient) {
          return refuse(
            s,
            ErrorCode.FORBIDDEN,
            0,
            `a transient session (chat send, chat tail) cannot ${msg.type}`,
          );
        }
        if (msg.type === "nick") return nick(ctx, s, msg.name, now);
        if (msg.type === "away") return away(ctx, s, msg.text, now);
        return register(ctx, s, msg.password);
      case "moderate":
        return moderate(ctx, s, msg, now);
      case "list":
        return list(ctx, s, msg, now);
      case "topic":
        return topic(ctx, s, msg, now);
      case "ping":
        return [send(s, { type: "pong", token: msg.token })];
      case "pong":
        return [];
      case "hello":
        return fail(
          ctx,
          s,
          ErrorCode.UNEXPECTED_FRAME,
          `${msg.type.toUpperCase()} is not allowed from a client now`,
          "unexpected_frame",
          now,
        );
      default: {
        const never: never = msg;
        throw new TypeError(`unhandled message ${(never as ClientMessage).type}`);
      }
    }
  }

  /** A frame from `s` could not be decoded. Unknown types are answered and skipped; anything else closes. */
  protocolError(s: Session, err: ProtocolError, now: number): Effect[] {
    return protocolFailure(this.#ctx, s, err, now);
  }

  /**
   * Ends a session for `reason`: announces the leave to every room it was in
   * and asks for the connection to be closed. Idempotent.
   */
  drop(s: Session, reason: CloseReason, now: number, text = ""): Effect[] {
    return drop(this.#ctx, s, reason, now, text);
  }

  /** Periodic work, driven by one shared timer (src/chat/heartbeat.ts). */
  tick(now: number): Effect[] {
    return tick(this.#ctx, now);
  }

  /** Tells everyone the server is stopping and closes every session. */
  shutdown(now: number): Effect[] {
    return shutdown(this.#ctx, now);
  }

  /** Completes /register once the network layer has hashed the password. */
  registered(s: Session, hash: string, now: number): Effect[] {
    return registered(this.#ctx, s, hash, now);
  }

  /** The message log answered a job the broker asked for (an append, a probe, a read). */
  logged(outcome: LogOutcome, now: number): Effect[] {
    if (outcome.kind === "read") {
      if ("error" in outcome) return readDone(this.#ctx, outcome.job.token, outcome.error, now);
      return readDone(this.#ctx, outcome.job.token, outcome.pages, now, outcome.conversations);
    }
    return logged(this.#ctx, outcome, now);
  }

  /** In a cluster: the answer to a ClaimEffect for session `s`'s name. */
  claimed(s: Session, ok: boolean, now: number): Effect[] {
    return claimed(this.#ctx, s, ok, now);
  }

  /** In a cluster: a session of another node appeared or changed (src/chat/remote.ts). */
  remoteUpsert(node: string, shared: SharedSession, now: number): Effect[] {
    return remoteUpsert(this.#ctx, node, shared, now);
  }

  /** In a cluster: a session of another node ended. */
  remoteGone(node: string, sid: number, reason: string, text: string, now: number): Effect[] {
    return remoteGone(this.#ctx, node, sid, reason, text, now);
  }

  /** In a cluster: another node is gone; its sessions are held for the grace period. */
  remoteNodeDown(node: string, now: number): Effect[] {
    return remoteNodeDown(this.#ctx, node, now);
  }

  /** This node's ready sessions that hold a name, as the other nodes of a cluster are to see them. */
  shared(): SharedSession[] {
    const out: SharedSession[] = [];
    for (const s of this.#ctx.sessions) {
      for (const e of share(this.#ctx, s)) if (e.kind === "share") out.push(e.state);
    }
    return out;
  }

  /** In a cluster: another node set `topic`; this node's members of its room hear it (src/chat/directory.ts). */
  topicChanged(topic: RoomTopic): Effect[] {
    return topicChanged(this.#ctx, topic);
  }

  /**
   * A message stored by someone else (another node of a cluster): its room
   * (or the parties of its conversation) gets it exactly as if this broker
   * had accepted it.
   */
  delivered(message: StoredMessage): Effect[] {
    return delivered(this.#ctx, message);
  }
}
