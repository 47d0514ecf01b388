/**
 * The contract every store behind the chat's ports keeps (src/chat/ports.ts):
 * one suite, run against each implementation by its own test file (memory,
 * SQLite; the shared log next). Answers are awaited, so a store may give
 * them at once or later.
 */

import assert from "node:assert/strict";
import {
  type AccountStore,
  type AppendResult,
  type BanStore,
  conversationRoom,
  type Draft,
  type MessageLog,
  type RoomSettings,
  type StoredMessage,
} from "../../src/chat/ports.ts";
import type { Retention } from "../../src/store/retention.ts";
import { Prng, testSeed } from "../_helpers/prng.ts";

export type ContractStore = MessageLog & AccountStore & BanStore & RoomSettings;

/** Makes a fresh, empty store with `retention`; `dispose` runs after each test. */
export interface ContractSubject {
  name: string;
  durable: boolean;
  /** Deno.test options for every test (a networked store leaves timers to its client library). */
  testOptions?: Omit<Deno.TestDefinition, "name" | "fn">;
  open(retention?: Partial<Retention>): Promise<ContractStore> | ContractStore;
  dispose?(): Promise<void> | void;
}

export function draft(room: string, key: string, id: number, text = `${key}:${id}`, ts = id): Draft {
  return { room, ts, flags: 0, from: key, text, sender: { key, id } };
}

const seqs = (results: AppendResult[]) =>
  results.map((r) =>
    r.kind === "stored" ? r.message.seq : r.kind === "duplicate" ? `dup${r.receipt.seq}` : "failed"
  );

const texts = (messages: StoredMessage[]) => messages.map((m) => m.text);

export function storeContract(subject: ContractSubject): void {
  const test = (name: string, fn: (store: ContractStore) => Promise<void> | void) =>
    Deno.test({ ...subject.testOptions, name: `${subject.name} ${name}` }, async () => {
      const store = await subject.open();
      try {
        await fn(store);
      } finally {
        await store.close();
        await subject.dispose?.();
      }
    });

  test("numbers each room's messages 1, 2, 3, ... and echoes what it stored", async (store) => {
    const results = await store.append([
      draft("lobby", "alice", 1),
      draft("dev", "alice", 2),
      draft("lobby", "bob", 1),
    ]);
    assert.deepEqual(seqs(results), [1, 1, 2]);
    assert.deepEqual(results[2], {
      kind: "stored",
      message: { room: "lobby", seq: 2, ts: 1, flags: 0, from: "bob", text: "bob:1" },
    });
    assert.deepEqual(seqs(await store.append([draft("lobby", "carol", 7)])), [3], "the next batch goes on");
  });

  test("answers a resend with the original receipt and stores it once, in a batch or across batches", async (store) => {
    await store.append([draft("lobby", "alice", 1), draft("lobby", "alice", 2)]);
    const again = await store.append([
      draft("lobby", "alice", 2, "resent"),
      draft("lobby", "bob", 2),
      draft("lobby", "bob", 2, "twice in one batch"),
    ]);
    assert.deepEqual(seqs(again), ["dup2", 3, "dup3"]);
    assert.deepEqual(again[0], { kind: "duplicate", receipt: { room: "lobby", seq: 2, ts: 2 } });
    const page = await store.page("lobby", { after: 0, before: 0, limit: 10 });
    assert.deepEqual(texts(page.messages), ["alice:1", "alice:2", "bob:2"]);
    assert.equal(page.lastSeq, 3);
  });

  test("stores batches of any size with resends mixed in: each send once, every room gap-free", async (store) => {
    // Sizes around the statements' chunks of rows (src/store/sqlite_rows.ts), each batch with resends of
    // earlier batches and repeats within itself. A model numbers the sends; the store must agree.
    const rng = new Prng(testSeed(19));
    const sent: Draft[] = [];
    const receiptOf = new Map<string, { room: string; seq: number; ts: number }>();
    const last = new Map<string, number>();
    let next = 0;
    for (const size of [1, 2, 63, 64, 65, 127, 130, 200]) {
      const batch: Draft[] = [];
      while (batch.length < size) {
        const pick = rng.int(10);
        if (pick < 2 && sent.length > 0) batch.push(sent[rng.int(sent.length)]);
        else if (pick < 3 && batch.length > 0) batch.push(batch[rng.int(batch.length)]);
        else {
          next++;
          batch.push(draft(rng.chance(0.5) ? "lobby" : "dev", ["alice", "bob", "carol"][rng.int(3)], next));
        }
      }
      const expected = batch.map((d) => {
        const ref = `${d.sender.key}/${d.sender.id}`;
        const prior = receiptOf.get(ref);
        if (prior) return `dup${prior.room}${prior.seq}`;
        const seq = (last.get(d.room) ?? 0) + 1;
        last.set(d.room, seq);
        receiptOf.set(ref, { room: d.room, seq, ts: d.ts });
        sent.push(d);
        return `${d.room}${seq}`;
      });
      const results = await store.append(batch);
      const got = results.map((r) =>
        r.kind === "stored"
          ? `${r.message.room}${r.message.seq}`
          : r.kind === "duplicate"
          ? `dup${r.receipt.room}${r.receipt.seq}`
          : "failed"
      );
      assert.deepEqual(got, expected, `a batch of ${size}`);
    }
    for (const room of ["lobby", "dev"]) {
      const page = await store.page(room, { after: 0, before: 0, limit: 1000 });
      assert.deepEqual(
        page.messages.map((m) => m.seq),
        Array.from({ length: last.get(room)! }, (_, i) => i + 1),
      );
      assert.deepEqual(texts(page.messages), sent.filter((d) => d.room === room).map((d) => d.text));
    }
    const refs = sent.map((d) => d.sender).concat([{ key: "alice", id: next + 1 }]);
    assert.deepEqual(
      await store.receipts(refs),
      refs.map((r) => receiptOf.get(`${r.key}/${r.id}`)),
    );
  });

  test("tells which sends it has receipts for, without storing anything", async (store) => {
    await store.append([draft("lobby", "alice", 5, "x", 50)]);
    assert.deepEqual(
      await store.receipts([{ key: "alice", id: 5 }, { key: "alice", id: 6 }, { key: "bob", id: 5 }]),
      [
        { room: "lobby", seq: 1, ts: 50 },
        undefined,
        undefined,
      ],
    );
    assert.equal((await store.page("lobby", { after: 0, before: 0, limit: 10 })).lastSeq, 1);
  });

  test("reads pages forwards from a seq and backwards from one, with the room's last seq", async (store) => {
    await store.append(Array.from({ length: 10 }, (_, i) => draft("lobby", "alice", i + 1)));
    const page = async (after: number, before: number, limit: number) => {
      const p = await store.page("lobby", { after, before, limit });
      return { seqs: p.messages.map((m) => m.seq), lastSeq: p.lastSeq };
    };
    assert.deepEqual(await page(3, 0, 4), { seqs: [4, 5, 6, 7], lastSeq: 10 }, "the oldest after 3");
    assert.deepEqual(await page(7, 0, 500), { seqs: [8, 9, 10], lastSeq: 10 });
    assert.deepEqual(await page(0, 6, 3), { seqs: [3, 4, 5], lastSeq: 10 }, "the newest below 6");
    assert.deepEqual(await page(3, 6, 10), { seqs: [4, 5], lastSeq: 10 }, "between 3 and 6");
    assert.deepEqual(await page(0, Number.MAX_SAFE_INTEGER, 2), { seqs: [9, 10], lastSeq: 10 }, "the newest");
    assert.deepEqual(
      await page(0, 0, 0),
      { seqs: [], lastSeq: 10 },
      "no messages, still where the room stands",
    );
    assert.deepEqual(await store.page("empty", { after: 0, before: 0, limit: 5 }), {
      messages: [],
      lastSeq: 0,
    });
  });

  test("lists the conversations of a name, the most recent first, with where each stands", async (store) => {
    const ab = conversationRoom("bob", "alice");
    const ac = conversationRoom("alice", "carol");
    assert.equal(ab, "@alice+bob", "the two keys, sorted");
    await store.append([
      draft(ab, "alice", 1, "hi bob", 10),
      draft(ab, "bob", 1, "hi alice", 11),
      draft("lobby", "alice", 2, "in a room", 12),
      draft(ac, "carol", 1, "hi alice", 13),
    ]);
    const list = (key: string, limit = 10) => store.conversations(key, limit);
    assert.deepEqual(await list("alice"), [
      { room: ac, lastSeq: 1, ts: 13 },
      { room: ab, lastSeq: 2, ts: 11 },
    ]);
    assert.deepEqual(await list("bob"), [{ room: ab, lastSeq: 2, ts: 11 }]);
    assert.deepEqual(await list("alice", 1), [{ room: ac, lastSeq: 1, ts: 13 }], "at most `limit`");
    assert.deepEqual(await list("lobby"), [], "a room is no conversation");
    assert.deepEqual(await list("dave"), []);
    await store.append([draft(ab, "bob", 2, "again", 20)]);
    assert.deepEqual((await list("alice")).map((c) => [c.room, c.lastSeq]), [[ab, 3], [ac, 1]]);
    const page = await store.page(ab, { after: 0, before: 0, limit: 10 });
    assert.deepEqual(
      texts(page.messages),
      ["hi bob", "hi alice", "again"],
      "a conversation pages like a room",
    );
  });

  test("keeps accounts and bans", (store) => {
    assert.equal(store.account("alice"), undefined);
    store.putAccount({ name: "Alice", key: "alice", hash: "h1", admin: false, created: 1 });
    store.putAccount({ name: "Bob", key: "bob", hash: "h2", admin: true, created: 2 });
    store.putAccount({ name: "Alice", key: "alice", hash: "h3", admin: false, created: 1 });
    assert.equal(store.account("alice")?.hash, "h3", "a second put replaces the account");
    assert.deepEqual(store.accounts().map((a) => a.key), ["alice", "bob"]);
    assert.equal(store.removeAccount("bob"), true);
    assert.equal(store.removeAccount("bob"), false);
    store.putBan({ target: "name:eve", until: 0, reason: "spam", by: "op", created: 1 });
    store.putBan({ target: "addr:10.0.0.9", until: 100, reason: "", by: "op", created: 1 });
    assert.deepEqual(store.bans(50).map((b) => b.target).sort(), ["addr:10.0.0.9", "name:eve"]);
    assert.deepEqual(store.bans(100).map((b) => b.target), ["name:eve"], "a ban ends at its until");
    assert.equal(store.removeBan("name:eve"), true);
    assert.equal(store.removeBan("name:eve"), false);
    assert.deepEqual(store.bans(50).map((b) => b.target), ["addr:10.0.0.9"]);
  });

  test("keeps each room's topic: set, replaced, cleared by an empty text, rooms apart", (store) => {
    assert.equal(store.topic("lobby"), undefined);
    store.putTopic({ room: "lobby", text: "be kind", by: "alice", ts: 1 });
    store.putTopic({ room: "café", text: "☕ only", by: "Zoë", ts: 2 });
    assert.deepEqual(store.topic("lobby"), { room: "lobby", text: "be kind", by: "alice", ts: 1 });
    store.putTopic({ room: "lobby", text: "be kinder", by: "bob", ts: 3 });
    assert.deepEqual(store.topic("lobby"), { room: "lobby", text: "be kinder", by: "bob", ts: 3 });
    store.putTopic({ room: "lobby", text: "", by: "carol", ts: 4 });
    assert.equal(store.topic("lobby"), undefined, "an empty text clears it");
    assert.deepEqual(store.topic("café"), { room: "café", text: "☕ only", by: "Zoë", ts: 2 });
  });

  test(`names itself with 16 random bytes and says it is ${subject.durable ? "" : "not "}durable`, (store) => {
    assert.match(store.id, /^[0-9a-f]{32}$/);
    assert.equal(store.durable, subject.durable);
  });

  Deno.test({
    ...subject.testOptions,
    name: `${subject.name} keeps the newest messages per room under retention, and sequences go on`,
  }, async () => {
    const store = await subject.open({ maxMessages: 3 });
    try {
      // Stamped now: only the per-room cap applies, not the age of receipts.
      const now = Date.now();
      await store.append(Array.from({ length: 8 }, (_, i) => draft("lobby", "alice", i + 1, "x", now)));
      // Readers see the cap at once, before any prune; and after it.
      const unpruned = await store.page("lobby", { after: 0, before: 0, limit: 50 });
      assert.deepEqual(unpruned.messages.map((m) => m.seq), [6, 7, 8]);
      await store.prune(now);
      const page = await store.page("lobby", { after: 0, before: 0, limit: 50 });
      assert.deepEqual(page.messages.map((m) => m.seq), [6, 7, 8]);
      assert.deepEqual(seqs(await store.append([draft("lobby", "alice", 9, "x", now)])), [9]);
      assert.deepEqual(
        seqs(await store.append([draft("lobby", "alice", 2, "x", now)])),
        ["dup2"],
        "receipts outlive messages",
      );
      // A reader far behind (after 1, all of whose next page is gone) gets the oldest kept messages, not an
      // empty page that would have it ask the same again for ever.
      await store.prune(now);
      const behind = await store.page("lobby", { after: 1, before: 0, limit: 2 });
      assert.deepEqual([behind.messages.map((m) => m.seq), behind.lastSeq], [[7, 8], 9]);
      const older = await store.page("lobby", { after: 0, before: 6, limit: 2 });
      assert.deepEqual(older.messages.map((m) => m.seq), [], "nothing kept before 7");
    } finally {
      await store.close();
      await subject.dispose?.();
    }
  });
}
