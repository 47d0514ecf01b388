import assert from "node:assert/strict";
import { StoreError } from "../../src/chat/ports.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { ThreadedSqliteStore } from "../../src/store/sqlite_threaded.ts";
import { draft, storeContract } from "./contract.ts";

const FAULTY = new URL("../_helpers/sqlite_test_worker.ts", import.meta.url);

const dirs: string[] = [];
storeContract({
  name: "ThreadedSqliteStore",
  durable: true,
  open(retention) {
    const dir = Deno.makeTempDirSync({ prefix: "chat-store-" });
    dirs.push(dir);
    return ThreadedSqliteStore.open(new SqliteStore(dir, retention), {
      dir,
      retention: retention ?? {},
      maxBytes: 0,
    });
  },
  async dispose() {
    for (const dir of dirs.splice(0)) await Deno.remove(dir, { recursive: true });
  },
});

/** A threaded store on a fresh directory, closed and removed after `fn`. */
async function withStore(
  fn: (store: ThreadedSqliteStore, dir: string) => Promise<void>,
  options: { maxBytes?: number; workerUrl?: URL } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-store-" });
  const maxBytes = options.maxBytes ?? 0;
  const store = await ThreadedSqliteStore.open(new SqliteStore(dir, {}, { maxBytes }), {
    dir,
    retention: {},
    maxBytes,
    workerUrl: options.workerUrl,
  });
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const all = { after: 0, before: 0, limit: 1000 };
const kinds = (results: Array<{ kind: string }>) => results.map((r) => r.kind);

Deno.test("ThreadedSqliteStore answers appends only after the worker commits, and the thread runs meanwhile", () =>
  withStore(async (store) => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const started = performance.now();
      const results = await store.append([draft("lobby", "a", 1, "slow:400 first"), draft("lobby", "a", 2)]);
      const took = performance.now() - started;
      assert.deepEqual(kinds(results), ["stored", "stored"]);
      assert.ok(took >= 390, `answered after ${took.toFixed(0)} ms: before the commit was done`);
      // While the worker's thread was blocked in its commit, this one kept running its timers.
      assert.ok(ticks >= 10, `only ${ticks} ticks of a 5 ms timer in ${took.toFixed(0)} ms`);
    } finally {
      clearInterval(timer);
    }
  }, { workerUrl: FAULTY }));

Deno.test("ThreadedSqliteStore fails every message of a batch whose append throws, and numbering goes on without a gap", () =>
  withStore(async (store, dir) => {
    assert.deepEqual(kinds(await store.append([draft("lobby", "a", 1)])), ["stored"]);
    await assert.rejects(
      () => Promise.resolve(store.append([draft("lobby", "a", 2), draft("lobby", "a", 3, "throw: now")])),
      (err: Error) => err instanceof StoreError && /simulated I\/O failure/.test(err.message),
    );
    const next = await store.append([draft("lobby", "a", 2), draft("lobby", "a", 3)]);
    assert.deepEqual(
      next.map((r) => r.kind === "stored" && r.message.seq),
      [2, 3],
      "the refused messages left no gap",
    );
    const reopened = new SqliteStore(dir);
    try {
      assert.deepEqual(reopened.page("lobby", all).messages.map((m) => m.text), ["a:1", "a:2", "a:3"]);
    } finally {
      reopened.close();
    }
  }, { workerUrl: FAULTY }));

Deno.test("ThreadedSqliteStore refuses a batch past its size cap, gives its numbers back, and keeps what was committed", () =>
  withStore(async (store) => {
    const big = "x".repeat(2000);
    let stored = 0;
    let failure: StoreError | null = null;
    for (let i = 1; i <= 200 && failure === null; i++) {
      const results = await store.append([
        draft("lobby", "a", 2 * i, big),
        draft("lobby", "a", 2 * i + 1, big),
      ]);
      if (results.every((r) => r.kind === "stored")) stored += 2;
      else {
        assert.deepEqual(kinds(results), ["failed", "failed"], "a batch fails whole");
        failure = results[0].kind === "failed" ? results[0].error : null;
      }
    }
    assert.ok(failure instanceof StoreError, `expected a StoreError, got ${failure}`);
    assert.equal(failure.kind, "limit");
    assert.match(failure.message, /size limit of 64 KiB \(--max-store-mb\)/);
    const page = await store.page("lobby", all);
    assert.equal(page.lastSeq, stored, "the failed batch gave its sequence numbers back");
    assert.equal(page.messages.length, stored);
  }, { maxBytes: 64 * 1024 }));

Deno.test("ThreadedSqliteStore fails what the worker held when it dies, and every call after", () =>
  withStore(async (store) => {
    assert.deepEqual(kinds(await store.append([draft("lobby", "a", 1)])), ["stored"]);
    const dying = Promise.resolve(store.append([draft("lobby", "a", 2, "crash: now")]));
    const after = Promise.resolve(store.page("lobby", all));
    await assert.rejects(
      dying,
      (err: Error) => err instanceof StoreError && /storage thread stopped/.test(err.message),
    );
    await assert.rejects(
      after,
      (err: Error) => err instanceof StoreError && /storage thread stopped/.test(err.message),
    );
    await assert.rejects(
      () => Promise.resolve(store.append([draft("lobby", "a", 3)])),
      (err: Error) => err instanceof StoreError && err.kind === "io",
    );
  }, { workerUrl: FAULTY }));

Deno.test("ThreadedSqliteStore keeps accounts and bans on this thread, readable at once", () =>
  withStore((store) => {
    store.putAccount({ name: "Alice", key: "alice", hash: "h", admin: false, created: 1 });
    assert.equal(store.account("alice")?.name, "Alice");
    const version = store.version;
    store.putBan({ target: "name:eve", until: 0, reason: "", by: "op", created: 1 });
    assert.notEqual(store.version, version, "the ban store's version moves");
    assert.deepEqual(store.bans(0).map((b) => b.target), ["name:eve"]);
    return Promise.resolve();
  }));

Deno.test("ThreadedSqliteStore.open() fails with a StoreError when its worker cannot start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-store-" });
  const tables = new SqliteStore(dir);
  try {
    await assert.rejects(
      () =>
        ThreadedSqliteStore.open(tables, {
          dir,
          retention: {},
          maxBytes: 0,
          workerUrl: new URL("./no_such_worker.ts", import.meta.url),
        }),
      (err: Error) => err instanceof StoreError && /storage thread stopped/.test(err.message),
    );
  } finally {
    tables.close();
    await Deno.remove(dir, { recursive: true });
  }
});
