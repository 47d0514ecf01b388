// deno-lint-ignore-file no-control-regex -- rendered rows are made of escape sequences.
import assert from "node:assert/strict";
import type { TranscriptEntry } from "../../src/client/transcript.ts";
import { backlogEntries, dayLabel } from "../../src/tui/backlog.ts";
import { layoutEntry } from "../../src/tui/entries.ts";
import { renderSpans } from "../../src/tui/style.ts";

const at = (day: number, hour: number) => new Date(2026, 0, day, hour, 0).getTime();

function line(seq: number, ts: number, from = "bob", text = `message ${seq}`): TranscriptEntry {
  return { room: "lobby", seq, ts, from, text, action: false };
}

Deno.test("dayLabel() names the local day with its weekday", () => {
  assert.equal(dayLabel(at(2, 9)), "Fri 2026-01-02");
  assert.equal(dayLabel(at(4, 23)), "Sun 2026-01-04");
});

Deno.test("backlogEntries() keeps the last N messages, under a divider per day and above an end divider", () => {
  const transcript = [line(1, at(1, 8)), line(2, at(1, 9)), line(3, at(2, 9), "alice"), line(4, at(2, 10))];
  const entries = backlogEntries(transcript, "Alice", 3);
  assert.deepEqual(
    entries.map((e) => e.kind === "divider" ? `-- ${e.text}` : e.kind === "chat" ? e.seq : e.kind),
    [
      "-- earlier: Thu 2026-01-01",
      2,
      "-- earlier: Fri 2026-01-02",
      3,
      4,
      "-- end of earlier messages",
    ],
  );
  const chat = entries.filter((e) => e.kind === "chat");
  assert.ok(chat.every((e) => e.earlier && !e.history && !e.mention));
  assert.deepEqual(chat.map((e) => e.mine), [false, true, false], "my own lines, by name key");
  assert.deepEqual(backlogEntries([], "alice"), []);
});

Deno.test("backlogEntries() skips lines a torn or edited transcript got wrong instead of failing", () => {
  const bad = [
    line(1, at(1, 8)),
    { room: "lobby", seq: 2, ts: at(1, 9), text: "no sender" } as unknown as TranscriptEntry,
    { ...line(3, at(1, 9)), seq: -1 },
    { ...line(4, at(1, 9)), ts: Number.NaN },
    line(5, at(1, 10)),
  ];
  const seqs = backlogEntries(bad, "alice").flatMap((e) => e.kind === "chat" ? [e.seq] : []);
  assert.deepEqual(seqs, [1, 5]);
});

Deno.test("earlier messages are greyed out, without name colours or mention highlights, and dividers fill the row", () => {
  const [divider, chat] = backlogEntries([line(1, at(2, 9), "bob", "hey alice")], "alice");
  const row = renderSpans(layoutEntry(chat, 40, "alice")[0], true);
  assert.equal(row.replace(/\x1b\[[0-9;]*m/g, ""), "09:00 <bob> hey alice");
  assert.doesNotMatch(row, /\x1b\[(?:[0-9;]*;)?(3\d|9\d)m/, "no colour");
  assert.ok([...row.matchAll(/\x1b\[([0-9;]*)m/g)].every((m) => m[1] === "2" || m[1] === "0"), row);
  const rule = layoutEntry(divider, 30, "alice");
  assert.equal(rule.length, 1);
  assert.equal(rule[0].map((s) => s.text).join(""), "-- earlier: Fri 2026-01-02 ---");
});
