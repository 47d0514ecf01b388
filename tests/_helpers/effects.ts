/**
 * Test helpers for the pure broker: a broker with small limits, and readers
 * that turn its effects back into decoded messages per recipient.
 */

import { Broker, type BrokerOptions } from "../../src/chat/broker.ts";
import type { Effect } from "../../src/chat/effects.ts";
import type { Session } from "../../src/chat/session.ts";
import {
  type Account,
  type Ban,
  type MessageStore,
  type SenderRef,
  type SendReceipt,
  type StoredMessage,
  StoreError,
} from "../../src/store/log.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import {
  decodeMessage,
  type Extension,
  ExtensionTag,
  FrameDecoder,
  type Message,
  type Welcome,
} from "../../src/protocol/mod.ts";

export type FakeLink = { label: string };

export function testBroker(overrides: Partial<BrokerOptions> = {}): Broker<FakeLink> {
  return new Broker<FakeLink>({
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

/** Decodes one complete frame as produced by encodeMessage. */
export function decodeFrame(bytes: Uint8Array): Message {
  const frames = new FrameDecoder().push(bytes);
  if (frames.length !== 1) throw new Error(`expected one frame, got ${frames.length}`);
  return decodeMessage(frames[0]);
}

/** What each session would receive from `effects`, decoded, with closes as {type:"close"}. */
export function deliveries(
  effects: Effect<FakeLink>[],
): Map<Session<FakeLink>, Array<Message | { type: "close"; reason: string }>> {
  const out = new Map<Session<FakeLink>, Array<Message | { type: "close"; reason: string }>>();
  const push = (s: Session<FakeLink>, m: Message | { type: "close"; reason: string }) => {
    if (!out.has(s)) out.set(s, []);
    out.get(s)!.push(m);
  };
  for (const e of effects) {
    if (e.kind === "send") push(e.to, decodeFrame(e.bytes));
    else if (e.kind === "broadcast") {
      for (const m of e.room.members) if (m !== e.except) push(m, decodeFrame(e.bytes));
    } else if (e.kind === "close") push(e.to, { type: "close", reason: e.reason });
    // delay and register effects carry no frame: tests look at them in the raw effect list.
  }
  return out;
}

/** Opens a session and completes its handshake; returns it and the handshake effects. */
export function connect(
  broker: Broker<FakeLink>,
  name: string,
  rooms: string[] = [],
  now = 0,
  extensions: Extension[] = [],
): { session: Session<FakeLink>; effects: Effect<FakeLink>[] } {
  const session = broker.open({ label: name }, `127.0.0.1:${1000 + broker.sessions.size}`, now);
  const effects = broker.handle(session, { type: "hello", version: 1, name, rooms, extensions }, now);
  return { session, effects };
}

/** The resume token a welcome in `effects` carried to `session`. */
export function tokenOf(effects: Effect<FakeLink>[], session: Session<FakeLink>): Uint8Array {
  const welcome = deliveries(effects).get(session)!.find((m) => m.type === "welcome") as Welcome;
  return welcome.extensions.find((e) => e.tag === ExtensionTag.RESUME_TOKEN)!.value;
}

/**
 * A store that stages writes until commit(), like SQLite, over a MemoryStore;
 * `failNext` makes the next commit fail as a full disk would.
 */
export class StagingStore implements MessageStore {
  readonly durable = true;
  readonly id = "00112233445566778899aabbccddeeff";
  readonly inner = new MemoryStore();
  failNext = false;
  #staged: Array<[StoredMessage, SenderRef]> = [];

  get staged(): number {
    return this.#staged.length;
  }
  lastSeq(room: string): number {
    const staged = this.#staged.filter(([m]) => m.room === room);
    return staged.length ? staged[staged.length - 1][0].seq : this.inner.lastSeq(room);
  }
  append(message: StoredMessage, sender: SenderRef): void {
    this.#staged.push([message, sender]);
  }
  commit(): void {
    const batch = this.#staged;
    this.#staged = [];
    if (this.failNext) {
      this.failNext = false;
      throw new StoreError("full", "disk full");
    }
    for (const [m, s] of batch) this.inner.append(m, s);
  }
  receipt(senderKey: string, id: number): SendReceipt | undefined {
    const hit = this.#staged.find(([, s]) => s.key === senderKey && s.id === id);
    return hit ? { room: hit[0].room, seq: hit[0].seq, ts: hit[0].ts } : this.inner.receipt(senderKey, id);
  }
  after(room: string, after: number, limit: number): StoredMessage[] {
    return this.inner.after(room, after, limit);
  }
  recent(room: string, limit: number): StoredMessage[] {
    return this.inner.recent(room, limit);
  }
  prune(now: number): number {
    return this.inner.prune(now);
  }
  account(key: string): Account | undefined {
    return this.inner.account(key);
  }
  putAccount(a: Account): void {
    this.inner.putAccount(a);
  }
  removeAccount(key: string): boolean {
    return this.inner.removeAccount(key);
  }
  accounts(): Account[] {
    return this.inner.accounts();
  }
  bans(now: number): Ban[] {
    return this.inner.bans(now);
  }
  putBan(b: Ban): void {
    this.inner.putBan(b);
  }
  removeBan(target: string): boolean {
    return this.inner.removeBan(target);
  }
  close(): void {}
}
