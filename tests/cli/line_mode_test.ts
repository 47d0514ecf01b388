import assert from "node:assert/strict";
import { helpRows } from "../../src/client/commands.ts";
import type { ClientEvent } from "../../src/client/events.ts";
import { lineHelp } from "../../src/cli/line_mode.ts";
import { onEvent, shown } from "../../src/cli/line_view.ts";
import { joinedLine } from "../../src/cli/lines.ts";
import { T0 } from "../_helpers/tui.ts";
import { LineTester } from "../_helpers/line_port.ts";

/** A presence event of bob's in `room`. */
function presence(room: string, event: "join" | "leave" | "away", text = ""): ClientEvent {
  return { type: "presence", room, event, name: "bob", reason: "", text, ts: T0 };
}

Deno.test("line mode sends text to the current room, // escapes a slash, and blank lines are skipped", () => {
  const t = new LineTester().lines("hello", "", "  ", "//slash", "/me waves");
  assert.deepEqual(t.port.calls, ["send lobby: hello", "send lobby: /slash", "send lobby action: waves"]);
  assert.deepEqual(t.errors, []);
});

Deno.test("line mode's /help lists the registry's commands, one per line", () => {
  const t = new LineTester().lines("/help");
  assert.equal(t.info.length, 1);
  assert.deepEqual(t.info[0].split("\n").map((l) => l.trim().split(/\s{2,}/)), helpRows());
  assert.equal(t.info[0], lineHelp());
});

Deno.test("line mode reports unknown commands and bad arguments with the registry's words, and sends nothing", () => {
  const t = new LineTester().lines("/jion dev", "/msg bob", "/history 0", "/join no way");
  assert.deepEqual(t.port.calls, []);
  assert.equal(t.errors[0], "unknown command /jion (try /help)");
  assert.equal(t.errors[1], "usage: /msg NAME TEXT");
  assert.equal(t.errors[2], "usage: /history [N], N from 1 to 500");
  assert.match(t.errors[3], /^\/join: room may hold only/);
});

Deno.test("line mode: /query makes a person current, /switch and /leave go back to a room; /rooms lists both", () => {
  const t = new LineTester(["lobby", "dev"]);
  t.lines("/query bob first", "second", "/me nods", "/rooms");
  assert.deepEqual(t.port.calls, ["msg bob: first", "msg bob: second", "msg bob action: nods"]);
  assert.deepEqual(t.info, ["rooms: 1:lobby, 2:dev, *3:@bob"]);
  t.lines("/switch 2", "in dev", "/query bob", "/leave", "back in lobby", "/switch @carol", "/leave @carol");
  assert.deepEqual(t.port.calls.slice(3), ["send dev: in dev", "send lobby: back in lobby"]);
  assert.equal(t.view.current, "lobby");
  t.lines("/switch ops");
  assert.deepEqual(t.errors, ["/switch: not in that room (joined: lobby, dev)"]);
});

Deno.test("line mode asks the server for /who, /nick, /away, /history, /register and the operators' commands", () => {
  const t = new LineTester();
  t.port.oldest.set("lobby", 40);
  t.lines(
    "/who",
    "/names_are_not_commands",
    "/nick bert",
    "/away lunch",
    "/history 3",
    "/register s3cret",
    "/kick bob rude",
    "/ban bob 2h spam",
    "/unban bob",
    "/mute eve 10m",
    "/unmute eve",
  );
  assert.deepEqual(t.port.calls, [
    "who lobby",
    "nick bert",
    "away lunch",
    "history lobby before 40 limit 3",
    "register s3cret",
    "kick bob 0 rude",
    "ban bob 7200000 spam",
    "unban bob 0",
    "mute eve 600000",
    "unmute eve 0",
  ]);
  assert.deepEqual(t.errors, ["unknown command /names_are_not_commands (try /help)"]);
});

Deno.test("line mode says when a request cannot be sent for want of a connection", () => {
  const t = new LineTester();
  t.port.state = "reconnecting";
  t.lines("/nick bert", "/reconnect", "still queued");
  assert.deepEqual(t.errors, ["/nick needs a connection to the server; not sent"]);
  assert.deepEqual(t.port.calls, ["reconnect", "send lobby: still queued"], "tries now; messages wait");
  t.port.state = "connecting";
  t.lines("/reconnect");
  assert.deepEqual(t.info, ["already connecting"], "not while a try is under way");
  t.port.state = "disconnected";
  t.lines("/reconnect");
  assert.deepEqual(t.port.calls.at(-1), "reconnect");
});

Deno.test("line mode: /quit and /exit return the reason; /clear says there is no window", () => {
  assert.equal(new LineTester().lines("/quit see you").quit, "see you");
  assert.equal(new LineTester().lines("/exit").quit, "");
  const t = new LineTester().lines("/clear");
  assert.deepEqual(t.info, ["/clear: line mode has no window to clear"]);
});

Deno.test("line mode: the line after /join goes to the new room at once, before the server has answered", () => {
  const t = new LineTester().lines(
    "/join #Ops",
    "first line for ops",
    "/join lobby",
    "back",
    "/switch ops",
    "again",
  );
  assert.deepEqual(t.port.calls, [
    "join ops",
    "send ops: first line for ops",
    "send lobby: back",
    "send ops: again",
  ], "a room already in the list is only switched to");
  assert.deepEqual(t.view.rooms, ["lobby", "ops"]);
  assert.equal(onEvent(t.view, { type: "members", room: "ops", online: ["alice"] }), "joined");
  assert.equal(onEvent(t.view, { type: "members", room: "ops", online: ["alice"] }), null, "a /who answer");
  assert.deepEqual(t.view.joining, []);
});

Deno.test("line mode: /leave takes effect at once; a refused /join puts the current room back", () => {
  const t = new LineTester(["lobby", "dev"]).lines("/switch dev", "/leave", "after leaving");
  assert.deepEqual(t.port.calls, ["leave dev", "send lobby: after leaving"]);
  t.lines("/join ops", "/join ops2", "to ops2");
  onEvent(t.view, { type: "error", code: "TOO_MANY_ROOMS", message: "already in 2 rooms", fatal: false });
  assert.deepEqual(t.view.rooms, ["lobby", "ops2"], "the oldest join not yet confirmed is the one refused");
  onEvent(t.view, { type: "error", code: "TOO_MANY_ROOMS", message: "already in 2 rooms", fatal: false });
  t.lines("where now");
  assert.equal(t.port.calls.at(-1), "send lobby: where now");
  assert.deepEqual(t.view.rooms, ["lobby"]);
});

Deno.test("line mode: a welcome after a reconnect keeps the joins still on their way", () => {
  const t = new LineTester().lines("/join ops");
  onEvent(t.view, {
    type: "welcome",
    name: "alice",
    room: "lobby",
    rooms: ["lobby"],
    online: [],
    server: "s",
    reconnected: true,
  });
  assert.deepEqual(t.view.rooms, ["lobby", "ops"]);
  assert.equal(t.view.current, "ops");
});

Deno.test("joinedLine() says that a /join was confirmed, with who is there", () => {
  const line = joinedLine({ room: "ops", online: ["bot1", "carol"] }, T0);
  assert.equal(line, "09:30:00 #ops -- you joined #ops; online (2): bot1, carol");
  assert.match(
    joinedLine({ room: "big", online: [], members: 900, quiet: true }, T0),
    /you joined #big; 900 members/,
  );
});

Deno.test("line mode: /ignore hides messages and direct messages of a person in every line mode, and saves the list", () => {
  const t = new LineTester().lines("/ignore mallory");
  assert.deepEqual(t.saved.map((p) => p.ignored), [["mallory"]]);
  const from = (who: string) => ({
    type: "message" as const,
    room: "lobby",
    seq: 1,
    ts: T0,
    from: who,
    text: "hi",
    action: false,
    history: false,
  });
  const dm = { type: "direct" as const, from: "Mallory", to: "alice", ts: T0, text: "psst", action: false };
  for (const json of [false, true]) {
    assert.equal(shown(t.view, from("MALLORY"), json), false);
    assert.equal(shown(t.view, dm, json), false);
    assert.equal(shown(t.view, from("bob"), json), true);
  }
  t.lines("/ignore", "/ignore alice", "/unignore mallory", "/unignore mallory");
  assert.deepEqual(t.info.slice(1, 2), ["ignored: mallory (/unignore NAME shows them again)"]);
  assert.deepEqual(t.errors, ["/ignore: you cannot ignore yourself", "/unignore: mallory is not ignored"]);
  assert.equal(shown(t.view, from("mallory"), false), true);
});

Deno.test("line mode: /joins hide keeps join and leave lines out of --plain, and --json prints them still", () => {
  const t = new LineTester(["lobby", "dev"]).lines("/joins hide");
  assert.equal(shown(t.view, presence("lobby", "join"), false), false);
  assert.equal(shown(t.view, presence("lobby", "leave"), false), false);
  assert.equal(shown(t.view, presence("lobby", "away"), false), true, "only joins and leaves");
  assert.equal(shown(t.view, presence("dev", "join"), false), true, "only in the current room");
  assert.equal(shown(t.view, presence("lobby", "join"), true), true, "--json");
  t.lines("/joins hide *", "/joins");
  assert.equal(shown(t.view, presence("dev", "join"), false), false);
  assert.equal(t.info.at(-1), "join and leave lines are hidden in every room");
  assert.equal(t.saved.length, 2);
});

Deno.test("line mode: /whois from member lists and presence, /lastlog from the messages seen in this room", () => {
  const t = new LineTester(["lobby"]);
  t.port.lists.set("lobby", ["alice", "bob"]);
  onEvent(t.view, presence("lobby", "away", "lunch"));
  for (const [seq, text] of [[1, "the deploy is at 11"], [2, "coffee?"], [3, "deploy done"]] as const) {
    onEvent(t.view, {
      type: "message",
      room: "lobby",
      seq,
      ts: T0,
      from: "bob",
      text,
      action: false,
      history: false,
    });
  }
  t.lines("/whois bob", "/lastlog DEPLOY");
  assert.equal(t.info[0], "bob: in #lobby; away: lunch");
  assert.equal(
    t.info[1],
    'lastlog: 2 line(s) in #lobby match "DEPLOY":\n  09:30:00 #lobby <bob> the deploy is at 11\n  09:30:00 #lobby <bob> deploy done',
  );
});

Deno.test("line mode: /list, /topic and /who for a room you are not in say the server does not support them yet", () => {
  const t = new LineTester().lines("/list", "/topic", "/who ops", "/back", "/j ops", "/w ops");
  assert.deepEqual(t.errors, [
    "/list: listing rooms is not supported by this server yet",
    "/topic: room topics is not supported by this server yet",
    "/who #ops: asking about a room you are not in is not supported by this server yet (/join it first)",
  ]);
  assert.deepEqual(t.port.calls, ["away ", "join ops", "who ops"]);
});

Deno.test("line mode with a server that has the features: /list, /topic (show, set, -delete) and /who for any room", () => {
  const t = new LineTester();
  for (const f of ["list", "topic", "who-any"]) t.port.features.add(f);
  t.lines("/list", "/topic", "/topic be kind", "/topic -delete", "/who ops", "/query bob", "/topic");
  assert.deepEqual(t.port.calls, [
    "list",
    "topic lobby",
    "topic lobby = be kind",
    "topic lobby = ",
    "who ops",
  ]);
  assert.deepEqual(t.errors, ["/topic works in a room (direct messages have no topic)"]);
  t.port.state = "reconnecting";
  t.lines("/switch lobby", "/list", "/topic x");
  assert.deepEqual(t.errors.slice(1), [
    "/list needs a connection to the server; not sent",
    "/topic needs a connection to the server; not sent",
  ]);
});

Deno.test("line mode sends a text longer than the server takes as several messages, in order, also to a person", () => {
  const t = new LineTester();
  t.port.maxText = 10;
  t.lines("one two three four", "/msg bob hello there world", "/me waves and waves");
  assert.deepEqual(t.port.calls, [
    "send lobby: one two",
    "send lobby: three four",
    "msg bob: hello",
    "msg bob: there",
    "msg bob: world",
    "send lobby action: waves and",
    "send lobby action: waves",
  ]);
});

Deno.test("line view: a topic that is no news (told again by a rejoin) is marked unchanged, an asked-for one is shown", () => {
  const t = new LineTester();
  const topic = (text: string): ClientEvent => ({ type: "topic", room: "lobby", text, by: "bob", ts: T0 });
  assert.equal(onEvent(t.view, topic("")), "unchanged", "no topic on a first join: nothing to say");
  assert.equal(onEvent(t.view, topic("be kind")), null);
  assert.equal(onEvent(t.view, topic("be kind")), "unchanged");
  t.port.features.add("topic");
  t.lines("/topic");
  assert.equal(onEvent(t.view, topic("be kind")), null, "asked for: shown");
  assert.equal(onEvent(t.view, topic("")), null, "cleared: news");
});
