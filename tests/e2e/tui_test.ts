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

function shellQuote(a: string): string {
  return `'${a.replaceAll("'", `'"'"'`)}'`;
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
   * can check that the terminal still works as a terminal). The client's
   * XDG data and state live under `home` (default: a directory of this
   * session), so a test can start a client again on what another left.
   */
  static async start(
    port: number,
    args: string[],
    options: { home?: string; env?: Record<string, string> } = {},
  ): Promise<Tmux> {
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
      .map(shellQuote).join(" ");
    await Deno.writeTextFile(
      `${dir}/run.sh`,
      [
        // Set in the pane itself: tmux gives a pane its own TERM, whatever the server's environment says.
        ...Object.entries(options.env ?? {}).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
        // The inner shell writes its pid, then becomes `deno`: the pid file names the client process itself.
        `sh -c 'echo $$ > "$0"; exec "$@"' ${shellQuote(`${dir}/chat.pid`)} ${quoted}`,
        `echo "EXIT=$?"`,
        // One line with the modes that matter: canonical input, echo, signals.
        `echo "MODES: $(stty -a | tr ' ;' '\\n\\n' | grep -x -E -e '-?(icanon|echo|isig)' | tr '\\n' ' ')"`,
        `exec bash --noprofile --norc -i`,
      ].join("\n") + "\n",
    );
    const env = childEnv(options.home ?? dir, { LANG: "C.UTF-8", PS1: "$ ", TERM: "xterm-256color" });
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

  /** The pid of the `chat join` process in the pane, once it has started. */
  async pid(): Promise<number> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const text = await Deno.readTextFile(`${this.dir}/chat.pid`).catch(() => "");
      if (/^\d+\s*$/.test(text)) return Number(text);
      if (Date.now() > deadline) throw new Error("the chat process never wrote its pid");
      await new Promise((r) => setTimeout(r, 50));
    }
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

  // Escape and a command in one burst, as a quick typist sends them: the slash survives, the message stays private.
  await tmux.press("Escape", "/msg bob psst, just for you", "Enter");
  const dm = await bob.next("direct", (d) => d.from === "alice");
  assert.equal(dm.text, "psst, just for you");
  assert.ok(!bob.messages().some((m) => m.text.includes("psst")), "nothing of it went to #lobby");

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
  // tmux clips the old screen to the new size at once; the client's redraw is what wraps the long message
  // under its text, so that row is what says the redraw has happened.
  const small = await tmux.waitFor(
    (rows) =>
      rows.length === 12 && /^ connected \| 1:#lobby \(2 online\)/.test(Tmux.status(rows)) &&
      rows.some((r) => /^ {12}�esrever$/.test(r)) && rows,
    "the redraw at 50x12, the long message wrapped under its text",
  );
  assert.equal(Tmux.input(small), "[#lobby]");
  assert.ok(small.every((r) => r.length <= 50));
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

Deno.test("two terminal clients: a direct message shows to both, /away shows in /who and to whoever writes, /nick to the other", async () => {
  await using server = await startServer(["--ephemeral"]);
  await using alice = await Tmux.start(server.port, ["--name", "alice"]);
  await alice.waitFor((rows) => /^ connected \| 1:#lobby/.test(Tmux.status(rows)), "alice connected");
  await using bob = await Tmux.start(server.port, ["--name", "bob"]);
  await bob.waitFor(
    (rows) => /^ connected \| 1:#lobby \(2 online\)/.test(Tmux.status(rows)),
    "bob connected",
  );

  // Alice writes from #lobby: the message goes to her @bob window, and bob gets a window for alice.
  await alice.type("/msg bob psst, bob");
  await alice.press("Enter");
  await alice.waitRow(/-- -> @bob: psst, bob \(window 2\)/);
  await bob.waitRow(/-- direct message from alice in window 2 \(Alt-2 or \/switch @alice\)/);
  await bob.waitFor((rows) => /unread: 2:@alice\(1!\)/.test(Tmux.status(rows)), "the unread direct message");
  await bob.press("M-2");
  await bob.waitFor((rows) => Tmux.input(rows) === "[@alice]", "bob in the @alice window");
  await bob.waitRow(/<alice> psst, bob$/);
  await bob.type("hi alice");
  await bob.press("Enter");
  await alice.waitFor((rows) => /unread: 2:@bob\(1!\)/.test(Tmux.status(rows)), "bob's answer as activity");
  await alice.press("M-2");
  const dm = await alice.waitFor(
    (rows) => rows.some((r) => /<bob> hi alice$/.test(r)) && rows,
    "the conversation in alice's @bob window",
  );
  assert.ok(dm.some((r) => /<alice> psst, bob$/.test(r)), `delivered, not pending:\n${dm.join("\n")}`);

  // Bob goes away: alice's /who says so, and so does the server when she writes to him.
  await bob.press("M-1");
  await bob.type("/away at lunch");
  await bob.press("Enter");
  await bob.waitFor(
    (rows) => /^ connected \| away: at lunch \| 1:#lobby/.test(Tmux.status(rows)),
    "bob away",
  );
  await alice.waitFor((rows) => /2:@bob \(away: at lunch\)/.test(Tmux.status(rows)), "his window says so");
  await alice.press("M-1");
  await alice.waitRow(/-- bob is away: at lunch/);
  await alice.type("/who");
  await alice.press("Enter");
  await alice.waitRow(/-- online in #lobby \(2\): alice, bob \(away: at lunch\)/);
  await alice.press("M-2");
  await alice.waitFor((rows) => Tmux.input(rows) === "[@bob]", "alice back in @bob");
  await alice.type("are you back?");
  await alice.press("Enter");
  await alice.waitFor(
    (rows) => {
      const sent = rows.findIndex((r) => /<alice> are you back\?$/.test(r));
      return sent >= 0 && rows.slice(sent + 1).some((r) => r.includes("-- bob is away: at lunch"));
    },
    "the away notice after writing to bob",
  );

  // Alice changes her name: bob sees it, and his window for her follows.
  await alice.press("M-1");
  await alice.type("/nick alicia");
  await alice.press("Enter");
  await alice.waitRow(/-- you are now known as alicia/);
  await bob.waitRow(/-- alice is now known as alicia/);
  await bob.press("M-2");
  await bob.waitFor((rows) => Tmux.input(rows) === "[@alicia]", "the window renamed");
  await bob.type("nice name");
  await bob.press("Enter");
  await alice.press("M-2");
  await alice.waitRow(/<bob> nice name$/);

  await alice.type("/quit");
  await alice.press("Enter");
  await alice.assertRestored(0);
  await bob.press("C-d");
  await bob.assertRestored(0);
});

Deno.test("a client killed mid-typing delivers, when started again, what it sent while the server was down, exactly once, below its transcript", async () => {
  const data = await Deno.makeTempDir({ prefix: "chat-e2e-data-" });
  const home = await Deno.makeTempDir({ prefix: "chat-e2e-alice-" });
  const first = await startServer(["--data-dir", data]);
  const port = first.port;
  let second: ChatProcess | null = null;
  try {
    await using bob = await joinJson(port, "bob", { flags: ["--reconnect-attempts", "0"] });
    {
      await using alice = await Tmux.start(port, ["--name", "alice", "--reconnect-attempts", "0"], { home });
      await alice.waitFor((rows) => /^ connected \|/.test(Tmux.status(rows)), "connected");
      await bob.say("said before the crash");
      await alice.waitRow(/<bob> said before the crash$/);

      first.proc.kill("SIGTERM");
      await first.proc.exit();
      await alice.waitFor((rows) => /^ reconnecting /.test(Tmux.status(rows)), "reconnecting");
      await alice.type("typed while the server was down");
      await alice.press("Enter");
      await alice.waitRow(/<alice> typed while the server was down \(pending\)/);
      await alice.type("half a thought");
      await alice.waitFor((rows) => Tmux.input(rows) === "[#lobby] half a thought", "the half-typed line");
      Deno.kill(await alice.pid(), "SIGKILL");
      await alice.waitRow(/EXIT=137/);
    }

    second = new ChatProcess(["serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir", data], {
      label: "server 2",
    });
    await second.stderr.next((l) => listeningPort(l) === port, "the second server's listening line");

    await using again = await Tmux.start(port, ["--name", "alice"], { home });
    const rows = await again.waitFor(
      (rows) =>
        /^ connected \|/.test(Tmux.status(rows)) && rows.some((r) =>
          /<alice> typed while the server was down\s*$/.test(r)
        ) && rows,
      "the restored message, delivered",
      WAIT_MS * 2,
    );
    const screen = rows.join("\n");
    const said = rows.findIndex((r) => /<bob> said before the crash$/.test(r));
    const end = rows.findIndex((r) => /^-- end of earlier messages -+$/.test(r));
    assert.ok(said >= 0 && end > said, `the transcript, above the end of earlier messages:\n${screen}`);
    assert.match(rows[said - 1], /^-- earlier: /);
    assert.equal(screen.match(/said before the crash/g)?.length, 1, `shown once:\n${screen}`);
    assert.equal(screen.match(/typed while the server was down/g)?.length, 1, `shown once:\n${screen}`);
    assert.match(screen, /1 message\(s\) from the last session not yet delivered/);

    // Bob gets it once (live, or replayed after his own reconnect); a later message proves nothing else follows.
    await bob.next(
      "message",
      (m) => m.from === "alice" && m.text === "typed while the server was down",
      WAIT_MS * 2,
    );
    await again.type("and this one after");
    await again.press("Enter");
    await bob.next("message", (m) => m.from === "alice" && m.text === "and this one after", WAIT_MS * 2);
    assert.equal(bob.messages().filter((m) => m.text === "typed while the server was down").length, 1);

    await again.type("/quit");
    await again.press("Enter");
    await again.assertRestored(0);
  } finally {
    await first[Symbol.asyncDispose]();
    if (second) await second[Symbol.asyncDispose]();
    await Deno.remove(data, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("on TERM=dumb, chat join says once that it uses line mode, and works as a line client", async () => {
  await using server = await startServer();
  await using bob = await joinJson(server.port, "bob");
  await using tmux = await Tmux.start(server.port, ["--name", "alice"], { env: { TERM: "dumb" } });
  await tmux.waitRow(
    /^chat join: TERM=dumb: this terminal cannot show the full-screen client; using line mode/,
  );
  await tmux.waitRow(/ -- connected to 127\.0\.0\.1:\d+ as alice in #lobby; online \(2\): bob, alice$/);
  assert.equal(await tmux.display("#{alternate_on}"), "0", "no full screen");
  await tmux.type("hello from a dumb terminal");
  await tmux.press("Enter");
  await bob.next("message", (m) => m.from === "alice" && m.text === "hello from a dumb terminal");
  const rows = await tmux.screen();
  assert.equal(rows.filter((r) => r.includes("TERM=dumb")).length, 1, rows.join("\n"));
  // Ctrl-D ends the input: every message was acknowledged, so it exits 0.
  await tmux.press("C-d");
  await tmux.assertRestored(0);
});

Deno.test("the terminal client shows an encrypted connection in the status line, and a certificate pinned on first use in its window", async () => {
  await using server = await startServer(["--tls-self-signed", "--ephemeral"]);
  await using tmux = await Tmux.start(server.port, ["--name", "alice", "--tofu"]);
  const status = await tmux.waitFor(
    (rows) => /^ connected \|/.test(Tmux.status(rows)) && Tmux.status(rows),
    "connected",
  );
  assert.match(status.trimEnd(), new RegExp(`\\| 127\\.0\\.0\\.1:${server.port} \\(TLS\\)$`));
  await tmux.waitRow(
    new RegExp(`-- trusting 127\\.0\\.0\\.1:${server.port} on first use: its certificate's SHA-256`),
  );
  await tmux.press("C-c");
  await tmux.assertRestored(130);
});

Deno.test("the terminal client shows a room's topic on join, on change and in the status line; /list; a long line in parts", async () => {
  await using server = await startServer(["--ephemeral", "--max-text", "200"]);
  await using bob = await joinJson(server.port, "bob", { flags: ["--room", "lobby,dev"] });
  await bob.say("/topic be kind");
  await bob.next("topic", (e) => e.text === "be kind");
  await using alice = await Tmux.start(server.port, ["--name", "alice"]);
  await alice.waitRow(/-- topic of #lobby: be kind \(set by bob, \d{4}-\d\d-\d\d \d\d:\d\d\)/);
  await alice.waitFor(
    (rows) => /\| 1:#lobby \(2 online\) \| be kind \|/.test(Tmux.status(rows)),
    "topic shown",
  );

  await bob.say("/topic be kinder");
  await alice.waitRow(/-- bob set the topic of #lobby: be kinder/);
  await alice.waitFor(
    (rows) => /\| be kinder \|/.test(Tmux.status(rows)),
    "the new topic in the status line",
  );

  await alice.type("/list");
  await alice.press("Enter");
  await alice.waitRow(/-- 2 room\(s\), by size:/);
  await alice.waitRow(/^ +#lobby \(2\): be kinder$/);
  await alice.waitRow(/^ +#dev \(1\)$/);

  // 50 words of 7 bytes: 350 bytes, two messages of at most 200 bytes, sent without asking.
  const words = Array.from({ length: 50 }, (_, i) => `word${String(i).padStart(2, "0")}`);
  await alice.type(words.join(" "));
  await alice.press("Enter");
  const two = await bob.waitMessages(2);
  assert.equal(two.map((m) => m.text).join(" "), words.join(" "));
  // Four messages' worth: asked first; Enter again sends them.
  const long = Array.from({ length: 100 }, (_, i) => `long${String(i).padStart(2, "0")}`).join(" ");
  await alice.type(long);
  await alice.press("Enter");
  await alice.waitRow(/!! this text is 4 messages long \(the server takes 200 bytes at a time\)/);
  assert.equal(bob.messages().length, 2, "nothing sent before the second Enter");
  await alice.press("Enter");
  const all = await bob.waitMessages(6);
  assert.equal(all.slice(2).map((m) => m.text).join(" "), long);
  await alice.press("C-d");
  await alice.assertRestored(0);
});
