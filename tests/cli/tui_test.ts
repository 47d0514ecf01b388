import assert from "node:assert/strict";
import { startServer } from "../_helpers/process.ts";
import { FakeTerminal } from "../_helpers/tui.ts";
import { colourWanted, fullScreenRefusal, joinTui, wantsTui } from "../../src/cli/tui.ts";
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

Deno.test("fullScreenRefusal() refuses only TERM=dumb, and says line mode is used", () => {
  assert.match(fullScreenRefusal({ TERM: "dumb" }) ?? "", /^TERM=dumb: .*using line mode/);
  assert.equal(fullScreenRefusal({ TERM: "xterm-256color" }), null);
  assert.equal(fullScreenRefusal({}), null);
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

Deno.test("joinTui() keeps the journal and transcript in the XDG dirs, and shows the transcript on the next start", async () => {
  await using server = await startServer(["--ephemeral"]);
  const home = await Deno.makeTempDir({ prefix: "chat-cli-tui-" });
  try {
    const env = { HOME: home, XDG_STATE_HOME: `${home}/state`, XDG_DATA_HOME: `${home}/data` };
    const options = {
      host: "127.0.0.1",
      port: server.port,
      name: "alice",
      room: ["lobby"],
      timeout: 5000,
      reconnectAttempts: 1,
      noColor: true,
    };
    const run = (term: FakeTerminal) =>
      joinTui(options, {
        env,
        stderr: () => {},
        stopSignal: () => new Promise<string>(() => {}),
        terminal: () => term,
      });
    const first = new FakeTerminal(70, 10);
    const running = run(first);
    await first.waitRow(/^ connected/);
    first.type("remember this\r");
    await first.waitRow(/<alice> remember this$/);
    first.type("/quit\r");
    assert.equal(await running, 0);
    const key = `127.0.0.1_${server.port}`;
    await Deno.stat(`${home}/state/chat/journal/${key}/alice.jsonl`);
    assert.match(
      await Deno.readTextFile(`${home}/data/chat/transcripts/${key}/lobby.jsonl`),
      /remember this/,
    );

    const second = new FakeTerminal(70, 10);
    const again = run(second);
    await second.waitRow(/^-- end of earlier messages -+$/);
    const rows = second.screen.text();
    const end = rows.findIndex((r) => r.startsWith("-- end of earlier messages"));
    assert.match(rows[end - 1], /<alice> remember this$/);
    second.type("\x04");
    assert.equal(await again, 0);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
