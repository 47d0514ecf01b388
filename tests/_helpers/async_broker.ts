/**
 * A broker driven by hand over a log that answers only when the test says
 * ({@linkcode AsyncLog}, held): the shape of a shared log answering over the
 * network. Effects are performed the way src/net/runner.ts performs them
 * (a send to its session, a broadcast to the room's members at that moment,
 * log jobs to a real {@linkcode CommitQueue}, started once an input's effects
 * are performed), and each session's frames are kept as it would receive
 * them. Unlike TestBroker, a call returns before the log answers, so a test
 * can change the world while a read or an append is out.
 *
 * @module
 */

import { Broker, type BrokerOptions } from "../../src/chat/broker.ts";
import type { CloseReason } from "../../src/chat/close.ts";
import { CommitQueue, type LogJob } from "../../src/chat/commit.ts";
import type { Effect } from "../../src/chat/effects.ts";
import type { Session } from "../../src/chat/session.ts";
import {
  type ClientMessage,
  encodeMessage,
  type HelloExtensions,
  MessageFlags,
  type ServerMessage,
} from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { AsyncLog } from "./async_log.ts";
import { decodeFrame } from "./effects.ts";

/** A frame a session received, or the close of its connection. */
export type Received = ServerMessage | { type: "close"; reason: CloseReason };

export class AsyncBroker {
  readonly store = new MemoryStore();
  /** Held: every log call waits for `log.release()`. */
  readonly log = new AsyncLog(this.store, true);
  readonly broker: Broker;
  readonly queue: CommitQueue;
  /** The time every input is given. */
  now = 0;
  #got = new Map<Session, Received[]>();
  #byId = new Map<number, Session>();

  constructor(overrides: Partial<BrokerOptions> = {}) {
    this.broker = brokerOver(this.store, overrides);
    // Batches start when the test's inputs are performed (see perform), as the server starts them after a burst.
    this.queue = new CommitQueue(this.log, (o) => this.perform(this.broker.logged(o, this.now)), () => {});
  }

  /** A new connection, from a loopback address of its own. */
  open(): Session {
    const s = this.broker.open(`127.0.0.1:${2000 + this.#byId.size}`, this.now);
    this.#byId.set(s.id, s);
    return s;
  }

  /** Opens a session and sends its HELLO (whose read of the log is then out). */
  hello(name: string, rooms: string[] = [], extensions: HelloExtensions = {}): Session {
    const s = this.open();
    this.handle(s, { type: "hello", version: 1, name, rooms, ...extensions });
    return s;
  }

  /** Opens a session, sends its HELLO and lets the log answer its read: a ready session. */
  async ready(name: string, rooms: string[] = []): Promise<Session> {
    const s = this.hello(name, rooms);
    await this.log.release();
    if (s.state !== "ready") throw new Error(`${name} was not welcomed: ${JSON.stringify(this.take(s))}`);
    this.take(s);
    return s;
  }

  handle(s: Session, msg: ClientMessage): void {
    this.perform(this.broker.handle(s, msg, this.now));
  }

  drop(s: Session, reason: CloseReason): void {
    this.perform(this.broker.drop(s, reason, this.now));
  }

  /** Performs `effects` in order, then hands the log jobs they asked for to the log (if no batch is out). */
  perform(effects: Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case "send":
        case "close": {
          const s = this.#byId.get(e.to);
          if (!s) throw new Error(`an effect names session #${e.to}, which this test never opened`);
          this.#push(
            s,
            e.kind === "send" ? decodeFrame(encodeMessage(e.msg)) : { type: "close", reason: e.reason },
          );
          break;
        }
        case "broadcast": {
          const msg = decodeFrame(encodeMessage(e.msg));
          for (const m of this.broker.room(e.room)?.members ?? []) if (m.id !== e.except) this.#push(m, msg);
          break;
        }
        case "delay":
        case "register":
          throw new Error(`AsyncBroker does not perform ${e.kind} effects`);
        default:
          this.queue.push(e as LogJob);
      }
    }
    void this.queue.run();
  }

  /** What `s` received since the last call, which it forgets. */
  take(s: Session): Received[] {
    const got = this.#got.get(s) ?? [];
    this.#got.delete(s);
    return got;
  }

  #push(s: Session, m: Received): void {
    if (!this.#got.has(s)) this.#got.set(s, []);
    this.#got.get(s)!.push(m);
  }
}

/** Frames as short labels: `m<seq>` for a live message, `h<seq>` for history, errors by code. */
export function labels(frames: Received[]): string[] {
  return frames.map((f) => {
    if (f.type === "message") return `${(f.flags & MessageFlags.HISTORY) !== 0 ? "h" : "m"}${f.seq}`;
    if (f.type === "error") return f.code;
    if (f.type === "close") return `close:${f.reason}`;
    return f.type;
  });
}

/** A broker over `store` (its message log, accounts, bans and room topics) with small limits, `overrides` applied. */
export function brokerOver(store: MemoryStore, overrides: Partial<BrokerOptions> = {}): Broker {
  return new Broker({
    maxClients: 10,
    timeoutMs: 3000,
    maxFrame: 64 * 1024,
    maxText: 100,
    maxRoomsPerClient: 3,
    maxRooms: 100,
    graceMs: 0,
    historyLimit: 10,
    accounts: store,
    bans: store,
    roomSettings: store,
    logId: store.id,
    ...overrides,
  });
}
