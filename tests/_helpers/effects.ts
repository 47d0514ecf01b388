/**
 * Test helpers for the pure broker: a broker with small limits whose log
 * jobs are answered at once through the real {@linkcode CommitQueue} (so a
 * call returns everything that follows from it, log answers included), and
 * readers that turn its effects into the messages each session receives.
 */

import { Broker, type BrokerOptions } from "../../src/chat/broker.ts";
import type { CloseReason } from "../../src/chat/close.ts";
import { CommitQueue, type LogJob, type LogOutcome } from "../../src/chat/commit.ts";
import type { ClaimEffect, Effect, ShareEffect, UnshareEffect } from "../../src/chat/effects.ts";
import {
  type AccountStore,
  type AppendResult,
  type BanStore,
  type Draft,
  type MessageLog,
  type RoomSettings,
  StoreError,
} from "../../src/chat/ports.ts";
import type { Session } from "../../src/chat/session.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import {
  type ClientMessage,
  decodeServerMessage,
  encodeMessage,
  FrameDecoder,
  type Hello,
  type HelloExtensions,
  type ProtocolError,
  type ServerMessage,
  type Welcome,
} from "../../src/protocol/mod.ts";

/** Everything a broker keeps: the message log, accounts, bans and room topics. */
export type Store = MessageLog & AccountStore & BanStore & RoomSettings;

/** An effect as a test sees it: sessions as objects, and a broadcast with the members it reached. */
export type TestEffect =
  | { kind: "send"; to: Session; msg: ServerMessage; final?: boolean }
  | { kind: "broadcast"; room: string; msg: ServerMessage; except: Session | null; members: Session[] }
  | { kind: "close"; to: Session; reason: CloseReason }
  | { kind: "delay"; ms: number }
  | { kind: "register"; to: Session; password: string }
  | ShareEffect
  | UnshareEffect;

export interface TestBrokerOptions
  extends
    Omit<BrokerOptions, "accounts" | "bans" | "roomSettings" | "logId">,
    Partial<Pick<BrokerOptions, "logId">> {
  store?: Store;
  /** In a cluster: how the cluster answers a name claim (default: granted). */
  claim?: (e: ClaimEffect) => boolean;
}

/**
 * A broker whose every input returns, as {@linkcode TestEffect}s, what it
 * does at once and what follows once the log answers (with a log that
 * answers at once: memory, SQLite, or {@linkcode FaultyLog}).
 */
export class TestBroker {
  readonly broker: Broker;
  readonly store: Store;
  readonly queue: CommitQueue;
  #sessions = new Map<number, Session>();
  #outcomes: LogOutcome[] = [];
  #claims: Array<{ e: ClaimEffect; ok: boolean }> = [];
  #claim: (e: ClaimEffect) => boolean;

  constructor(options: TestBrokerOptions) {
    this.store = options.store ?? new MemoryStore();
    this.broker = new Broker({
      ...options,
      accounts: this.store,
      bans: this.store,
      roomSettings: this.store,
      logId: options.logId ?? this.store.id,
    });
    this.queue = new CommitQueue(this.store, (o) => this.#outcomes.push(o), () => {});
    this.#claim = options.claim ?? (() => true);
  }

  get options(): Readonly<BrokerOptions> {
    return this.broker.options;
  }
  get heartbeatMs(): number {
    return this.broker.heartbeatMs;
  }
  get online(): number {
    return this.broker.online;
  }
  get sessions(): ReadonlySet<Session> {
    return this.broker.sessions;
  }
  room(name: string) {
    return this.broker.room(name);
  }

  open(address: string, now: number): Session {
    const s = this.broker.open(address, now);
    this.#sessions.set(s.id, s);
    return s;
  }
  handle(s: Session, msg: ClientMessage, now: number): TestEffect[] {
    return this.settle(this.broker.handle(s, msg, now), now);
  }
  protocolError(s: Session, err: ProtocolError, now: number): TestEffect[] {
    return this.settle(this.broker.protocolError(s, err, now), now);
  }
  drop(s: Session, reason: CloseReason, now: number, text = ""): TestEffect[] {
    return this.settle(this.broker.drop(s, reason, now, text), now);
  }
  tick(now: number): TestEffect[] {
    return this.settle(this.broker.tick(now), now);
  }
  shutdown(now: number): TestEffect[] {
    return this.settle(this.broker.shutdown(now), now);
  }
  registered(s: Session, hash: string, now: number): TestEffect[] {
    return this.settle(this.broker.registered(s, hash, now), now);
  }

  /**
   * Resolves `effects` as the runner would perform them, in order; log jobs
   * go to the queue, which runs at the end, and what follows from its
   * outcomes is appended (and resolved in turn).
   */
  settle(effects: Effect[], now: number): TestEffect[] {
    const out: TestEffect[] = [];
    let pending = effects;
    while (pending.length > 0) {
      for (const e of pending) {
        const t = this.#resolve(e);
        if (t) out.push(t);
      }
      if (this.queue.run() !== undefined) throw new Error("TestBroker needs a log that answers at once");
      const outcomes = this.#outcomes;
      this.#outcomes = [];
      const claims = this.#claims;
      this.#claims = [];
      pending = [
        ...outcomes.flatMap((o) => this.broker.logged(o, now)),
        ...claims.flatMap(({ e, ok }) => this.broker.claimed(this.#session(e.to), ok, now)),
      ];
    }
    return out;
  }

  #session(id: number): Session {
    // Sessions of other nodes (in a cluster) are made by the broker itself.
    const s = this.#sessions.get(id) ?? this.broker.session(id);
    if (s) this.#sessions.set(id, s);
    if (!s) throw new Error(`an effect names session #${id}, which this test never opened`);
    return s;
  }

  #resolve(e: Effect): TestEffect | null {
    switch (e.kind) {
      case "send":
        return { ...e, to: this.#session(e.to) };
      case "broadcast": {
        const members = [...(this.broker.room(e.room)?.members ?? [])];
        return { ...e, except: e.except ? this.#session(e.except) : null, members };
      }
      case "close":
        return { ...e, to: this.#session(e.to) };
      case "register":
        return { ...e, to: this.#session(e.to) };
      case "delay":
        return e;
      case "share":
      case "unshare":
        return e;
      case "claim":
        this.#claims.push({ e, ok: this.#claim(e) });
        return null;
      default:
        this.queue.push(e as LogJob);
        return null;
    }
  }
}

export function testBroker(overrides: Partial<TestBrokerOptions> = {}): TestBroker {
  return new TestBroker({
    maxClients: 10,
    timeoutMs: 3000,
    maxFrame: 64 * 1024,
    maxText: 100,
    maxRoomsPerClient: 3,
    maxRooms: 100,
    // Most tests want leaves announced at once; the grace tests set it.
    graceMs: 0,
    historyLimit: 0,
    ...overrides,
  });
}

/** Decodes one complete frame as produced by encodeMessage for a client. */
export function decodeFrame(bytes: Uint8Array): ServerMessage {
  const frames = new FrameDecoder().push(bytes);
  if (frames.length !== 1) throw new Error(`expected one frame, got ${frames.length}`);
  return decodeServerMessage(frames[0]);
}

/**
 * What each session would receive from `effects`, in order, with closes as
 * {type:"close"}. Every message goes through the encoder and back, as on the
 * wire: a message that does not encode fails the test.
 */
export function deliveries(
  effects: TestEffect[],
): Map<Session, Array<ServerMessage | { type: "close"; reason: string }>> {
  const out = new Map<Session, Array<ServerMessage | { type: "close"; reason: string }>>();
  const push = (s: Session, m: ServerMessage | { type: "close"; reason: string }) => {
    if (!out.has(s)) out.set(s, []);
    out.get(s)!.push(m);
  };
  for (const e of effects) {
    if (e.kind === "send") push(e.to, decodeFrame(encodeMessage(e.msg)));
    else if (e.kind === "broadcast") {
      const msg = decodeFrame(encodeMessage(e.msg));
      for (const m of e.members) if (m !== e.except) push(m, msg);
    } else if (e.kind === "close") push(e.to, { type: "close", reason: e.reason });
    // delay and register effects carry no frame: tests look at them in the raw effect list.
  }
  return out;
}

/** Opens a session and completes its handshake; returns it and the handshake effects. */
export function connect(
  broker: TestBroker,
  name: string,
  rooms: string[] = [],
  now = 0,
  extensions: HelloExtensions = {},
): { session: Session; effects: TestEffect[] } {
  const session = broker.open(`127.0.0.1:${1000 + broker.sessions.size}`, now);
  const hello: Hello = { type: "hello", version: 1, name, rooms, ...extensions };
  const effects = broker.handle(session, hello, now);
  return { session, effects };
}

/** The resume token a welcome in `effects` carried to `session`. */
export function tokenOf(effects: TestEffect[], session: Session): Uint8Array {
  const welcome = deliveries(effects).get(session)!.find((m) => m.type === "welcome") as Welcome;
  return welcome.resumeToken!;
}

/** A {@linkcode MemoryStore} whose next append fails (`failNext`), as a full disk would. */
export class FaultyLog extends MemoryStore {
  failNext = false;

  override append(drafts: readonly Draft[]): AppendResult[] {
    if (!this.failNext) return super.append(drafts);
    this.failNext = false;
    const error = new StoreError("full", "disk full");
    return drafts.map(() => ({ kind: "failed", error }));
  }
}
