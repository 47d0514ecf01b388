import assert from "node:assert/strict";
import type { MessageEvent } from "../../src/client/events.ts";
import {
  conversationOwners,
  readEntries,
  readTranscript,
  transcriptFile,
  TranscriptWriter,
} from "../../src/client/transcript.ts";

const msg = (seq: number, o: Partial<MessageEvent> = {}): MessageEvent => ({
  type: "message",
  room: "lobby",
  seq,
  ts: 1000 + seq,
  from: "bob",
  text: `m${seq}`,
  action: false,
  history: false,
  ...o,
});

async function withDir(f: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-transcript-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The sequence numbers of the raw lines of `room`'s file, duplicates included. */
function rawSeqs(dir: string, room = "lobby"): number[] {
  return Deno.readTextFileSync(`${dir}/${room}.jsonl`).split("\n").filter((l) => l !== "").map((l) =>
    JSON.parse(l).seq
  );
}

Deno.test("TranscriptWriter records a message once, whichever of two sessions on this machine gets it first", () =>
  withDir((dir) => {
    // Two sessions of one account (or two names) on one server share the server's transcript directory.
    const a = new TranscriptWriter(dir);
    const b = new TranscriptWriter(dir);
    try {
      for (const seq of [1, 2, 3]) a.add(msg(seq));
      // b joined later: the server sends it the recent history a already recorded.
      for (const seq of [1, 2, 3]) b.add(msg(seq, { history: true }));
      // Both are live now, each a little ahead of the other in turn.
      a.add(msg(4));
      b.add(msg(4));
      b.add(msg(5));
      b.add(msg(6));
      a.add(msg(5));
      a.add(msg(6));
      a.add(msg(7));
      b.add(msg(7));
    } finally {
      a.close();
      b.close();
    }
    assert.deepEqual(rawSeqs(dir), [1, 2, 3, 4, 5, 6, 7]);
  }));

Deno.test("TranscriptWriter records a renumbered message after the server's data was reset, and an older one shown", () =>
  withDir((dir) => {
    const w = new TranscriptWriter(dir);
    try {
      w.add(msg(9));
      // An older page of history (PgUp) is shown, so recorded too; a reader gets it in order.
      w.add(msg(8, { history: true }));
      w.add(msg(8, { history: true }));
      w.add(msg(1, { ts: 5000, text: "after the reset" }));
      w.add(msg(1, { ts: 5000, text: "after the reset" }));
    } finally {
      w.close();
    }
    assert.deepEqual(rawSeqs(dir), [9, 8, 1], "each once");
    const entries = readEntries(`${dir}/lobby.jsonl`).map((e) => [e.seq, e.text]);
    assert.deepEqual(entries, [[8, "m8"], [9, "m9"], [1, "after the reset"]]);
  }));

Deno.test("TranscriptWriter records what a client caught up on after another client on the machine recorded later ones", () =>
  withDir((dir) => {
    const alice = new TranscriptWriter(dir);
    const bob = new TranscriptWriter(dir);
    try {
      for (const seq of [1, 2, 3]) alice.add(msg(seq));
      // alice is away while 4..10 are sent; bob joins and gets 6..10 as recent history.
      for (const seq of [6, 7, 8, 9, 10]) bob.add(msg(seq, { history: true }));
      // alice comes back and catches up on 4..10.
      for (const seq of [4, 5, 6, 7, 8, 9, 10]) alice.add(msg(seq));
    } finally {
      alice.close();
      bob.close();
    }
    assert.deepEqual(readTranscript(dir, "lobby").map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  }));

Deno.test("TranscriptWriter starts on a new line after a torn one, so the next message is not lost", () =>
  withDir((dir) => {
    Deno.writeTextFileSync(
      `${dir}/lobby.jsonl`,
      JSON.stringify({ ...msg(1), type: undefined }) + "\n" + '{"ro',
    );
    const w = new TranscriptWriter(dir);
    try {
      w.add(msg(2));
    } finally {
      w.close();
    }
    assert.deepEqual(readEntries(`${dir}/lobby.jsonl`).map((e) => e.seq), [1, 2]);
  }));

Deno.test("readEntries() shows each message once from a file an older client filled with copies", () =>
  withDir((dir) => {
    // What two sessions used to leave behind: each wrote everything, interleaved.
    const lines = [1, 1, 2, 3, 2, 3, 4, 4].map((seq) => JSON.stringify({ ...msg(seq), type: undefined }));
    // A reset store's messages have the numbers again, at a later time: they are other messages.
    lines.push(JSON.stringify({ ...msg(1, { ts: 9000, text: "new store" }), type: undefined }));
    Deno.writeTextFileSync(`${dir}/lobby.jsonl`, lines.join("\n") + "\n");
    assert.deepEqual(readEntries(`${dir}/lobby.jsonl`).map((e) => e.seq), [1, 2, 3, 4, 1]);
    assert.deepEqual(readTranscript(dir).map((e) => e.seq), [1, 2, 3, 4, 1]);
  }));

Deno.test("TranscriptWriter in several processes appending to one file at once records each message once, in order", () =>
  withDir(async (dir) => {
    const N = 5000;
    const go = `${dir}/go`;
    const module = new URL("../../src/client/transcript.ts", import.meta.url).href;
    // Each process waits for the same start signal, then records the same N messages as fast as it can.
    const code = `
      import { TranscriptWriter } from ${JSON.stringify(module)};
      while (true) { try { Deno.statSync(${
      JSON.stringify(go)
    }); break; } catch { await new Promise((r) => setTimeout(r, 2)); } }
      const w = new TranscriptWriter(${JSON.stringify(`${dir}/t`)});
      for (let seq = 1; seq <= ${N}; seq++) {
        w.add({ type: "message", room: "lobby", seq, ts: 1000 + seq, from: "bob", text: "m" + seq, action: false, history: false });
      }
      w.close();
    `;
    const children = [1, 2, 3].map(() =>
      new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "null", stderr: "piped" }).spawn()
    );
    Deno.writeTextFileSync(go, "");
    const results = await Promise.all(children.map((c) => c.output()));
    for (const r of results) assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const seqs = rawSeqs(`${dir}/t`);
    assert.equal(seqs.length, N, "no message recorded twice");
    assert.deepEqual(seqs, Array.from({ length: N }, (_, i) => i + 1));
  }));

Deno.test("TranscriptWriter keeps each person's stored conversation in its own file, apart from any room", () =>
  withDir((dir) => {
    // alice and carol share this machine; each talks with bob, and "_bob" is a room.
    const alice = new TranscriptWriter(dir, "Alice");
    const carol = new TranscriptWriter(dir, "carol");
    try {
      alice.add(msg(1, { room: "@Bob", text: "alice to bob" }));
      alice.add(msg(1, { room: "@Bob", text: "alice to bob" }));
      carol.add(msg(1, { room: "@bob", text: "carol to bob" }));
      alice.add(msg(1, { room: "_bob", text: "in a room" }));
      assert.equal(transcriptFile("@Bob", "Alice"), "@alice+bob");
      assert.equal(transcriptFile("_bob", "Alice"), "_bob");
      assert.deepEqual(readTranscript(dir, "@bob", "alice").map((e) => [e.room, e.text]), [[
        "@Bob",
        "alice to bob",
      ]]);
      assert.deepEqual(readTranscript(dir, "@BOB", "carol").map((e) => e.text), ["carol to bob"]);
      assert.deepEqual(readTranscript(dir, "_bob").map((e) => e.text), ["in a room"]);
      assert.deepEqual(conversationOwners(dir, "Bob"), ["alice", "carol"]);
      assert.deepEqual(conversationOwners(dir, "dave"), []);
      assert.deepEqual(
        readTranscript(dir, undefined, "carol").map((e) => e.text).sort(),
        ["carol to bob", "in a room"],
        "every room, and only carol's conversations",
      );
      assert.equal(readTranscript(dir).length, 3, "without a name: everything");
    } finally {
      alice.close();
      carol.close();
    }
  }));
