import assert from "node:assert/strict";
import { errorLine, formatLine } from "../../src/cli/lines.ts";

const ts = new Date(2026, 0, 2, 3, 4, 5).getTime();

Deno.test("formatLine() renders messages, actions and history with a local timestamp", () => {
  const base = {
    type: "message" as const,
    room: "lobby",
    seq: 1,
    ts,
    from: "alice",
    text: "hi",
    action: false,
    history: false,
  };
  assert.equal(formatLine(base, 0), "03:04:05 #lobby <alice> hi");
  assert.equal(formatLine({ ...base, action: true, text: "waves" }, 0), "03:04:05 #lobby * alice waves");
  assert.equal(formatLine({ ...base, history: true }, 0), "03:04:05 #lobby (history) <alice> hi");
});

Deno.test("formatLine() keeps every event on one line and neutralises escape sequences", () => {
  const line = formatLine({
    type: "message",
    room: "lobby",
    seq: 1,
    ts,
    from: "mallory",
    text: "ok\n03:04:06 #lobby <admin> fake\x1b[2J",
    action: false,
    history: false,
  }, 0)!;
  assert.equal(line.includes("\n"), false);
  assert.equal(line.includes("\x1b"), false);
  assert.match(line, /ok\u240a03:04:06 #lobby <admin> fake\u241b\[2J$/);
});

Deno.test("formatLine() renders presence with reason and text", () => {
  const p = {
    type: "presence" as const,
    room: "dev",
    event: "leave" as const,
    name: "bob",
    reason: "quit",
    text: "bye",
    ts,
  };
  assert.equal(formatLine(p, 0), "03:04:05 #dev -- bob left (quit: bye)");
  assert.equal(formatLine({ ...p, event: "join", reason: "", text: "" }, 0), "03:04:05 #dev -- bob joined");
});

Deno.test("formatLine() shows reconnect attempts and hides acks", () => {
  const line = formatLine(
    {
      type: "status",
      state: "reconnecting",
      server: "h:1",
      attempt: 2,
      of: 3,
      delayMs: 1500,
      reason: "lost",
    },
    ts,
  );
  assert.equal(line, "03:04:05 -- reconnecting to h:1 (attempt 2 of 3 in 1.5 s): lost");
  assert.equal(formatLine({ type: "ack", id: 1, room: "x", seq: 1, ts }, ts), null);
});

Deno.test("formatLine() gives a quiet room's size instead of its member list, and says when that changes", () => {
  const welcome = {
    type: "welcome" as const,
    name: "alice",
    room: "town",
    rooms: ["town"],
    online: [],
    server: "h:1",
    reconnected: false,
  };
  assert.equal(
    formatLine({ ...welcome, members: 5000, quiet: true }, ts),
    "03:04:05 -- connected to h:1 as alice in #town; 5000 members (a quiet room, joins and leaves are not shown)",
  );
  assert.equal(
    formatLine({ ...welcome, online: ["alice", "bob"] }, ts),
    "03:04:05 -- connected to h:1 as alice in #town; online (2): alice, bob",
  );
  assert.equal(
    formatLine({ type: "room", room: "town", members: 201, quiet: true }, ts),
    "03:04:05 #town -- 201 members: a quiet room, joins and leaves are not shown",
  );
  assert.equal(
    formatLine({ type: "room", room: "town", members: 100, quiet: false }, ts),
    "03:04:05 #town -- 100 members: joins and leaves are shown again",
  );
});

Deno.test("formatLine() says 'over TLS' in the welcome of an encrypted connection, and nothing for plaintext", () => {
  const welcome = {
    type: "welcome" as const,
    name: "alice",
    room: "lobby",
    rooms: ["lobby"],
    online: ["alice"],
    server: "h:1",
    reconnected: false,
  };
  assert.equal(
    formatLine({ ...welcome, tls: true }, ts),
    "03:04:05 -- connected to h:1 over TLS as alice in #lobby; online (1): alice",
  );
  assert.equal(
    formatLine({ ...welcome, reconnected: true, tls: true }, ts),
    "03:04:05 -- reconnected to h:1 over TLS as alice in #lobby; online (1): alice",
  );
  assert.equal(
    formatLine({ ...welcome, tls: false }, ts),
    "03:04:05 -- connected to h:1 as alice in #lobby; online (1): alice",
  );
});

Deno.test("errorLine() sanitises both the code and the message a server sent, newlines included", () => {
  assert.equal(
    errorLine({ code: "X\x1b]0;t\x07", message: "a\u009b2J\nfake line\u202e" }),
    "X\u241b]0;t\u2407: a\ufffd2J\u240afake line\ufffd",
  );
  assert.equal(
    errorLine({ code: "NAME_TAKEN", message: 'name "bob" is already online' }),
    'NAME_TAKEN: name "bob" is already online',
  );
  // formatLine() renders an error event through it.
  assert.equal(
    formatLine({ type: "error", code: "C\x1b[2J", message: "m", fatal: false }, 0),
    "C\u241b[2J: m",
  );
});

Deno.test("formatLine() shows topics, /list's rooms one line each, and a listing of a room one is not in", () => {
  const at = formatLine({ type: "topic", room: "lobby", text: "be\x1b[2J kind", by: "bob", ts }, 0)!;
  assert.match(at, /^\d\d:\d\d:\d\d #lobby -- topic: be\u241b\[2J kind \(set by bob\)$/);
  assert.match(
    formatLine({ type: "topic", room: "lobby", text: "", by: "", ts: 0 }, 0)!,
    / #lobby -- no topic$/,
  );
  const rooms = formatLine({
    type: "rooms",
    rooms: [
      { room: "dev", members: 2, quiet: false, topic: "ship it" },
      { room: "hall", members: 900, quiet: true, topic: "" },
    ],
    more: false,
  }, 0)!.split("\n");
  assert.deepEqual(rooms.map((l) => l.replace(/^\d\d:\d\d:\d\d /, "")), [
    "-- #dev 2 online: ship it",
    "-- #hall 900 members, quiet",
    "-- end of the room list",
  ]);
  const part = formatLine({ type: "rooms", rooms: [], more: true }, 0);
  assert.equal(part, null, "a part with more to come and no rooms says nothing");
  assert.match(
    formatLine({ type: "members", room: "dev", online: ["bob"], listing: true }, 0)!,
    / #dev -- \(you are not in it\) online \(1\): bob$/,
  );
});
