import assert from "node:assert/strict";
import type { StoredMessage } from "../../src/chat/ports.ts";
import { MessageBudget, messageBytes, RoomLog } from "../../src/store/message_budget.ts";

const msg = (room: string, seq: number, text = "x".repeat(36)): StoredMessage => ({
  room,
  seq,
  ts: seq,
  flags: 0,
  from: "bob",
  text,
});

/** A message counts 128 + 2 * (36 + 3) = 206 bytes: a budget of n * 206 holds exactly n. */
const EACH = messageBytes(msg("a", 1));

function add(budget: MessageBudget, room: RoomLog, m: StoredMessage): void {
  room.seq = m.seq;
  room.push(m);
  budget.added(room, m);
}

const held = (r: RoomLog) => r.slice(0, r.size).map((m) => m.seq);

Deno.test("messageBytes() counts every UTF-16 unit of text and sender at two bytes, over a fixed overhead", () => {
  assert.equal(EACH, 128 + 2 * 39);
  assert.equal(messageBytes(msg("a", 1, "😀")), 128 + 2 * (2 + 3));
});

Deno.test("MessageBudget drops the oldest messages of the whole store first, whichever room they are in", () => {
  const budget = new MessageBudget(5 * EACH);
  const quiet = new RoomLog();
  const busy = new RoomLog();
  add(budget, quiet, msg("quiet", 1));
  add(budget, quiet, msg("quiet", 2));
  for (let seq = 1; seq <= 3; seq++) add(budget, busy, msg("busy", seq));
  assert.equal(budget.bytes, 5 * EACH, "exactly full");
  add(budget, busy, msg("busy", 4));
  assert.deepEqual([held(quiet), held(busy)], [[2], [1, 2, 3, 4]], "the quiet room's oldest went first");
  add(budget, busy, msg("busy", 5));
  add(budget, busy, msg("busy", 6));
  assert.deepEqual([held(quiet), held(busy)], [[], [2, 3, 4, 5, 6]]);
  assert.equal(quiet.seq, 2, "a room whose messages are gone still knows its last seq");
  assert.ok(budget.bytes <= budget.maxBytes);
});

Deno.test("MessageBudget skips messages a room dropped itself, and counts them out at once", () => {
  const budget = new MessageBudget(4 * EACH);
  const a = new RoomLog();
  const b = new RoomLog();
  for (let seq = 1; seq <= 3; seq++) add(budget, a, msg("a", seq));
  budget.dropped(a.dropFirst());
  budget.dropped(a.dropFirst());
  assert.equal(budget.bytes, EACH);
  for (let seq = 1; seq <= 4; seq++) add(budget, b, msg("b", seq));
  assert.deepEqual([held(a), held(b)], [[], [1, 2, 3, 4]], "a's remaining message was the oldest held");
});

Deno.test("MessageBudget's order does not grow with messages rooms drop themselves (a count cap), under its limit", () => {
  const budget = new MessageBudget(1024 * 1024 * 1024);
  const room = new RoomLog();
  for (let seq = 1; seq <= 100_000; seq++) {
    add(budget, room, msg("r", seq));
    // The room keeps its last 10, as a count cap does; the budget never comes near its limit.
    if (room.size > 10) budget.dropped(room.dropFirst());
  }
  assert.equal(budget.bytes, 10 * EACH);
  assert.ok(budget.entries < 3000, `${budget.entries} entries kept in the order for 10 messages`);
  assert.deepEqual(held(room), Array.from({ length: 10 }, (_, i) => 99_991 + i));
});

Deno.test("RoomLog knows which messages it holds, by seq and identity, after drops and compactions", () => {
  const room = new RoomLog();
  const all = Array.from({ length: 3000 }, (_, i) => msg("r", i + 1));
  for (const m of all) room.push(m);
  for (let i = 0; i < 2500; i++) room.dropFirst();
  assert.equal(room.size, 500);
  assert.equal(room.first, all[2500]);
  assert.equal(room.has(all[2499]), false);
  assert.equal(room.has(all[2999]), true);
  assert.equal(room.has(msg("r", 2600)), false, "the same seq, another message");
  assert.deepEqual(room.slice(0, 2).map((m) => m.seq), [2501, 2502]);
});
