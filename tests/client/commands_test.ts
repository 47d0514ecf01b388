import assert from "node:assert/strict";
import {
  argumentKind,
  commandNames,
  COMMANDS,
  findCommand,
  helpRows,
  type Line,
  lostSlash,
  notSupported,
  parseLine,
} from "../../src/client/commands.ts";

/** The action a line parses to, or the failure, as a short value to compare. */
function parsed(line: string): unknown {
  const p: Line = parseLine(line);
  switch (p.kind) {
    case "command":
      return p.action;
    case "invalid":
      return { error: p.error };
    case "unknown":
      return { unknown: p.name };
    default:
      return p;
  }
}

Deno.test("parseLine() tells text, // escapes, blank lines and unknown commands apart", () => {
  assert.deepEqual(parseLine("hello /there"), { kind: "text", text: "hello /there" });
  assert.deepEqual(parseLine("//shrug"), { kind: "text", text: "/shrug" });
  assert.deepEqual(parseLine("   "), { kind: "empty" });
  assert.deepEqual(parsed("/jion dev"), { unknown: "jion" });
  assert.deepEqual(parsed("/"), { unknown: "" });
});

Deno.test("parseLine() finds commands by name and alias, in any case, and trims their arguments", () => {
  assert.deepEqual(parsed("/JOIN  #Dev "), { kind: "join", room: "dev" });
  assert.deepEqual(parsed("/part"), { kind: "leave" });
  assert.deepEqual(parsed("/window 2"), { kind: "switch", target: { kind: "index", index: 2 } });
  assert.deepEqual(parsed("/m bob hi there"), { kind: "msg", to: "bob", text: "hi there" });
  assert.deepEqual(parsed("/exit gone"), { kind: "quit", reason: "gone" });
});

Deno.test("parseLine() checks arguments: names, rooms and numbers, with the usage or the rule broken", () => {
  assert.deepEqual(parsed("/join"), { error: "usage: /join ROOM" });
  assert.match((parsed("/join no way") as { error: string }).error, /^\/join: room may hold only letters/);
  assert.match((parsed("/who a b") as { error: string }).error, /^\/who: room may hold only/);
  assert.deepEqual(parsed("/msg bob"), { error: "usage: /msg NAME TEXT" });
  assert.match((parsed("/msg no$uch hi") as { error: string }).error, /^\/msg: name may hold only/);
  assert.deepEqual(
    parsed("/msg @bob: hi"),
    { kind: "msg", to: "bob", text: "hi" },
    "as completion leaves it",
  );
  assert.deepEqual(parsed("/query bob"), { kind: "query", to: "bob", text: "" });
  assert.match((parsed("/nick not valid") as { error: string }).error, /^\/nick: name may hold only/);
  assert.deepEqual(parsed("/me"), { error: "usage: /me ACTION" });
  assert.deepEqual(parsed("/history"), { kind: "history", count: 50 });
  assert.deepEqual(parsed("/history 500"), { kind: "history", count: 500 });
  for (const bad of ["0", "501", "x", "1.5"]) {
    assert.deepEqual(parsed(`/history ${bad}`), { error: "usage: /history [N], N from 1 to 500" }, bad);
  }
  assert.deepEqual(parsed("/switch"), { error: "usage: /switch ROOM|@NAME|N" });
  assert.deepEqual(parsed("/switch @Bob"), { kind: "switch", target: { kind: "peer", name: "Bob" } });
  assert.deepEqual(parsed("/leave #Ops"), { kind: "leave", target: { kind: "room", room: "ops" } });
  assert.deepEqual(parsed("/register"), { error: "usage: /register PASSWORD" });
  assert.deepEqual(parsed("/away"), { kind: "away", text: "" });
});

Deno.test("parseLine() reads moderation commands: target, then an optional duration (ban, mute), then a reason", () => {
  assert.deepEqual(parsed("/kick bob being rude"), {
    kind: "moderate",
    action: "kick",
    target: "bob",
    durationMs: 0,
    reason: "being rude",
  });
  assert.deepEqual(parsed("/mute eve 1h too loud"), {
    kind: "moderate",
    action: "mute",
    target: "eve",
    durationMs: 3_600_000,
    reason: "too loud",
  });
  assert.deepEqual(parsed("/ban 10.0.0.7 spamming"), {
    kind: "moderate",
    action: "ban",
    target: "10.0.0.7",
    durationMs: 0,
    reason: "spamming",
  });
  assert.deepEqual(parsed("/kick 2h"), {
    kind: "moderate",
    action: "kick",
    target: "2h",
    durationMs: 0,
    reason: "",
  });
  assert.deepEqual(parsed("/unban"), { error: "usage: /unban NAME|ADDRESS" });
});

Deno.test("the registry has one entry per name: no alias shadows another command", () => {
  const names = COMMANDS.flatMap((c) => [c.name, ...c.aliases]);
  assert.deepEqual(names.length, new Set(names).size);
  for (const n of names) assert.equal(findCommand(n.toUpperCase())?.usage.startsWith("/"), true, n);
  assert.deepEqual(commandNames(), names.map((n) => `/${n}`).sort());
});

Deno.test("helpRows() lists every command's usage once, operators' commands marked, and // last", () => {
  const rows = helpRows();
  assert.deepEqual(rows.map(([u]) => u), [...COMMANDS.map((c) => c.usage), "//TEXT"]);
  for (const name of ["kick", "ban", "unban", "mute", "unmute"]) {
    const c = findCommand(name)!;
    assert.ok(c.operator, name);
    assert.match(rows.find(([u]) => u === c.usage)![1], /^operators: /);
  }
  assert.ok(rows.every(([u, h]) => u.startsWith("/") && h !== "" && !h.includes("\n")));
});

Deno.test("argumentKind() says what Tab completes after a command name", () => {
  assert.equal(argumentKind("/join "), "room");
  assert.equal(argumentKind("/msg "), "name");
  assert.equal(argumentKind("/m "), "name");
  assert.equal(argumentKind("/switch "), "target");
  assert.equal(argumentKind("/nick "), undefined);
  assert.equal(argumentKind("/msg bob "), undefined, "only the first argument");
  assert.equal(argumentKind("hello "), undefined);
});

Deno.test("lostSlash() spots a guarded command that lost its slash, and lets ordinary sentences pass", () => {
  assert.equal(lostSlash("msg carol hi carol, the numbers are in")?.name, "msg");
  assert.equal(lostSlash("Msg carol hi")?.name, "msg", "any case");
  assert.equal(lostSlash("join ops")?.name, "join");
  assert.equal(lostSlash("nick x")?.name, "nick");
  assert.equal(lostSlash("register hunter2")?.name, "register");
  assert.equal(lostSlash("query bob")?.name, "query");
  for (
    const text of [
      "join us for lunch",
      "nick is here",
      "me too",
      "msg",
      "hello there",
      "who is in?",
      "quit it",
    ]
  ) {
    assert.equal(lostSlash(text), undefined, text);
  }
});

Deno.test("the commands people type from habit: /j, /w, /names, /close, /q, /wi and /back", () => {
  assert.deepEqual(parsed("/j ops"), { kind: "join", room: "ops" });
  assert.deepEqual(parsed("/w"), { kind: "who" });
  assert.deepEqual(parsed("/names #dev"), { kind: "who", room: "dev" });
  assert.deepEqual(parsed("/close"), { kind: "leave" });
  assert.deepEqual(parsed("/q bob"), { kind: "query", to: "bob", text: "" });
  assert.deepEqual(parsed("/wi @bob"), { kind: "whois", name: "bob" });
  assert.deepEqual(parsed("/back"), { kind: "away", text: "" });
});

Deno.test("parseLine() reads /whois, /lastlog, /ignore, /unignore and /joins", () => {
  assert.deepEqual(parsed("/whois"), { error: "usage: /whois NAME" });
  assert.deepEqual(parsed("/lastlog deploy at 11"), { kind: "lastlog", text: "deploy at 11" });
  assert.deepEqual(parsed("/lastlog"), { error: "usage: /lastlog TEXT" });
  assert.deepEqual(parsed("/ignore"), { kind: "ignore" });
  assert.deepEqual(parsed("/ignore Bob"), { kind: "ignore", name: "Bob" });
  assert.deepEqual(parsed("/unignore"), { error: "usage: /unignore NAME" });
  assert.deepEqual(parsed("/joins"), { kind: "joins" });
  assert.deepEqual(parsed("/joins hide"), { kind: "joins", hide: true });
  assert.deepEqual(parsed("/joins SHOW #Dev"), { kind: "joins", hide: false, room: "dev" });
  assert.deepEqual(parsed("/joins hide *"), { kind: "joins", hide: true, room: "*" });
  assert.deepEqual(parsed("/joins off"), { error: "usage: /joins [show|hide] [ROOM|*]" });
});

Deno.test("/list and /topic are in the registry, marked as needing a server that supports them", () => {
  assert.deepEqual(parsed("/list"), { kind: "list" });
  assert.deepEqual(parsed("/topic release on friday"), { kind: "topic", text: "release on friday" });
  assert.equal(findCommand("list")?.needs, "list");
  assert.equal(findCommand("topic")?.needs, "topic");
  assert.equal(notSupported("listing rooms"), "listing rooms is not supported by this server yet");
});
