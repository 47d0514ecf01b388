/**
 * The chat domain: handshake, names, rooms, sequencing, presence and
 * heartbeats. Pure: every entry point takes the current time and returns the
 * effects to perform; nothing here reads a clock or a socket.
 *
 * @module
 */

import {
  checkName,
  checkRoom,
  DEFAULT_ROOM,
  encodeMessage,
  ErrorCode,
  type Hello,
  MessageFlags,
  nameKey,
  PROTOCOL_VERSION,
  type ProtocolError,
  type Send,
  utf8Length,
} from "../protocol/mod.ts";
import type { ClientMessage, ServerMessage } from "../protocol/messages.ts";
import type { DedupeIndex, MessageLog } from "../store/log.ts";
import { MemoryDedupe, MemoryLog } from "../store/memory.ts";
import type { CloseReason } from "./close.ts";
import type { Effect } from "./effects.ts";
import { Room, Session } from "./session.ts";

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
  log?: MessageLog;
  dedupe?: DedupeIndex;
}

/** Default rooms per client: several channels open, not a crawl of every room. */
export const DEFAULT_MAX_ROOMS_PER_CLIENT = 16;
/** Default room count: bounded so creating rooms cannot exhaust memory. */
export const DEFAULT_MAX_ROOMS = 10_000;

/** Bytes kept free in a MEMBERS frame for its room, flags and count fields. */
const MEMBERS_OVERHEAD = 300;

/** Maps a close reason to the error code sent with it, for the closes that carry one. */
const CLOSE_ERROR: Partial<Record<CloseReason, ErrorCode>> = {
  timeout: ErrorCode.TIMEOUT,
  slow_consumer: ErrorCode.SLOW_CONSUMER,
  shutdown: ErrorCode.SHUTTING_DOWN,
};

export class Broker<L> {
  readonly options: Readonly<BrokerOptions>;
  readonly heartbeatMs: number;
  #sessions = new Set<Session<L>>();
  #byName = new Map<string, Session<L>>();
  #rooms = new Map<string, Room<L>>();
  #log: MessageLog;
  #dedupe: DedupeIndex;
  #nextId = 1;

  constructor(options: BrokerOptions) {
    this.options = options;
    // Three beats per timeout: two may be lost before a healthy peer looks dead.
    this.heartbeatMs = Math.max(1, Math.floor(options.timeoutMs / 3));
    this.#log = options.log ?? new MemoryLog();
    this.#dedupe = options.dedupe ?? new MemoryDedupe();
  }

  /** Sessions that completed the handshake. */
  get online(): number {
    return this.#byName.size;
  }

  /** All sessions, including those still in the handshake. */
  get sessions(): ReadonlySet<Session<L>> {
    return this.#sessions;
  }

  room(name: string): Room<L> | undefined {
    return this.#rooms.get(name);
  }

  /** Registers a new connection; it must send HELLO within the timeout. */
  open(link: L, address: string, now: number): Session<L> {
    const s = new Session(this.#nextId++, link, address, now);
    this.#sessions.add(s);
    return s;
  }

  /** Handles one decoded frame from `s`. */
  handle(s: Session<L>, msg: ClientMessage | ServerMessage, now: number): Effect<L>[] {
    if (s.state === "closed") return [];
    s.lastSeen = now;
    if (s.state === "handshake") {
      if (msg.type !== "hello") {
        return this.#fail(
          s,
          ErrorCode.UNEXPECTED_FRAME,
          `expected HELLO first, got ${msg.type.toUpperCase()}`,
          "unexpected_frame",
          now,
        );
      }
      return this.#hello(s, msg, now);
    }
    switch (msg.type) {
      case "send":
        return this.#send(s, msg, now);
      case "join":
        return this.#join(s, msg.room, now);
      case "leave":
        return this.#leave(s, msg.room, now);
      case "who": {
        const room = this.#memberRoom(s, msg.room);
        return room instanceof Room ? this.#members(s, room) : room;
      }
      case "bye":
        return this.drop(s, "quit", now, msg.reason);
      case "ping":
        return [{ kind: "send", to: s, bytes: encodeMessage({ type: "pong", token: msg.token }) }];
      case "pong":
        return [];
      case "hello":
      case "welcome":
      case "message":
      case "ack":
      case "presence":
      case "members":
      case "error":
        return this.#fail(
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
  protocolError(s: Session<L>, err: ProtocolError, now: number): Effect<L>[] {
    if (err.code === ErrorCode.UNKNOWN_TYPE && s.state === "ready") {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, err.code, 0, `${err.message}; frame ignored`),
      }];
    }
    const reason: CloseReason = err.code === ErrorCode.TOO_LARGE ? "too_large" : "bad_frame";
    return this.#fail(s, err.code, err.message, reason, now);
  }

  /**
   * Ends a session for `reason`: announces the leave to every room it was in
   * and asks for the connection to be closed. Idempotent.
   */
  drop(s: Session<L>, reason: CloseReason, now: number, text = ""): Effect<L>[] {
    if (s.state === "closed") return [];
    const effects: Effect<L>[] = [];
    const code = CLOSE_ERROR[reason];
    if (code) effects.push({ kind: "send", to: s, bytes: errorFrame(true, code, 0, closeText(reason)) });
    const wasReady = s.state === "ready";
    s.state = "closed";
    this.#sessions.delete(s);
    if (wasReady) {
      this.#byName.delete(s.key);
      for (const room of s.rooms) {
        room.members.delete(s);
        if (reason !== "shutdown") {
          effects.push(this.#presence(room, "leave", s.name, reason, text, now, null));
        }
      }
      s.rooms.clear();
    }
    effects.push({ kind: "close", to: s, reason });
    return effects;
  }

  /**
   * Periodic work, driven by one shared timer: drops peers silent for longer
   * than the timeout (and handshakes that took too long), and pings peers
   * that have been quiet for a heartbeat so they can prove they are alive.
   */
  tick(now: number): Effect<L>[] {
    const effects: Effect<L>[] = [];
    const ping = encodeMessage({ type: "ping", token: now >>> 0 });
    for (const s of [...this.#sessions]) {
      const silent = now - s.lastSeen;
      if (silent > this.options.timeoutMs) effects.push(...this.drop(s, "timeout", now));
      else if (s.state === "ready" && silent >= this.heartbeatMs) {
        effects.push({ kind: "send", to: s, bytes: ping });
      }
    }
    return effects;
  }

  /** Tells everyone the server is stopping and closes every session. */
  shutdown(now: number): Effect<L>[] {
    const effects: Effect<L>[] = [];
    for (const s of [...this.#sessions]) effects.push(...this.drop(s, "shutdown", now));
    return effects;
  }

  #hello(s: Session<L>, hello: Hello, now: number): Effect<L>[] {
    if (hello.version !== PROTOCOL_VERSION) {
      return this.#fail(
        s,
        ErrorCode.UNSUPPORTED_VERSION,
        `protocol version ${hello.version} is not supported; this server speaks ${PROTOCOL_VERSION}`,
        "unsupported_version",
        now,
      );
    }
    const name = checkName(hello.name);
    if (!name.ok) return this.#fail(s, name.code, `Invalid name: ${name.reason}`, "invalid_name", now);
    const rooms: string[] = [];
    for (const raw of hello.rooms.length ? hello.rooms : [DEFAULT_ROOM]) {
      const room = checkRoom(raw);
      if (!room.ok) return this.#fail(s, room.code, `Invalid room: ${room.reason}`, "invalid_name", now);
      if (!rooms.includes(room.value)) rooms.push(room.value);
    }
    if (rooms.length > this.options.maxRoomsPerClient) {
      return this.#fail(
        s,
        ErrorCode.TOO_MANY_ROOMS,
        `${rooms.length} rooms exceeds the limit of ${this.options.maxRoomsPerClient} per client`,
        "invalid_name",
        now,
      );
    }
    if (this.#byName.size >= this.options.maxClients) {
      return this.#fail(
        s,
        ErrorCode.SERVER_FULL,
        `server is full (${this.options.maxClients} clients)`,
        "server_full",
        now,
      );
    }
    const key = nameKey(name.value);
    if (this.#byName.has(key)) {
      return this.#fail(s, ErrorCode.NAME_TAKEN, `name "${name.value}" is already online`, "name_taken", now);
    }
    const missing = rooms.filter((r) => !this.#rooms.has(r)).length;
    if (this.#rooms.size + missing > this.options.maxRooms) {
      return this.#fail(
        s,
        ErrorCode.TOO_MANY_ROOMS,
        "the server holds its maximum number of rooms",
        "invalid_name",
        now,
      );
    }

    s.state = "ready";
    s.name = name.value;
    s.key = key;
    this.#byName.set(key, s);
    const effects: Effect<L>[] = [{
      kind: "send",
      to: s,
      bytes: encodeMessage({
        type: "welcome",
        version: PROTOCOL_VERSION,
        name: s.name,
        heartbeatMs: this.heartbeatMs,
        timeoutMs: this.options.timeoutMs,
        maxFrame: this.options.maxFrame,
        maxText: this.options.maxText,
        rooms,
        extensions: [],
      }),
    }];
    for (const r of rooms) {
      const room = this.#roomFor(r);
      room.members.add(s);
      s.rooms.add(room);
      effects.push(...this.#members(s, room));
      effects.push(this.#presence(room, "join", s.name, "", "", now, s));
    }
    return effects;
  }

  #send(s: Session<L>, msg: Send, now: number): Effect<L>[] {
    if (msg.id === 0) {
      return this.#fail(s, ErrorCode.BAD_FRAME, "SEND id must not be 0", "bad_frame", now);
    }
    const room = this.#memberRoom(s, msg.room, msg.id);
    if (!(room instanceof Room)) return room;
    const prior = this.#dedupe.get(s.key, msg.id);
    if (prior) {
      return [{ kind: "send", to: s, bytes: encodeMessage({ type: "ack", id: msg.id, ...prior }) }];
    }
    const size = utf8Length(msg.text);
    if (size > this.options.maxText) {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(
          false,
          ErrorCode.TOO_LARGE,
          msg.id,
          `message text is ${size} bytes, limit ${this.options.maxText}`,
        ),
      }];
    }
    if (msg.text.trim() === "") {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, ErrorCode.INVALID_TEXT, msg.id, "message text is empty"),
      }];
    }
    // Sequence, store and fan-out happen in this one synchronous step, so no other message can overtake this one.
    const seq = this.#log.lastSeq(room.name) + 1;
    const stored = {
      room: room.name,
      seq,
      ts: now,
      flags: msg.flags & MessageFlags.ACTION,
      from: s.name,
      text: msg.text,
    };
    this.#log.append(stored);
    this.#dedupe.put(s.key, msg.id, { room: room.name, seq, ts: now });
    return [
      { kind: "broadcast", room, bytes: encodeMessage({ type: "message", ...stored }), except: null },
      {
        kind: "send",
        to: s,
        bytes: encodeMessage({ type: "ack", id: msg.id, room: room.name, seq, ts: now }),
      },
    ];
  }

  #join(s: Session<L>, raw: string, now: number): Effect<L>[] {
    const checked = checkRoom(raw);
    if (!checked.ok) {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, checked.code, 0, `Invalid room: ${checked.reason}`),
      }];
    }
    const existing = this.#rooms.get(checked.value);
    if (existing?.members.has(s)) return this.#members(s, existing);
    if (s.rooms.size >= this.options.maxRoomsPerClient) {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, ErrorCode.TOO_MANY_ROOMS, 0, `already in ${s.rooms.size} rooms, the limit`),
      }];
    }
    if (!existing && this.#rooms.size >= this.options.maxRooms) {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, ErrorCode.TOO_MANY_ROOMS, 0, "the server holds its maximum number of rooms"),
      }];
    }
    const room = this.#roomFor(checked.value);
    room.members.add(s);
    s.rooms.add(room);
    return [...this.#members(s, room), this.#presence(room, "join", s.name, "", "", now, s)];
  }

  #leave(s: Session<L>, raw: string, now: number): Effect<L>[] {
    const room = this.#memberRoom(s, raw);
    if (!(room instanceof Room)) return room;
    // Announce while the leaver is still a member, so it sees its own leave as confirmation.
    const effect = this.#presence(room, "leave", s.name, "left", "", now, null);
    const bytes = effect.bytes;
    room.members.delete(s);
    s.rooms.delete(room);
    return [{ kind: "send", to: s, bytes }, { ...effect }];
  }

  /** The room `raw` names if `s` is in it, or the error effects to send instead. */
  #memberRoom(s: Session<L>, raw: string, ref = 0): Room<L> | Effect<L>[] {
    const checked = checkRoom(raw);
    if (!checked.ok) {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, checked.code, ref, `Invalid room: ${checked.reason}`),
      }];
    }
    const room = this.#rooms.get(checked.value);
    if (!room || !room.members.has(s)) {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, ErrorCode.NOT_IN_ROOM, ref, `not in room "${checked.value}"`),
      }];
    }
    return room;
  }

  #roomFor(name: string): Room<L> {
    let room = this.#rooms.get(name);
    if (!room) this.#rooms.set(name, room = new Room(name));
    return room;
  }

  /** MEMBERS frames for `room`, split so each fits the frame limit. */
  #members(s: Session<L>, room: Room<L>): Effect<L>[] {
    const effects: Effect<L>[] = [];
    const budget = this.options.maxFrame - MEMBERS_OVERHEAD;
    let names: string[] = [];
    let bytes = 0;
    const flush = (more: boolean) => {
      effects.push({
        kind: "send",
        to: s,
        bytes: encodeMessage({ type: "members", room: room.name, more, names }),
      });
      names = [];
      bytes = 0;
    };
    for (const m of room.members) {
      const size = utf8Length(m.name) + 1;
      if (names.length > 0 && (bytes + size > budget || names.length >= 400)) flush(true);
      names.push(m.name);
      bytes += size;
    }
    flush(false);
    return effects;
  }

  #presence(
    room: Room<L>,
    event: "join" | "leave",
    name: string,
    reason: string,
    text: string,
    ts: number,
    except: Session<L> | null,
  ) {
    return {
      kind: "broadcast" as const,
      room,
      bytes: encodeMessage({ type: "presence", room: room.name, event, name, reason, text, ts }),
      except,
    };
  }

  /** Sends a fatal error and drops the session. */
  #fail(s: Session<L>, code: ErrorCode, message: string, reason: CloseReason, now: number): Effect<L>[] {
    return [{ kind: "send", to: s, bytes: errorFrame(true, code, 0, message) }, ...this.drop(s, reason, now)];
  }
}

function errorFrame(fatal: boolean, code: ErrorCode, ref: number, message: string): Uint8Array {
  return encodeMessage({ type: "error", fatal, code, ref, message });
}

function closeText(reason: CloseReason): string {
  switch (reason) {
    case "timeout":
      return "no frame arrived within the timeout";
    case "slow_consumer":
      return "outbound queue overflowed: the client is not reading fast enough";
    case "shutdown":
      return "the server is shutting down";
    default:
      return reason;
  }
}
