import assert from "node:assert/strict";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { StoreError } from "../../src/store/log.ts";

function msg(room: string, seq: number, ts = seq) {
  return { room, seq, ts, flags: 0, from: "alice", text: `m${seq}` };
}

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SqliteStore keeps messages, sequence numbers and receipts across a reopen", () =>
  withDir((dir) => {
    const a = new SqliteStore(dir);
    for (let i = 1; i <= 3; i++) a.append(msg("lobby", i), { key: "alice", id: 100 + i });
    assert.equal(a.staged, 3);
    assert.equal(a.lastSeq("lobby"), 3, "staged writes count for sequencing");
    assert.deepEqual(a.recent("lobby", 10), [], "reads see committed messages only");
    assert.deepEqual(a.receipt("alice", 102), { room: "lobby", seq: 2, ts: 2 }, "staged receipts dedupe too");
    a.commit();
    a.close();
    const b = new SqliteStore(dir);
    assert.equal(b.lastSeq("lobby"), 3);
    assert.equal(b.lastSeq("other"), 0);
    assert.deepEqual(b.receipt("alice", 103), { room: "lobby", seq: 3, ts: 3 });
    assert.equal(b.receipt("bob", 103), undefined);
    assert.deepEqual(b.recent("lobby", 2).map((m) => m.seq), [2, 3]);
    assert.deepEqual(b.after("lobby", 1, 10), [msg("lobby", 2), msg("lobby", 3)]);
    b.close();
  }));

Deno.test("SqliteStore refuses an append that would leave a gap", () =>
  withDir((dir) => {
    const s = new SqliteStore(dir);
    try {
      assert.throws(() => s.append(msg("lobby", 2), { key: "a", id: 1 }), RangeError);
    } finally {
      s.close();
    }
  }));

Deno.test("SqliteStore retention deletes by age and per-room count but sequences continue", () =>
  withDir((dir) => {
    const s = new SqliteStore(dir, { maxMessages: 5, maxAgeMs: 1000 });
    for (let i = 1; i <= 10; i++) s.append(msg("lobby", i, i * 100), { key: "a", id: i });
    s.commit();
    assert.equal(s.prune(1000), 5, "seq 1-5 exceed the per-room cap");
    assert.deepEqual(s.recent("lobby", 50).map((m) => m.seq), [6, 7, 8, 9, 10]);
    assert.equal(s.prune(1750), 2, "ts 600 and 700 are older than 1000 ms");
    assert.deepEqual(s.after("lobby", 0, 50).map((m) => m.seq), [8, 9, 10]);
    s.append(msg("lobby", 11, 2000), { key: "a", id: 11 });
    s.commit();
    s.close();
    const again = new SqliteStore(dir);
    assert.equal(again.lastSeq("lobby"), 11);
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

Deno.test("SqliteStore drops a failed batch and continues sequencing from disk", () =>
  withDir((dir) => {
    const s = new SqliteStore(dir);
    s.append(msg("lobby", 1), { key: "a", id: 1 });
    s.commit();
    s.append(msg("lobby", 2), { key: "a", id: 2 });
    s.append(msg("lobby", 3), { key: "a", id: 3 });
    assert.equal(s.lastSeq("lobby"), 3);
    // A closed database fails the commit the way an I/O error would.
    s.close();
    assert.throws(() => s.commit(), StoreError, "a closed database cannot commit");
    const again = new SqliteStore(dir);
    assert.equal(again.lastSeq("lobby"), 1, "nothing of the failed batch reached the disk");
    assert.equal(again.receipt("a", 2), undefined);
    again.close();
  }));

Deno.test("SqliteStore reports a full disk as StoreError kind full and keeps what was committed", () =>
  withDir((dir) => {
    const s = new SqliteStore(dir, {}, { maxBytes: 64 * 1024 });
    try {
      const big = "x".repeat(2000);
      let seq = 0;
      let failure: unknown = null;
      for (let i = 0; i < 200 && failure === null; i++) {
        s.append({ ...msg("lobby", seq + 1), text: big }, { key: "a", id: seq + 1 });
        try {
          s.commit();
          seq++;
        } catch (err) {
          failure = err;
        }
      }
      assert.ok(failure instanceof StoreError, `expected a StoreError, got ${failure}`);
      assert.equal((failure as StoreError).kind, "full");
      assert.ok(seq > 0);
      assert.equal(s.lastSeq("lobby"), seq, "the failed message gave its sequence number back");
      assert.equal(s.recent("lobby", 1000).length, seq);
    } finally {
      s.close();
    }
  }));
