/**
 * The abuse battery, issue 16 items 3 and 7: a hostile server (tests/_helpers/hostile_server.ts) sends
 * escape sequences, C0, DEL, C1 and bidi controls in every field a client shows, in ERROR codes and
 * messages, and as a non-chat greeting. The real `chat join` (--plain and --json), `chat send` and
 * `chat tail` (plain and --json) run against it as processes, and not one such code point may reach their
 * stdout or stderr: nothing below 0x20 but the newline (a tab is expanded to spaces, never written), no
 * DEL, no C1 (U+0080-U+009F), no bidi control (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and
 * no line or paragraph separator (U+2028, U+2029).
 */

import assert from "node:assert/strict";
import { WAIT_MS, withDeadline } from "../_helpers/deadline.ts";
import { type Behaviour, HostileServer } from "../_helpers/hostile_server.ts";
import { childEnv } from "../_helpers/process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

// deno-lint-ignore no-control-regex -- finding raw control characters is the point.
const FORBIDDEN = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `chat ARGS` with stdin kept open (a closed stdin would end `chat join` before the server speaks),
 * `input` written to it, until the process exits by itself; returns what it wrote, decoded as UTF-8.
 */
async function runChat(args: string[], input = ""): Promise<Run> {
  const home = await Deno.makeTempDir({ prefix: "chat-e2e-hostile-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: childEnv(home),
  }).spawn();
  const stdin = child.stdin.getWriter();
  try {
    if (input) await stdin.write(new TextEncoder().encode(input));
    const out = await withDeadline(child.output(), WAIT_MS, () => `chat ${args.join(" ")} to exit`);
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await stdin.close().catch(() => {});
    await child.status;
    await Deno.remove(home, { recursive: true });
  }
}

/** Fails naming the first forbidden code point of `text`, with its context. */
function assertClean(text: string, where: string): void {
  const m = FORBIDDEN.exec(text);
  if (!m) return;
  const at = m.index;
  const cp = m[0].codePointAt(0)!.toString(16).padStart(4, "0");
  assert.fail(`${where}: U+${cp} at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 60), at + 40))}`);
}

/** Runs `args` against a fresh hostile server with `behaviour`; checks both streams and returns the run. */
async function against(behaviour: Behaviour, args: (port: number) => string[], input = ""): Promise<Run> {
  await using server = new HostileServer(behaviour);
  const common = ["--host", "127.0.0.1", "--port", String(server.port), "--timeout", "3000"];
  const argv = args(server.port);
  const run = await runChat([...argv, ...common], input);
  const label = `chat ${argv.join(" ")}`;
  assertClean(run.stdout, `${label} stdout`);
  assertClean(run.stderr, `${label} stderr`);
  assert.equal(run.code, 1, `${label} exits 1\n${run.stdout}\n${run.stderr}`);
  return run;
}

const JOIN_PLAIN = ["join", "--plain", "--name", "eve", "--reconnect-attempts", "1"];
const JOIN_JSON = ["join", "--json", "--name", "eve", "--reconnect-attempts", "1"];
const TAIL = ["tail", "--reconnect-attempts", "1"];
const TAIL_JSON = ["tail", "--json", "--reconnect-attempts", "1"];
const SEND = ["send", "hello"];

/** The hostile ERROR code, as the sanitiser shows it: ESC as U+241B, the C1 CSI and RLO as U+FFFD. */
const SHOWN_CODE = "CODEw\u241b[1m\ufffdq\ufffd";

Deno.test("chat join --plain shows hostile chat traffic and errors sanitised, on stdout and stderr", async () => {
  // It sends a line; the server refuses it with a hostile ERROR, then drops it with a fatal one, then refuses
  // the reconnect the same way.
  const run = await against({ fatal: "after-send" }, () => JOIN_PLAIN, "hi\n");
  assert.match(run.stdout, /<f.*> pwn\u241b\]0;owned\u2407/, "the message is shown, made inert");
  assert.match(run.stdout, /notice|message of the day/);
  assert.match(run.stderr, /REFUSED/, "the refusal of the line is shown");
  assert.ok(run.stderr.includes(SHOWN_CODE), `the fatal code is shown sanitised:\n${run.stderr}`);
});

Deno.test("chat join --json escapes hostile text in its JSON lines and sanitises stderr", async () => {
  const run = await against({ fatal: "now" }, () => JOIN_JSON);
  const events = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const message = events.find((e) => e.type === "message");
  assert.ok(message, `a message event:\n${run.stdout}`);
  // Parsed, the text is exactly what the server sent: --json escapes, it does not alter.
  assert.equal(
    message.text,
    "pwn\x1b]0;owned\x07\x1b[2J\x1b[31mred\rX\x7f\u009b2J\u0085\u202eevil\u2066i\u2069\u200f\u2028\nforged",
  );
  assert.ok(
    run.stdout.includes("\\u009b") && run.stdout.includes("\\u202e"),
    "C1 and bidi written as \\u escapes",
  );
  assert.ok(events.some((e) => e.type === "error" && e.fatal), "the fatal error is an event too");
});

Deno.test("chat send shows a hostile refusal of its message sanitised", async () => {
  const run = await against({ fatal: "after-send" }, () => SEND);
  assert.match(run.stderr, /^chat send: REFUSEDw\u241b\[1m\ufffdq\ufffd: pwn\u241b\]0;owned\u2407/m);
});

Deno.test("chat tail and chat tail --json show hostile messages and errors sanitised", async () => {
  const plain = await against({ fatal: "now" }, () => TAIL);
  assert.match(plain.stdout, /pwn\u241b\]0;owned/);
  assert.ok(plain.stderr.includes(SHOWN_CODE), `the fatal code is shown sanitised:\n${plain.stderr}`);
  const json = await against({ fatal: "now" }, () => TAIL_JSON);
  assert.ok(json.stdout.includes("\\u009b2J"), json.stdout);
});

Deno.test("a hostile ERROR at the handshake reaches join, send and tail sanitised", async () => {
  for (const argv of [JOIN_PLAIN, JOIN_JSON, SEND, TAIL]) {
    const run = await against("refuse", () => argv);
    assert.ok(
      run.stderr.includes(SHOWN_CODE),
      `${argv.join(" ")}: the code is shown sanitised:\n${run.stderr}`,
    );
    assert.match(run.stderr, /pwn\u241b\]0;owned\u2407/);
  }
});

Deno.test("a non-chat greeting with ESC, C1 and bidi controls is quoted escaped by join, send and tail", async () => {
  for (const argv of [JOIN_PLAIN, JOIN_JSON, SEND, TAIL]) {
    const run = await against("banner", () => argv);
    assert.match(
      run.stderr,
      /NOT_CHAT_SERVER: .* is not a chat server \(it said: "SSH-2\.0-pwn\\u001b\]0;owned/,
    );
    assert.ok(run.stderr.includes("\\u009b2J"), `the C1 CSI is quoted as an escape:\n${run.stderr}`);
  }
});
