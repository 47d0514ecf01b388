import assert from "node:assert/strict";
import { WAIT_MS } from "../_helpers/deadline.ts";
import { startServer } from "../_helpers/process.ts";
import { MiniTerminal } from "../_helpers/tui.ts";
import { runTui, type TuiOptions } from "../../src/tui/app.ts";
import { historyFileName, parseHistory } from "../../src/tui/history.ts";
import type { Terminal } from "../../src/tui/terminal.ts";

/** A terminal whose keyboard the test types on and whose screen it reads through a MiniTerminal. */
class FakeTerminal implements Terminal {
  readonly screen = new MiniTerminal(60, 10);
  entered = 0;
  restored = 0;
  answers: string[] = [];
  #chunks: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #closed = false;

  size() {
    return { cols: 60, rows: 10 };
  }
  write(text: string): void {
    // The enter/restore sequences are not the MiniTerminal's business; the frames are.
    if (this.entered > this.restored) this.screen.write(text);
  }
  async *input(): AsyncIterable<Uint8Array> {
    for (;;) {
      while (this.#chunks.length > 0) yield this.#chunks.shift()!;
      if (this.#closed) return;
      await new Promise<void>((r) => this.#wake = r);
    }
  }
  onResize(): () => void {
    return () => {};
  }
  enter(): void {
    this.entered++;
  }
  restore(): void {
    if (this.entered > this.restored) this.restored++;
  }
  suspend(): void {}
  promptLine(): Promise<string | null> {
    return Promise.resolve(this.answers.shift() ?? null);
  }

  type(text: string): void {
    this.#chunks.push(new TextEncoder().encode(text));
    this.#wake?.();
  }

  /** Waits until some screen row matches `pattern`. */
  async waitRow(pattern: RegExp): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!this.screen.text().some((r) => pattern.test(r))) {
      if (Date.now() > deadline) {
        throw new Error(`no row matches ${pattern}:\n${this.screen.text().join("\n")}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function io(stderr: string[] = []) {
  return { stderr: (l: string) => void stderr.push(l), stopSignal: () => new Promise<string>(() => {}) };
}

Deno.test("runTui() sends what is typed, keeps the input history per server, and restores the terminal on /quit", async () => {
  await using server = await startServer();
  const dir = await Deno.makeTempDir({ prefix: "chat-tui-app-" });
  try {
    const historyPath = `${dir}/${historyFileName(`127.0.0.1:${server.port}`)}`;
    const options: TuiOptions = {
      host: "127.0.0.1",
      port: server.port,
      name: "alice",
      rooms: ["lobby"],
      timeoutMs: 5000,
      reconnectAttempts: 3,
      colour: false,
      historyPath,
    };
    const term = new FakeTerminal();
    const running = runTui(options, io(), term);
    await term.waitRow(/^ connected \| 1:#lobby \(1 online\)/);
    term.type("hello from the app test\r");
    await term.waitRow(/<alice> hello from the app test$/);
    term.type("/quit bye\r");
    assert.equal(await running, 0);
    assert.deepEqual([term.entered, term.restored], [1, 1]);
    assert.deepEqual(parseHistory(await Deno.readTextFile(historyPath)), [
      "hello from the app test",
      "/quit bye",
    ]);
    assert.equal((await Deno.stat(historyPath)).mode! & 0o777, 0o600, "history is private");

    // The next session starts with that history: Up brings back the last line.
    const again = new FakeTerminal();
    const second = runTui(options, io(), again);
    await again.waitRow(/^ connected/);
    again.type("\x1b[A\x1b[A");
    await again.waitRow(/^\[#lobby\] hello from the app test$/);
    again.type("\x03");
    assert.equal(await second, 130, "Ctrl-C");
    assert.deepEqual([again.entered, again.restored], [1, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runTui() asks for a name until one is valid, and again when the server says it is taken", async () => {
  await using server = await startServer();
  const options: TuiOptions = {
    host: "127.0.0.1",
    port: server.port,
    rooms: ["lobby"],
    timeoutMs: 5000,
    reconnectAttempts: 3,
    colour: false,
  };
  const first = new FakeTerminal();
  first.answers = ["carol"];
  const running = runTui(options, io(), first);
  await first.waitRow(/^ connected/);

  const stderr: string[] = [];
  const term = new FakeTerminal();
  term.answers = ["not valid!", "Carol", "dave"];
  const second = runTui(options, io(stderr), term);
  await term.waitRow(/-- connected to 127\.0\.0\.1:\d+ as dave/);
  assert.match(stderr[0], /invalid name: name may hold only letters/);
  assert.match(stderr[1], /NAME_TAKEN/);
  term.type("\x04");
  first.type("\x04");
  assert.deepEqual(await Promise.all([second, running]), [0, 0], "Ctrl-D on an empty line quits");
});

Deno.test("runTui() fails with the client's error, before taking over the screen, when it cannot connect", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const stderr: string[] = [];
  const term = new FakeTerminal();
  const code = await runTui(
    {
      host: "127.0.0.1",
      port,
      name: "alice",
      rooms: ["lobby"],
      timeoutMs: 1000,
      reconnectAttempts: 1,
      colour: false,
    },
    io(stderr),
    term,
  );
  assert.equal(code, 1);
  assert.match(stderr.join("\n"), /CONNECTION_REFUSED/);
  assert.equal(term.entered, 0);
});
