import assert from "node:assert/strict";
import {
  historyAdd,
  historyDown,
  historyFileName,
  historyLine,
  historyOf,
  historyUp,
  MAX_HISTORY,
  parseHistory,
} from "../../src/tui/history.ts";

Deno.test("historyUp() and historyDown() walk the entries and come back to the draft", () => {
  let h = historyOf(["one", "two"]);
  const up1 = historyUp(h, "draft")!;
  assert.equal(up1.text, "two");
  const up2 = historyUp(up1.history, "two")!;
  assert.equal(up2.text, "one");
  assert.equal(historyUp(up2.history, "one"), null, "no entry before the oldest");
  const down1 = historyDown(up2.history)!;
  assert.equal(down1.text, "two");
  const down2 = historyDown(down1.history)!;
  assert.equal(down2.text, "draft", "past the newest entry comes back what was being typed");
  assert.equal(historyDown(down2.history), null);
  h = down2.history;
  assert.equal(h.index, h.entries.length);
});

Deno.test("historyAdd() skips blank lines and immediate repeats, and keeps at most MAX_HISTORY", () => {
  let h = historyOf([]);
  h = historyAdd(h, "a");
  h = historyAdd(h, "a");
  h = historyAdd(h, "   ");
  h = historyAdd(h, "b");
  assert.deepEqual(h.entries, ["a", "b"]);
  for (let i = 0; i < MAX_HISTORY + 10; i++) h = historyAdd(h, `line ${i}`);
  assert.equal(h.entries.length, MAX_HISTORY);
  assert.equal(h.entries[h.entries.length - 1], `line ${MAX_HISTORY + 9}`);
});

Deno.test("parseHistory() reads what historyLine() writes, multi-line entries included, skipping torn lines", () => {
  const entries = ["hello", "two\nlines", 'quotes " and \\ backslash', "/join dev"];
  const file = entries.map(historyLine).join("") + '"torn';
  assert.deepEqual(parseHistory(file), entries);
  assert.deepEqual(parseHistory(""), []);
  assert.deepEqual(parseHistory('42\n{}\n"ok"\n'), ["ok"], "only JSON strings are entries");
});

Deno.test("historyFileName() makes one safe file name per server", () => {
  assert.equal(historyFileName("127.0.0.1:3000"), "history-127.0.0.1_3000.jsonl");
  assert.equal(historyFileName("chat.example.org:4000"), "history-chat.example.org_4000.jsonl");
  assert.equal(historyFileName("../../etc:1"), "history-.._.._etc_1.jsonl");
});
