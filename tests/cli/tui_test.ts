import assert from "node:assert/strict";
import { colourWanted, joinTui, wantsTui } from "../../src/cli/tui.ts";
import { UsageError } from "../../src/cli/options.ts";

Deno.test("wantsTui() runs the interactive client only on a terminal and without --plain or --json", () => {
  const tty = { isTerminal: () => true };
  const pipe = { isTerminal: () => false };
  assert.equal(wantsTui({ plain: false, json: false }, tty), true);
  assert.equal(wantsTui({ plain: true, json: false }, tty), false);
  assert.equal(wantsTui({ plain: false, json: true }, tty), false);
  assert.equal(wantsTui({ plain: false, json: false }, pipe), false);
  assert.equal(
    wantsTui({ plain: false, json: false }, {}),
    false,
    "an io without a terminal check is line mode",
  );
});

Deno.test("colourWanted() is off with --no-color or a non-empty NO_COLOR", () => {
  assert.equal(colourWanted({ noColor: false }, {}), true);
  assert.equal(colourWanted({ noColor: true }, {}), false);
  assert.equal(colourWanted({ noColor: false }, { NO_COLOR: "1" }), false);
  assert.equal(
    colourWanted({ noColor: false }, { NO_COLOR: "" }),
    true,
    "NO_COLOR set but empty does not count",
  );
});

Deno.test("joinTui() refuses a bad --name or --room before touching the terminal", async () => {
  const io = {
    env: {},
    stderr: () => {},
    stopSignal: () => new Promise<string>(() => {}),
    terminal: () => {
      throw new Error("the terminal must not be opened");
    },
  };
  const base = { host: "127.0.0.1", port: 1, timeout: 1000, reconnectAttempts: 1, noColor: false };
  await assert.rejects(() => joinTui({ ...base, name: "no spaces", room: ["lobby"] }, io), UsageError);
  await assert.rejects(() => joinTui({ ...base, name: "alice", room: ["bad room"] }, io), UsageError);
  await assert.rejects(
    () => joinTui({ ...base, name: "alice", room: [] }, io),
    /--room needs at least one room/,
  );
});
