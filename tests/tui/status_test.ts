import assert from "node:assert/strict";
import { Tester } from "../_helpers/tui.ts";
import type { ClientEvent } from "../../src/client/events.ts";
import { NOTICE_MS } from "../../src/tui/view.ts";

// The status line and the notices around a lost connection (issue 15, item 3).

const text = (t: Tester) => t.screen().join("\n");

const lost = (attempt = 1, delayMs = 500, server = "s"): ClientEvent => ({
  type: "status",
  state: "reconnecting",
  server,
  attempt,
  of: 0,
  delayMs,
  reason: "the server closed the connection",
});

function reconnected(t: Tester, server = "s"): Tester {
  return t.event({ type: "status", state: "connected", server }).event({
    type: "welcome",
    name: "alice",
    room: "lobby",
    rooms: ["lobby"],
    online: ["alice", "bob"],
    server,
    reconnected: true,
  });
}

Deno.test("the status line's 'reconnected, rejoined' notice expires", () => {
  const t = reconnected(new Tester({ size: { cols: 100, rows: 8 } }).welcome().event(lost()));
  assert.match(t.statusLine(), /^ connected \| reconnected, rejoined #lobby \| 1:#lobby \(2 online\)/);
  t.now += NOTICE_MS - 1;
  assert.match(t.statusLine(), /reconnected, rejoined/);
  t.now += 1;
  assert.doesNotMatch(t.statusLine(), /reconnected/);
  assert.match(text(t), /-- reconnected to s; rejoined #lobby/, "the window keeps its record of it");
});

Deno.test("the status line drops 'reconnected, rejoined' as soon as the connection is lost again", () => {
  const t = reconnected(new Tester({ size: { cols: 100, rows: 8 } }).welcome().event(lost()));
  t.now += 1000;
  t.event(lost());
  assert.match(t.statusLine(), /^ reconnecting \(attempt 1, next try in 1s\) \| 1:#lobby \| /);
  assert.doesNotMatch(t.statusLine(), /reconnected/);
  // The notice is gone, not hidden: a welcome long after does not bring the old one back.
  t.event({ type: "status", state: "connected", server: "s" });
  assert.doesNotMatch(t.statusLine(), /reconnected/);
});

Deno.test("the status line shows no online count while offline, and the count again once back", () => {
  const t = new Tester({ size: { cols: 100, rows: 8 } }).welcome(["alice", "bob", "carol"]);
  assert.match(t.statusLine(), /1:#lobby \(3 online\)/);
  t.event(lost());
  assert.doesNotMatch(t.statusLine(), /online/);
  t.event({ type: "status", state: "disconnected", server: "127.0.0.1:3000", reason: "KICKED" });
  assert.match(t.statusLine(), /^ offline \| 1:#lobby \| 127\.0\.0\.1:3000$/);
  assert.doesNotMatch(t.statusLine(), /online/);
  reconnected(t);
  assert.match(t.statusLine(), /1:#lobby \(2 online\)/);
});

Deno.test("a manual /reconnect is not reported as a lost connection; its failure says it failed", () => {
  const t = new Tester({ size: { cols: 100, rows: 10 } }).welcome();
  t.event({ type: "status", state: "disconnected", server: "s", reason: "KICKED: go away" });
  t.type("/reconnect\r");
  assert.deepEqual(t.client.calls, ["reconnect"]);
  // ChatClient answers a reconnect the user asked for with "connecting" and tries at once.
  t.event({ type: "status", state: "connecting", server: "s" });
  assert.match(t.statusLine(), /^ connecting\.\.\. \|/);
  t.event(lost(2, 1000));
  assert.doesNotMatch(text(t), /connection lost/);
  assert.match(text(t), /cannot reconnect: the server closed the connection; trying again/);
  assert.match(t.statusLine(), /^ reconnecting \(attempt 2, next try in 1s\)/);
});

Deno.test("a lost connection is reported once, not at every attempt", () => {
  const t = new Tester({ size: { cols: 100, rows: 10 } }).welcome();
  t.event(lost(1)).event(lost(2)).event(lost(3));
  assert.equal(text(t).match(/connection lost/g)?.length, 1);
  // Trying now (Enter on an empty line) while waiting is the same attempt, made early.
  t.type("\r");
  assert.deepEqual(t.client.calls, ["reconnect"]);
  t.event(lost(3, 0));
  assert.match(t.statusLine(), /attempt 3, trying now/);
  assert.equal(text(t).match(/connection lost|cannot reconnect/g)?.length, 1);
});

Deno.test("the status line names the server in use: the one being tried, then the one reached", () => {
  const t = new Tester({ size: { cols: 100, rows: 8 }, tls: true }).welcome(["alice"]);
  assert.match(t.statusLine(), /\| 127\.0\.0\.1:3000 \(TLS\)$/);
  t.event(lost(1, 0, "10.0.0.2:3000"));
  assert.match(t.statusLine(), /\| 10\.0\.0\.2:3000 \(TLS\)$/);
  reconnected(t, "10.0.0.2:3000");
  assert.match(t.statusLine(), /1:#lobby \(2 online\) \| 10\.0\.0\.2:3000 \(TLS\)$/);
});
