/**
 * The terminal client with a server that lists the features `list`, `topic` and `who-any`: /list, topics
 * (shown when news, kept in the status line), /who for a room you are not in; and long texts sent in parts.
 */

import assert from "node:assert/strict";
import { Tester } from "../_helpers/tui.ts";
import { FEATURES } from "../../src/protocol/mod.ts";

const text = (t: Tester) => t.screen().join("\n");

function withFeatures(cols = 100, rows = 14): Tester {
  const t = new Tester({ size: { cols, rows } });
  for (const f of FEATURES) t.client.features.add(f);
  return t.welcome();
}

const room = (name: string, members: number, topic = "", quiet = false) => ({
  room: name,
  members,
  quiet,
  topic,
});

Deno.test("/list asks the server and shows the rooms once the last part is in, biggest first, with topics", () => {
  const t = withFeatures();
  t.type("/list\r");
  assert.deepEqual(t.client.calls, ["list"]);
  t.event({ type: "rooms", rooms: [room("dev", 2, "ship it"), room("hall", 900, "", true)], more: true });
  assert.doesNotMatch(text(t), /#dev/, "nothing until the last part");
  t.event({ type: "rooms", rooms: [room("lobby", 5, "be kind")], more: false });
  const s = t.screen();
  const head = s.findIndex((l) => l.includes("3 room(s), by size:"));
  assert.ok(head >= 0, s.join("\n"));
  assert.deepEqual(s.slice(head + 1, head + 4).map((l) => l.trim()), [
    "#hall (900 members, quiet)",
    "#lobby (5): be kind",
    "#dev (2): ship it",
  ]);
});

Deno.test("a room's topic shows when it is news: on the first join, a change, a /topic; not again on a rejoin", () => {
  const t = withFeatures();
  t.event({ type: "topic", room: "lobby", text: "be kind", by: "bob", ts: t.now });
  assert.match(text(t), /topic of #lobby: be kind \(set by bob, 2026-01-02 09:30\)/);
  assert.match(t.statusLine(), /1:#lobby \(2 online\) \| be kind \|/);
  t.event({ type: "topic", room: "lobby", text: "be kind", by: "bob", ts: t.now });
  assert.equal(text(t).match(/be kind \(set by/g)?.length, 1, "a reconnect's join tells it again: no news");
  t.event({ type: "topic", room: "lobby", text: "be kinder", by: "carol", ts: t.now + 1 });
  assert.match(text(t), /carol set the topic of #lobby: be kinder/);
  t.event({ type: "topic", room: "lobby", text: "", by: "carol", ts: t.now + 2 });
  assert.match(text(t), /carol cleared the topic of #lobby/);
  assert.doesNotMatch(t.statusLine(), /kinder/);
  t.type("/topic\r");
  assert.deepEqual(t.client.calls, ["topic lobby"]);
  t.event({ type: "topic", room: "lobby", text: "", by: "", ts: 0 });
  assert.match(text(t), /#lobby has no topic/, "asked, the answer shows even when it is not news");
});

Deno.test("/topic TEXT sets the current room's topic, /topic -delete clears it; not in a direct-message window", () => {
  const t = withFeatures();
  t.type("/topic welcome, all\r").type("/topic -delete\r");
  assert.deepEqual(t.client.calls, ["topic lobby = welcome, all", "topic lobby = "]);
  t.type("/query bob\r").type("/topic hi\r");
  assert.match(text(t), /\/topic: direct messages have no topic/);
});

Deno.test("the status line cuts a long topic, sanitised, to a third of the width", () => {
  const t = withFeatures(60, 8);
  t.event({
    type: "topic",
    room: "lobby",
    text: "\x1b[31mred\x1b[0m " + "x".repeat(100),
    by: "bob",
    ts: t.now,
  });
  const status = t.statusLine();
  assert.ok(!status.includes("\x1b"), "no escape sequence from the network");
  assert.match(status, /\| .{19}\u2026 \|/, status);
});

Deno.test("/who ROOM for a room you are not in asks the server; the answer makes no window", () => {
  const t = withFeatures();
  t.type("/who dev\r");
  assert.deepEqual(t.client.calls, ["who dev"]);
  t.event({ type: "members", room: "dev", online: ["bob", "carol"], listing: true });
  assert.match(text(t), /in #dev \(2; you are not in it\): bob, carol/);
  t.event({ type: "members", room: "hall", online: [], members: 900, quiet: true, listing: true });
  assert.match(text(t), /#hall has 900 members \(a quiet room: its names are listed to members only\)/);
  assert.deepEqual(t.state.windows.map((w) => w.room), ["lobby"]);
});

Deno.test("a text longer than the server takes goes as several messages; three or more wait for a second Enter", () => {
  const t = withFeatures();
  t.client.maxText = 20;
  t.type("first part here and the second one\r");
  assert.deepEqual(t.client.calls, ["send lobby: first part here and", "send lobby: the second one"]);
  assert.equal(
    t.screen().filter((l) => l.includes("(pending)")).length,
    2,
    "each part pending until its ACK",
  );
  t.client.calls = [];
  const paste = "one two three four five six seven eight nine ten eleven twelve";
  t.type(`\x1b[200~${paste}\x1b[201~\r`);
  assert.deepEqual(t.client.calls, [], "not sent yet");
  assert.match(text(t), /this text is 4 messages long \(the server takes 20 bytes at a time\)/);
  assert.equal(t.inputLine(), `[#lobby] ${paste}`.slice(0, 100));
  t.type("\r");
  assert.deepEqual(t.client.calls, [
    "send lobby: one two three four",
    "send lobby: five six seven eight",
    "send lobby: nine ten eleven",
    "send lobby: twelve",
  ]);
});
