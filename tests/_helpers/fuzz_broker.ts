/**
 * A randomized driver for the broker's state machine: many sessions, each sent random sequences of
 * decoded messages (valid and not: wrong order, bad names and rooms, huge counts, random extensions,
 * server-only frames), interleaved with protocol errors, drops, ticks, commits (some failing) and
 * registrations. A small model of the network layer performs the effects the way src/net/server.ts does
 * (deferring durable ones until the commit) and the invariants below are checked after every step.
 * Shared by tests/chat/fuzz_test.ts (a bounded seeded run) and `deno task fuzz`.
 *
 * Invariants:
 * - the broker never throws;
 * - every effect targets a session the network layer opened and a room the broker holds;
 * - a session closed (or held as a ghost) before a call gets no effect from it;
 * - a fatal ERROR is followed by the close of that session in the same batch;
 * - every frame decodes, fits the frame limit, and goes from server to client;
 * - `online` counts the ready and ghost sessions; `sessions` holds exactly those in handshake or ready;
 * - ready sessions are members of exactly the rooms they hold, within the per-client limit; every member
 *   of a room is ready, every held seat a ghost; names and look-alike skeletons are unique online;
 * - per room, the MESSAGE broadcasts performed carry consecutive seqs, and an ACK carries its message's seq;
 * - nothing but an ERROR reaches a session that is not ready, and MESSAGE frames reach room members only
 *   (or, for a stored conversation `@peer`, a session that proved its registered name and speaks `dms`,
 *   each live one with a higher seq than the last it got of that conversation);
 * - no banned name is (or stays) ready.
 *
 * @module
 */

import { Broker, type BrokerOptions } from "../../src/chat/broker.ts";
import { CLOSE_REASONS } from "../../src/chat/close.ts";
import { CommitQueue, type LogOutcome } from "../../src/chat/commit.ts";
import type { Effect } from "../../src/chat/effects.ts";
import type { Room, Session, SessionState } from "../../src/chat/session.ts";
import {
  checkName,
  checkRoom,
  type ClientMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeMessage,
  ERROR_CODES,
  ExtensionTag,
  Feature,
  FrameDecoder,
  type Hello,
  MAX_TOPIC_BYTES,
  MessageFlags,
  nameKey,
  nameSkeleton,
  ProtocolError,
  type ServerMessage,
  utf8Length,
  WireWriter,
} from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { FaultyLog } from "./effects.ts";
import { GENERATORS, short, str, TYPES, u64 } from "./fuzz_codec.ts";
import { Prng } from "./prng.ts";

/** Names that collide by case, normalisation and look-alike letters, or break the rules, plus plain ones. */
const GOOD_NAMES = [
  "alice",
  "Alice",
  "ALICE",
  "\u0430lice",
  "al1ce",
  "a.lice",
  "bob",
  "root",
  "carol",
  "banned",
  "dave",
  "\u00e9ve",
  "e\u0301ve",
  "zed",
  "yan",
];
const BAD_NAMES = ["", "bad name", "a\u200bb", "\u202eevil", "x".repeat(33)];
const NAMES = [...GOOD_NAMES, ...BAD_NAMES];
const GOOD_ROOMS = ["lobby", "Lobby", "dev", "ops", "caf\u00e9", "r1", "r2", "r3", "r4"];
const BAD_ROOMS = ["", "bad room", "y".repeat(40)];
/** Where sessions come from; the third is banned, so it comes up less often. */
const ADDRESSES = ["10.0.0.1:1001", "10.0.0.2:1002", "::1:1003", "2001:db8::5:1005", "10.0.0.66:1066"];
const pickAddress = (rng: Prng) => rng.chance(0.9) ? ADDRESSES[rng.int(4)] : ADDRESSES[4];
/** Ban targets the moderation messages aim at: names, the banned address, nonsense. */
const TARGETS = [...NAMES, "10.0.0.66", "10.0.0.2", "::1", "1.2.3.4.5", "abc:def"];
const ACTIONS = ["kick", "ban", "unban", "mute", "unmute"] as const;

/**
 * Durations up to 2^53 - 1 ms (legal on the wire). A ban ending past the largest Date once crashed the
 * server; the broker now stores such bans as "until lifted".
 */
const HUGE_DURATIONS = true;
const CENTURY_MS = 100 * 365 * 86_400_000;

/** A step's description, for the trail printed when an invariant fails. */
type Trail = string[];

/** A broker with random options and a store with an account, an admin, a banned name and a banned address. */
function setup(
  rng: Prng,
  now: number,
): { broker: Broker; options: BrokerOptions; store: MemoryStore; faulty: FaultyLog | null } {
  const faulty = rng.chance(0.5) ? new FaultyLog() : null;
  const store = faulty ?? new MemoryStore();
  store.putAccount({ name: "alice", key: "alice", hash: "scrypt$fake", admin: false, created: 0 });
  store.putAccount({ name: "root", key: "root", hash: "scrypt$fake", admin: true, created: 0 });
  store.putBan({ target: "name:banned", until: 0, reason: "test", by: "root", created: 0 });
  store.putBan({ target: "addr:10.0.0.66", until: now + 60_000, reason: "", by: "root", created: 0 });
  const tokens = new Prng(rng.int(0x1_0000_0000));
  const options: BrokerOptions = {
    maxClients: rng.range(2, 8),
    timeoutMs: 3000,
    maxFrame: 64 * 1024,
    maxText: 100,
    maxRoomsPerClient: rng.range(1, 4),
    maxRooms: rng.range(2, 8),
    accounts: store,
    bans: store,
    roomSettings: store,
    operatorTopics: rng.chance(0.3),
    logId: store.id,
    historyLimit: rng.pick([0, 3]),
    graceMs: rng.pick([0, 0, 1000]),
    randomBytes: (n) => tokens.bytes(n),
    requirePassword: rng.chance(0.3),
    allowRegister: rng.chance(0.5),
    motd: rng.chance(0.3) ? "welcome" : undefined,
    rate: { perSecond: rng.range(1, 20), burst: rng.range(1, 10) },
  };
  return { broker: new Broker(options), options, store, faulty };
}

/** Mostly names and rooms that pass, so sessions get far; sometimes ones that break the rules, or noise. */
const pickName = (rng: Prng) =>
  rng.chance(0.85) ? rng.pick(GOOD_NAMES) : rng.chance(0.5) ? rng.pick(BAD_NAMES) : short(rng);
const pickRoom = (rng: Prng) =>
  rng.chance(0.9) ? rng.pick(GOOD_ROOMS) : rng.chance(0.5) ? rng.pick(BAD_ROOMS) : short(rng);
const pickText = (rng: Prng) =>
  rng.chance(0.7) ? `hello ${rng.int(1000)}` : rng.pick(["", "  ", "\u0000", str(rng, 40), str(rng, 150)]);

/** A SINCE extension: well formed, or cut short, or with trailing bytes, or a count it does not hold. */
function since(rng: Prng): Uint8Array {
  const entries = Array.from({ length: rng.int(4) }, () => [pickRoom(rng), u64(rng)] as const);
  const w = new WireWriter(0).u8(rng.chance(0.8) ? entries.length : rng.int(256));
  for (const [room, seq] of entries) w.str8(room).u64(seq);
  const payload = w.finish().subarray(5);
  switch (rng.int(5)) {
    case 0:
      return payload.subarray(0, rng.int(payload.byteLength + 1));
    case 1:
      return new Uint8Array([...payload, ...rng.bytes(rng.range(1, 4))]);
    default:
      return payload;
  }
}

/** A HELLO as the server's decoder hands it over, or the ProtocolError it raises (a malformed SINCE). */
function helloFor(rng: Prng, tokens: Uint8Array[]): Hello | ProtocolError {
  const rooms = Array.from(
    { length: rng.chance(0.95) ? rng.pick([0, 1, 1, 2, 3]) : rng.pick([5, 40]) },
    () => pickRoom(rng),
  );
  const hello: Hello = {
    type: "hello",
    version: rng.chance(0.97) ? 1 : rng.int(4),
    name: pickName(rng),
    rooms,
  };
  // Clients that speak `dms` get stored conversations (between registered names) as MESSAGE frames.
  if (rng.chance(0.4)) hello.features = rng.chance(0.8) ? [Feature.DMS] : [short(rng), Feature.DMS];
  let sinceBlock: Uint8Array | null = null;
  for (let n = rng.chance(0.5) ? 0 : rng.range(1, 3); n > 0; n--) {
    switch (rng.int(8)) {
      case 7:
        hello.features = rng.chance(0.8) ? ["list", "topic", "who-any"] : [short(rng)];
        break;
      case 6:
        hello.transient = true;
        break;
      case 0:
        hello.resumeToken = tokens.length > 0 && rng.chance(0.7)
          ? rng.pick(tokens)
          : rng.bytes(rng.pick([16, 3, 0]));
        break;
      case 1:
        sinceBlock = since(rng);
        break;
      case 2:
        hello.password = str(rng, 20);
        break;
      case 3:
        hello.adminToken = str(rng, 20);
        break;
      default:
        // A tag HELLO does not define: the server skips it.
        (hello.extensions ??= []).push({
          tag: rng.chance(0.1) ? 0x06 : rng.range(0x09, 0xff),
          value: rng.bytes(rng.int(20)),
        });
    }
  }
  return sinceBlock ? withSince(hello, sinceBlock) : hello;
}

/** `hello` with a raw SINCE block (maybe malformed) appended, through the server's decoder. */
function withSince(hello: Hello, value: Uint8Array): Hello | ProtocolError {
  const frame = encodeMessage(hello);
  const out = new Uint8Array(frame.byteLength + 3 + value.byteLength);
  out.set(frame);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.byteLength - 4);
  out[frame.byteLength] = ExtensionTag.SINCE;
  view.setUint16(frame.byteLength + 1, value.byteLength);
  out.set(value, frame.byteLength + 3);
  // A frame of type HELLO decodes to a HELLO or not at all.
  return throughDecoder(out) as Hello | ProtocolError;
}

/** What the server's decoder makes of one encoded frame: a client message, or the ProtocolError it raises. */
function throughDecoder(frame: Uint8Array): ClientMessage | ProtocolError {
  try {
    return decodeClientMessage({ type: frame[4], payload: frame.subarray(5) });
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
}

/** How often each kind of client message comes up: mostly chat, rarely the ones that end the session. */
const KINDS = {
  send: 8,
  join: 3,
  leave: 2,
  who: 1,
  fetch: 2,
  private: 2,
  nick: 2,
  away: 1,
  register: 1,
  moderate: 3,
  list: 1,
  topic: 1.5,
  bye: 0.4,
  ping: 1,
  pong: 0.5,
  hello: 0.4,
} as const;

function weighted<K extends string>(rng: Prng, weights: Readonly<Record<K, number>>): K {
  const entries = Object.entries(weights) as Array<[K, number]>;
  let x = rng.next() * entries.reduce((n, [, w]) => n + w, 0);
  for (const [k, w] of entries) if ((x -= w) < 0) return k;
  return entries[entries.length - 1][0];
}

/**
 * A message a client might send: mostly well typed with hostile values, sometimes any frame at all (a
 * server-to-client one too), as the server's decoder hands it over (or the ProtocolError it raises).
 */
function messageFor(rng: Prng, tokens: Uint8Array[]): ClientMessage | ProtocolError {
  if (rng.chance(0.03)) return throughDecoder(encodeMessage(GENERATORS[rng.pick(TYPES)](rng)));
  const id = () => rng.chance(0.8) ? rng.range(1, 30) : u64(rng);
  switch (weighted(rng, KINDS)) {
    case "send":
      return { type: "send", id: id(), room: pickRoom(rng), flags: rng.int(256), text: pickText(rng) };
    case "join":
      return { type: "join", room: pickRoom(rng) };
    case "leave":
      return { type: "leave", room: pickRoom(rng) };
    case "who":
      return { type: "who", room: pickRoom(rng) };
    case "fetch":
      return {
        type: "fetch",
        // A stored conversation now and then: one's own, another's, the log's own name of one.
        room: rng.chance(0.8)
          ? pickRoom(rng)
          : rng.pick(["@alice", "@ROOT", "@bob", "@alice+root", "@", "@bad name"]),
        after: u64(rng),
        before: u64(rng),
        limit: rng.int(0x10000),
      };
    case "private":
      return {
        type: "private",
        id: id(),
        // The registered names often: a stored conversation needs both parties registered.
        to: rng.chance(0.3) ? rng.pick(["alice", "root"]) : pickName(rng),
        flags: rng.int(256),
        text: pickText(rng),
      };
    case "nick":
      return { type: "nick", name: pickName(rng) };
    case "away":
      return { type: "away", text: pickText(rng) };
    case "register":
      return { type: "register", password: str(rng, 20) };
    case "moderate":
      return {
        type: "moderate",
        action: rng.pick(ACTIONS),
        target: rng.chance(0.9) ? rng.pick(TARGETS) : short(rng),
        durationMs: rng.pick([0, 0, 1000, 60_000, HUGE_DURATIONS ? u64(rng) : rng.int(CENTURY_MS)]),
        reason: str(rng, rng.pick([10, 300])),
      };
    case "list":
      return {
        type: "list",
        after: rng.chance(0.5) ? "" : pickRoom(rng),
        limit: rng.pick([0, 1, 2, 0xffff]),
      };
    case "topic":
      return { type: "topic", room: pickRoom(rng), set: rng.chance(0.7), text: pickText(rng) };
    case "bye":
      return { type: "bye", reason: str(rng, rng.pick([10, 300])) };
    case "ping":
      return { type: "ping", token: rng.int(0x1_0000_0000) };
    case "pong":
      return { type: "pong", token: rng.int(0x1_0000_0000) };
    case "hello":
      return helloFor(rng, tokens);
  }
}

/** `msg` as the runner encodes it, decoded again as a client would: an effect that does not encode fails here. */
function roundTrip(msg: ServerMessage): { msg: ServerMessage; size: number } {
  const bytes = encodeMessage(msg);
  const frames = new FrameDecoder({ maxFrame: 64 * 1024 }).push(bytes);
  if (frames.length !== 1) throw new Error(`an effect carries ${frames.length} frames, not one`);
  return { msg: decodeServerMessage(frames[0]), size: bytes.byteLength };
}

/** Frame types only a server sends (PING and PONG go both ways). */
const SERVER_TYPES = new Set([
  "welcome",
  "message",
  "ack",
  "presence",
  "members",
  "room",
  "error",
  "fetched",
  "direct",
  "notice",
  "rooms",
  "topicIs",
  "conversations",
  "ping",
  "pong",
]);

class InvariantError extends Error {
  override name = "InvariantError";
}

function check(ok: unknown, message: string): asserts ok {
  if (!ok) throw new InvariantError(message);
}

/** The driver: the broker, the sessions it was given, and the model of the network layer. */
class Harness {
  readonly rng: Prng;
  readonly broker: Broker;
  readonly options: BrokerOptions;
  readonly store: MemoryStore;
  readonly faulty: FaultyLog | null;
  readonly queue: CommitQueue;
  readonly sessions: Session[] = [];
  readonly trail: Trail = [];
  /** Frames delivered, by type (errors by code): what the case reached. */
  readonly delivered = new Map<string, number>();
  now: number;
  #byId = new Map<number, Session>();
  /** Sessions whose close was performed: the runner sends them nothing more. */
  #closing = new Set<Session>();
  /** Sessions waiting for a read of the log: their input waits, as the connection pipeline holds it. */
  #held = new Map<Session, number>();
  #outcomes: LogOutcome[] = [];
  #jobs = 0;
  #registers: Array<{ to: Session; password: string }> = [];
  #tokens: Uint8Array[] = [];
  #lastSeq = new Map<string, number>();
  /** The recipient's state right after the call that produced a send: the state to judge its delivery by. */
  #stateAfter = new WeakMap<Effect, SessionState>();
  /** The last live seq each session got of each of its conversations. */
  #conversationSeqs = new WeakMap<Session, Map<string, number>>();
  /** Every canonical room name the fuzz may have created, to count and inspect the broker's rooms. */
  #roomNames = new Set<string>();

  constructor(rng: Prng) {
    this.rng = rng;
    // Real time as the base: the broker must agree with itself whichever clock it reads.
    this.now = Date.now();
    ({ broker: this.broker, options: this.options, store: this.store, faulty: this.faulty } = setup(
      rng,
      this.now,
    ));
    this.queue = new CommitQueue(this.store, (o) => this.#outcomes.push(o), () => {});
  }

  step(): void {
    const rng = this.rng;
    this.now += rng.int(30);
    const open = this.sessions.filter((s) =>
      (s.state === "handshake" || s.state === "ready") && !this.#held.has(s)
    );
    const ready = open.filter((s) => s.state === "ready");
    const handshaking = open.filter((s) => s.state === "handshake");
    const action = rng.int(100);
    if (open.length < 2 || (action < 8 && open.length < 12)) {
      const address = pickAddress(rng);
      const s = this.broker.open(address, this.now);
      this.sessions.push(s);
      this.#byId.set(s.id, s);
      this.#note(`open #${s.id} from ${address}`);
      return;
    }
    // Mostly the ready ones talk; sometimes one still in the handshake (out of order), or one long gone.
    const target = ready.length > 0 && rng.chance(0.9)
      ? rng.pick(ready)
      : rng.chance(0.9)
      ? rng.pick(open)
      : rng.pick(this.sessions.filter((s) => !this.#held.has(s)));
    if (handshaking.length > 0 && (action < 30 || ready.length === 0)) {
      const s = rng.chance(0.95) ? rng.pick(handshaking) : target;
      // The network layer checks passwords before the broker sees the HELLO; any outcome may come back.
      s.auth = { password: rng.pick(["none", "ok", "ok", "wrong"] as const), admin: rng.chance(0.3) };
      this.#handle(s, helloFor(rng, this.#tokens));
    } else if (action < 78) {
      this.#handle(target, messageFor(rng, this.#tokens));
    } else if (action < 80) {
      const err = new ProtocolError(rng.pick(ERROR_CODES), "fuzz: undecodable frame");
      // The server reports decoding errors for sessions that may have closed earlier in the same read.
      this.#call(
        `protocolError(#${target.id}, ${err.code})`,
        () => this.broker.protocolError(target, err, this.now),
      );
    } else if (action < 82) {
      const reason = rng.pick(CLOSE_REASONS);
      const s = rng.pick(this.sessions);
      this.#call(`drop(#${s.id}, ${reason})`, () => this.broker.drop(s, reason, this.now));
    } else if (action < 88) {
      this.now += rng.pick([10, 500, 1500, 3500, 6000]);
      this.#call(`tick()`, () => this.broker.tick(this.now));
    } else if (action < 95) {
      if (this.faulty && rng.chance(0.2)) this.faulty.failNext = true;
      this.#runLog();
    } else {
      const pending = this.#registers.splice(rng.int(this.#registers.length + 1), 1)[0];
      if (pending) {
        const { to } = pending;
        this.#call(`registered(#${to.id})`, () => this.broker.registered(to, "scrypt$fuzz", this.now));
      }
    }
  }

  /** Lets the log answer every job asked so far, feeding each outcome back to the broker, in order. */
  #runLog(): void {
    this.#note(`log runs ${this.#jobs} job(s)`);
    check(this.queue.run() === undefined, "a memory log answered later");
    const outcomes = this.#outcomes;
    this.#outcomes = [];
    check(outcomes.length === this.#jobs, `${this.#jobs} jobs asked, ${outcomes.length} answered`);
    this.#jobs = 0;
    for (const o of outcomes) {
      const what = o.kind === "append"
        ? `${o.result.kind} #${o.job.from}`
        : `${o.kind} #${"to" in o.job ? o.job.to : o.job.from}`;
      this.#call(`logged(${what})`, () => this.broker.logged(o, this.now));
      if (o.kind === "read") {
        const s = this.#byId.get(o.job.to)!;
        const left = (this.#held.get(s) ?? 0) - 1;
        check(left >= 0, `a read answered to #${s.id}, which asked none`);
        if (left === 0) this.#held.delete(s);
        else this.#held.set(s, left);
      }
    }
  }

  #note(what: string): void {
    this.trail.push(what);
    if (this.trail.length > 30) this.trail.shift();
  }

  #handle(s: Session, msg: ClientMessage | ProtocolError): void {
    if (msg instanceof ProtocolError) {
      this.#call(`protocolError(#${s.id}, ${msg.code})`, () => this.broker.protocolError(s, msg, this.now));
      return;
    }
    // Any room a message names may be created by it: remember it, to count and inspect the broker's rooms.
    for (const raw of msg.type === "hello" ? msg.rooms : "room" in msg ? [msg.room] : []) {
      const room = checkRoom(raw);
      if (room.ok) this.#roomNames.add(room.value);
    }
    this.#call(
      `handle(#${s.id} ${s.state} ${s.name}, ${JSON.stringify(msg).slice(0, 200)})`,
      () => this.broker.handle(s, msg, this.now),
    );
  }

  /** Runs one broker call, checks the batch it returned, and performs it the way the runner would. */
  #call(what: string, fn: () => Effect[]): void {
    this.#note(what);
    const before = new Map<Session, SessionState>(this.sessions.map((s) => [s, s.state]));
    const effects = fn();
    this.#checkBatch(effects, before);
    for (const e of effects) if (e.kind === "send") this.#stateAfter.set(e, this.#session(e.to).state);
    this.#apply(effects);
  }

  #session(id: number): Session {
    const s = this.#byId.get(id);
    check(s !== undefined, `an effect for session #${id}, which was never opened`);
    return s;
  }

  /** Invariants of one batch, as returned (before anything is performed). */
  #checkBatch(effects: Effect[], before: Map<Session, SessionState>): void {
    const fatal = new Set<Session>();
    let ackSeq: number | null = null;
    let messageSeq: number | null = null;
    for (const e of effects) {
      if (e.kind === "delay") {
        check(e.ms >= 0 && Number.isFinite(e.ms), `a delay of ${e.ms} ms`);
        continue;
      }
      if (e.kind === "append" || e.kind === "probe") continue;
      if (e.kind === "broadcast") {
        // A room may have been forgotten (its last member left) before a message stored for it comes back.
        check(
          this.broker.room(e.room) !== undefined || this.#roomNames.has(e.room),
          `a broadcast to room "${e.room}" the broker never held`,
        );
        const { msg } = roundTrip(e.msg);
        check(SERVER_TYPES.has(msg.type), `a ${msg.type} broadcast`);
        if (msg.type === "message") messageSeq = msg.seq;
        continue;
      }
      // A broker that is no node of a cluster asks nothing of one.
      check(
        e.kind !== "claim" && e.kind !== "share" && e.kind !== "unshare",
        `a ${e.kind} outside a cluster`,
      );
      const to = this.#session(e.to);
      const prior = before.get(to);
      check(
        prior === "handshake" || prior === "ready",
        `a ${e.kind} for #${to.id}, which was ${prior} before the call`,
      );
      if (e.kind === "send") {
        const { msg, size } = roundTrip(e.msg);
        check(size <= 4 + this.options.maxFrame, `a frame of ${size} bytes`);
        check(SERVER_TYPES.has(msg.type), `a ${msg.type} frame sent to a client`);
        // A flag an older client cannot decode goes only to clients that listed its feature.
        if ((msg.type === "members" || msg.type === "room") && msg.listing) {
          check(
            to.features.has("who-any"),
            `a ${msg.type} flagged LISTING to #${to.id}, which did not list who-any`,
          );
          check(!this.broker.room(msg.room)?.members.has(to), `a ${msg.type} flagged LISTING to a member`);
        }
        if (msg.type === "topicIs") {
          check(
            utf8Length(msg.text) <= MAX_TOPIC_BYTES && !/[\r\n]/.test(msg.text),
            `a topic of ${utf8Length(msg.text)} bytes or with a line break`,
          );
        }
        if (msg.type === "error" && msg.fatal) fatal.add(to);
        if (msg.type === "ack" && msg.room !== "") ackSeq = msg.seq;
      } else if (e.kind === "close") {
        fatal.delete(to);
      }
    }
    check(fatal.size === 0, `a fatal error without a close for #${[...fatal].map((s) => s.id)}`);
    if (ackSeq !== null && messageSeq !== null) {
      check(ackSeq === messageSeq, `ACK seq ${ackSeq}, MESSAGE seq ${messageSeq}`);
    }
  }

  /** Performs effects as src/net/runner.ts does, checking who receives what. */
  #apply(effects: Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case "delay":
          // The server performs the rest later; order within the batch is what matters here.
          break;
        case "register":
          this.#registers.push({ to: this.#session(e.to), password: e.password });
          break;
        case "send": {
          const to = this.#session(e.to);
          if (!this.#closing.has(to)) this.#deliver(to, roundTrip(e.msg).msg, this.#stateAfter.get(e));
          break;
        }
        case "broadcast": {
          const { msg } = roundTrip(e.msg);
          if (msg.type === "message" && (msg.flags & MessageFlags.HISTORY) === 0) {
            const last = this.#lastSeq.get(msg.room) ?? 0;
            check(msg.seq === last + 1, `room "${msg.room}" broadcast seq ${msg.seq} after ${last}`);
            this.#lastSeq.set(msg.room, msg.seq);
          }
          for (const m of this.broker.room(e.room)?.members ?? []) {
            if (m.id !== e.except && !this.#closing.has(m)) this.#deliver(m, msg, m.state);
          }
          break;
        }
        case "close":
          this.#closing.add(this.#session(e.to));
          break;
        case "read": {
          const s = this.#session(e.to);
          this.#held.set(s, (this.#held.get(s) ?? 0) + 1);
          this.queue.push(e);
          this.#jobs++;
          break;
        }
        case "append":
        case "probe":
          this.queue.push(e);
          this.#jobs++;
          break;
      }
    }
  }

  #deliver(to: Session, msg: ServerMessage, state: SessionState | undefined): void {
    const kind = msg.type === "error"
      ? msg.code
      : msg.type === "notice"
      ? `notice ${msg.kind}`
      : msg.type === "message" && msg.room.startsWith("@")
      ? "message @"
      : msg.type;
    this.delivered.set(kind, (this.delivered.get(kind) ?? 0) + 1);
    if (msg.type !== "error") {
      check(state === "ready", `a ${msg.type} delivered to #${to.id}, which was ${state}`);
    }
    if (msg.type === "message" && msg.room.startsWith("@")) {
      check(
        to.verified === to.key && to.features.has(Feature.DMS),
        `a message of conversation "${msg.room}" delivered to #${to.id} ${to.name}, not a proven party`,
      );
      if ((msg.flags & MessageFlags.HISTORY) === 0) {
        const seen = this.#conversationSeqs.get(to) ?? new Map<string, number>();
        this.#conversationSeqs.set(to, seen);
        check(
          msg.seq > (seen.get(msg.room) ?? 0),
          `conversation "${msg.room}" seq ${msg.seq} to #${to.id} after ${seen.get(msg.room)}`,
        );
        seen.set(msg.room, msg.seq);
      }
    } else if (msg.type === "message") {
      check(
        this.broker.room(msg.room)?.members.has(to) === true,
        `a message of room "${msg.room}" delivered to #${to.id} ${to.name}, not a member`,
      );
    }
    if (msg.type === "welcome") {
      const token = msg.resumeToken;
      if (token) this.#tokens.push(token);
      for (const r of msg.rooms) this.#roomNames.add(r);
    }
    if (msg.type === "members") this.#roomNames.add(msg.room);
  }

  /** Invariants of the whole state, between steps. */
  checkState(): void {
    const b = this.broker;
    const by = (state: SessionState) => this.sessions.filter((s) => s.state === state);
    const ready = by("ready");
    const ghosts = by("ghost");
    // Transient sessions (chat send, chat tail) hold no name, but count towards the client limit.
    const transients = ready.filter((s) => s.transient);
    const named = ready.filter((s) => !s.transient);
    check(
      b.online === named.length + ghosts.length,
      `online ${b.online}, ${named.length} ready with a name, ${ghosts.length} ghosts`,
    );
    check(
      b.online + transients.length <= this.options.maxClients,
      `online ${b.online} and ${transients.length} transient, over maxClients ${this.options.maxClients}`,
    );
    check(ghosts.every((g) => !g.transient), "a transient session held as a ghost");
    const live = new Set([...by("handshake"), ...ready]);
    check(
      b.sessions.size === live.size && [...b.sessions].every((s) => live.has(s)),
      "broker.sessions is not the set of sessions in handshake or ready",
    );
    const keys = new Set<string>();
    const skeletons = new Set<string>();
    const banned = new Set(this.store.bans(this.now).map((x) => x.target));
    for (const s of [...ready, ...ghosts]) {
      check(
        checkName(s.name).ok && s.key === nameKey(s.name),
        `#${s.id} holds the name ${JSON.stringify(s.name)}`,
      );
      if (!s.transient) {
        check(!keys.has(s.key), `two sessions online as "${s.key}"`);
        keys.add(s.key);
        const skeleton = nameSkeleton(s.name);
        check(!skeletons.has(skeleton), `two look-alike names online: skeleton "${skeleton}"`);
        skeletons.add(skeleton);
      }
      // A ghost keeps a banned name until its grace period ends (it cannot resume: HELLO checks bans first).
      check(s.state !== "ready" || !banned.has(`name:${s.key}`), `banned name "${s.key}" is online`);
      check(s.rooms.size <= this.options.maxRoomsPerClient, `#${s.id} is in ${s.rooms.size} rooms`);
      for (const r of s.rooms) {
        this.#roomNames.add(r.name);
        check(b.room(r.name) === r, `#${s.id} holds room "${r.name}" the broker does not`);
        const seated = s.state === "ready"
          ? r.members.has(s) && !r.ghosts.has(s)
          : r.ghosts.has(s) && !r.members.has(s);
        check(seated, `#${s.id} (${s.state}) is not seated right in "${r.name}"`);
      }
    }
    for (const s of this.sessions) {
      if (s.state === "closed" || s.state === "handshake") {
        check(s.rooms.size === 0, `#${s.id} (${s.state}) still holds ${s.rooms.size} rooms`);
      }
    }
    let rooms = 0;
    for (const name of this.#roomNames) {
      const room: Room | undefined = b.room(name);
      if (!room) continue;
      rooms++;
      for (const m of room.members) {
        check(m.state === "ready" && m.rooms.has(room), `member #${m.id} (${m.state}) of "${name}"`);
      }
      for (const g of room.ghosts) {
        check(g.state === "ghost" && g.rooms.has(room), `ghost #${g.id} in "${name}"`);
      }
    }
    check(rooms <= this.options.maxRooms, `${rooms} rooms, over maxRooms ${this.options.maxRooms}`);
  }
}

/** What a case did, for `deno task fuzz` to report. */
export interface BrokerCaseStats {
  steps: number;
  sessions: number;
  /** Frames delivered, by type (errors by their code, notices by kind). */
  delivered: Map<string, number>;
}

/**
 * One broker case: a fresh broker with random limits, `steps` random steps, the invariants checked after
 * each. Throws an Error naming the step and the trail of recent calls when one fails.
 */
export function runBrokerCase(rng: Prng, steps = 200): BrokerCaseStats {
  const h = new Harness(rng);
  for (let i = 0; i < steps; i++) {
    try {
      h.step();
      h.checkState();
    } catch (err) {
      const trail = h.trail.map((t) => `    ${t}`).join("\n");
      throw new Error(`broker fuzz step ${i}: ${(err as Error).message}\n  recent calls:\n${trail}`, {
        cause: err,
      });
    }
  }
  return { steps, sessions: h.sessions.length, delivered: h.delivered };
}
