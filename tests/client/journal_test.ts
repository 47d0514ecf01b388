import assert from "node:assert/strict";
import { FileJournal, journalKey, MemoryJournal, replay } from "../../src/client/journal.ts";

Deno.test("replay() folds sends, acks, sequences and tokens, ignoring a torn last line", () => {
  const text = [
    JSON.stringify({ op: "token", token: "ab" }),
    JSON.stringify({ op: "send", p: { id: 1, room: "lobby", flags: 0, text: "a" } }),
    JSON.stringify({ op: "send", p: { id: 2, room: "lobby", flags: 0, text: "b" } }),
    JSON.stringify({ op: "seq", room: "lobby", seq: 7 }),
    JSON.stringify({ op: "seq", room: "lobby", seq: 5 }),
    JSON.stringify({ op: "ack", id: 1 }),
    '{"op":"send","p":{"id":3,"ro',
  ].join("\n");
  assert.deepEqual(replay(text), {
    token: "ab",
    storeId: null,
    lastSeq: { lobby: 7 },
    outbox: [{ id: 2, room: "lobby", flags: 0, text: "b" }],
  });
});

Deno.test("FileJournal survives a reopen with the outbox in order and compacts the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state/x/alice.journal`;
    const a = new FileJournal(path);
    for (let i = 1; i <= 5; i++) a.send({ id: i, room: "lobby", flags: 0, text: `m${i}` });
    a.ack(2);
    a.seq("lobby", 3);
    a.token("cafe", "s1");
    a.close();
    const b = new FileJournal(path);
    assert.deepEqual(b.state.outbox.map((p) => p.id), [1, 3, 4, 5]);
    assert.deepEqual(b.state.lastSeq, { lobby: 3 });
    assert.equal(b.state.token, "cafe");
    b.close();
    const lines = (await Deno.readTextFile(path)).trim().split("\n");
    assert.equal(lines.length, 1, "opening rewrote the journal as one snapshot");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MemoryJournal ignores a send recorded twice and an older sequence", () => {
  const j = new MemoryJournal();
  j.send({ id: 1, room: "r", flags: 0, text: "x" });
  j.send({ id: 1, room: "r", flags: 0, text: "x" });
  j.seq("r", 4);
  j.seq("r", 2);
  assert.equal(j.state.outbox.length, 1);
  assert.equal(j.state.lastSeq.r, 4);
});

Deno.test("journalKey() makes a file-safe path per server and name", () => {
  assert.equal(journalKey([{ host: "127.0.0.1", port: 3000 }], "alice"), "127.0.0.1_3000/alice");
  assert.equal(journalKey([{ host: "::1", port: 1 }], "../etc"), "__1_1/.._etc");
});

Deno.test("a journal forgets its sequence numbers when the server's store changes", () => {
  const j = new MemoryJournal();
  j.token("t1", "store-a");
  j.seq("lobby", 40);
  j.token("t2", "store-a");
  assert.equal(j.state.lastSeq.lobby, 40, "same store: kept");
  j.token("t3", "store-b");
  assert.deepEqual(j.state.lastSeq, {}, "another store: forgotten");
  assert.equal(j.state.storeId, "store-b");
});
