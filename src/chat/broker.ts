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
  ExtensionTag,
  type Fetch,
  type Hello,
  MAX_FETCH,
  MessageFlags,
  type Moderate,
  nameKey,
  nameSkeleton,
  type PresenceEvent,
  type Private,
  PROTOCOL_VERSION,
  type ProtocolError,
  type Send,
  utf8Length,
  WireReader,
} from "../protocol/mod.ts";
import type { ClientMessage, ServerMessage } from "../protocol/messages.ts";
import { type Ban, type MessageStore, type StoredMessage, StoreError } from "../store/log.ts";
import { MemoryStore } from "../store/memory.ts";
import { type CloseReason, UNCLEAN_CLOSES } from "./close.ts";
import type { BroadcastEffect, Effect } from "./effects.ts";
import { AuthFailures, DEFAULT_RATE, hostOf, type RateOptions, TokenBucket } from "./guard.ts";
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
  /** Where messages are kept; in memory when omitted. */
  store?: MessageStore;
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
}

/** Default history on join: a screenful of context. */
export const DEFAULT_HISTORY = 50;
/** Default grace period: long enough for a reconnect after a blip, short enough that a real leave is shown promptly. */
export const DEFAULT_GRACE_MS = 5000;
/** Bytes of MESSAGE frames one FETCH answer may queue: a page stays well within the outbox budget. */
export const FETCH_BYTES = 256 * 1024;
/** Resume token length in bytes: 128 bits cannot be guessed. */
const TOKEN_BYTES = 16;
/** Direct-message ids remembered for dedupe: DMs are not stored, so this in-memory window is their guard. */
const DIRECT_RECEIPTS = 100_000;

/**
 * Default room size above which presence stops. Announcing every join to
 * every member and listing every member to every joiner is quadratic: 10,000
 * joins to one room would cost 50 million frames. Below this size presence is
 * what people expect; above it a join or leave is noise nobody reads.
 */
export const DEFAULT_PRESENCE_LIMIT = 200;

/** Default rooms per client: several channels open, not a crawl of every room. */
export const DEFAULT_MAX_ROOMS_PER_CLIENT = 16;
/** Default room count: bounded so creating rooms cannot exhaust memory. */
export const DEFAULT_MAX_ROOMS = 10_000;

/** Longest ban or mute with an end: ten years; longer ones are stored as "until lifted". */
const MAX_MODERATION_MS = 10 * 365 * 24 * 3600 * 1000;

/** Longest /quit reason relayed to a room: a sentence, not a message body. */
const MAX_REASON_CHARS = 200;

/** Names per MEMBERS frame: 400 names of at most 129 bytes fit the default 64 KiB frame. */
const MEMBERS_PER_FRAME = 400;

/** Bytes kept free in a MEMBERS frame for its room, flags and count fields. */
const MEMBERS_OVERHEAD = 300;

/** Maps a close reason to the error code sent with it, for the closes that carry one. */
const CLOSE_ERROR: Partial<Record<CloseReason, ErrorCode>> = {
  timeout: ErrorCode.TIMEOUT,
  slow_consumer: ErrorCode.SLOW_CONSUMER,
  flood: ErrorCode.RATE_LIMITED,
  shutdown: ErrorCode.SHUTTING_DOWN,
};

export class Broker<L> {
  readonly options: Readonly<BrokerOptions>;
  readonly heartbeatMs: number;
  #sessions = new Set<Session<L>>();
  #byName = new Map<string, Session<L>>();
  #rooms = new Map<string, Room<L>>();
  #store: MessageStore;
  #ghosts = new Set<Session<L>>();
  // Sends staged in the store and not yet committed: told of the outcome by commit().
  #inflight: Array<{ session: Session<L>; id: number }> = [];
  #directReceipts = new Map<string, number>();
  // Online (and ghost) sessions by name skeleton: look-alike names are refused.
  #bySkeleton = new Map<string, Session<L>>();
  #authFailures = new AuthFailures();
  #mutes = new Map<string, number>();
  #nextId = 1;
  #historyLimit: number;
  #graceMs: number;
  #presenceLimit: number;
  #randomBytes: (n: number) => Uint8Array;

  constructor(options: BrokerOptions) {
    this.options = options;
    // Three beats per timeout: two may be lost before a healthy peer looks dead.
    this.heartbeatMs = Math.max(1, Math.floor(options.timeoutMs / 3));
    this.#store = options.store ?? new MemoryStore();
    this.#historyLimit = options.historyLimit ?? DEFAULT_HISTORY;
    this.#graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.#presenceLimit = options.presenceLimit ?? DEFAULT_PRESENCE_LIMIT;
    this.#randomBytes = options.randomBytes ?? ((n) => crypto.getRandomValues(new Uint8Array(n)));
  }

  get store(): MessageStore {
    return this.#store;
  }

  /**
   * True when `msg` reads stored history (HELLO, JOIN, FETCH) while writes
   * are staged: the caller commits first, so the reader sees every message
   * that will ever be broadcast before it became a member.
   */
  needsCommit(msg: ClientMessage | ServerMessage): boolean {
    return this.#store.staged > 0 && (msg.type === "hello" || msg.type === "join" || msg.type === "fetch");
  }

  /**
   * Commits the store's staged batch. On failure nothing of the batch is
   * delivered or acknowledged (the caller drops effects marked durable) and
   * each sender gets STORAGE_ERROR for its message.
   */
  commit(): { ok: true; effects: Effect<L>[] } | { ok: false; error: StoreError; effects: Effect<L>[] } {
    const inflight = this.#inflight;
    this.#inflight = [];
    try {
      this.#store.commit();
      return { ok: true, effects: [] };
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      const effects: Effect<L>[] = [];
      for (const { session, id } of inflight) {
        if (session.state !== "ready") continue;
        effects.push({
          kind: "send",
          to: session,
          bytes: errorFrame(
            false,
            ErrorCode.STORAGE_ERROR,
            id,
            `message not stored (${
              err.kind === "full" ? "disk full" : "storage failure"
            }); it was not delivered, retry later`,
          ),
        });
      }
      return { ok: false, error: err, effects };
    }
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
    if (s.state === "closed" || s.state === "ghost") return [];
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
        return this.drop(s, "quit", now, [...msg.reason].slice(0, MAX_REASON_CHARS).join(""));
      case "fetch":
        return this.#fetch(s, msg);
      case "private":
        return this.#private(s, msg, now);
      case "nick":
        return this.#nick(s, msg.name, now);
      case "away":
        return this.#away(s, msg.text, now);
      case "register":
        return this.#register(s, msg.password);
      case "moderate":
        return this.#moderate(s, msg, now);
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
      case "room":
      case "error":
      case "fetched":
      case "direct":
      case "notice":
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
    // The session may have ended earlier in the same chunk (a bad header after a fatal frame): nothing more to say.
    if (s.state === "closed" || s.state === "ghost") return [];
    if (err.code === ErrorCode.UNKNOWN_TYPE && s.state === "ready") {
      s.lastSeen = now; // a frame arrived: the peer is alive, even if we cannot read it
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
    if (s.state === "closed" || s.state === "ghost") return [];
    const effects: Effect<L>[] = [];
    const code = CLOSE_ERROR[reason];
    if (code) effects.push({ kind: "send", to: s, bytes: errorFrame(true, code, 0, closeText(reason)) });
    const wasReady = s.state === "ready";
    this.#sessions.delete(s);
    if (wasReady && this.#graceMs > 0 && UNCLEAN_CLOSES.has(reason)) {
      // Keep the name and seats for a while: a resume within the grace period makes no leave/join noise.
      s.state = "ghost";
      s.ghostUntil = now + this.#graceMs;
      s.ghostReason = reason;
      this.#ghosts.add(s);
      for (const room of s.rooms) {
        room.members.delete(s);
        room.ghosts.add(s);
      }
    } else {
      s.state = "closed";
      if (wasReady) effects.push(...this.#vacate(s, reason === "shutdown" ? null : reason, text, now));
    }
    effects.push({ kind: "close", to: s, reason });
    return effects;
  }

  /** Frees a ready or ghost session's name and seats, announcing the leave unless `reason` is null. */
  #vacate(s: Session<L>, reason: string | null, text: string, now: number): Effect<L>[] {
    const effects: Effect<L>[] = [];
    if (this.#byName.get(s.key) === s) this.#byName.delete(s.key);
    const skeleton = nameSkeleton(s.name);
    if (this.#bySkeleton.get(skeleton) === s) this.#bySkeleton.delete(skeleton);
    this.#ghosts.delete(s);
    for (const room of s.rooms) {
      room.members.delete(s);
      room.ghosts.delete(s);
      if (reason === null) continue;
      effects.push(...this.#presence(room, "leave", s.name, reason, text, now, null), ...this.#shrank(room));
    }
    s.rooms.clear();
    return effects;
  }

  /**
   * Periodic work, driven by one shared timer: drops peers silent for longer
   * than the timeout (and handshakes that took too long), and pings peers
   * that have been quiet for their {@linkcode pingDelay} (then once a
   * heartbeat) so they can prove they are alive.
   */
  tick(now: number): Effect<L>[] {
    const effects: Effect<L>[] = [];
    // Encoded on the first ping this check sends: most checks (every heartbeat / 16) send none.
    let ping: Uint8Array | null = null;
    // Deleting from a Set while iterating it is safe in JavaScript: no copy of thousands of sessions per tick.
    for (const g of this.#ghosts) {
      if (g.ghostUntil <= now) {
        g.state = "closed";
        effects.push(...this.#vacate(g, g.ghostReason, "", now));
      }
    }
    const heartbeat = this.heartbeatMs;
    for (const s of this.#sessions) {
      const silent = now - s.lastSeen;
      if (silent > this.options.timeoutMs) effects.push(...this.drop(s, "timeout", now));
      else if (
        s.state === "ready" && silent >= pingDelay(s.id, heartbeat) && now - s.lastPinged >= heartbeat
      ) {
        s.lastPinged = now;
        ping ??= encodeMessage({ type: "ping", token: now >>> 0 });
        effects.push({ kind: "send", to: s, bytes: ping });
      }
    }
    return effects;
  }

  /** Tells everyone the server is stopping and closes every session. */
  shutdown(now: number): Effect<L>[] {
    const effects: Effect<L>[] = [];
    for (const s of [...this.#sessions]) effects.push(...this.drop(s, "shutdown", now));
    for (const g of [...this.#ghosts]) {
      g.state = "closed";
      this.#vacate(g, null, "", now);
    }
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
    let token: string | null;
    let since: Map<string, number>;
    try {
      ({ token, since } = readHelloExtensions(hello));
    } catch (err) {
      return this.protocolError(s, err as ProtocolError, now);
    }
    const key = nameKey(name.value);
    const ip = hostOf(s.address);
    const ban = this.#banOf(key, ip, now);
    if (ban) return this.#fail(s, ErrorCode.BANNED, banText(ban), "banned", now);
    // A registered name needs its own password; in server-password mode every other name needs the server's.
    if (this.#store.account(key) !== undefined || this.options.requirePassword) {
      if (s.auth.password !== "ok") {
        // No hint which part was wrong, and each failure from this address waits longer for its answer.
        const ms = this.#authFailures.fail(ip, now);
        return [
          { kind: "delay", ms },
          ...this.#fail(s, ErrorCode.AUTH_FAILED, "authentication failed", "auth_failed", now),
        ];
      }
      this.#authFailures.succeed(ip);
    }
    const holder = this.#byName.get(key);
    // A resume: the same user, proven by the token of the session that holds the name.
    // The previous token counts too: a WELCOME lost with its connection never reached the client.
    const resumed = holder !== undefined && token !== null &&
        ((holder.token !== "" && sameToken(holder.token, token)) ||
          (holder.prevToken !== "" && sameToken(holder.prevToken, token)))
      ? holder
      : null;
    if (holder && !resumed) {
      return this.#fail(s, ErrorCode.NAME_TAKEN, `name "${name.value}" is already online`, "name_taken", now);
    }
    const skeleton = nameSkeleton(name.value);
    const lookalike = this.#bySkeleton.get(skeleton);
    if (lookalike && lookalike.key !== key) {
      return this.#fail(
        s,
        ErrorCode.NAME_TAKEN,
        `name "${name.value}" looks too much like "${lookalike.name}", who is online`,
        "name_taken",
        now,
      );
    }
    if (!resumed && this.#byName.size >= this.options.maxClients) {
      return this.#fail(
        s,
        ErrorCode.SERVER_FULL,
        `server is full (${this.options.maxClients} clients)`,
        "server_full",
        now,
      );
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

    const effects: Effect<L>[] = [];
    // Seats the resumed session held: taken over silently, without leave/join noise.
    const held = new Set<Room<L>>();
    if (resumed) {
      for (const room of resumed.rooms) held.add(room);
      if (resumed.state === "ready") {
        // The old connection may still look alive (a silent network): close it, quietly.
        resumed.state = "closed";
        this.#sessions.delete(resumed);
        effects.push({ kind: "close", to: resumed, reason: "replaced" });
      }
      resumed.state = "closed";
      this.#ghosts.delete(resumed);
      for (const room of resumed.rooms) {
        room.members.delete(resumed);
        room.ghosts.delete(resumed);
        if (!rooms.includes(room.name)) {
          effects.push(
            ...this.#presence(room, "leave", resumed.name, "left", "", now, null),
            ...this.#shrank(room),
          );
        }
      }
      resumed.rooms.clear();
    }

    s.state = "ready";
    s.name = name.value;
    s.key = key;
    s.token = hex(this.#randomBytes(TOKEN_BYTES));
    s.prevToken = resumed?.token ?? "";
    s.admin = s.auth.admin;
    this.#byName.set(key, s);
    this.#bySkeleton.set(skeleton, s);
    effects.push({
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
        extensions: [
          { tag: ExtensionTag.RESUME_TOKEN, value: unhex(s.token) },
          { tag: ExtensionTag.STORE_ID, value: unhex(this.#store.id) },
        ],
      }),
    });
    for (const r of rooms) {
      const room = this.#roomFor(r);
      room.members.add(s);
      s.rooms.add(room);
      effects.push(...this.#grew(room, s), ...this.#listFor(s, room));
      if (!since.has(r)) effects.push(...this.#history(s, room));
      if (!held.has(room)) effects.push(...this.#presence(room, "join", s.name, "", "", now, s));
    }
    if (this.options.motd) effects.push(this.#notice(s, "motd", this.options.motd));
    return effects;
  }

  #notice(s: Session<L>, kind: string, text: string): Effect<L> {
    return { kind: "send", to: s, bytes: encodeMessage({ type: "notice", kind, text }) };
  }

  /**
   * Mute and rate checks for a message with id `ref`: the error effects to
   * answer with, or null to go ahead. Sustained flooding drops the client.
   */
  #limit(s: Session<L>, ref: number, now: number): Effect<L>[] | null {
    const muted = this.#mutes.get(s.key);
    if (muted !== undefined) {
      if (muted > now) {
        const until = muted === Infinity
          ? "until an operator lifts it"
          : `for ${Math.ceil((muted - now) / 1000)} s`;
        return [{
          kind: "send",
          to: s,
          bytes: errorFrame(false, ErrorCode.MUTED, ref, `you are muted ${until}`),
        }];
      }
      this.#mutes.delete(s.key);
    }
    s.bucket ??= new TokenBucket(this.options.rate ?? DEFAULT_RATE, now);
    const verdict = s.bucket.take(now);
    if (verdict === "ok") return null;
    if (verdict === "flood") return this.drop(s, "flood", now, "sending too fast");
    return [{
      kind: "send",
      to: s,
      bytes: errorFrame(
        false,
        ErrorCode.RATE_LIMITED,
        ref,
        "too many messages too fast; this one was dropped, retry later",
      ),
    }];
  }

  #send(s: Session<L>, msg: Send, now: number): Effect<L>[] {
    if (msg.id === 0) {
      return this.#fail(s, ErrorCode.BAD_FRAME, "SEND id must not be 0", "bad_frame", now);
    }
    const room = this.#memberRoom(s, msg.room, msg.id);
    if (!(room instanceof Room)) return room;
    const prior = this.#store.receipt(s.key, msg.id);
    // A resend of a stored message costs nothing: only new messages count against the limits.
    const limited = prior ? null : this.#limit(s, msg.id, now);
    if (limited) return limited;
    if (prior) {
      // Durable: if the original is still staged, this ack waits for (and depends on) its commit.
      return [{
        kind: "send",
        to: s,
        bytes: encodeMessage({ type: "ack", id: msg.id, ...prior }),
        durable: true,
      }];
    }
    const size = textBytes(msg.text, this.options.maxText);
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
    if (isBlank(msg.text)) {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, ErrorCode.INVALID_TEXT, msg.id, "message text is empty"),
      }];
    }
    // Sequence, stage and fan-out are decided in this one synchronous step, so no other message can overtake this one.
    const seq = this.#store.lastSeq(room.name) + 1;
    const stored: StoredMessage = {
      room: room.name,
      seq,
      ts: now,
      flags: msg.flags & MessageFlags.ACTION,
      from: s.name,
      text: msg.text,
    };
    this.#store.append(stored, { key: s.key, id: msg.id });
    if (this.#store.staged > 0) this.#inflight.push({ session: s, id: msg.id });
    // The ACK goes first: the sender learns the seq of its message before its own copy arrives.
    return [
      {
        kind: "send",
        to: s,
        bytes: encodeMessage({ type: "ack", id: msg.id, room: room.name, seq, ts: now }),
        durable: true,
      },
      {
        kind: "broadcast",
        room,
        bytes: encodeMessage({ type: "message", ...stored }),
        except: null,
        durable: true,
      },
    ];
  }

  #private(s: Session<L>, msg: Private, now: number): Effect<L>[] {
    if (msg.id === 0) return this.#fail(s, ErrorCode.BAD_FRAME, "PRIVATE id must not be 0", "bad_frame", now);
    const error = (code: ErrorCode, text: string): Effect<L>[] => [
      { kind: "send", to: s, bytes: errorFrame(false, code, msg.id, text) },
    ];
    const ack = (ts: number): Effect<L> => ({
      kind: "send",
      to: s,
      bytes: encodeMessage({ type: "ack", id: msg.id, room: "", seq: 0, ts }),
    });
    const dedupeKey = `${s.key}\u0000${msg.id}`;
    const prior = this.#directReceipts.get(dedupeKey);
    if (prior !== undefined) return [ack(prior)];
    const limited = this.#limit(s, msg.id, now);
    if (limited) return limited;
    const to = checkName(msg.to);
    if (!to.ok) return error(ErrorCode.INVALID_NAME, `Invalid name: ${to.reason}`);
    const target = this.#byName.get(nameKey(to.value));
    if (!target || target.state !== "ready") {
      return error(ErrorCode.NO_SUCH_USER, `"${to.value}" is not online`);
    }
    const size = textBytes(msg.text, this.options.maxText);
    if (size > this.options.maxText) {
      return error(ErrorCode.TOO_LARGE, `message text is ${size} bytes, limit ${this.options.maxText}`);
    }
    if (isBlank(msg.text)) return error(ErrorCode.INVALID_TEXT, "message text is empty");
    this.#directReceipts.set(dedupeKey, now);
    if (this.#directReceipts.size > DIRECT_RECEIPTS) {
      this.#directReceipts.delete(this.#directReceipts.keys().next().value!);
    }
    const bytes = encodeMessage({
      type: "direct",
      from: s.name,
      to: target.name,
      ts: now,
      flags: msg.flags & MessageFlags.ACTION,
      text: msg.text,
    });
    const effects: Effect<L>[] = [{ kind: "send", to: target, bytes }];
    if (target !== s) effects.push({ kind: "send", to: s, bytes });
    if (target.away !== "") {
      effects.push({
        kind: "send",
        to: s,
        bytes: encodeMessage({
          type: "presence",
          room: "",
          event: "away",
          name: target.name,
          reason: "",
          text: target.away,
          ts: now,
        }),
      });
    }
    effects.push(ack(now));
    return effects;
  }

  #nick(s: Session<L>, raw: string, now: number): Effect<L>[] {
    const name = checkName(raw);
    if (!name.ok) {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, name.code, 0, `Invalid name: ${name.reason}`),
      }];
    }
    const key = nameKey(name.value);
    const holder = this.#byName.get(key);
    if (holder && holder !== s) {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, ErrorCode.NAME_TAKEN, 0, `name "${name.value}" is already online`),
      }];
    }
    if (name.value === s.name) return [];
    const skeleton = nameSkeleton(name.value);
    const lookalike = this.#bySkeleton.get(skeleton);
    const refuse = (code: ErrorCode, text: string): Effect<L>[] => [
      { kind: "send", to: s, bytes: errorFrame(false, code, 0, text) },
    ];
    if (lookalike && lookalike !== s) {
      return refuse(
        ErrorCode.NAME_TAKEN,
        `name "${name.value}" looks too much like "${lookalike.name}", who is online`,
      );
    }
    if (this.#store.account(key) !== undefined && key !== s.key) {
      return refuse(
        ErrorCode.AUTH_FAILED,
        `"${name.value}" is registered: reconnect with its password to use it`,
      );
    }
    if (this.#banOf(key, hostOf(s.address), now) !== undefined) {
      return refuse(ErrorCode.BANNED, `"${name.value}" is banned`);
    }
    const old = s.name;
    this.#byName.delete(s.key);
    if (this.#bySkeleton.get(nameSkeleton(old)) === s) this.#bySkeleton.delete(nameSkeleton(old));
    s.name = name.value;
    s.key = key;
    this.#byName.set(key, s);
    this.#bySkeleton.set(skeleton, s);
    return this.#toMyRooms(s, "nick", old, s.name, now);
  }

  #away(s: Session<L>, raw: string, now: number): Effect<L>[] {
    const text = [...raw].slice(0, MAX_REASON_CHARS).join("");
    if (text === s.away) return [];
    s.away = text;
    return this.#toMyRooms(s, "away", s.name, text, now);
  }

  /**
   * One broadcast per loud room of `s`; or, in no room that hears it (none,
   * or only quiet ones), the event for `s` alone: its confirmation.
   */
  #toMyRooms(s: Session<L>, event: PresenceEvent, name: string, text: string, now: number): Effect<L>[] {
    const loud = [...s.rooms].filter((room) => !room.quiet);
    if (loud.length > 0) {
      return loud.flatMap((room) => this.#presence(room, event, name, "", text, now, null));
    }
    return [{
      kind: "send",
      to: s,
      bytes: encodeMessage({ type: "presence", room: "", event, name, reason: "", text, ts: now }),
    }];
  }

  #register(s: Session<L>, password: string): Effect<L>[] {
    const refuse = (text: string): Effect<L>[] => [
      { kind: "send", to: s, bytes: errorFrame(false, ErrorCode.FORBIDDEN, 0, text) },
    ];
    if (!this.options.allowRegister) return refuse("registration is disabled on this server");
    if (this.#store.account(s.key) !== undefined) return refuse(`"${s.name}" is already registered`);
    if (password.length < 8) return refuse("the password needs at least 8 characters");
    return [{ kind: "register", to: s, password }];
  }

  /** Completes /register once the network layer has hashed the password. */
  registered(s: Session<L>, hash: string, now: number): Effect<L>[] {
    if (s.state !== "ready") return [];
    if (this.#store.account(s.key) !== undefined) {
      return [{
        kind: "send",
        to: s,
        bytes: errorFrame(false, ErrorCode.FORBIDDEN, 0, `"${s.name}" is already registered`),
      }];
    }
    try {
      this.#store.putAccount({ name: s.name, key: s.key, hash, admin: false, created: now });
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      return [{ kind: "send", to: s, bytes: errorFrame(false, ErrorCode.STORAGE_ERROR, 0, err.message) }];
    }
    return [
      this.#notice(s, "registered", `"${s.name}" is now registered: connect with your password from now on`),
    ];
  }

  /** The ban in force on a name key or an address, if any. */
  #banOf(key: string, ip: string, now: number): Ban | undefined {
    return this.#store.bans(now).find((b) => b.target === `name:${key}` || b.target === `addr:${ip}`);
  }

  #moderate(s: Session<L>, msg: Moderate, now: number): Effect<L>[] {
    const reply = (text: string): Effect<L>[] => [this.#notice(s, "moderation", text)];
    const refuse = (code: ErrorCode, text: string): Effect<L>[] => [
      { kind: "send", to: s, bytes: errorFrame(false, code, 0, text) },
    ];
    if (!s.admin) return refuse(ErrorCode.FORBIDDEN, `/${msg.action} is for operators`);
    const reason = [...msg.reason].slice(0, MAX_REASON_CHARS).join("");
    const isAddress = /^[0-9a-f.:]+$/i.test(msg.target) &&
      (msg.target.includes(".") || msg.target.includes(":"));
    const name = isAddress ? null : checkName(msg.target);
    if (name && !name.ok) return refuse(name.code, `Invalid name: ${name.reason}`);
    const key = name?.ok ? nameKey(name.value) : "";
    const target = key ? this.#byName.get(key) : undefined;
    const online = target?.state === "ready" ? target : undefined;
    // Any u64 is legal on the wire; past ten years a ban or mute is simply "until lifted" (0).
    const durationMs = msg.durationMs > MAX_MODERATION_MS ? 0 : msg.durationMs;
    const forHow = durationMs > 0 ? ` for ${Math.round(durationMs / 1000)} s` : "";
    switch (msg.action) {
      case "kick": {
        if (!online) return refuse(ErrorCode.NO_SUCH_USER, `"${msg.target}" is not online`);
        return [
          {
            kind: "send",
            to: online,
            bytes: errorFrame(true, ErrorCode.KICKED, 0, `kicked by ${s.name}${reason ? `: ${reason}` : ""}`),
          },
          ...this.drop(online, "kicked", now, reason),
          ...reply(`kicked ${online.name}`),
        ];
      }
      case "ban": {
        const ban: Ban = {
          target: isAddress ? `addr:${msg.target}` : `name:${key}`,
          until: durationMs > 0 ? now + durationMs : 0,
          reason,
          by: s.name,
          created: now,
        };
        try {
          this.#store.putBan(ban);
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          return refuse(ErrorCode.STORAGE_ERROR, err.message);
        }
        const effects: Effect<L>[] = [];
        // Everyone the ban covers leaves now: the named user, or every connection from the address.
        for (const victim of [...this.#sessions]) {
          if (victim.state !== "ready") continue;
          if (isAddress ? hostOf(victim.address) !== msg.target : victim.key !== key) continue;
          effects.push(
            { kind: "send", to: victim, bytes: errorFrame(true, ErrorCode.BANNED, 0, banText(ban)) },
            ...this.drop(victim, "banned", now, reason),
          );
        }
        return [...effects, ...reply(`banned ${msg.target}${forHow}`)];
      }
      case "unban": {
        const removed = this.#store.removeBan(isAddress ? `addr:${msg.target}` : `name:${key}`);
        return removed
          ? reply(`unbanned ${msg.target}`)
          : refuse(ErrorCode.NO_SUCH_USER, `${msg.target} is not banned`);
      }
      case "mute": {
        if (!key) return refuse(ErrorCode.INVALID_NAME, "mute takes a name");
        this.#mutes.set(key, durationMs > 0 ? now + durationMs : Infinity);
        const told: Effect<L>[] = online
          ? [
            this.#notice(
              online,
              "moderation",
              `you were muted by ${s.name}${forHow}${reason ? `: ${reason}` : ""}`,
            ),
          ]
          : [];
        return [...told, ...reply(`muted ${msg.target}${forHow}`)];
      }
      case "unmute": {
        if (!this.#mutes.delete(key)) return refuse(ErrorCode.NO_SUCH_USER, `${msg.target} is not muted`);
        return [
          ...(online ? [this.#notice(online, "moderation", `you were unmuted by ${s.name}`)] : []),
          ...reply(`unmuted ${msg.target}`),
        ];
      }
    }
  }

  /**
   * Recent history of `room` for a joining session, flagged HISTORY, then a
   * FETCHED carrying the room's last seq: the joiner knows where the room
   * stands even when it is empty, so a reconnect can resume from there.
   */
  #history(s: Session<L>, room: Room<L>): Effect<L>[] {
    const recent = this.#historyLimit > 0 ? this.#store.recent(room.name, this.#historyLimit) : [];
    const effects: Effect<L>[] = recent.map((m) => ({
      kind: "send" as const,
      to: s,
      bytes: encodeMessage({ type: "message", ...m, flags: m.flags | MessageFlags.HISTORY }),
    }));
    effects.push({
      kind: "send",
      to: s,
      bytes: encodeMessage({
        type: "fetched",
        room: room.name,
        count: recent.length,
        more: false,
        lastSeq: this.#store.lastSeq(room.name),
      }),
    });
    return effects;
  }

  #fetch(s: Session<L>, msg: Fetch): Effect<L>[] {
    const room = this.#memberRoom(s, msg.room);
    if (!(room instanceof Room)) return room;
    const limit = Math.min(msg.limit, MAX_FETCH);
    const lastSeq = this.#store.lastSeq(room.name);
    const backwards = msg.before > 0;
    const upper = backwards ? Math.min(msg.before, lastSeq + 1) : lastSeq + 1;
    // Sequences are consecutive, so "the newest `limit` below `before`" starts after before - 1 - limit.
    const from = backwards ? Math.max(msg.after, upper - 1 - limit) : msg.after;
    const found = from + 1 < upper
      ? this.#store.after(room.name, from, Math.min(limit, upper - 1 - from))
      : [];
    // Keep a page within FETCH_BYTES: the oldest messages going forwards, the newest going backwards.
    const frames = found.map((m) =>
      encodeMessage({ type: "message", ...m, flags: m.flags | MessageFlags.HISTORY })
    );
    let bytes = 0;
    let n = 0;
    while (n < frames.length) {
      const size = frames[backwards ? frames.length - 1 - n : n].byteLength;
      if (n > 0 && bytes + size > FETCH_BYTES) break;
      bytes += size;
      n++;
    }
    const picked = backwards ? found.slice(found.length - n) : found.slice(0, n);
    const pickedFrames = backwards ? frames.slice(frames.length - n) : frames.slice(0, n);
    const more = backwards
      ? (picked.length > 0 ? picked[0].seq - 1 : from) > Math.max(msg.after, 0) && (picked[0]?.seq ?? 1) > 1
      : (picked.length > 0 ? picked[picked.length - 1].seq : from) + 1 < upper;
    const effects: Effect<L>[] = pickedFrames.map((bytes) => ({ kind: "send" as const, to: s, bytes }));
    effects.push({
      kind: "send",
      to: s,
      bytes: encodeMessage({ type: "fetched", room: room.name, count: n, more, lastSeq }),
    });
    return effects;
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
    if (existing?.members.has(s)) return this.#listFor(s, existing);
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
    return [
      ...this.#grew(room, s),
      ...this.#listFor(s, room),
      ...this.#history(s, room),
      ...this.#presence(room, "join", s.name, "", "", now, s),
    ];
  }

  #leave(s: Session<L>, raw: string, now: number): Effect<L>[] {
    const room = this.#memberRoom(s, raw);
    if (!(room instanceof Room)) return room;
    // The leaver gets its own leave as confirmation, even from a quiet room; the others only from a loud one.
    const bytes = encodeMessage({
      type: "presence",
      room: room.name,
      event: "leave",
      name: s.name,
      reason: "left",
      text: "",
      ts: now,
    });
    const loud = !room.quiet;
    room.members.delete(s);
    s.rooms.delete(room);
    return [
      { kind: "send", to: s, bytes },
      ...(loud ? [{ kind: "broadcast" as const, room, bytes, except: s }] : []),
      ...this.#shrank(room),
    ];
  }

  /** The room `raw` names if `s` is in it, or the error effects to send instead. */
  #memberRoom(s: Session<L>, raw: string, ref = 0): Room<L> | Effect<L>[] {
    // Clients name rooms the way the server spelled them: a canonical name needs no normalising.
    const known = this.#rooms.get(raw);
    if (known !== undefined && known.members.has(s)) return known;
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

  /** What a joiner learns of `room`: its member list, or in a quiet room only its size. */
  #listFor(s: Session<L>, room: Room<L>): Effect<L>[] {
    if (!room.quiet) return this.#members(s, room);
    return [{ kind: "send", to: s, bytes: roomFrame(room) }];
  }

  /** MEMBERS frames for `room`, then the away status of its members (for WHO and loud rooms). */
  #members(s: Session<L>, room: Room<L>): Effect<L>[] {
    const effects: Effect<L>[] = memberFrames(room, this.options.maxFrame).map((bytes) => ({
      kind: "send" as const,
      to: s,
      bytes,
    }));
    // Away members: the joiner learns their status the way everyone else did, as presence events.
    for (const m of room.members) {
      if (m.away !== "" && m !== s) effects.push({ kind: "send", to: s, bytes: awayFrame(room, m) });
    }
    return effects;
  }

  /** After `room` grew: above the limit it goes quiet, and its members (but `joiner`) are told once. */
  #grew(room: Room<L>, joiner: Session<L>): Effect<L>[] {
    if (room.quiet || this.#presenceLimit === 0 || room.size <= this.#presenceLimit) return [];
    room.quiet = true;
    return [{ kind: "broadcast", room, bytes: roomFrame(room), except: joiner }];
  }

  /**
   * After `room` shrank: at half the limit it is loud again, and every member
   * gets the fresh member list (the gap between the two sizes keeps a room
   * near the limit from flapping).
   */
  #shrank(room: Room<L>): Effect<L>[] {
    if (!room.quiet || room.size > Math.floor(this.#presenceLimit / 2)) return [];
    room.quiet = false;
    const effects: Effect<L>[] = [{ kind: "broadcast", room, bytes: roomFrame(room), except: null }];
    for (const bytes of memberFrames(room, this.options.maxFrame)) {
      effects.push({ kind: "broadcast", room, bytes, except: null });
    }
    for (const m of room.members) {
      if (m.away !== "") effects.push({ kind: "broadcast", room, bytes: awayFrame(room, m), except: m });
    }
    return effects;
  }

  /** A presence event for everyone in `room` (but `except`); nothing in a quiet room. */
  #presence(
    room: Room<L>,
    event: PresenceEvent,
    name: string,
    reason: string,
    text: string,
    ts: number,
    except: Session<L> | null,
  ): BroadcastEffect<L>[] {
    if (room.quiet) return [];
    return [{
      kind: "broadcast",
      room,
      bytes: encodeMessage({ type: "presence", room: room.name, event, name, reason, text, ts }),
      except,
    }];
  }

  /** Sends a fatal error and drops the session. */
  #fail(s: Session<L>, code: ErrorCode, message: string, reason: CloseReason, now: number): Effect<L>[] {
    return [{ kind: "send", to: s, bytes: errorFrame(true, code, 0, message) }, ...this.drop(s, reason, now)];
  }
}

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

/** How often the server runs {@linkcode Broker.tick}: often enough to keep the ping slots apart. */
export function tickInterval(heartbeatMs: number): number {
  return Math.max(20, Math.min(1000, Math.floor(heartbeatMs / PING_SLOTS)));
}

/** True when `text` has nothing but whitespace (what trim() removes), found without copying it. */
function isBlank(text: string): boolean {
  return !/\S/.test(text);
}

/**
 * The UTF-8 size of `text` when it may exceed `limit`; otherwise any figure
 * within the limit. A UTF-16 unit is at most 3 UTF-8 bytes, so most lines
 * need no counting (counting was 5% of the server at a 20-receiver fan-out).
 */
function textBytes(text: string, limit: number): number {
  return text.length * 3 <= limit ? text.length : utf8Length(text);
}

function roomFrame<L>(room: Room<L>): Uint8Array {
  return encodeMessage({ type: "room", room: room.name, members: room.size, quiet: room.quiet });
}

/** `room`'s member list as MEMBERS frames, split so each fits the frame limit. */
function memberFrames<L>(room: Room<L>, maxFrame: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const budget = maxFrame - MEMBERS_OVERHEAD;
  let names: string[] = [];
  let bytes = 0;
  const flush = (more: boolean) => {
    frames.push(encodeMessage({ type: "members", room: room.name, more, names }));
    names = [];
    bytes = 0;
  };
  for (const m of [...room.members, ...room.ghosts]) {
    const size = utf8Length(m.name) + 1;
    if (names.length > 0 && (bytes + size > budget || names.length >= MEMBERS_PER_FRAME)) flush(true);
    names.push(m.name);
    bytes += size;
  }
  flush(false);
  return frames;
}

/** The PRESENCE away event that tells a joiner `m` is away (ts 0: not news, a status). */
function awayFrame<L>(room: Room<L>, m: Session<L>): Uint8Array {
  return encodeMessage({
    type: "presence",
    room: room.name,
    event: "away",
    name: m.name,
    reason: "",
    text: m.away,
    ts: 0,
  });
}

function errorFrame(fatal: boolean, code: ErrorCode, ref: number, message: string): Uint8Array {
  return encodeMessage({ type: "error", fatal, code, ref, message });
}

function banText(ban: Ban): string {
  // A stored ban may come from an older server or a hand-edited database: never let its date throw.
  const date = new Date(ban.until);
  const until = ban.until === 0 || Number.isNaN(date.getTime()) ? "" : ` until ${date.toISOString()}`;
  return `banned${until}${ban.reason ? `: ${ban.reason}` : ""}`;
}

/** Reads the HELLO extensions this server understands; unknown tags are skipped. */
function readHelloExtensions(hello: Hello): { token: string | null; since: Map<string, number> } {
  let token: string | null = null;
  const since = new Map<string, number>();
  for (const ext of hello.extensions) {
    if (ext.tag === ExtensionTag.RESUME_TOKEN) token = hex(ext.value);
    else if (ext.tag === ExtensionTag.SINCE) {
      const r = new WireReader(ext.value, "HELLO SINCE extension");
      const count = r.u8("count");
      for (let i = 0; i < count; i++) {
        const room = checkRoom(r.str8("room"));
        const seq = r.u64("seq");
        if (room.ok) since.set(room.value, seq);
      }
      r.end();
    }
  }
  return { token, since };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Compares two tokens in time independent of where they differ. */
function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function closeText(reason: CloseReason): string {
  switch (reason) {
    case "timeout":
      return "no frame arrived within the timeout";
    case "slow_consumer":
      return "outbound queue overflowed: the client is not reading fast enough";
    case "flood":
      return "too many messages too fast for too long";
    case "shutdown":
      return "the server is shutting down";
    default:
      return reason;
  }
}
