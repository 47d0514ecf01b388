// The full-screen client's share of issue 16 item 3: hostile text from a server, in every event the view
// shows (messages, presence, notices, member lists, errors, the status line's reasons), never reaches the
// screen as a control: what is drawn holds no C0, DEL, C1 or bidi control but the SGR sequences the
// renderer writes itself.

import assert from "node:assert/strict";
import { HOSTILE, HOSTILE_WORD } from "../_helpers/hostile_server.ts";
import { stripSgr, Tester } from "../_helpers/tui.ts";

// deno-lint-ignore no-control-regex -- finding raw control characters is the point.
const FORBIDDEN = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

function assertScreenClean(t: Tester, where: string): void {
  for (const [i, line] of t.frame().lines.entries()) {
    const m = FORBIDDEN.exec(stripSgr(line));
    if (m) {
      const cp = m[0].codePointAt(0)!.toString(16).padStart(4, "0");
      assert.fail(`${where}: row ${i} holds U+${cp}: ${JSON.stringify(stripSgr(line))}`);
    }
  }
}

const word = (prefix: string) => `${prefix}${HOSTILE_WORD}`;

Deno.test("the full-screen client draws hostile server text inert: messages, presence, notices, errors, status", () => {
  for (const colour of [false, true]) {
    for (const cols of [30, 80, 200]) {
      const t = new Tester({ colour, size: { cols, rows: 30 } }).welcome(["alice", word("m"), "\u202eevil"]);
      const where = `colour ${colour}, ${cols} columns`;
      t.type("hello\r");
      t.message(word("f"), HOSTILE);
      t.message(word("f"), HOSTILE, "lobby", { action: true });
      t.event({ type: "notice", kind: "motd", text: HOSTILE });
      t.event({ type: "notice", kind: word("k"), text: HOSTILE });
      t.event({
        type: "presence",
        room: "lobby",
        event: "join",
        name: word("j"),
        reason: "",
        text: "",
        ts: t.now,
      });
      t.event({
        type: "presence",
        room: "lobby",
        event: "leave",
        name: word("l"),
        reason: word("r"),
        text: HOSTILE,
        ts: t.now,
      });
      t.event({
        type: "presence",
        room: "lobby",
        event: "away",
        name: "bob",
        reason: "",
        text: HOSTILE,
        ts: t.now,
      });
      t.event({ type: "members", room: "lobby", online: ["alice", word("x"), HOSTILE] });
      // The refusal of the line typed above, then a fatal error: both quote the server's code and message.
      t.event({ type: "error", code: word("REFUSED"), message: HOSTILE, fatal: false, ref: 1 });
      t.event({ type: "error", code: word("CODE"), message: HOSTILE, fatal: true });
      assertScreenClean(t, `${where}, after the traffic`);
      assert.match(t.screen().join("\n"), /pwn\u241b\]0;owned/, "the text is shown, inert");
      t.event({
        type: "status",
        state: "reconnecting",
        server: t.state.server,
        attempt: 1,
        of: 3,
        delayMs: 500,
        reason: HOSTILE,
      });
      assertScreenClean(t, `${where}, reconnecting`);
      t.event({ type: "status", state: "disconnected", server: t.state.server, reason: HOSTILE });
      assertScreenClean(t, `${where}, disconnected`);
      // Back, in a room with a hostile name: the status line's "rejoined" notice names it.
      t.event({ type: "status", state: "connected", server: t.state.server });
      t.event({
        type: "welcome",
        name: "alice",
        room: "lobby",
        rooms: ["lobby", word("room")],
        online: ["alice", word("m")],
        server: t.state.server,
        reconnected: true,
      });
      assert.match(t.statusLine(), /reconnected/);
      assertScreenClean(t, `${where}, reconnected`);
      // A direct message from a hostile name opens a window named after it: shown in the status line.
      t.event({ type: "direct", from: word("d"), to: "alice", ts: t.now, text: HOSTILE, action: false });
      t.type("\x1b2");
      assertScreenClean(t, `${where}, in the direct window`);
    }
  }
});
