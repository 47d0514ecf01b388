import assert from "node:assert/strict";
import { conversationRoom, StoreError } from "../../src/chat/ports.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { draft, storeContract } from "./contract.ts";

const dirs: string[] = [];
storeContract({
  name: "SqliteStore",
  durable: true,
  open(retention) {
    const dir = Deno.makeTempDirSync({ prefix: "chat-store-" });
    dirs.push(dir);
    return new SqliteStore(dir, retention);
  },
  async dispose() {
    for (const dir of dirs.splice(0)) await Deno.remove(dir, { recursive: true });
  },
});

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const all = { after: 0, before: 0, limit: 1000 };

Deno.test("SqliteStore keeps room topics across a reopen", () =>
  withDir((dir) => {
    const a = new SqliteStore(dir);
    a.putTopic({ room: "lobby", text: "be kind", by: "alice", ts: 5 });
    a.putTopic({ room: "dev", text: "gone soon", by: "bob", ts: 6 });
    a.putTopic({ room: "dev", text: "", by: "bob", ts: 7 });
    a.close();
    const b = new SqliteStore(dir);
    assert.deepEqual(b.topic("lobby"), { room: "lobby", text: "be kind", by: "alice", ts: 5 });
    assert.equal(b.topic("dev"), undefined);
    b.close();
  }));

Deno.test("SqliteStore keeps messages, sequence numbers and receipts across a reopen", () =>
  withDir((dir) => {
    const a = new SqliteStore(dir);
    a.append([1, 2, 3].map((i) => draft("lobby", "alice", 100 + i, `m${i}`, i)));
    a.close();
    const b = new SqliteStore(dir);
    assert.equal(b.page("lobby", all).lastSeq, 3);
    assert.equal(b.page("other", all).lastSeq, 0);
    assert.deepEqual(b.receipts([{ key: "alice", id: 103 }, { key: "bob", id: 103 }]), [
      { room: "lobby", seq: 3, ts: 3 },
      undefined,
    ]);
    assert.deepEqual(b.page("lobby", { after: 1, before: 0, limit: 10 }).messages.map((m) => m.text), [
      "m2",
      "m3",
    ]);
    assert.deepEqual(b.append([draft("lobby", "bob", 1)]).map((r) => r.kind === "stored" && r.message.seq), [
      4,
    ]);
    b.close();
  }));

Deno.test("SqliteStore keeps conversations and their list across a reopen, and a batch that fails adds none", () =>
  withDir((dir) => {
    const ab = conversationRoom("alice", "bob");
    const a = new SqliteStore(dir);
    a.append([draft(ab, "alice", 1, "hi", 5), draft(ab, "bob", 1, "hey", 6)]);
    a.close();
    const b = new SqliteStore(dir);
    assert.deepEqual(b.conversations("bob", 10), [{ room: ab, lastSeq: 2, ts: 6 }]);
    assert.deepEqual(b.page(ab, all).messages.map((m) => m.text), ["hi", "hey"]);
    // A message the batch could not keep does not list its conversation either: one transaction.
    const ac = conversationRoom("alice", "carol");
    const failing = [draft(ac, "carol", 1, "x", 7), {
      ...draft(ac, "carol", 2),
      text: null as unknown as string,
    }];
    assert.deepEqual(b.append(failing).map((r) => r.kind), ["failed", "failed"]);
    assert.deepEqual(b.conversations("carol", 10), []);
    b.close();
  }));

Deno.test("SqliteStore retention deletes by age and per-room count but sequences continue", () =>
  withDir((dir) => {
    const s = new SqliteStore(dir, { maxMessages: 5, maxAgeMs: 1000 });
    s.append(Array.from({ length: 10 }, (_, i) => draft("lobby", "a", i + 1, `m${i + 1}`, (i + 1) * 100)));
    assert.equal(s.prune(1000), 5, "seq 1-5 exceed the per-room cap");
    assert.deepEqual(s.page("lobby", all).messages.map((m) => m.seq), [6, 7, 8, 9, 10]);
    assert.equal(s.prune(1750), 2, "ts 600 and 700 are older than 1000 ms");
    assert.deepEqual(s.page("lobby", all).messages.map((m) => m.seq), [8, 9, 10]);
    s.append([draft("lobby", "a", 11, "m11", 2000)]);
    s.close();
    const again = new SqliteStore(dir);
    assert.equal(again.page("lobby", all).lastSeq, 11);
    again.close();
  }));

Deno.test("SqliteStore names the path when the data directory cannot be created", () => {
  assert.throws(
    () => new SqliteStore("/proc/definitely/not/writable"),
    (e: Error) =>
      e instanceof StoreError && /cannot create data directory \/proc\/definitely/.test(e.message),
  );
});

Deno.test("SqliteStore refuses a corrupted database file with a clear error", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/chat.db`,
      "this is not a database, just text that is long enough ".repeat(200),
    );
    assert.throws(
      () => new SqliteStore(dir),
      (e: Error) => e instanceof StoreError && e.kind === "corrupt" && e.message.includes(`${dir}/chat.db`),
    );
  }));

Deno.test("SqliteStore refuses a whole failed batch and continues sequencing from disk", () =>
  withDir((dir) => {
    const s = new SqliteStore(dir);
    s.append([draft("lobby", "a", 1)]);
    // A closed database fails the batch the way an I/O error would.
    s.close();
    const failed = s.append([draft("lobby", "a", 2), draft("lobby", "a", 3)]);
    assert.deepEqual(failed.map((r) => r.kind), ["failed", "failed"]);
    assert.ok(failed[0].kind === "failed" && failed[0].error instanceof StoreError);
    const again = new SqliteStore(dir);
    assert.equal(again.page("lobby", all).lastSeq, 1, "nothing of the failed batch reached the disk");
    assert.deepEqual(again.receipts([{ key: "a", id: 2 }]), [undefined]);
    again.close();
  }));

Deno.test("SqliteStore reports its size cap as StoreError kind limit, saying what to do, and keeps what was committed", () =>
  withDir((dir) => {
    const s = new SqliteStore(dir, {}, { maxBytes: 64 * 1024 });
    try {
      const big = "x".repeat(2000);
      let stored = 0;
      let failure: StoreError | null = null;
      for (let i = 1; i <= 200 && failure === null; i++) {
        const [r] = s.append([draft("lobby", "a", i, big)]);
        if (r.kind === "stored") stored++;
        else if (r.kind === "failed") failure = r.error;
      }
      assert.ok(failure instanceof StoreError, `expected a StoreError, got ${failure}`);
      // SQLite says "database or disk is full" for the cap too; the disk has room, so it is the cap.
      assert.equal(failure.kind, "limit");
      assert.match(failure.message, /size limit of 64 KiB \(--max-store-mb\): raise --max-store-mb/);
      assert.ok(stored > 0);
      const page = s.page("lobby", all);
      assert.equal(page.lastSeq, stored, "the failed message gave its sequence number back");
      assert.equal(page.messages.length, stored);
    } finally {
      s.close();
    }
  }));

Deno.test("SqliteStore keeps a resend of a committed message a duplicate even when its batch fails", () =>
  withDir((dir) => {
    const s = new SqliteStore(dir, {}, { maxBytes: 64 * 1024 });
    try {
      s.append([draft("lobby", "a", 1)]);
      // Fill the store so the next batch fails; the resend in it was stored earlier and stays answered.
      const big = "x".repeat(4000);
      let results = s.append([draft("lobby", "a", 1), draft("lobby", "a", 1000, big)]);
      for (let i = 2; results[1].kind !== "failed" && i < 200; i++) {
        results = s.append([draft("lobby", "a", 1), draft("lobby", "a", 1000 + i, big)]);
      }
      assert.equal(results[1].kind, "failed");
      assert.deepEqual(results[0], { kind: "duplicate", receipt: { room: "lobby", seq: 1, ts: 1 } });
    } finally {
      s.close();
    }
  }));
