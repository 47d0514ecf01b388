import assert from "node:assert/strict";
import { type Known, whoisText } from "../../src/client/whois.ts";

const known: Known = {
  me: "alice",
  rooms: [
    { room: "lobby", members: ["alice", "Bob", "carol"] },
    { room: "dev", members: ["alice", "Bob"] },
    { room: "big", members: [], quiet: true },
  ],
  away: (n) => (n === "carol" ? "at lunch" : ""),
};

Deno.test("whoisText() names the rooms shared and the away message, from what the client knows", () => {
  assert.equal(
    whoisText("bob", known),
    "Bob: in #lobby, #dev (1 quiet room not counted: their members are not listed); here",
  );
  assert.match(
    whoisText("carol", { ...known, rooms: known.rooms.slice(0, 2) }),
    /^carol: in #lobby; away: at lunch$/,
  );
  assert.match(whoisText("alice", known), /^alice \(you\): in #lobby, #dev/);
});

Deno.test("whoisText() says what it cannot know for someone in none of your rooms", () => {
  assert.equal(
    whoisText("dave", { ...known, rooms: known.rooms.slice(0, 2) }),
    "dave is in none of your rooms; this server cannot tell more yet (no WHOIS)",
  );
});

Deno.test("whoisText() is one line with the server's text made inert: no control, newline or bidi mark", () => {
  const hostile: Known = {
    me: "alice",
    rooms: [{ room: "lobby", members: ["alice", "m\u202eallory"] }],
    away: () => "brb\n12:00 <root> fake line\x1b]0;t\x07",
  };
  assert.equal(
    whoisText("m\u202eallory", hostile),
    "m\ufffdallory: in #lobby; away: brb\u240a12:00 <root> fake line\u241b]0;t\u2407",
  );
});
