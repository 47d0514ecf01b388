/**
 * The line modes and the terminal client take their commands from one
 * registry: these tests hold both front ends to it, so a command added to
 * the registry is a command in both, or a test fails.
 */

import assert from "node:assert/strict";
import { commandNames, COMMANDS, helpRows } from "../../src/client/commands.ts";
import { lineHelp } from "../../src/cli/line_mode.ts";
import { helpText } from "../../src/tui/commands.ts";
import { LineTester } from "../_helpers/line_port.ts";
import { Tester } from "../_helpers/tui.ts";

/** Arguments that make each command valid: every command in the registry needs one here. */
const SAMPLE_ARGS: Record<string, string> = {
  help: "",
  who: "",
  join: "dev",
  leave: "",
  rooms: "",
  switch: "1",
  me: "waves",
  msg: "bob hi",
  query: "bob",
  nick: "bert",
  away: "lunch",
  history: "",
  register: "s3cret",
  kick: "bob",
  ban: "bob 1h spam",
  unban: "bob",
  mute: "bob",
  unmute: "bob",
  reconnect: "",
  clear: "",
  quit: "",
  back: "",
  whois: "bob",
  lastlog: "hello",
  ignore: "bob",
  unignore: "bob",
  joins: "hide",
  list: "",
  topic: "",
};

/** The TUI's /help commands as rows, read back from its text. */
function tuiRows(): string[][] {
  const text = helpText();
  const commands = text.slice(text.indexOf("commands:\n") + 10, text.indexOf("\nkeys:"));
  return commands.split("\n").map((l) => l.trim().split(/\s{2,}/));
}

Deno.test("both front ends list exactly the registry's commands in /help, and the terminal client completes them", () => {
  const rows = helpRows();
  assert.deepEqual(tuiRows(), rows, "the terminal client's /help");
  assert.deepEqual(lineHelp().split("\n").map((l) => l.trim().split(/\s{2,}/)), rows, "line mode's /help");
  const t = new Tester().welcome();
  t.type("/\t");
  assert.deepEqual(t.state.completion?.candidates, commandNames(), "Tab after / offers every command");
});

Deno.test("every name and alias in the registry is a command in both front ends, which neither calls unknown", () => {
  for (const c of COMMANDS) {
    assert.ok(c.name in SAMPLE_ARGS, `SAMPLE_ARGS lacks /${c.name}: add an example to this test`);
    for (const name of [c.name, ...c.aliases]) {
      const line = `/${name} ${SAMPLE_ARGS[c.name]}`.trimEnd();
      const tui = new Tester({ rooms: ["lobby", "dev"], size: { cols: 200, rows: 30 } }).welcome();
      tui.client.oldest.set("lobby", 40);
      tui.type(`${line}\r`);
      const screen = tui.screen().join("\n");
      assert.doesNotMatch(screen, /unknown command|usage:/, `terminal client, ${line}`);
      const plain = new LineTester(["lobby", "dev"]).lines(line);
      assert.deepEqual(
        plain.errors.filter((e) => /unknown command|usage:/.test(e)),
        [],
        `line mode, ${line}`,
      );
    }
  }
});

Deno.test("a command asks the server the same thing from either front end", () => {
  const lines = [
    "/who",
    "/who dev",
    "/join ops",
    "/msg bob hi",
    "/m bob again",
    "/nick bert",
    "/away lunch",
    "/history 3",
    "/register s3cret",
    "/kick bob rude",
    "/ban bob 1h spam",
    "/unban bob",
    "/mute eve 10m",
    "/unmute eve",
    "/me waves",
    "//slash",
    "/part dev",
  ];
  for (const line of lines) {
    const tui = new Tester({ rooms: ["lobby", "dev"] }).welcome();
    tui.client.oldest.set("lobby", 40);
    tui.type(`${line}\r`);
    const plain = new LineTester(["lobby", "dev"]);
    plain.port.oldest.set("lobby", 40);
    plain.lines(line);
    assert.deepEqual(plain.port.calls, tui.client.calls, line);
    assert.ok(plain.port.calls.length > 0, line);
  }
});
