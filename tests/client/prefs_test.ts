import assert from "node:assert/strict";
import {
  DEFAULT_PREFS,
  describeIgnored,
  describeJoins,
  formatPrefs,
  isIgnored,
  joinsHidden,
  parsePrefs,
  withIgnored,
  withJoins,
} from "../../src/client/prefs.ts";

Deno.test("withIgnored() adds and removes names, compared as the server compares them", () => {
  let p = withIgnored(DEFAULT_PREFS, "Bob", true);
  assert.ok(isIgnored(p, "bob"));
  assert.ok(isIgnored(p, "BOB"));
  assert.ok(!isIgnored(p, "bobby"));
  p = withIgnored(p, "bob", true);
  assert.deepEqual(p.ignored, ["bob"], "once, as last typed");
  p = withIgnored(p, "BOB", false);
  assert.deepEqual(p.ignored, []);
  assert.deepEqual(DEFAULT_PREFS.ignored, [], "values, not changed in place");
});

Deno.test("withJoins() hides per room or everywhere; a room's own choice wins, and * forgets them", () => {
  let p = withJoins(DEFAULT_PREFS, true, "lobby");
  assert.ok(joinsHidden(p, "lobby"));
  assert.ok(!joinsHidden(p, "dev"));
  assert.equal(describeJoins(p), "join and leave lines are shown in every room except in #lobby");
  p = withJoins(withJoins(p, true, null), false, "dev");
  assert.ok(joinsHidden(p, "lobby") && joinsHidden(p, "ops") && !joinsHidden(p, "dev"));
  assert.equal(describeJoins(p), "join and leave lines are hidden in every room except in #dev");
  p = withJoins(p, false, null);
  assert.ok(!joinsHidden(p, "lobby") && !joinsHidden(p, "dev"));
  assert.equal(describeJoins(p), "join and leave lines are shown in every room");
});

Deno.test("parsePrefs() reads back formatPrefs(), and keeps what it can of a file edited by hand", () => {
  const p = withJoins(withIgnored(DEFAULT_PREFS, "mallory", true), true, "lobby");
  assert.deepEqual(parsePrefs(formatPrefs(p)), p);
  assert.deepEqual(
    parsePrefs('{"ignored": ["eve", 7], "joins": {"hidden": "yes", "rooms": {"a": true, "b": 1}}}'),
    { ignored: ["eve"], joins: { hidden: false, rooms: { a: true } } },
  );
  assert.deepEqual(parsePrefs("{}"), DEFAULT_PREFS);
  assert.throws(() => parsePrefs("[1"), SyntaxError);
  assert.throws(() => parsePrefs("null"), /not a JSON object/);
});

Deno.test("describeIgnored() lists the ignored, or says how to ignore someone", () => {
  assert.match(describeIgnored(DEFAULT_PREFS), /^nobody is ignored/);
  assert.equal(
    describeIgnored(withIgnored(withIgnored(DEFAULT_PREFS, "eve", true), "mallory", true)),
    "ignored: eve, mallory (/unignore NAME shows them again)",
  );
});
