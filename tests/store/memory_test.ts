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

Deno.test("MemoryStore bounds all rooms' messages together: past its budget the oldest of the store go first", () => {
  // 100 rooms of 1000 messages each: the per-room cap alone would keep all 100,000 (about 22 MB).
  const store = new MemoryStore({}, { maxBytes: 1024 * 1024 });
  for (let batch = 0; batch < 1000; batch++) {
    store.append(
      Array.from({ length: 100 }, (_, r) => draft(`room${r}`, "alice", batch * 100 + r + 1, "x".repeat(100))),
    );
  }
  const usage = store.usage;
  assert.ok(usage.bytes <= 1024 * 1024, `${usage.bytes} bytes counted`);
  assert.ok(usage.messages > 3000 && usage.messages < 5000, `${usage.messages} messages kept`);
  // Every room sent its last message at about the same time: each keeps its newest, none its oldest.
  const page = store.page("room0", { after: 0, before: 0, limit: 1000 });
  assert.equal(page.lastSeq, 1000, "numbering is kept whatever is dropped");
  assert.equal(page.messages.at(-1)?.seq, 1000);
  assert.ok(page.messages[0].seq > 900, `room0 keeps its newest messages, from seq ${page.messages[0].seq}`);
  assert.deepEqual(store.append([draft("room0", "alice", 1, "again")]), [
    { kind: "duplicate", receipt: { room: "room0", seq: 1, ts: 1 } },
  ], "receipts are kept apart from the messages");
});

Deno.test("MemoryStore drops the messages of the rooms quiet longest before a busy room's", () => {
  const store = new MemoryStore({}, { maxBytes: 64 * 1024 });
  store.append(Array.from({ length: 10 }, (_, i) => draft("quiet", "bob", i + 1)));
  for (let id = 1; id <= 200; id++) store.append([draft("busy", "alice", id)]);
  assert.ok(
    store.page("quiet", { after: 0, before: 0, limit: 50 }).messages.length === 10,
    "still room for all",
  );
  for (let id = 201; id <= 2000; id++) store.append([draft("busy", "alice", id)]);
  assert.deepEqual(store.page("quiet", { after: 0, before: 0, limit: 50 }), { messages: [], lastSeq: 10 });
  assert.equal(store.held("busy").last, 2000);
});
