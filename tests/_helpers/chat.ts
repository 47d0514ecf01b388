/**
 * Small readers and steps shared by the tests of the broker's modules
 * (tests/chat/*_test.ts): what a session received, as types, seqs and
 * error codes, and a handshake with a chosen password outcome and address.
 *
 * @module
 */

import { deliveries, type testBroker, type TestEffect } from "./effects.ts";

/** A decoded frame, read loosely. */
export type Any = Record<string, unknown> & { type: string };

/** A decoded frame with the fields the history and messaging tests read. */
export type Msg = { type: string; seq?: number; flags?: number; text?: string; code?: string };

/** The types of the frames in `list`, in order. */
export const types = (list: unknown[] | undefined) => (list ?? []).map((m) => (m as Any).type);

/** Like {@linkcode types}, with each MESSAGE as `m<seq>`. */
export const kinds = (ms: Msg[] | undefined) =>
  (ms ?? []).map((m) => m.type === "message" ? `m${m.seq}` : m.type);

/** The code of the first ERROR `s` receives from `effects`, if any. */
export const codeOf = (effects: TestEffect[], s: unknown) =>
  ((deliveries(effects).get(s as never) ?? []) as Any[]).find((m) => m.type === "error")?.code;

/** The code of the first ERROR among `frames` (what one session received), if any. */
export const codeIn = (frames: unknown[] | undefined) =>
  ((frames ?? []) as Any[]).find((m) => m.type === "error")?.code;

/** Opens a session from `addr` whose password check came out as `auth`, and sends its HELLO. */
export function hello(
  b: ReturnType<typeof testBroker>,
  name: string,
  auth: "none" | "ok" | "wrong",
  admin = false,
  addr = "10.0.0.1:1",
) {
  const s = b.open(addr, 0);
  s.auth = { password: auth, admin };
  const effects = b.handle(s, { type: "hello", version: 1, name, rooms: [], extensions: [] }, 0);
  return { s, effects };
}
