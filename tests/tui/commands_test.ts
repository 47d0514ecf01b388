import assert from "node:assert/strict";
import { Tester } from "../_helpers/tui.ts";
import { commandNames } from "../../src/client/commands.ts";
import { helpText, KEY_HELP, showRestored } from "../../src/tui/commands.ts";

const text = (t: Tester) => t.screen().join("\n");

Deno.test("/help and Tab completion know /msg, /query, /nick, /away, /history and /reconnect", () => {
  const help = helpText();
  for (
    const usage of ["/msg NAME TEXT", "/query NAME [TEXT]", "/nick NEWNAME", "/away [TEXT]", "/history [N]"]
  ) {
    assert.ok(help.includes(usage), usage);
  }
  assert.ok(help.includes("/reconnect"));
  for (const c of ["/msg", "/query", "/nick", "/away", "/history", "/reconnect"]) {
    assert.ok(commandNames().includes(c), c);
  }
  assert.ok(KEY_HELP.some(([k]) => k === "Enter on an empty line"));
  const t = new Tester().welcome().type("/hi\t");
  assert.equal(t.inputLine(), "[#lobby] /history");
});

Deno.test("/msg sends a direct message, shown pending in the @NAME window and confirmed where you are", () => {
  const t = new Tester({ size: { cols: 80, rows: 10 } }).welcome();
  t.type("/msg bob psst, over here\r");
  assert.deepEqual(t.client.calls, ["msg bob: psst, over here"]);
  assert.equal(t.inputLine(), "[#lobby]", "the window shown does not change");
  assert.match(text(t), /-- -> @bob: psst, over here \(window 2\)/);
  assert.deepEqual(t.state.windows.map((w) => w.room), ["lobby", "@bob"]);
  t.type("\x1b2");
  assert.equal(t.inputLine(), "[@bob]");
  assert.match(t.statusLine(), /2:@bob \(direct\)/);
  assert.match(text(t), /<alice> psst, over here \(pending\)/);
  // The server's copy (no id) comes before the ACK; either one marks it delivered.
  t.event({ type: "direct", from: "alice", to: "bob", ts: t.now, text: "psst, over here", action: false });
  assert.match(text(t), /<alice> psst, over here$/m);
  t.event({ type: "ack", id: 1, room: "", seq: 0, ts: t.now });
  assert.equal(text(t).match(/psst, over here/g)?.length, 1);
  assert.ok(t.outcomes.every((o) => !o.bell), "my own direct message does not ring");
});

Deno.test("typing in an @NAME window replies to that person; /me there is a direct action", () => {
  const t = new Tester({ size: { cols: 80, rows: 10 } }).welcome();
  t.type("/query Bob\r");
  assert.equal(t.inputLine(), "[@Bob]", "/query opens and shows the window");
  t.type("hi\r/me waves\r//slash\r");
  assert.deepEqual(t.client.calls, ["msg Bob: hi", "msg Bob action: waves", "msg Bob: /slash"]);
  t.type("/query bob and more\r");
  assert.equal(t.state.windows.length, 2, "one window per person, whatever the case of the name");
  assert.deepEqual(t.client.calls.at(-1), "msg Bob: and more");
});

Deno.test("/msg checks its arguments before sending anything, and keeps the line to fix", () => {
  const t = new Tester({ size: { cols: 80, rows: 10 } }).welcome();
  t.type("/msg bob\r");
  assert.match(text(t), /usage: \/msg NAME TEXT/);
  assert.equal(t.inputLine(), "[#lobby] /msg bob");
  t.type("\x15/msg no$uch hello\r");
  assert.match(text(t), /\/msg: name may hold only letters/);
  assert.deepEqual(t.client.calls, []);
  t.type("\x15/msg @bob: hello\r");
  assert.deepEqual(t.client.calls, ["msg bob: hello"], "a completed '@bob:' works too");
});

Deno.test("a direct message to someone offline is marked as not delivered, with the server's reason", () => {
  const t = new Tester({ size: { cols: 90, rows: 10 } }).welcome();
  t.type("/query carol\rare you there?\r");
  t.event({ type: "error", code: "NO_SUCH_USER", message: '"carol" is not online', fatal: false, ref: 1 });
  assert.match(text(t), /<alice> are you there\? \(not delivered: NO_SUCH_USER: "carol" is not online\)/);
});

Deno.test("/leave in an @NAME window closes it without asking the server, also while offline", () => {
  const t = new Tester({ size: { cols: 80, rows: 10 } }).welcome();
  t.type("/query bob\r");
  t.event({ type: "status", state: "disconnected", server: "s", reason: "gave up" });
  t.type("/leave\r");
  assert.deepEqual(t.client.calls, []);
  assert.deepEqual(t.state.windows.map((w) => w.room), ["lobby"]);
  assert.equal(t.inputLine(), "[#lobby]");
  t.type("/leave\r");
  assert.match(text(t), /\/leave needs a connection/, "leaving a room needs the server");
});

Deno.test("/nick checks the name and asks the server; the change shows when the server confirms it", () => {
  const t = new Tester({ rooms: ["lobby", "dev"], size: { cols: 80, rows: 10 } }).welcome();
  t.type("/nick not valid\r");
  assert.match(text(t), /\/nick: name may hold only letters/);
  assert.deepEqual(t.client.calls, []);
  t.type("\x15/nick alicia\r");
  assert.deepEqual(t.client.calls, ["nick alicia"]);
  for (const room of ["lobby", "dev"]) {
    t.event({ type: "presence", room, event: "nick", name: "alice", reason: "", text: "alicia", ts: t.now });
  }
  assert.equal(t.state.me, "alicia");
  assert.equal(text(t).match(/you are now known as alicia/g)?.length, 1, "one notice for the two rooms");
  t.type("after\r");
  assert.match(text(t), /<alicia> after \(pending\)/);
});

Deno.test("/away sets and clears my away message; the status line shows it", () => {
  const t = new Tester({ size: { cols: 100, rows: 10 } }).welcome();
  t.type("/away\r");
  assert.match(text(t), /you are not away/);
  assert.deepEqual(t.client.calls, []);
  t.type("/away gone for lunch\r");
  assert.deepEqual(t.client.calls, ["away gone for lunch"]);
  t.event({
    type: "presence",
    room: "lobby",
    event: "away",
    name: "alice",
    reason: "",
    text: "gone for lunch",
    ts: t.now,
  });
  assert.match(t.statusLine(), /^ connected \| away: gone for lunch \| 1:#lobby/);
  assert.match(text(t), /-- you are away: gone for lunch/);
  t.type("/away\r");
  assert.deepEqual(t.client.calls.at(-1), "away ");
  t.event({ type: "presence", room: "lobby", event: "away", name: "alice", reason: "", text: "", ts: t.now });
  assert.match(text(t), /-- you are back/);
  assert.doesNotMatch(t.statusLine(), /away/);
});

Deno.test("/nick, /away and /history need the server, and keep the line while it is away", () => {
  const t = new Tester({ size: { cols: 90, rows: 10 } }).welcome();
  t.event({
    type: "status",
    state: "reconnecting",
    server: "s",
    attempt: 1,
    of: 3,
    delayMs: 500,
    reason: "",
  });
  for (const line of ["/nick bert", "/away brb", "/history"]) {
    t.type(`\x15${line}\r`);
    assert.equal(t.inputLine(), `[#lobby] ${line}`);
  }
  assert.deepEqual(t.client.calls, []);
  t.type("\x15/msg bob queued meanwhile\r");
  assert.deepEqual(t.client.calls, ["msg bob: queued meanwhile"], "a direct message waits in the outbox");
});

Deno.test("/history asks for N messages before the oldest one shown, in the current room or stored conversation", () => {
  const t = new Tester({ size: { cols: 90, rows: 12 } }).welcome();
  t.type("/history\r");
  assert.match(text(t), /no older messages in #lobby/);
  for (let seq = 40; seq <= 42; seq++) t.message("bob", `message ${seq}`, "lobby", { seq });
  t.type("/history 3\r");
  assert.deepEqual(t.client.calls, ["history lobby before 40 limit 3"]);
  assert.match(text(t), /fetching up to 3 messages of #lobby before seq 40/);
  // The client may have passed on older ones than are shown (say, after /clear): it asks before those.
  t.client.oldest.set("lobby", 35);
  t.type("/history\r");
  assert.deepEqual(t.client.calls.at(-1), "history lobby before 35 limit 50");
  t.type("/history 0\r");
  assert.match(text(t), /usage: \/history \[N\], N from 1 to 500/);
  t.type("\x15/query bob\r/history\r");
  assert.match(
    text(t),
    /\/history works in a stored conversation \(both names registered\), and this one is/,
  );
  // A stored conversation's messages are numbered: its history is asked for like a room's.
  t.event({
    type: "direct",
    from: "bob",
    to: "alice",
    ts: 1,
    text: "stored",
    action: false,
    seq: 7,
    history: false,
  });
  t.type("\x15/history 5\r");
  assert.deepEqual(t.client.calls.at(-1), "history @bob before 7 limit 5");
  assert.match(text(t), /fetching up to 5 messages of the conversation with bob before seq 7/);
});

Deno.test("/reconnect retries only once the client has given up", () => {
  const t = new Tester({ size: { cols: 90, rows: 10 } }).welcome();
  t.type("/reconnect\r");
  assert.match(text(t), /already connected/);
  t.event({ type: "status", state: "disconnected", server: "s", reason: "gave up" });
  t.type("/reconnect\r");
  assert.deepEqual(t.client.calls, ["reconnect"]);
});

Deno.test("showRestored() shows the journal's unsent messages as pending in their windows, until acknowledged", () => {
  const t = new Tester({ rooms: ["lobby", "dev"], size: { cols: 90, rows: 10 } });
  showRestored(t.state, [
    { id: 70, room: "lobby", flags: 0, text: "typed before the crash" },
    { id: 71, room: "@bob", flags: 1, text: "waves from the past" },
    { id: 72, room: "lobby", flags: 0, text: "and another" },
  ], t.now);
  t.welcome();
  const s = text(t);
  assert.match(s, /2 message\(s\) from the last session not yet delivered; sending again/);
  assert.match(s, /<alice> typed before the crash \(pending\)\n.*<alice> and another \(pending\)/);
  t.event({ type: "ack", id: 70, room: "lobby", seq: 12, ts: t.now });
  t.event({ type: "ack", id: 72, room: "lobby", seq: 13, ts: t.now });
  t.message("alice", "typed before the crash", "lobby", { seq: 12 });
  t.message("alice", "and another", "lobby", { seq: 13 });
  assert.doesNotMatch(text(t), /pending/);
  assert.equal(text(t).match(/typed before the crash/g)?.length, 1);
  assert.deepEqual(t.state.windows.map((w) => w.room), ["lobby", "dev", "@bob"]);
  t.type("\x1b3");
  assert.match(text(t), /\* alice waves from the past \(pending\)/);
  t.event({ type: "ack", id: 71, room: "", seq: 0, ts: t.now });
  assert.match(text(t), /\* alice waves from the past$/m);
});
