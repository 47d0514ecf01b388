import assert from "node:assert/strict";
import { lastlog, lastlogHeading, MAX_LASTLOG } from "../../src/client/lastlog.ts";

const lines = [
  { from: "bob", text: "the Deploy is at 11" },
  { from: "carol", text: "coffee?" },
  { from: "bob", text: "deploy done" },
  { text: "a notice without a sender" },
];

Deno.test("lastlog() finds lines containing the text, ignoring case, or sent by that name", () => {
  assert.deepEqual(lastlog(lines, "DEPLOY").shown.map((l) => l.text), ["the Deploy is at 11", "deploy done"]);
  assert.deepEqual(lastlog(lines, "Carol").shown.map((l) => l.text), ["coffee?"]);
  assert.deepEqual(lastlog(lines, "sender").total, 1);
  assert.deepEqual(lastlog(lines, "nothing like it"), { shown: [], total: 0 });
});

Deno.test("lastlog() shows the newest MAX_LASTLOG matches and counts them all", () => {
  const many = Array.from({ length: MAX_LASTLOG + 20 }, (_, i) => ({ text: `line ${i}` }));
  const found = lastlog(many, "line");
  assert.equal(found.total, MAX_LASTLOG + 20);
  assert.equal(found.shown.length, MAX_LASTLOG);
  assert.equal(found.shown[0].text, "line 20");
  assert.equal(
    lastlogHeading("line", "#lobby", found),
    `lastlog: 120 line(s) in #lobby match "line" (the last 100 shown):`,
  );
  assert.equal(
    lastlogHeading("x", "#lobby", { shown: [], total: 0 }),
    'lastlog: nothing in #lobby matches "x"',
  );
});
