// deno-lint-ignore-file no-control-regex -- terminal output is made of escape sequences.
import assert from "node:assert/strict";
import { Tester } from "../_helpers/tui.ts";
import { helpText } from "../../src/tui/commands.ts";

const text = (t: Tester) => t.screen().join("\n");

Deno.test("Enter sends the line to the current room and shows it as pending until the server echoes it", () => {
  const t = new Tester().welcome();
  t.type("hello there\r");
  assert.deepEqual(t.client.calls, ["send lobby: hello there"]);
  assert.equal(t.inputLine(), "[#lobby]");
  assert.match(text(t), /<alice> hello there \(pending\)/);
  t.message("alice", "hello there");
  assert.match(text(t), /<alice> hello there$/m);
  assert.equal(text(t).match(/hello there/g)?.length, 1, "the echo does not show the message twice");
  t.event({ type: "ack", id: 1, room: "lobby", seq: 1, ts: t.now });
  assert.doesNotMatch(text(t), /pending/);
});

Deno.test("a message typed while reconnecting stays pending and is marked delivered by its ack", () => {
  const t = new Tester({ size: { cols: 80, rows: 8 } }).welcome();
  t.event({
    type: "status",
    state: "reconnecting",
    server: "s",
    attempt: 1,
    of: 3,
    delayMs: 500,
    reason: "lost",
  });
  t.type("sent while away\r");
  assert.deepEqual(t.client.calls, ["send lobby: sent while away"], "ChatClient keeps it and resends it");
  assert.match(text(t), /<alice> sent while away \(pending\)/);
  t.event({ type: "status", state: "connected", server: "s" });
  t.event({
    type: "welcome",
    name: "alice",
    room: "lobby",
    rooms: ["lobby"],
    online: ["alice"],
    server: "s",
    reconnected: true,
  });
  assert.match(text(t), /-- reconnected to s; rejoined #lobby/);
  assert.match(t.statusLine(), /connected \| reconnected, rejoined #lobby/);
  t.event({ type: "ack", id: 1, room: "lobby", seq: 7, ts: t.now });
  assert.match(text(t), /<alice> sent while away$/m);
});

Deno.test("a message the server refuses is marked as not delivered, with the reason", () => {
  const t = new Tester({ size: { cols: 80, rows: 8 } }).welcome();
  t.type("too long\r");
  t.event({ type: "error", code: "TOO_LARGE", message: "text too long", fatal: false, ref: 1 });
  assert.match(text(t), /<alice> too long \(not delivered: TOO_LARGE: text too long\)/);
});

Deno.test("after the client gives up, typed text is kept in the input line instead of being lost", () => {
  const t = new Tester().welcome();
  t.event({ type: "status", state: "disconnected", server: "s", reason: "gave up" });
  t.type("important\r");
  assert.deepEqual(t.client.calls, []);
  assert.equal(t.inputLine(), "[#lobby] important");
});

Deno.test("/me actions, presence lines and notices look different from chat lines", () => {
  const t = new Tester({ size: { cols: 60, rows: 10 } }).welcome();
  t.message("bob", "waves", "lobby", { action: true });
  t.event({ type: "presence", room: "lobby", event: "join", name: "carol", reason: "", text: "", ts: t.now });
  t.event({
    type: "presence",
    room: "lobby",
    event: "leave",
    name: "carol",
    reason: "quit",
    text: "bye all",
    ts: t.now,
  });
  t.type("/me smiles\r");
  const s = text(t);
  assert.match(s, /09:30 \* bob waves/);
  assert.match(s, /09:30 --> carol joined #lobby/);
  assert.match(s, /09:30 <-- carol left #lobby \(quit: bye all\)/);
  assert.match(s, /09:30 \* alice smiles \(pending\)/);
  assert.deepEqual(t.client.calls, ["send lobby action: smiles"]);
});

Deno.test("a multi-line message is shown as one block, its lines aligned under the first", () => {
  const t = new Tester().welcome();
  t.message("bob", "first line\nsecond line\nthird");
  const s = t.screen();
  const i = s.findIndex((l) => l.includes("<bob> first line"));
  assert.deepEqual(s.slice(i, i + 3), [
    "09:30 <bob> first line",
    "            second line",
    "            third",
  ]);
});

Deno.test("a bracketed paste of several lines becomes one message; Alt-Enter inserts a line break", () => {
  const t = new Tester().welcome();
  t.type("\x1b[200~one\r\ntwo\r\nthree\r\n\x1b[201~");
  assert.equal(t.inputLine(), "[#lobby] one↵two↵three");
  assert.deepEqual(t.client.calls, [], "pasting does not send");
  t.type("\r");
  assert.deepEqual(t.client.calls, ["send lobby: one\ntwo\nthree"]);
  t.type("a\x1b\rb\r");
  assert.deepEqual(t.client.calls.at(-1), "send lobby: a\nb");
});

Deno.test("a mention of my name is highlighted and rings the bell, but not my own lines or history", () => {
  const t = new Tester({ colour: true }).welcome();
  t.message("bob", "hey Alice, look");
  assert.equal(t.outcomes.at(-1)?.bell, true);
  assert.ok(
    t.frame().lines.some((l) => /\x1b\[1;7;33mAlice\x1b\[0m/.test(l)),
    "the name is in reverse video",
  );
  t.message("bob", "malice is not a mention");
  assert.equal(t.outcomes.at(-1)?.bell, undefined);
  t.message("bob", "old alice news", "lobby", { history: true });
  assert.equal(t.outcomes.at(-1)?.bell, undefined);
  t.message("alice", "alice talks about herself");
  assert.equal(t.outcomes.at(-1)?.bell, undefined);
});

Deno.test("Tab completes nicknames in the room and command names", () => {
  const t = new Tester().welcome(["alice", "bob", "bonnie"]);
  t.type("bo\t");
  assert.equal(t.inputLine(), "[#lobby] bob:");
  t.type("\t");
  assert.equal(t.inputLine(), "[#lobby] bonnie:");
  t.type("\x15/le\t");
  assert.equal(t.inputLine(), "[#lobby] /leave");
  t.type("\x15al\t");
  assert.equal(t.inputLine(), "[#lobby] al", "my own name is not offered");
});

Deno.test("Up and Down walk the input history, including lines from earlier sessions", () => {
  const t = new Tester({ history: ["from yesterday"] }).welcome();
  t.type("first\r").type("second\r").type("draft");
  t.type("\x1b[A");
  assert.equal(t.inputLine(), "[#lobby] second");
  t.type("\x1b[A\x1b[A");
  assert.equal(t.inputLine(), "[#lobby] from yesterday");
  t.type("\x1b[B\x1b[B\x1b[B");
  assert.equal(t.inputLine(), "[#lobby] draft");
  assert.deepEqual(t.outcomes.filter((o) => o.submitted).map((o) => o.submitted), ["first", "second"]);
});

Deno.test("/join asks the server, then shows the new room once it is joined; Alt-1 goes back", () => {
  const t = new Tester({ size: { cols: 80, rows: 8 } }).welcome();
  t.type("/join #Dev\r");
  assert.deepEqual(t.client.calls, ["join dev"]);
  t.event({ type: "members", room: "dev", online: ["alice", "carol"] });
  assert.match(t.statusLine(), /2:#dev \(2 online\)/);
  assert.equal(t.inputLine(), "[#dev]");
  assert.match(text(t), /you joined #dev; online \(2\): alice, carol/);
  t.type("in dev\r");
  assert.deepEqual(t.client.calls.at(-1), "send dev: in dev");
  t.type("\x1b1");
  assert.equal(t.inputLine(), "[#lobby]");
  t.type("/switch dev\r");
  assert.equal(t.inputLine(), "[#dev]");
  t.type("\x10");
  assert.equal(t.inputLine(), "[#lobby]", "Ctrl-P: previous room");
});

Deno.test("messages in another room count as unread and leave a marker where I stopped reading", () => {
  const t = new Tester({ rooms: ["lobby", "dev"], size: { cols: 60, rows: 10 } }).welcome();
  t.message("bob", "seen before", "dev");
  t.type("\x1b2\x1b1");
  t.message("bob", "new one", "dev").message("bob", "new two", "dev");
  assert.match(t.statusLine(), /unread: 2:#dev\(2\)/);
  t.type("\x1b2");
  assert.doesNotMatch(t.statusLine(), /unread/);
  const s = t.screen();
  const marker = s.findIndex((l) => l.startsWith("-- new messages"));
  assert.ok(marker > 0, s.join("\n"));
  assert.match(s[marker - 1], /seen before/);
  assert.match(s[marker + 1], /new one/);
  t.type("\x1b1\x1b2");
  assert.ok(!t.screen().some((l) => l.startsWith("-- new messages")), "read once shown and left");
});

Deno.test("PgUp and PgDn scroll back; new messages do not move a scrolled view; Esc returns to the bottom", () => {
  const t = new Tester({ size: { cols: 60, rows: 6 } }).welcome();
  for (let i = 1; i <= 20; i++) t.message("bob", `line ${i}`);
  assert.match(t.screen()[3], /line 20/);
  t.type("\x1b[5~");
  assert.match(t.screen()[3], /line 17/);
  assert.match(t.statusLine(), /-- more --/);
  t.message("bob", "line 21");
  assert.match(t.screen()[3], /line 17/, "the view stays put");
  assert.match(t.statusLine(), /-- more \(1 new\) --/);
  for (let i = 0; i < 20; i++) t.type("\x1b[5~");
  assert.match(t.screen()[0], /connected to/, "scrolling stops at the top");
  t.type("\x1b[6~");
  assert.doesNotMatch(t.screen()[0], /connected to/);
  t.type("\x1b");
  assert.match(t.screen()[3], /line 21/);
  assert.doesNotMatch(t.statusLine(), /more/);
});

Deno.test("/who asks the server and prints the member list it answers with", () => {
  const t = new Tester({ size: { cols: 60, rows: 8 } }).welcome();
  t.type("/who\r");
  assert.deepEqual(t.client.calls, ["who lobby"]);
  t.event({ type: "members", room: "lobby", online: ["alice", "bob", "carol"] });
  assert.match(text(t), /online in #lobby \(3\): alice, bob, carol/);
  assert.match(t.statusLine(), /3 online/);
});

Deno.test("presence updates the people online", () => {
  const t = new Tester({ size: { cols: 60, rows: 8 } }).welcome(["alice"]);
  t.event({ type: "presence", room: "lobby", event: "join", name: "bob", reason: "", text: "", ts: t.now });
  assert.match(t.statusLine(), /2 online/);
  t.event({
    type: "presence",
    room: "lobby",
    event: "leave",
    name: "bob",
    reason: "timeout",
    text: "",
    ts: t.now,
  });
  assert.match(t.statusLine(), /1 online/);
});

Deno.test("/leave asks the server, and the window closes when the server confirms", () => {
  const t = new Tester({ rooms: ["lobby", "dev"], size: { cols: 60, rows: 8 } }).welcome();
  t.type("\x1b2/leave\r");
  assert.deepEqual(t.client.calls, ["leave dev"]);
  t.event({
    type: "presence",
    room: "dev",
    event: "leave",
    name: "alice",
    reason: "left",
    text: "",
    ts: t.now,
  });
  assert.equal(t.inputLine(), "[#lobby]");
  assert.equal(t.state.windows.length, 1);
  assert.match(text(t), /you left #dev/);
});

Deno.test("commands that need the server are refused while disconnected, keeping the line", () => {
  const t = new Tester({ size: { cols: 80, rows: 8 } }).welcome();
  t.event({
    type: "status",
    state: "reconnecting",
    server: "s",
    attempt: 1,
    of: 3,
    delayMs: 500,
    reason: "lost",
  });
  t.type("/join dev\r");
  assert.deepEqual(t.client.calls, []);
  assert.match(text(t), /\/join needs a connection to the server/);
  assert.equal(t.inputLine(), "[#lobby] /join dev");
});

Deno.test("an unknown command is reported and kept for fixing; // sends a line starting with /", () => {
  const t = new Tester({ size: { cols: 80, rows: 8 } }).welcome();
  t.type("/jion dev\r");
  assert.match(text(t), /unknown command \/jion \(try \/help\)/);
  assert.equal(t.inputLine(), "[#lobby] /jion dev");
  t.type("\x15//shrug\r");
  assert.deepEqual(t.client.calls, ["send lobby: /shrug"]);
});

Deno.test("/quit, Ctrl-C and Ctrl-D on an empty line quit; /clear empties the window", () => {
  assert.deepEqual(new Tester().welcome().type("/quit see you\r").outcomes.at(-1)?.quit, {
    reason: "see you",
    code: 0,
  });
  assert.deepEqual(new Tester().welcome().type("\x03").outcomes.at(-1)?.quit, { reason: "", code: 130 });
  assert.deepEqual(new Tester().welcome().type("\x04").outcomes.at(-1)?.quit, { reason: "", code: 0 });
  const t = new Tester().welcome().type("ab\x01\x04");
  assert.equal(t.outcomes.at(-1)?.quit, undefined, "Ctrl-D deletes when there is text");
  assert.equal(t.inputLine(), "[#lobby] b");
  t.message("bob", "hello").type("\x05\x15/clear\r");
  assert.ok(t.screen().slice(0, 6).every((l) => l === ""));
});

Deno.test("/help lists every command and the keys", () => {
  const help = helpText();
  for (const c of ["/help", "/who", "/join", "/leave", "/rooms", "/switch", "/me", "/clear", "/quit"]) {
    assert.ok(help.includes(c), c);
  }
  assert.match(help, /PgUp\/PgDn/);
  const t = new Tester({ size: { cols: 100, rows: 40 } }).welcome().type("/help\r");
  assert.match(text(t), /\/join ROOM +join ROOM and show it/);
});
