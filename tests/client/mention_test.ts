import assert from "node:assert/strict";
import { mentionPattern, mentions } from "../../src/client/mention.ts";

Deno.test("mentions() finds the name as a whole word, ignoring case", () => {
  assert.ok(mentions("hey alice, lunch?", "alice"));
  assert.ok(mentions("ALICE: lunch?", "Alice"));
  assert.ok(mentions("lunch @alice", "alice"));
  assert.ok(!mentions("malice aforethought", "alice"), "not inside a longer word");
  assert.ok(!mentions("alice_b is here", "alice"), "not a longer name");
  assert.ok(!mentions("anything", ""), "an empty name mentions nothing");
});

Deno.test("mentions() treats characters of the name as text, not as a pattern", () => {
  assert.ok(mentions("thanks a.b", "a.b"));
  assert.ok(!mentions("thanks axb", "a.b"));
});

Deno.test("mentionPattern() finds every mention, for highlighting", () => {
  const found = [..."bob and Bob and bobby".matchAll(mentionPattern("bob"))].map((m) => m.index);
  assert.deepEqual(found, [0, 8]);
});
