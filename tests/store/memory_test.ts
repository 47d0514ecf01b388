import assert from "node:assert/strict";
import { MEMORY_RECEIPTS, MemoryStore } from "../../src/store/memory.ts";
import { draft, storeContract } from "./contract.ts";

storeContract({ name: "MemoryStore", durable: false, open: (retention) => new MemoryStore(retention) });

Deno.test("MemoryStore keeps the newest receipts and forgets the oldest past its limit", () => {
  const store = new MemoryStore();
  const total = MEMORY_RECEIPTS + 10;
  const batch = [];
  for (let id = 1; id <= total; id++) batch.push(draft("lobby", "alice", id));
  store.append(batch);
  const receipts = store.receipts([1, 10, 11, total].map((id) => ({ key: "alice", id })));
  assert.deepEqual(receipts, [undefined, undefined, { room: "lobby", seq: 11, ts: 11 }, {
    room: "lobby",
    seq: total,
    ts: total,
  }]);
});

Deno.test("MemoryStore keeps a bounded number of messages per room", () => {
  const store = new MemoryStore({ maxMessages: 5 });
  const batch = [];
  for (let id = 1; id <= 20; id++) batch.push(draft("lobby", "alice", id));
  store.append(batch);
  const page = store.page("lobby", { after: 0, before: 0, limit: 100 });
  assert.ok(page.messages.length <= 10, `${page.messages.length} kept, at most twice the cap between trims`);
  assert.equal(page.messages.at(-1)?.seq, 20);
  assert.equal(page.lastSeq, 20);
});
