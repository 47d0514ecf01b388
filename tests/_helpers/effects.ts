/**
 * Test helpers for the pure broker: a broker with small limits, and readers
 * that turn its effects back into decoded messages per recipient.
 */

import { Broker, type BrokerOptions } from "../../src/chat/broker.ts";
import type { Effect } from "../../src/chat/effects.ts";
import type { Session } from "../../src/chat/session.ts";
import { decodeMessage, FrameDecoder, type Message } from "../../src/protocol/mod.ts";

export type FakeLink = { label: string };

export function testBroker(overrides: Partial<BrokerOptions> = {}): Broker<FakeLink> {
  return new Broker<FakeLink>({
    maxClients: 10,
    timeoutMs: 3000,
    maxFrame: 64 * 1024,
    maxText: 100,
    maxRoomsPerClient: 3,
    maxRooms: 100,
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
    } else push(e.to, { type: "close", reason: e.reason });
  }
  return out;
}

/** Opens a session and completes its handshake; returns it and the handshake effects. */
export function connect(
  broker: Broker<FakeLink>,
  name: string,
  rooms: string[] = [],
  now = 0,
): { session: Session<FakeLink>; effects: Effect<FakeLink>[] } {
  const session = broker.open({ label: name }, `127.0.0.1:${1000 + broker.sessions.size}`, now);
  const effects = broker.handle(session, { type: "hello", version: 1, name, rooms, extensions: [] }, now);
  return { session, effects };
}
