/**
 * End-to-end tests of the interactive client: the real `chat join` runs in
 * a real terminal (a tmux pane on a private socket) against a real server,
 * and the tests read the screen back with `tmux capture-pane`.
 *
 * Needs tmux (Debian/Ubuntu package `tmux`); without it these tests fail
 * and say so.
 */

import assert from "node:assert/strict";
import { WAIT_MS } from "../_helpers/deadline.ts";
import { joinJson } from "../_helpers/json_client.ts";
import { ChatProcess, childEnv, listeningPort, startServer } from "../_helpers/process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const COLS = 100;
const ROWS = 20;

function tmuxMissing(): string | null {
  try {
    const out = new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync();
    return out.success ? null : "`tmux -V` failed";
  } catch {
    return "tmux is not installed";
  }
}

/** A detached tmux session on its own socket, running one script in a pane of COLS x ROWS. */
class Tmux implements AsyncDisposable {
  readonly socket = `chat-e2e-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Starts a pane that runs `chat join ARGS`, then prints its exit code and
   * the terminal modes, then hands over to an interactive shell (so a test
   * can check that the terminal still works as a terminal).
   */
  static async start(port: number, args: string[]): Promise<Tmux> {
    const missing = tmuxMissing();
    if (missing) {
      throw new Error(
        `${missing}: the terminal client's end-to-end tests drive it in tmux (install the "tmux" package)`,
      );
    }
    const dir = await Deno.makeTempDir({ prefix: "chat-e2e-tui-" });
    const t = new Tmux(dir);
    const quoted = [
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "join",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      ...args,
    ]
      .map((a) => `'${a.replaceAll("'", `'"'"'`)}'`).join(" ");
    await Deno.writeTextFile(
      `${dir}/run.sh`,
      [
        quoted,
        `echo "EXIT=$?"`,
        // One line with the modes that matter: canonical input, echo, signals.
        `echo "MODES: $(stty -a | tr ' ;' '\\n\\n' | grep -x -E -e '-?(icanon|echo|isig)' | tr '\\n' ' ')"`,
        `exec bash --noprofile --norc -i`,
      ].join("\n") + "\n",
    );
    const env = childEnv(dir, { LANG: "C.UTF-8", PS1: "$ ", TERM: "xterm-256color" });
    // Colour on: capture-pane shows text only, and the coloured code path is the one people use.
    delete env.NO_COLOR;
    const out = await new Deno.Command("tmux", {
      args: [
        "-L",
        t.socket,
        "-f",
        "/dev/null",
        "-u",
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        String(COLS),
        "-y",
        String(ROWS),
        `sh ${dir}/run.sh`,
      ],
      clearEnv: true,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      await t[Symbol.asyncDispose]();
      throw new Error(`tmux new-session failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return t;
  }

  async tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    if (!out.success) throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout);
  }

  /** The pane's text, one string per row. */
  async screen(): Promise<string[]> {
    return (await this.tmux("capture-pane", "-p", "-t", "t")).replace(/\n$/, "").split("\n");
  }

  /** Pane variables (`#{cursor_x}`, `#{alternate_on}`, ...). */
  async display(format: string): Promise<string> {
    return (await this.tmux("display-message", "-p", "-t", "t", format)).trim();
  }

  /** Waits until a pane variable has the value `want`. */
  async waitDisplay(format: string, want: string, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let got = "";
    while ((got = await this.display(format)) !== want) {
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for ${format} to be ${want}; it is ${got}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Types `text` as it is. */
  async type(text: string): Promise<void> {
    await this.tmux("send-keys", "-t", "t", "-l", text);
  }

  /** Presses keys by tmux name: Enter, Tab, C-c, M-Enter, PPage. */
  async press(...keys: string[]): Promise<void> {
    await this.tmux("send-keys", "-t", "t", ...keys);
  }

  /** Polls the screen until `check` returns something, or fails with the screen after `timeoutMs`. */
  async waitFor<T>(
    check: (rows: string[]) => T | undefined | false,
    what: string,
    timeoutMs = WAIT_MS,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let rows: string[] = [];
    for (;;) {
      rows = await this.screen();
      const found = check(rows);
      if (found !== undefined && found !== false) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for ${what}; the screen was:\n${rows.join("\n")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until some row matches `pattern`; returns that row. */
  waitRow(pattern: RegExp, timeoutMs = WAIT_MS): Promise<string> {
    return this.waitFor((rows) => rows.find((r) => pattern.test(r)), String(pattern), timeoutMs);
  }

  /** The status line (next to last row) and input line (last row) while the client runs. */
  static status(rows: string[]): string {
    return rows[rows.length - 2] ?? "";
  }
  static input(rows: string[]): string {
    return (rows[rows.length - 1] ?? "").trimEnd();
  }

  /** Checks that the client gave the terminal back as it found it, then that a shell works in it. */
  async assertRestored(exitCode: number): Promise<void> {
    await this.waitRow(new RegExp(`^EXIT=${exitCode}$`));
    const modes = await this.waitRow(/^MODES: /);
    for (const mode of ["icanon", "echo", "isig"]) {
      assert.ok(modes.split(" ").includes(mode), `${mode} is back on: ${modes}`);
    }
    assert.equal(await this.display("#{alternate_on}"), "0", "back on the main screen");
    assert.equal(await this.display("#{cursor_flag}"), "1", "cursor visible");
    const [upper, lower, height] =
      (await this.display("#{scroll_region_upper} #{scroll_region_lower} #{pane_height}"))
        .split(" ").map(Number);
    assert.deepEqual([upper, lower], [0, height - 1], "no scroll region left behind");
    // The terminal echoes what is typed and a shell runs it.
    await this.type("echo $((6 * 7))");
    await this.press("Enter");
    await this.waitRow(/^42$/);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await new Deno.Command("tmux", {
        args: ["-L", this.socket, "kill-server"],
        stdout: "null",
        stderr: "null",
      })
        .output();
    } finally {
      await Deno.remove(this.dir, { recursive: true });
    }
  }
}

Deno.test("the terminal client keeps the input line intact while messages arrive, completes names, and shows hostile text harmlessly", async () => {
  await using server = await startServer();
  await using bob = await joinJson(server.port, "bob");
  await using tmux = await Tmux.start(server.port, ["--name", "alice"]);
  await tmux.waitFor((rows) => /^ connected \| 1:#lobby \(2 online\)/.test(Tmux.status(rows)), "connected");

  // Keys typed one by one, each together with a message from bob: every key lands on the input line, in order.
  const typed = "typing while messages arrive";
  const last = typed.length;
  for (const [i, ch] of [...typed].entries()) {
    await Promise.all([tmux.type(ch), bob.say(`message number ${i + 1} from bob`)]);
  }
  const rows = await tmux.waitFor(
    (rows) => rows.some((r) => r.includes(`<bob> message number ${last} from bob`)) && rows,
    "bob's last message",
  );
  assert.equal(Tmux.input(rows), `[#lobby] ${typed}`);
  const cursor = `${ROWS - 1},${"[#lobby] ".length + typed.length}`;
  await tmux.waitDisplay("#{cursor_y},#{cursor_x}", cursor);
  const shown = rows.flatMap((r) => r.match(/message number (\d+) from bob/)?.[1] ?? []).map(Number);
  assert.deepEqual(shown, shown.toSorted((a, b) => a - b), "messages stay in order");
  assert.equal(shown.at(-1), last);
  assert.equal(shown.length, ROWS - 2, "the message area is full of bob's messages");
  await tmux.press("Enter");
  await bob.next("message", (m) => m.from === "alice" && m.text === typed);
  await tmux.waitFor((rows) => Tmux.input(rows) === "[#lobby]", "the input line to clear after Enter");

  // Tab completes bob's name (": " at the start of a line) and command names.
  await tmux.type("bo");
  await tmux.press("Tab");
  await tmux.waitFor((rows) => Tmux.input(rows) === "[#lobby] bob:", "the completed name");
  await tmux.type("are you there?");
  await tmux.press("Enter");
  await bob.next("message", (m) => m.from === "alice" && m.text === "bob: are you there?");
  await tmux.type("/wh");
  await tmux.press("Tab");
  await tmux.waitFor((rows) => Tmux.input(rows) === "[#lobby] /who", "the completed command");
  await tmux.press("Enter");
  await tmux.waitRow(/-- online in #lobby \(2\): (alice, bob|bob, alice)/);

  // A message full of escape sequences: shown as visible placeholders, and it changes nothing else.
  await bob.say("evil \x1b[2J\x1b[H\x1b[31mRED\x1b]0;pwned\x07\x1b[10;1Hgotcha \u202eesrever");
  await tmux.waitRow(/<bob> evil ␛\[2J␛\[H␛\[31mRED␛\]0;pwned␇␛\[10;1Hgotcha �esrever/);
  const after = await tmux.screen();
  assert.ok(
    after.some((r) => r.includes(`<bob> message number ${last} from bob`)),
    "the screen was not cleared",
  );
  assert.match(Tmux.status(after), /^ connected \| 1:#lobby \(2 online\)/, "the status line is intact");
  assert.equal(Tmux.input(after), "[#lobby]");
  assert.notEqual(await tmux.display("#{pane_title}"), "pwned", "the window title was not changed");

  // A smaller window: everything is laid out again, status and input line still at the bottom.
  await tmux.tmux("resize-window", "-t", "t", "-x", "50", "-y", "12");
  const small = await tmux.waitFor(
    (rows) => rows.length === 12 && /^ connected \| 1:#lobby \(2 online\)/.test(Tmux.status(rows)) && rows,
    "the redraw at 50x12",
  );
  assert.equal(Tmux.input(small), "[#lobby]");
  assert.ok(small.every((r) => r.length <= 50));
  assert.ok(
    small.some((r) => /^ {12}�esrever$/.test(r)),
    `the long message wraps under its text:\n${small.join("\n")}`,
  );
  await tmux.waitDisplay("#{cursor_y},#{cursor_x}", `11,${"[#lobby] ".length}`);

  // A multi-line paste is one message, shown as a block.
  await tmux.tmux("set-buffer", "-b", "p", "first pasted line\nsecond pasted line\n");
  await tmux.tmux("paste-buffer", "-p", "-b", "p", "-t", "t");
  await tmux.waitFor(
    (rows) => Tmux.input(rows) === "[#lobby] first pasted line↵second pasted line",
    "the paste",
  );
  await tmux.press("Enter");
  await bob.next("message", (m) => m.text === "first pasted line\nsecond pasted line");

  await tmux.type("/quit see you");
  await tmux.press("Enter");
  await bob.next("presence", (e) => e.event === "leave" && e.name === "alice" && e.text === "see you");
  await tmux.assertRestored(0);
});

Deno.test("the terminal client shows reconnecting when the server stops, delivers what was typed meanwhile, and shows connected again", async () => {
  const first = await startServer();
  const port = first.port;
  let second: ChatProcess | null = null;
  try {
    await using bob = await joinJson(port, "bob", { flags: ["--reconnect-attempts", "0"] });
    await using tmux = await Tmux.start(port, ["--name", "alice", "--reconnect-attempts", "0"]);
    await tmux.waitFor((rows) => /^ connected \|/.test(Tmux.status(rows)), "connected");

    first.proc.kill("SIGTERM");
    await first.proc.exit();
    await tmux.waitFor((rows) => /^ reconnecting \(attempt \d+, /.test(Tmux.status(rows)), "reconnecting");
    await tmux.type("typed while the server was down");
    await tmux.press("Enter");
    await tmux.waitRow(/<alice> typed while the server was down \(pending\)/);

    // The same port again: the client finds it on its own.
    second = new ChatProcess(["serve", "--host", "127.0.0.1", "--port", String(port)], { label: "server 2" });
    await second.stderr.next((l) => listeningPort(l) === port, "the second server's listening line");
    const rows = await tmux.waitFor(
      (rows) => /^ connected \| reconnected, rejoined #lobby/.test(Tmux.status(rows)) && rows,
      "connected again",
      WAIT_MS * 2,
    );
    assert.ok(rows.some((r) => r.includes("-- reconnected to 127.0.0.1")), rows.join("\n"));
    await tmux.waitFor(
      (rows) => rows.some((r) => /<alice> typed while the server was down\s*$/.test(r)),
      "the pending mark to go once the server confirms",
    );
    // Bob reconnects too, and gets it (live, or replayed if he came back after it was sent).
    await bob.next(
      "message",
      (m) => m.from === "alice" && m.text === "typed while the server was down",
      WAIT_MS * 2,
    );

    await tmux.press("C-c");
    await tmux.assertRestored(130);
  } finally {
    await first[Symbol.asyncDispose]();
    if (second) await second[Symbol.asyncDispose]();
  }
});

Deno.test("the terminal client asks for a missing name, validates it, and restores the terminal after Ctrl-C", async () => {
  await using server = await startServer();
  await using tmux = await Tmux.start(server.port, []);
  await tmux.waitRow(/^Your name:/);
  await tmux.type("no spaces allowed");
  await tmux.press("Enter");
  await tmux.waitRow(/invalid name: name may hold only letters/);
  await tmux.waitFor(
    (rows) => rows.filter((r) => r.startsWith("Your name:")).length === 2,
    "the second prompt",
  );
  await tmux.type("zoë");
  await tmux.press("Enter");
  await tmux.waitFor((rows) => /^ connected \| 1:#lobby \(1 online\)/.test(Tmux.status(rows)), "connected");
  await tmux.waitRow(/-- connected to 127\.0\.0\.1:\d+ as zoë/);
  await tmux.type("left unsent");
  await tmux.press("C-c");
  await tmux.assertRestored(130);
});
