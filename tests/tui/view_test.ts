// deno-lint-ignore-file no-control-regex -- terminal output is made of escape sequences.
import assert from "node:assert/strict";
import { T0, Tester } from "../_helpers/tui.ts";
import { backlogEntries } from "../../src/tui/backlog.ts";
import { DEFAULT_PREFS, withIgnored } from "../../src/client/prefs.ts";
import { helpText } from "../../src/tui/commands.ts";
import { ALT_KEYS, showEarlier } from "../../src/tui/view.ts";

const text = (t: Tester) => t.screen().join("\n");

Deno.test("Enter sends the line to the current room, pending until the ACK, whose (room, seq) identifies the echo", () => {
  const t = new Tester().welcome();
  t.type("hello there\r");
  assert.deepEqual(t.client.calls, ["send lobby: hello there"]);
  assert.equal(t.inputLine(), "[#lobby]");
  assert.match(text(t), /<alice> hello there \(pending\)/);
  // The server acknowledges first, then sends everyone (me too) the message: the copy is recognised by its seq.
  t.event({ type: "ack", id: 1, room: "lobby", seq: 1, ts: t.now });
  assert.match(text(t), /<alice> hello there$/m);
  t.message("alice", "hello there", "lobby", { seq: 1 });
  assert.equal(text(t).match(/hello there/g)?.length, 1, "the echo does not show the message twice");
  assert.doesNotMatch(text(t), /pending/);
});

Deno.test("the echo is matched by (room, seq), not by text: the same text sent twice shows twice", () => {
  const t = new Tester({ size: { cols: 60, rows: 10 } }).welcome();
  t.type("ok\r").type("ok\r");
  t.event({ type: "ack", id: 1, room: "lobby", seq: 4, ts: t.now });
  t.message("alice", "ok", "lobby", { seq: 4 });
  assert.deepEqual(t.screen().filter((l) => l.includes("<alice> ok")), [
    "09:30 <alice> ok",
    "09:30 <alice> ok (pending)",
  ]);
  // Someone else's message with my text is not taken for my echo either.
  t.message("bob", "ok", "lobby", { seq: 5 });
  assert.match(text(t), /<alice> ok \(pending\)/);
  t.event({ type: "ack", id: 2, room: "lobby", seq: 6, ts: t.now });
  t.message("alice", "ok", "lobby", { seq: 6 });
  assert.equal(t.screen().filter((l) => l.includes("<alice> ok")).length, 2);
  assert.doesNotMatch(text(t), /pending/);
});

Deno.test("a copy that comes before the ACK (a resend answered from history) replaces the pending entry", () => {
  const t = new Tester({ size: { cols: 60, rows: 10 } }).welcome();
  t.type("said once\r");
  t.message("alice", "said once", "lobby", { seq: 9, history: true });
  t.event({ type: "ack", id: 1, room: "lobby", seq: 9, ts: t.now });
  assert.equal(t.screen().filter((l) => l.includes("said once")).length, 1, t.screen().join("\n"));
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

Deno.test("after the client gives up, text goes to the outbox as pending, and Enter on an empty line retries now", () => {
  const t = new Tester({ size: { cols: 100, rows: 10 } }).welcome();
  t.event({ type: "status", state: "disconnected", server: "s", reason: "gave up" });
  assert.match(t.statusLine(), /^ offline \|/);
  assert.match(text(t), /disconnected from s: gave up; Enter on an empty line or \/reconnect tries again/);
  t.type("important\r");
  assert.deepEqual(t.client.calls, ["send lobby: important"], "ChatClient queues it while disconnected");
  assert.equal(t.inputLine(), "[#lobby]");
  assert.match(text(t), /<alice> important \(pending\)/);
  t.type("\r");
  assert.deepEqual(t.client.calls.at(-1), "reconnect");
  t.type("/reconnect\r");
  assert.deepEqual(t.client.calls.filter((c) => c === "reconnect").length, 2);
  t.event({
    type: "status",
    state: "reconnecting",
    server: "s",
    attempt: 1,
    of: 3,
    delayMs: 500,
    reason: "",
  });
  t.type("\r/reconnect\r");
  assert.equal(t.client.calls.filter((c) => c === "reconnect").length, 4, "waiting for a try: try now");
  t.event({ type: "status", state: "connecting", server: "s" });
  t.type("/reconnect\r");
  assert.equal(t.client.calls.filter((c) => c === "reconnect").length, 4, "not while a try is under way");
  assert.match(text(t), /already connecting/);
  t.event({ type: "status", state: "connected", server: "s" });
  t.event({ type: "ack", id: 1, room: "lobby", seq: 3, ts: t.now });
  assert.match(text(t), /<alice> important$/m);
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
  // A paste whose first line is a command is still one message: a pasted log must not /quit or /nick.
  t.type("\x1b[200~/quit\r\nsome pasted log line\x1b[201~").type("\r");
  assert.deepEqual(t.client.calls.at(-1), "send lobby: /quit\nsome pasted log line");
  assert.equal(t.outcomes.at(-1)?.quit, undefined);
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

Deno.test("/register PASSWORD is kept neither in the input history nor in its file", () => {
  const t = new Tester().welcome();
  t.type("before\r").type("/register pw-ursula-123\r");
  t.type("\x1b[A");
  assert.equal(t.inputLine(), "[#lobby] before");
  assert.deepEqual(t.outcomes.filter((o) => o.submitted).map((o) => o.submitted), ["before"]);
  assert.ok(t.client.calls.includes("register pw-ursula-123"), "it was sent");
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
  const t = new Tester({ size: { cols: 100, rows: 80 } }).welcome().type("/help\r");
  assert.match(text(t), /\/join ROOM +join ROOM and make it the current room/);
});

Deno.test("a direct message opens an @NAME window, rings, and counts as a mention; the first one is announced", () => {
  const t = new Tester({ size: { cols: 90, rows: 10 } }).welcome();
  t.event({ type: "direct", from: "bob", to: "alice", ts: t.now, text: "got a minute?", action: false });
  assert.equal(t.outcomes.at(-1)?.bell, true);
  assert.match(text(t), /-- direct message from bob in window 2 \(Alt-2 or \/switch @bob\)/);
  assert.match(t.statusLine(), /unread: 2:@bob\(1!\)/);
  t.event({ type: "direct", from: "bob", to: "alice", ts: t.now, text: "it is urgent", action: false });
  assert.equal(text(t).match(/direct message from bob/g)?.length, 1, "announced once");
  assert.match(t.statusLine(), /2:@bob\(2!\)/);
  t.type("/switch @bob\r");
  assert.equal(t.inputLine(), "[@bob]");
  const s = t.screen();
  const first = s.findIndex((l) => l.includes("<bob> got a minute?"));
  assert.ok(first > 0 && s[first - 1].startsWith("-- new messages"), s.join("\n"));
  assert.match(s[first + 1], /<bob> it is urgent/);
  t.type("\t");
  assert.equal(t.inputLine(), "[@bob]", "nothing to complete on an empty line");
  t.type("b\t");
  assert.equal(t.inputLine(), "[@bob] bob:", "in an @bob window, the nickname is bob");
});

Deno.test("a stored conversation: my message is numbered by its ACK, its copy and earlier ones are shown once", () => {
  const t = new Tester({ size: { cols: 90, rows: 12 } }).welcome();
  const dm = (from: string, text: string, seq: number, history = false) =>
    t.event({
      type: "direct",
      from,
      to: from === "alice" ? "bob" : "alice",
      ts: T0 + seq,
      text,
      action: false,
      seq,
      history,
    });
  t.type("/query bob\rhello bob\r");
  assert.deepEqual(t.client.calls.at(-1), "msg bob: hello bob");
  t.event({ type: "ack", id: 1, room: "@bob", seq: 4, ts: T0 + 4 });
  dm("alice", "hello bob", 4);
  assert.equal(text(t).match(/hello bob/g)?.length, 1, "the server's copy is the acknowledged line");
  t.type("\x1b1");
  dm("bob", "missed while away", 5, true);
  dm("bob", "missed while away", 5, true);
  assert.match(
    t.statusLine(),
    /2:@bob\(1!\)/,
    "fetched after an absence is news: unread, like any direct message",
  );
  assert.equal(t.outcomes.filter((o) => o.bell).length, 1, "one bell: the copy is skipped");
  t.type("\x1b2");
  assert.equal(text(t).match(/missed while away/g)?.length, 1, "a copy of a shown seq is skipped");
  assert.doesNotMatch(text(t), /\(history\) <bob> missed/);
});

Deno.test("messaging someone away shows their away message in the conversation, each time", () => {
  const t = new Tester({ size: { cols: 90, rows: 10 } }).welcome();
  t.type("/query bob\rlunch?\r");
  const away = {
    type: "presence",
    room: "",
    event: "away",
    name: "bob",
    reason: "",
    text: "in a meeting",
    ts: t.now,
  } as const;
  t.event(away);
  t.type("ping\r");
  t.event(away);
  assert.equal(text(t).match(/-- bob is away: in a meeting/g)?.length, 2);
  assert.match(t.statusLine(), /1?2:@bob \(away: in a meeting\)/);
});

Deno.test("/who lists away members with their message, including the reports that follow the member list", () => {
  const t = new Tester({ size: { cols: 100, rows: 10 } }).welcome(["alice", "bob", "carol"]);
  t.event({
    type: "presence",
    room: "lobby",
    event: "away",
    name: "bob",
    reason: "",
    text: "lunch",
    ts: t.now,
  });
  assert.match(text(t), /-- bob is away: lunch/);
  t.event({
    type: "presence",
    room: "lobby",
    event: "away",
    name: "alice",
    reason: "",
    text: "brb",
    ts: t.now,
  });
  t.type("/who\r");
  t.event({ type: "members", room: "lobby", online: ["alice", "bob", "carol"] });
  // The server reports each away member (ts 0) right after the list: the notice is completed in place.
  t.event({ type: "presence", room: "lobby", event: "away", name: "carol", reason: "", text: "gone", ts: 0 });
  assert.match(
    text(t),
    /-- online in #lobby \(3\): alice \(away: brb\), bob \(away: lunch\), carol \(away: gone\)/,
  );
  assert.doesNotMatch(text(t), /carol is away/, "a status report is not news");
  t.event({ type: "presence", room: "lobby", event: "away", name: "bob", reason: "", text: "", ts: t.now });
  assert.match(text(t), /-- bob is back/);
  t.type("/who\r");
  t.event({ type: "members", room: "lobby", online: ["alice", "bob", "carol"] });
  assert.match(text(t), /-- online in #lobby \(3\): alice \(away: brb\), bob, carol \(away: gone\)$/m);
});

Deno.test("someone else's nick or away change is told once, whatever the number of rooms we share", () => {
  const t = new Tester({ rooms: ["lobby", "dev"], size: { cols: 80, rows: 12 } }).welcome(["alice", "bob"]);
  t.event({ type: "members", room: "dev", online: ["alice", "bob"] });
  t.type("/query bob\r\x1b1");
  for (const room of ["lobby", "dev"]) {
    t.event({ type: "presence", room, event: "away", name: "bob", reason: "", text: "afk", ts: t.now });
  }
  for (const room of ["lobby", "dev"]) {
    t.event({ type: "presence", room, event: "nick", name: "bob", reason: "", text: "robert", ts: t.now });
  }
  assert.equal(text(t).match(/bob is away: afk/g)?.length, 1);
  assert.equal(text(t).match(/bob is now known as robert/g)?.length, 1);
  assert.deepEqual(
    t.state.windows.map((w) => w.room),
    ["lobby", "dev", "@robert"],
    "the conversation follows him",
  );
  assert.deepEqual(t.state.windows[1].members, ["alice", "robert"]);
  t.type("\x1b3");
  assert.equal(t.inputLine(), "[@robert]");
  assert.match(t.statusLine(), /3:@robert \(away: afk\)/, "his away message follows him too");
  assert.match(text(t), /bob is now known as robert/);
  t.type("still there?\r");
  assert.deepEqual(t.client.calls.at(-1), "msg robert: still there?");
});

Deno.test("after a reconnect, the client tells the new session again that I am away", () => {
  const t = new Tester({ size: { cols: 80, rows: 10 } }).welcome();
  t.event({
    type: "presence",
    room: "lobby",
    event: "away",
    name: "alice",
    reason: "",
    text: "lunch",
    ts: t.now,
  });
  t.event({ type: "status", state: "reconnecting", server: "s", attempt: 1, of: 3, delayMs: 10, reason: "" });
  t.event({
    type: "welcome",
    name: "alice",
    room: "lobby",
    rooms: ["lobby"],
    online: ["alice"],
    server: "s",
    reconnected: true,
  });
  assert.deepEqual(t.client.calls, ["away lunch"]);
  t.event({
    type: "presence",
    room: "lobby",
    event: "away",
    name: "alice",
    reason: "",
    text: "lunch",
    ts: t.now,
  });
  assert.equal(text(t).match(/you are away: lunch/g)?.length, 1, "no second notice for the same message");
});

Deno.test("older messages fetched with /history are put in seq order above what is shown", () => {
  const t = new Tester({ size: { cols: 60, rows: 12 } }).welcome();
  for (let seq = 40; seq <= 41; seq++) t.message("bob", `live ${seq}`, "lobby", { seq });
  t.type("/history 3\r");
  // They come newest page, oldest first, flagged as history.
  for (const seq of [37, 38, 39]) t.message("carol", `old ${seq}`, "lobby", { seq, history: true });
  t.message("bob", "live 42", "lobby", { seq: 42 });
  const chat = t.screen().filter((l) => /<\w+> /.test(l)).map((l) => l.replace(/^.*<\w+> /, ""));
  assert.deepEqual(chat, ["old 37", "old 38", "old 39", "live 40", "live 41", "live 42"]);
  assert.doesNotMatch(t.statusLine(), /unread/);
  assert.ok(t.outcomes.every((o) => !o.bell));
  // A copy of a message already shown (a second /history over the same range) is skipped.
  t.message("carol", "old 38", "lobby", { seq: 38, history: true });
  assert.equal(text(t).match(/old 38/g)?.length, 1);
});

Deno.test("PgUp at the top of a room's scrollback fetches the page before it, once per page", () => {
  const t = new Tester({ size: { cols: 60, rows: 6 } }).welcome();
  for (let seq = 101; seq <= 110; seq++) t.message("bob", `line ${seq}`, "lobby", { seq });
  for (let i = 0; i < 10; i++) t.type("\x1b[5~");
  assert.deepEqual(
    t.client.calls,
    ["history lobby before 101 limit 50"],
    "asked once, however often PgUp is hit",
  );
  const before = t.screen();
  assert.match(before[2], /line 101/);
  for (let seq = 51; seq <= 100; seq++) t.message("carol", `older ${seq}`, "lobby", { seq, history: true });
  const after = t.screen();
  assert.deepEqual(after.slice(2), before.slice(2), "what was on screen stays where it was");
  assert.match(after[1], /<carol> older 100$/, "with the newest of the older messages right above it");
  t.type("\x1b[5~");
  assert.match(t.screen().join("\n"), /older \d+/, "and PgUp goes on into what arrived");
  for (let i = 0; i < 30; i++) t.type("\x1b[5~");
  assert.deepEqual(t.client.calls, ["history lobby before 101 limit 50", "history lobby before 51 limit 50"]);
});

Deno.test("earlier messages from the transcript are shown once: the server's copies of them are skipped", () => {
  const t = new Tester({ size: { cols: 60, rows: 12 } });
  const day = (h: number) => new Date(2026, 0, 1, h, 5).getTime();
  showEarlier(
    t.state,
    t.state.windows[0],
    backlogEntries([
      { room: "lobby", seq: 7, ts: day(22), from: "bob", text: "good night", action: false },
      { room: "lobby", seq: 8, ts: T0 - 60_000, from: "alice", text: "morning", action: false },
    ], "alice"),
  );
  t.welcome();
  // Without a journal the server sends recent history on join, overlapping the transcript.
  t.message("bob", "good night", "lobby", { seq: 7, ts: day(22), history: true });
  t.message("alice", "morning", "lobby", { seq: 8, ts: T0 - 60_000, history: true });
  t.message("bob", "news", "lobby", { seq: 9, history: true });
  assert.deepEqual(t.screen().slice(2, 10), [
    "-- earlier: Thu 2026-01-01 ---------------------------------",
    "22:05 <bob> good night",
    "-- earlier: Fri 2026-01-02 ---------------------------------",
    "09:29 <alice> morning",
    "-- end of earlier messages ---------------------------------",
    "09:30 -- connected to 127.0.0.1:3000 as alice; in #lobby:",
    "         alice, bob",
    "09:30 (history) <bob> news",
  ]);
  assert.doesNotMatch(t.statusLine(), /unread/);
});

Deno.test("a server whose messages were reset numbers from 1 again: those messages are not taken for copies", () => {
  const t = new Tester({ size: { cols: 60, rows: 12 } });
  showEarlier(
    t.state,
    t.state.windows[0],
    backlogEntries([{
      room: "lobby",
      seq: 1,
      ts: T0 - 86_400_000,
      from: "bob",
      text: "old store",
      action: false,
    }], "alice"),
  );
  t.welcome();
  t.message("carol", "new store", "lobby", { seq: 1 });
  t.message("carol", "and on", "lobby", { seq: 2 });
  assert.match(text(t), /<bob> old store[\s\S]*<carol> new store[\s\S]*<carol> and on/);
});

Deno.test("a notice from the server is shown in the current window", () => {
  const t = new Tester({ size: { cols: 60, rows: 10 } }).welcome();
  t.event({ type: "notice", kind: "motd", text: "welcome to the test server" });
  assert.match(text(t), /-- welcome to the test server/);
});

Deno.test("Tab after /msg completes anyone known, not only people in this room", () => {
  const t = new Tester({ rooms: ["lobby", "dev"] }).welcome(["alice", "bob"]);
  t.event({ type: "members", room: "dev", online: ["alice", "dora"] });
  t.type("do\t");
  assert.equal(t.inputLine(), "[#lobby] do", "dora is not in #lobby");
  t.type("\x15/msg do\t");
  assert.equal(t.inputLine(), "[#lobby] /msg dora");
});

Deno.test("a quiet room shows its size, says why joins are not shown, and keeps the size fresh from /who", () => {
  const t = new Tester({ size: { cols: 100, rows: 8 } }).welcome();
  t.type("/join town\r");
  t.event({ type: "members", room: "town", online: [], members: 5000, quiet: true });
  assert.match(t.statusLine(), /2:#town \(5000 members, quiet\)/);
  assert.match(text(t), /you joined #town: 5000 members \(a quiet room, joins and leaves are not shown\)/);
  t.type("/who\r");
  t.event({ type: "members", room: "town", online: ["alice", "bob", "carol"] });
  assert.match(t.statusLine(), /#town \(3 members, quiet\)/, "a /who answer does not make the room loud");
  t.event({ type: "room", room: "town", members: 100, quiet: false });
  assert.match(text(t), /#town is down to 100 members: joins and leaves are shown again/);
  t.event({ type: "members", room: "town", online: ["alice", "bob"] });
  assert.match(t.statusLine(), /#town \(2 online\)/);
  t.event({ type: "room", room: "town", members: 201, quiet: true });
  assert.match(text(t), /#town has 201 members: a quiet room/);
  assert.match(t.statusLine(), /#town \(201 members, quiet\)/);
});

Deno.test("the line typed right after /join goes to the new room, before the server has confirmed the join", () => {
  const t = new Tester({ size: { cols: 80, rows: 10 } }).welcome();
  t.type("/join ops\rfirst line for ops\r");
  assert.deepEqual(t.client.calls, ["join ops", "send ops: first line for ops"]);
  assert.equal(t.inputLine(), "[#ops]");
  assert.match(text(t), /joining #ops\.\.\.\n.*<alice> first line for ops \(pending\)/);
  t.event({ type: "members", room: "ops", online: ["alice", "carol"] });
  assert.match(text(t), /you joined #ops; online \(2\): alice, carol/);
  assert.match(t.statusLine(), /2:#ops \(2 online\)/);
  t.event({ type: "ack", id: 1, room: "ops", seq: 1, ts: t.now });
  assert.match(text(t), /<alice> first line for ops$/m);
});

Deno.test("a refused /join is said in its window, which then takes no text; /leave closes it", () => {
  const t = new Tester({ size: { cols: 90, rows: 10 } }).welcome();
  t.type("/join ops\r");
  t.event({ type: "error", code: "TOO_MANY_ROOMS", message: "already in 1 rooms, the limit", fatal: false });
  assert.match(text(t), /could not join #ops: TOO_MANY_ROOMS: already in 1 rooms, the limit/);
  assert.equal(t.inputLine(), "[#ops (left)]");
  t.type("lost?\r");
  assert.match(text(t), /you are not in #ops: \/join a room first/);
  t.type("\x15/leave\r");
  assert.deepEqual(t.state.windows.map((w) => w.room), ["lobby"]);
  assert.deepEqual(t.client.calls, ["join ops"]);
});

Deno.test("/leave takes effect at once: the next line goes to the window shown next; the server's word closes it", () => {
  const t = new Tester({ rooms: ["lobby", "dev", "ops"], size: { cols: 80, rows: 10 } }).welcome();
  t.type("\x1b2/leave\rstraight after\r");
  assert.deepEqual(t.client.calls, ["leave dev", "send ops: straight after"]);
  assert.equal(t.inputLine(), "[#ops]");
  t.presence("dev", "leave", "alice", { reason: "left" });
  assert.deepEqual(t.state.windows.map((w) => w.room), ["lobby", "ops"]);
  assert.equal(t.inputLine(), "[#ops]");
  assert.match(text(t), /you left #dev/);
});

Deno.test("Escape and then a quick '/msg' keeps its slash: the direct message stays private", () => {
  const t = new Tester({ size: { cols: 90, rows: 10 } }).welcome();
  t.type("\x1b/msg carol hi carol\r");
  assert.deepEqual(t.client.calls, ["msg carol: hi carol"]);
});

Deno.test("a line that is a command without its slash is not sent until Enter is pressed again on it", () => {
  const t = new Tester({ size: { cols: 120, rows: 10 } }).welcome();
  t.type("msg carol hi carol, the numbers\r");
  assert.deepEqual(t.client.calls, []);
  assert.match(
    text(t),
    /this looks like \/msg without its slash: Enter sends it to #lobby as a message anyway; Ctrl-A and \/ make it/,
  );
  assert.equal(t.inputLine(), "[#lobby] msg carol hi carol, the numbers", "kept on the input line");
  t.type("\x01/\r");
  assert.deepEqual(t.client.calls, ["msg carol: hi carol, the numbers"], "fixed with Ctrl-A and /");
  t.type("join ops\r");
  assert.deepEqual(t.client.calls.length, 1);
  t.type("\r");
  assert.deepEqual(t.client.calls.at(-1), "send lobby: join ops", "the same line again is sent as it is");
  t.type("nick x\r\x15nick y\r");
  assert.equal(t.client.calls.length, 2, "another line is asked about again");
  t.type("\x15join us for lunch\r");
  assert.deepEqual(
    t.client.calls.at(-1),
    "send lobby: join us for lunch",
    "an ordinary sentence goes at once",
  );
});

Deno.test("every Alt key the decoder is told about does something", () => {
  const t = new Tester({ rooms: ["lobby", "dev"], size: { cols: 60, rows: 8 } }).welcome();
  t.type("one two");
  t.type("\x1bb");
  assert.equal(t.state.editor.cursor, 4, "Alt-B");
  t.type("\x1bf");
  assert.equal(t.state.editor.cursor, 7, "Alt-F");
  t.type("\x1bb\x1bd");
  assert.equal(t.state.editor.text, "one ", "Alt-D");
  t.type("\x1b2");
  assert.equal(t.state.current, 1, "Alt-2");
  assert.deepEqual([...ALT_KEYS].sort(), [..."0123456789bdf"].sort());
});

Deno.test("/ignore hides someone's room messages and direct messages, and asks the app to keep the list", () => {
  const t = new Tester({ size: { cols: 100, rows: 12 } }).welcome(["alice", "bob", "mallory"]);
  t.type("/ignore Mallory\r");
  assert.deepEqual(t.outcomes.at(-1)?.prefs?.ignored, ["Mallory"], "the changed preferences, to save");
  assert.match(text(t), /ignoring Mallory: their messages and direct messages are not shown/);
  t.message("mallory", "buy my stuff");
  t.event({ type: "direct", from: "mallory", to: "alice", ts: t.now, text: "psst", action: false });
  t.message("bob", "hello");
  assert.doesNotMatch(text(t), /buy my stuff|psst/);
  assert.match(text(t), /<bob> hello/);
  assert.deepEqual(t.state.windows.map((w) => w.room), ["lobby"], "no window for an ignored person");
  assert.ok(t.outcomes.every((o) => !o.bell));
  t.type("/ignore\r");
  assert.match(text(t), /ignored: Mallory \(\/unignore NAME shows them again\)/);
  t.type("/ignore alice\r");
  assert.match(text(t), /\/ignore: you cannot ignore yourself/);
  t.type("\x15/unignore mallory\r");
  assert.deepEqual(t.outcomes.at(-1)?.prefs?.ignored, []);
  t.message("mallory", "back again");
  assert.match(text(t), /<mallory> back again/);
  t.type("/unignore mallory\r");
  assert.match(text(t), /\/unignore: mallory is not ignored/);
});

Deno.test("/joins hide keeps join and leave lines out of a room (or every room), while the member list stays current", () => {
  const t = new Tester({ rooms: ["lobby", "dev"], size: { cols: 100, rows: 12 } }).welcome(["alice"]);
  const join = (name: string, room: string) => t.presence(room, "join", name);
  t.type("/joins hide\r");
  assert.match(text(t), /join and leave lines are hidden in #lobby/);
  assert.equal(t.outcomes.at(-1)?.prefs?.joins.rooms.lobby, true);
  join("bob", "lobby");
  assert.doesNotMatch(text(t), /bob joined/);
  assert.match(t.statusLine(), /2 online/);
  join("carol", "dev");
  t.type("\x1b2");
  assert.match(text(t), /carol joined/, "other rooms still show them");
  t.type("/joins hide *\r/joins\r");
  assert.match(text(t), /join and leave lines are hidden in every room$/m);
  join("dave", "dev");
  assert.doesNotMatch(text(t), /dave joined/);
});

Deno.test("/whois answers from the member lists and away messages the client has", () => {
  const t = new Tester({ rooms: ["lobby", "dev"], size: { cols: 120, rows: 12 } }).welcome(["alice", "bob"]);
  t.event({ type: "members", room: "dev", online: ["alice", "bob", "carol"] });
  t.presence("lobby", "away", "bob", { text: "lunch" });
  t.type("/whois bob\r");
  assert.match(text(t), /bob: in #lobby, #dev; away: lunch/);
  t.type("/wi zed\r");
  assert.match(text(t), /zed is in none of your rooms; this server cannot tell more yet \(no WHOIS\)/);
});

Deno.test("/lastlog shows the lines of the window that match, newest last", () => {
  const t = new Tester({ size: { cols: 100, rows: 14 } }).welcome();
  t.message("bob", "the deploy is at 11");
  t.message("carol", "coffee?");
  t.message("bob", "Deploy done");
  t.type("/lastlog deploy\r");
  const s = t.screen();
  const head = s.findIndex((l) => l.includes('lastlog: 2 line(s) in #lobby match "deploy":'));
  assert.ok(head >= 0, s.join("\n"));
  assert.match(s[head + 1], /^ +09:30 <bob> the deploy is at 11$/);
  assert.match(s[head + 2], /^ +09:30 <bob> Deploy done$/);
  t.type("/lastlog nothing\r");
  assert.match(text(t), /lastlog: nothing in #lobby matches "nothing"/);
});

Deno.test("/list, /topic and /who for a room you are not in say the server does not support them yet", () => {
  const t = new Tester({ size: { cols: 120, rows: 12 } }).welcome();
  t.type("/list\r");
  assert.match(text(t), /\/list: listing rooms is not supported by this server yet/);
  t.type("\x15/topic\r");
  assert.match(text(t), /\/topic: room topics is not supported by this server yet/);
  t.type("\x15/who ops\r");
  assert.match(text(t), /\/who #ops: asking about a room you are not in is not supported by this server yet/);
  assert.deepEqual(t.client.calls, []);
});

Deno.test("a command that fails stays on the input line: unknown, bad arguments, or refused", () => {
  const t = new Tester({ size: { cols: 120, rows: 12 } }).welcome();
  for (
    const line of ["/jion ops", "/join no way", "/me", "/who a b", "/switch nowhere", "/list", "/msg bob"]
  ) {
    t.type(`\x15${line}\r`);
    assert.equal(t.inputLine(), `[#lobby] ${line}`, line);
  }
  assert.deepEqual(t.client.calls, []);
});

Deno.test("Tab completes rooms after /join, /part and /who, and any word starting with #", () => {
  const t = new Tester({ rooms: ["lobby", "dev", "design"], size: { cols: 100, rows: 10 } }).welcome();
  t.type("/join d\t");
  assert.equal(t.inputLine(), "[#lobby] /join design");
  t.type("\t");
  assert.equal(t.inputLine(), "[#lobby] /join dev", "again for the next match");
  t.type("\x15/part lo\t");
  assert.equal(t.inputLine(), "[#lobby] /part lobby");
  t.type("\x15/w de\t\t");
  assert.equal(t.inputLine(), "[#lobby] /w dev");
  t.type("\x15see #de\t");
  assert.equal(t.inputLine(), "[#lobby] see #design");
  t.type("\x15#lo\t");
  assert.equal(t.inputLine(), "[#lobby] #lobby", "no ': ' after a room at the start");
  t.type("\x15/query bob\r\x1b1/switch @b\t");
  assert.equal(t.inputLine(), "[#lobby] /switch @bob");
});

Deno.test("earlier messages of someone ignored are not shown from the transcript either", () => {
  const t = new Tester({ size: { cols: 60, rows: 12 }, prefs: withIgnored(DEFAULT_PREFS, "mallory", true) });
  showEarlier(
    t.state,
    t.state.windows[0],
    backlogEntries([
      { room: "lobby", seq: 7, ts: T0 - 120_000, from: "Mallory", text: "buy my stuff", action: false },
      { room: "lobby", seq: 8, ts: T0 - 60_000, from: "bob", text: "morning", action: false },
    ], "alice"),
  );
  const s = text(t.welcome());
  assert.match(s, /<bob> morning/);
  assert.doesNotMatch(s, /buy my stuff/);
});
