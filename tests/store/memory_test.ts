import assert from "node:assert/strict";
import { MEMORY_RECEIPTS, MemoryStore } from "../../src/store/memory.ts";

function append(store: MemoryStore, seq: number, key: string, id: number): void {
  store.append({ room: "lobby", seq, ts: seq, flags: 0, from: key, text: "hi" }, { key, id });
}

Deno.test("MemoryStore keeps the newest receipts and forgets the oldest past its limit", () => {
  const store = new MemoryStore();
  const total = MEMORY_RECEIPTS + 10;
  for (let seq = 1; seq <= total; seq++) append(store, seq, "alice", seq);
  for (let id = 1; id <= 10; id++) assert.equal(store.receipt("alice", id), undefined, `receipt ${id}`);
  assert.deepEqual(store.receipt("alice", 11), { room: "lobby", seq: 11, ts: 11 });
  assert.deepEqual(store.receipt("alice", total), { room: "lobby", seq: total, ts: total });
});

Deno.test("MemoryStore does not forget a receipt made again when its older copy's turn comes", () => {
  const store = new MemoryStore();
  let seq = 0;
  append(store, ++seq, "bob", 1);
  for (let id = 1; id <= 10; id++) append(store, ++seq, "carol", id);
  // The same sender reference again (a resend whose first receipt the caller did not find): it is newer now.
  append(store, ++seq, "bob", 1);
  const resent = seq;
  for (let id = 11; seq < MEMORY_RECEIPTS + 2; id++) append(store, ++seq, "carol", id);
  assert.deepEqual(store.receipt("bob", 1), { room: "lobby", seq: resent, ts: resent });
  assert.equal(store.receipt("carol", 1), undefined, "the oldest live receipt went instead");
  assert.deepEqual(store.receipt("carol", 2), { room: "lobby", seq: 3, ts: 3 });
});
