// deno-lint-ignore-file no-control-regex -- terminal output is made of escape sequences.
import assert from "node:assert/strict";
import { Prng } from "../_helpers/prng.ts";
import { Screen, stripSgr, Tester } from "../_helpers/tui.ts";
import { diffFrames, renderFrame } from "../../src/tui/render.ts";
import { resize } from "../../src/tui/view.ts";
import { stringWidth } from "../../src/tui/width.ts";

Deno.test("renderFrame() shows messages above a status line and the input line at the bottom", () => {
  const t = new Tester().welcome();
  const screen = t.screen();
  assert.equal(screen.length, 8);
  assert.equal(screen[4], "09:30 -- connected to 127.0.0.1:3000 as");
  assert.equal(screen[5], "         alice; in #lobby: alice, bob");
  assert.equal(screen[6], " connected | 1:#lobby (2 online) | 127.0", "clipped at 40 columns");
  assert.equal(t.inputLine(), "[#lobby]");
  assert.deepEqual(t.frame().cursor, { row: 7, col: 9 });
});

Deno.test("the input line stays intact, cursor and all, when a message arrives while typing", () => {
  const t = new Tester().welcome();
  const screen = new Screen(40, 8);
  screen.show(t.frame());
  t.type("hello wor");
  screen.show(t.frame());
  const before = t.frame();
  t.message("bob", "an incoming message long enough to wrap onto a second row");
  const bytes = screen.show(t.frame());
  assert.equal(t.inputLine(), "[#lobby] hello wor");
  assert.deepEqual(t.frame().cursor, before.cursor);
  assert.deepEqual(t.frame().cursor, { row: 7, col: 18 });
  // The update rewrote message rows only: it never positioned the cursor on the input row to write.
  assert.doesNotMatch(bytes, /\x1b\[8;1H/);
  assert.ok(bytes.endsWith("\x1b[8;19H\x1b[?25h"), "and it ends with the cursor back where it was");
  assert.deepEqual(screen.term.text(), t.screen());
  assert.deepEqual(screen.term.cursor, { row: 7, col: 18 });
});

Deno.test("a hostile message is shown as inert placeholders: no escape, control or bidi character reaches the screen", () => {
  const t = new Tester({ size: { cols: 100, rows: 8 } }).welcome();
  const hostile =
    "ok\x1b[2J\x1b[H\x1b]0;pwned\x07\r\bfake\u009b31m\u202eevil\u2066x\x7f\n09:30 <admin> forged";
  t.message("mallory", hostile);
  const frame = t.frame();
  for (const line of frame.lines) {
    const bare = stripSgr(line);
    assert.doesNotMatch(bare, /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(bare));
  }
  const text = t.screen().join("\n");
  assert.match(text, /<mallory> ok␛\[2J␛\[H␛\]0;pwned␇␍␈fake�31m�evil�x␡/);
  // The forged second line is indented under the sender, so it cannot pass for a message of its own.
  assert.match(text, /\n {16}09:30 <admin> forged/);
  const screen = new Screen(100, 8);
  screen.show(frame);
  assert.deepEqual(screen.term.text(), t.screen(), "the bytes written draw exactly the frame");
});

Deno.test("diffFrames() writes nothing when nothing changed, and only the changed rows otherwise", () => {
  const t = new Tester().welcome();
  const a = t.frame();
  assert.equal(diffFrames(a, t.frame()), "");
  t.type("x");
  const bytes = diffFrames(a, t.frame());
  assert.match(bytes, /^\x1b\[\?25l\x1b\[8;1H/);
  assert.equal((bytes.match(/\x1b\[\d+;1H/g) ?? []).length, 1, "one row rewritten");
});

Deno.test("diffFrames() scrolls the message area with a scroll region that it resets at once", () => {
  const t = new Tester().welcome();
  for (let i = 0; i < 8; i++) t.message("bob", `message ${i}`);
  const screen = new Screen(40, 8);
  screen.show(t.frame());
  t.message("bob", "one more");
  const bytes = screen.show(t.frame());
  assert.match(bytes, /\x1b\[1;6r\x1b\[1S\x1b\[r/);
  assert.equal((bytes.match(/\x1b\[\d+;1H/g) ?? []).length, 1, "only the new bottom row is written");
  assert.deepEqual(screen.term.text(), t.screen());
});

Deno.test("a row exactly as wide as the screen is not followed by erase-to-end (which would wipe its last cell)", () => {
  const t = new Tester().welcome();
  t.message("bob", "x".repeat(40 - "09:30 <bob> ".length));
  const frame = t.frame();
  const row = frame.lines.findIndex((l) => stripSgr(l).includes("xxxx"));
  assert.equal(frame.widths[row], 40);
  const bytes = diffFrames(null, frame);
  const written = bytes.split(`\x1b[${row + 1};1H`)[1].split(/\x1b\[\d+;1H/)[0];
  assert.match(written, /xxxx/);
  assert.ok(!written.includes("\x1b[K"));
  const short = bytes.split(`\x1b[${row};1H`)[1].split(/\x1b\[\d+;1H/)[0];
  assert.ok(short.endsWith("\x1b[K"), "a shorter row is cleared to its end");
});

Deno.test("applying every diff gives the same screen as a full render, through random keys, events and resizes", () => {
  const seed = Number(Deno.env.get("CHAT_TEST_SEED") ?? 12345);
  const rng = new Prng(seed);
  const words = ["hi", "你好", "👍", "alice", "wrap", "a-much-longer-word-than-fits", "é", "\n", "bob"];
  let t = new Tester().welcome();
  let screen = new Screen(40, 8);
  for (let step = 0; step < 400; step++) {
    const r = rng.next();
    if (r < 0.45) {
      const text = Array.from({ length: 1 + rng.int(8) }, () => words[rng.int(words.length)]).join(" ");
      t.message(rng.next() < 0.5 ? "bob" : "carol", text);
    } else if (r < 0.75) {
      t.type(
        [
          "a",
          "你",
          " ",
          "\x7f",
          "\x1b[D",
          "\x1b[C",
          "\x01",
          "\x05",
          "\x1b[5~",
          "\x1b[6~",
          "\x1b",
        ][rng.int(11)],
      );
    } else if (r < 0.8) {
      t.type("\r");
    } else if (r < 0.85) {
      const cols = 10 + rng.int(60);
      const rows = 3 + rng.int(20);
      resize(t.state, { cols, rows });
      screen = new Screen(cols, rows);
    } else if (r < 0.9) {
      t.event({
        type: "presence",
        room: "lobby",
        event: "join",
        name: "dave",
        reason: "",
        text: "",
        ts: t.now,
      });
    } else {
      t.now += 1000 * rng.int(5);
    }
    screen.show(t.frame());
    assert.deepEqual(screen.term.text(), t.screen(), `seed ${seed}, step ${step}`);
    const f = t.frame();
    assert.deepEqual(screen.term.cursor, f.cursor, `cursor, seed ${seed}, step ${step}`);
    for (const line of f.lines) assert.ok(stringWidth(stripSgr(line)) <= f.cols, `row fits, step ${step}`);
    if (step === 200) t = new Tester({ size: t.state.size }).welcome();
  }
});

Deno.test("the status line says connecting, reconnecting with attempt and countdown, and offline", () => {
  const t = new Tester({ size: { cols: 100, rows: 6 } });
  assert.match(
    t.statusLine(),
    /^ connecting\.\.\. \| 1:#lobby \| 127\.0\.0\.1:3000$/,
    "no count before the list",
  );
  t.welcome();
  t.event({
    type: "status",
    state: "reconnecting",
    server: "127.0.0.1:3000",
    attempt: 2,
    of: 5,
    delayMs: 2500,
    reason: "connection lost",
  });
  assert.match(
    t.statusLine(),
    /^ reconnecting \(attempt 2 of 5, next try in 3s\) \| 1:#lobby \| 127\.0\.0\.1:3000$/,
    "the last count is stale while offline",
  );
  t.now += 1000;
  assert.match(t.statusLine(), /next try in 2s/);
  t.now += 2000;
  assert.match(t.statusLine(), /attempt 2 of 5, trying now/);
  t.event({ type: "status", state: "reconnecting", server: "s", attempt: 3, of: 0, delayMs: 1000 });
  assert.match(t.statusLine(), /reconnecting \(attempt 3, next try in 1s\)/, "unlimited attempts");
  t.event({ type: "status", state: "disconnected", server: "127.0.0.1:3000", reason: "gave up" });
  assert.match(t.statusLine(), /^ offline \|/);
  assert.match(t.screen().join("\n"), /!! disconnected from 127\.0\.0\.1:3000: gave up/);
});

Deno.test("the status line shows people online and unread counts for other rooms, mentions marked", () => {
  const t = new Tester({ rooms: ["lobby", "dev", "ops"], size: { cols: 100, rows: 6 } }).welcome([
    "alice",
    "bob",
    "carol",
  ]);
  t.message("bob", "in dev", "dev").message("bob", "again", "dev").message("carol", "hey alice", "ops");
  assert.equal(
    t.statusLine(),
    " connected | 1:#lobby (3 online) | unread: 2:#dev(2) 3:#ops(1!) | 127.0.0.1:3000",
  );
});

Deno.test("colour is used only when enabled: names get a stable colour, NO_COLOR leaves bold and reverse", () => {
  const plain = new Tester().welcome().message("bob", "hi");
  const coloured = new Tester({ colour: true }).welcome().message("bob", "hi");
  const colourCode = /\x1b\[[0-9;]*\b(3[0-7]|9[0-7]|4[0-7])m/;
  for (const line of plain.frame().lines) assert.doesNotMatch(line, colourCode);
  assert.ok(plain.frame().lines.some((l) => l.includes("\x1b[7m")), "the status line is still reverse video");
  assert.ok(coloured.frame().lines.some((l) => colourCode.test(l)));
  assert.deepEqual(plain.screen(), coloured.screen(), "the same text either way");
});

Deno.test("the input line scrolls sideways to keep the cursor visible, measuring wide characters", () => {
  const t = new Tester().welcome();
  t.type("你好");
  assert.deepEqual(t.frame().cursor, { row: 7, col: 13 });
  t.type("x".repeat(60));
  const f = t.frame();
  assert.ok(stringWidth(t.inputLine()) <= 40);
  assert.ok(f.cursor.col < 40 && f.cursor.col > 9);
  assert.match(t.inputLine(), /^\[#lobby\] x+$/);
  t.type("\x01");
  assert.equal(t.inputLine(), "[#lobby] 你好" + "x".repeat(27));
  assert.deepEqual(t.frame().cursor, { row: 7, col: 9 });
});

Deno.test("renderFrame() fits tiny terminals without throwing", () => {
  for (const [cols, rows] of [[1, 1], [5, 2], [10, 3], [3, 10]]) {
    const t = new Tester({ size: { cols, rows } }).welcome().message("bob", "a message 你好").type("typing");
    const f = renderFrame(t.state, t.now);
    assert.equal(f.lines.length, rows);
    for (const line of f.lines) assert.ok(stringWidth(stripSgr(line)) <= cols);
  }
});
