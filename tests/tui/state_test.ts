import assert from "node:assert/strict";
import type { ChatEntry } from "../../src/tui/entries.ts";
import {
  addEntry,
  createState,
  directWindow,
  findDirect,
  insertBySeq,
  MAX_SCROLLBACK,
  oldestShown,
  removeEntry,
  replaceEntry,
  windowFor,
} from "../../src/tui/state.ts";

function state() {
  return createState({
    me: "alice",
    server: "s",
    rooms: ["lobby", "dev"],
    colour: false,
    size: { cols: 40, rows: 10 },
  });
}

function chat(seq: number | undefined, text = `m${seq}`): ChatEntry {
  return {
    kind: "chat",
    ts: 0,
    from: "bob",
    text,
    action: false,
    mine: false,
    mention: false,
    history: true,
    seq,
  };
}

const texts = (entries: readonly { kind: string }[]) =>
  entries.map((e) => (e.kind === "chat" ? (e as ChatEntry).text : e.kind));

Deno.test("insertBySeq() puts a message before the first shown one with a higher seq, else at the end", () => {
  const s = state();
  const w = s.windows[0];
  addEntry(s, w, chat(10));
  addEntry(s, w, { kind: "notice", ts: 0, text: "n", level: "info" });
  addEntry(s, w, chat(12));
  insertBySeq(s, w, { ...chat(11), seq: 11 });
  insertBySeq(s, w, { ...chat(5), seq: 5 });
  insertBySeq(s, w, { ...chat(13), seq: 13 });
  assert.deepEqual(texts(w.entries), ["m5", "m10", "notice", "m11", "m12", "m13"]);
  assert.equal(oldestShown(w), 5);
});

Deno.test("insertBySeq() keeps the read marker on the same entry", () => {
  const s = state();
  const w = s.windows[1];
  addEntry(s, w, { ...chat(10), history: false });
  addEntry(s, w, { ...chat(11), history: false });
  assert.equal(w.marker, 0, "dev is not shown: its first unread entry is marked");
  insertBySeq(s, w, { ...chat(3), seq: 3 });
  assert.equal(w.marker, 1);
  assert.deepEqual(texts([w.entries[w.marker!]]), ["m10"]);
});

Deno.test("the seq index follows replaced, removed and trimmed entries", () => {
  const s = state();
  const w = s.windows[0];
  const a = chat(1);
  addEntry(s, w, a);
  const b = { ...a, text: "edited" };
  replaceEntry(w, a, b);
  assert.equal(w.bySeq.get(1), b);
  removeEntry(s, w, b);
  assert.equal(w.bySeq.size, 0);
  assert.equal(w.entries.length, 0);
  for (let seq = 1; seq <= MAX_SCROLLBACK + 2; seq++) addEntry(s, w, chat(seq));
  assert.equal(w.entries.length, MAX_SCROLLBACK);
  assert.equal(oldestShown(w), 3, "trimmed entries are no longer indexed");
  insertBySeq(s, w, { ...chat(2), seq: 2 });
  assert.equal(oldestShown(w), 3, "a full scrollback has no room above");
});

Deno.test("direct-message windows are found by name whatever its case, and are not rooms", () => {
  const s = state();
  const w = directWindow(s, "Bob");
  assert.equal(w.room, "@Bob");
  assert.equal(directWindow(s, "bob"), w);
  assert.equal(findDirect(s, "BOB"), w);
  assert.equal(findDirect(s, "carol"), undefined);
  assert.notEqual(windowFor(s, "bob"), w, "the room bob is another window");
});
