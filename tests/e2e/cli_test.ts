import assert from "node:assert/strict";
import { JOIN_SPECS, SERVE_SPECS } from "../../src/cli/specs.ts";
import { VERSION } from "../../src/version.ts";
import {
  assertOneLine,
  ChatProcess,
  childEnv,
  freePort,
  listeningPort,
  runChat,
  startServer,
} from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { WAIT_MS } from "../_helpers/deadline.ts";

Deno.test("chat --version prints the version and exits 0", async () => {
  const r = await runChat(["--version"]);
  assert.equal(r.code, 0, r.output);
  assert.deepEqual(r.stdout, [`chat ${VERSION}`]);
  assert.deepEqual(r.stderr, []);
});

Deno.test("chat --help lists the commands and exits 0", async () => {
  const r = await runChat(["--help"]);
  assert.equal(r.code, 0, r.output);
  const text = r.stdout.join("\n");
  for (const word of ["serve", "join", "full-screen client", "--help", "--version"]) {
    assert.ok(text.includes(word), `${word} in:\n${text}`);
  }
});

Deno.test("chat serve --help and chat join --help list every option and exit 0", async () => {
  for (const [command, specs] of [["serve", SERVE_SPECS], ["join", JOIN_SPECS]] as const) {
    const r = await runChat([command, "--help"]);
    assert.equal(r.code, 0, r.output);
    const text = r.stdout.join("\n");
    for (const flag of [...specs.map((s) => s.flag), "config", "help"]) {
      assert.ok(text.includes(`--${flag}`), `chat ${command} --help lacks --${flag}:\n${text}`);
    }
  }
});

Deno.test("an unknown command or flag is named in one stderr line, with exit code 2", async () => {
  const cases: Array<[string[], string]> = [
    [["frobnicate"], "frobnicate"],
    [["--frobnicate"], "--frobnicate"],
    [["serve", "--frobnicate"], "--frobnicate"],
    [["join", "--name", "alice", "--frobnicate"], "--frobnicate"],
  ];
  for (const [args, named] of cases) {
    const r = await runChat(args);
    assert.equal(r.code, 2, r.output);
    assertOneLine(r.stderr, [new RegExp(`unknown .*${named}`)], `chat ${args.join(" ")}`);
  }
});

Deno.test("chat serve on a port already taken prints one error line and exits 1", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const r = await runChat(["serve", "--host", "127.0.0.1", "--port", String(port)]);
    assert.equal(r.code, 1, r.output);
    assertOneLine(r.stderr, [/^chat serve: /, new RegExp(`${port}`), /in use/], "stderr");
  } finally {
    taken.close();
  }
});

Deno.test("chat serve refuses a message of the day too long for one NOTICE, at start, in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-" });
  try {
    await Deno.writeTextFile(`${dir}/motd`, "é".repeat(40_000));
    const r = await runChat([
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--ephemeral",
      "--motd",
      `${dir}/motd`,
    ]);
    assert.equal(r.code, 1, r.output);
    assertOneLine(r.stderr, [
      /^chat serve: --motd \S+ holds 80000 bytes, more than the 65535 a NOTICE carries$/,
    ], "stderr");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("invalid values from a flag, the environment or the config file exit 2 naming their source", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-" });
  try {
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(config, JSON.stringify({ serve: { maxClients: "lots" } }));
    const cases: Array<{ args: string[]; env?: Record<string, string>; named: RegExp }> = [
      { args: ["serve", "--port", "70000"], named: /--port must be at most 65535/ },
      { args: ["serve", "--timeout", "abc"], named: /--timeout must be an integer/ },
      // A negative number is a value like any other, not "ambiguous" (parseArgs' own words).
      { args: ["serve", "--port", "-1"], named: /^chat serve: --port must be at least 0, got -1 \(run/ },
      {
        args: ["join", "--name", "alice", "--timeout", "-5"],
        named: /--timeout must be at least 100, got -5/,
      },
      { args: ["history", "--limit", "-1"], named: /--limit must be at least 0, got -1/ },
      { args: ["join", "--name", "alice", "--port", "0"], named: /--port must be at least 1/ },
      { args: ["serve"], env: { PORT: "x" }, named: /\bPORT must be an integer/ },
      { args: ["serve"], env: { CHAT_LOG_LEVEL: "loud" }, named: /CHAT_LOG_LEVEL must be one of/ },
      { args: ["serve", "--config", config], named: /config key "maxClients".*must be an integer/ },
    ];
    for (const { args, env, named } of cases) {
      const r = await runChat(args, { env });
      assert.equal(r.code, 2, r.output);
      assertOneLine(r.stderr, [named], `chat ${args.join(" ")} ${JSON.stringify(env ?? {})}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Starts `chat serve` with `args` and `env`, returns the port it says it bound, and stops it with SIGTERM. */
async function boundPort(args: string[], env: Record<string, string>): Promise<number> {
  await using proc = new ChatProcess(["serve", "--host", "127.0.0.1", ...args], { env, label: "server" });
  const port = listeningPort(
    await proc.stderr.next((l) => listeningPort(l) !== undefined, "the listening line"),
  );
  proc.kill("SIGTERM");
  assert.equal((await proc.exit()).code, 0, proc.describe());
  return port!;
}

Deno.test("the port comes from the flag over the environment over the config file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-" });
  try {
    // The default config location, $XDG_CONFIG_HOME/chat/config.json, with a serve section.
    await Deno.mkdir(`${dir}/chat`);
    const [fromFile, fromEnv, fromFlag] = [freePort(), freePort(), freePort()];
    await Deno.writeTextFile(`${dir}/chat/config.json`, JSON.stringify({ serve: { port: fromFile } }));
    const configHome = { XDG_CONFIG_HOME: dir };
    const withEnv = { ...configHome, PORT: String(fromEnv) };

    assert.equal(await boundPort([], configHome), fromFile, "config file alone");
    assert.equal(await boundPort([], withEnv), fromEnv, "env over config file");
    assert.equal(await boundPort(["--port", String(fromFlag)], withEnv), fromFlag, "flag over env");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("chat serve refuses a --cluster that is not a NATS server's address, with exit 2", async () => {
  for (const bad of ["http://nats.example:4222", "nats://h:4222/path"]) {
    const r = await runChat(["serve", "--ephemeral", "--port", "0", "--cluster", bad]);
    assert.equal(r.code, 2, r.output);
    assertOneLine(r.stderr, [/invalid --cluster ".+": give a NATS server as nats:\/\/HOST:PORT/], bad);
  }
});

Deno.test("chat serve --max-frame 4096 (its least) starts: --max-text, left at its default, shrinks to fit", async () => {
  await using server = await startServer(["--ephemeral", "--max-frame", "4096"]);
  await using c = await RawClient.connect(server.port, "small");
  const welcome = await c.handshake("small");
  assert.deepEqual([welcome.maxFrame, welcome.maxText], [4096, 3072]);
  // Given, --max-text must fit.
  const r = await runChat([
    "serve",
    "--ephemeral",
    "--port",
    "0",
    "--max-frame",
    "4096",
    "--max-text",
    "4000",
  ]);
  assert.equal(r.code, 2, r.output);
  assertOneLine(r.stderr, [/--max-text 4000 does not fit --max-frame 4096/], "given --max-text");
});

Deno.test("chat tail and chat join stop quietly, exit 0, when whoever reads their output goes (| head -1)", async () => {
  await using server = await startServer(["--ephemeral"]);
  for (const args of [["tail", "--json"], ["join", "--json", "--name", "reader"]]) {
    const home = await Deno.makeTempDir({ prefix: "chat-e2e-pipe-" });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../main.ts", import.meta.url).pathname,
        ...args,
        "--port",
        String(server.port),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: childEnv(home),
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let status: Deno.CommandStatus | null = null;
    void child.status.then((s) => status = s);
    // Output for it to write, messages to its room, until it has stopped (at most 50).
    const writing = (async () => {
      for (let i = 0; status === null && i < 50; i++) {
        await runChat(["send", "--port", String(server.port), "--name", "writer", `line ${i}`]);
      }
    })();
    // Its first line, then the reader goes away, as `head -1` does.
    const reader = child.stdout.getReader();
    const first = await reader.read();
    assert.ok(!first.done && first.value.byteLength > 0, args[0]);
    await reader.cancel();
    const { code } = await child.status;
    await writing;
    await child.stdin.close().catch(() => {});
    const err = await stderr;
    assert.equal(code, 0, `${args[0]}: ${err}`);
    assert.doesNotMatch(err, /Uncaught|BrokenPipe|Broken pipe|internal error/, args[0]);
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("--version works after every command; chat alone is a usage error: usage on stderr, exit 2", async () => {
  for (const command of ["serve", "join", "send", "tail", "history", "user", "bench"]) {
    const r = await runChat([command, "--version"]);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(r.stdout, [`chat ${VERSION}`], command);
  }
  const alone = await runChat([]);
  assert.equal(alone.code, 2);
  assert.deepEqual(alone.stdout, []);
  assert.match(alone.stderr.join("\n"), /Usage: chat <command>/);
});

Deno.test("chat bench stopped by SIGTERM says so and exits 143 (130 after SIGINT), as chat join does", async () => {
  for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    await using bench = new ChatProcess([
      "bench",
      "--spawn",
      "--scenario",
      "idle",
      "--clients",
      "5",
      "--duration",
      "60",
    ]);
    // Holding its connections: the progress line of the idle phase.
    await bench.stderr.next((l) => /^idle\s.*connected 5\/5/.test(l), "the idle phase", WAIT_MS * 3);
    bench.kill(signal);
    const status = await bench.exit();
    assert.equal(status.code, code, bench.describe());
    assert.ok(bench.stderr.lines.includes("chat bench: interrupted"), bench.describe());
  }
});
