import assert from "node:assert/strict";
import {
  ALL_CONFIG_KEYS,
  BENCH_SPECS,
  HISTORY_SPECS,
  JOIN_SPECS,
  SEND_SPECS,
  SERVE_SPECS,
  TAIL_SPECS,
} from "../../src/cli/specs.ts";
import { checkedServers, configFor, resolveOptions, UsageError } from "../../src/cli/options.ts";
import { attachNegativeNumbers, parseCommand } from "../../src/cli/command.ts";

const noEnv = {};

Deno.test("resolveOptions() takes flags over env over config file over defaults", () => {
  const layers = [
    { flags: { port: "1111" }, env: { PORT: "2222" }, file: { port: 3333 }, want: 1111 },
    { flags: {}, env: { PORT: "2222" }, file: { port: 3333 }, want: 2222 },
    { flags: {}, env: {}, file: { port: 3333 }, want: 3333 },
    { flags: {}, env: {}, file: {}, want: 3000 },
    { flags: {}, env: { PORT: "" }, file: { port: 3333 }, want: 3333 },
  ];
  for (const l of layers) {
    assert.equal(resolveOptions(SERVE_SPECS, l).port, l.want, JSON.stringify(l));
  }
});

Deno.test("resolveOptions() has the documented defaults", () => {
  const s = resolveOptions(SERVE_SPECS, { flags: {}, env: noEnv });
  assert.equal(s.host, "0.0.0.0");
  assert.equal(s.port, 3000);
  assert.equal(s.maxClients, 100);
  assert.equal(s.timeout, 5000);
  assert.equal(s.maxFrame, 65536);
  assert.equal(s.maxText, 4096);
  const j = resolveOptions(JOIN_SPECS, { flags: {}, env: noEnv });
  assert.equal(j.reconnectAttempts, 0, "the interactive client never gives up reconnecting by itself");
  assert.equal(j.timeout, 5000);
  assert.deepEqual(j.room, ["lobby"]);
});

Deno.test("resolveOptions() names the flag, variable or key of an invalid value", () => {
  const cases: Array<[Parameters<typeof resolveOptions>[1], RegExp]> = [
    [{ flags: { port: "70000" }, env: noEnv }, /--port must be at most 65535, got 70000/],
    [{ flags: { timeout: "abc" }, env: noEnv }, /--timeout must be an integer, got "abc"/],
    [{ flags: {}, env: { PORT: "x" } }, /^PORT must be an integer/],
    [{ flags: {}, env: { CHAT_MAX_CLIENTS: "0" } }, /CHAT_MAX_CLIENTS must be at least 1/],
    [
      { flags: {}, env: noEnv, file: { maxClients: "many" }, fileName: "c.json" },
      /config key "maxClients" in c.json/,
    ],
    [{ flags: {}, env: noEnv, file: { timeout: 1.5 } }, /config key "timeout" must be an integer/],
    [
      { flags: { "log-level": "loud" }, env: noEnv },
      /--log-level must be one of debug, info, warn, error, silent/,
    ],
  ];
  for (const [input, re] of cases) {
    assert.throws(
      () => resolveOptions(SERVE_SPECS, input),
      (e: Error) => e instanceof UsageError && re.test(e.message),
    );
  }
});

Deno.test("resolveOptions() reads lists from repeated flags, commas and arrays", () => {
  assert.deepEqual(resolveOptions(JOIN_SPECS, { flags: { room: ["a", "b,c"] }, env: noEnv }).room, [
    "a",
    "b",
    "c",
  ]);
  assert.deepEqual(resolveOptions(JOIN_SPECS, { flags: {}, env: { CHAT_ROOM: "x, y" } }).room, ["x", "y"]);
  assert.deepEqual(resolveOptions(JOIN_SPECS, { flags: {}, env: noEnv, file: { room: ["dev"] } }).room, [
    "dev",
  ]);
});

Deno.test("configFor() merges top-level keys with the command's section and rejects unknown keys", () => {
  const file = { port: 4000, timeout: 900, serve: { port: 4001 }, join: { name: "ann" } };
  assert.deepEqual(configFor("serve", file, ALL_CONFIG_KEYS, ["serve", "join"], "f"), {
    port: 4001,
    timeout: 900,
  });
  assert.deepEqual(configFor("join", file, ALL_CONFIG_KEYS, ["serve", "join"], "f"), {
    port: 4000,
    timeout: 900,
    name: "ann",
  });
  assert.throws(
    () => configFor("serve", { prot: 1 }, ALL_CONFIG_KEYS, ["serve", "join"], "f"),
    /unknown config key "prot"/,
  );
  assert.throws(
    () => configFor("serve", { join: { nmae: 1 } }, ALL_CONFIG_KEYS, ["serve", "join"], "f"),
    /"join.nmae"/,
  );
  assert.throws(
    () => configFor("serve", [1], ALL_CONFIG_KEYS, ["serve", "join"], "f"),
    /must hold a JSON object/,
  );
});

Deno.test("parseCommand() reads the config file named by --config, CHAT_CONFIG or the XDG default", async () => {
  const files: Record<string, string> = {
    "/etc/a.json": JSON.stringify({ port: 1001 }),
    "/etc/b.json": JSON.stringify({ port: 1002 }),
    "/home/u/.config/chat/config.json": JSON.stringify({ serve: { port: 1003 } }),
  };
  const io = (env: Record<string, string>) => ({
    env,
    readTextFile: (p: string) =>
      p in files ? Promise.resolve(files[p]) : Promise.reject(new Deno.errors.NotFound(p)),
  });
  const port = async (argv: string[], env: Record<string, string>) =>
    (await parseCommand("serve", argv, SERVE_SPECS, ALL_CONFIG_KEYS, io(env))).options.port;
  assert.equal(
    await port(["--config", "/etc/a.json"], { CHAT_CONFIG: "/etc/b.json", HOME: "/home/u" }),
    1001,
  );
  assert.equal(await port([], { CHAT_CONFIG: "/etc/b.json", HOME: "/home/u" }), 1002);
  assert.equal(await port([], { HOME: "/home/u" }), 1003);
  assert.equal(await port([], { HOME: "/nowhere" }), 3000, "a missing default config file is fine");
  await assert.rejects(port(["--config", "/missing.json"], {}), /cannot read config file \/missing.json/);
});

Deno.test("parseCommand() rejects unknown flags, missing values and stray arguments by name", async () => {
  const io = { env: {}, readTextFile: () => Promise.reject(new Deno.errors.NotFound("x")) };
  const parse = (argv: string[]) => parseCommand("serve", argv, SERVE_SPECS, ALL_CONFIG_KEYS, io);
  await assert.rejects(parse(["--bogus"]), /unknown flag --bogus/);
  await assert.rejects(parse(["--port"]), /--port needs a value/);
  await assert.rejects(parse(["extra"]), /unexpected argument "extra"/);
  assert.equal((await parse(["-h"])).help, true);
});

Deno.test("a negative number after a flag gets the range message, whichever command and spelling", async () => {
  const io = { env: {}, readTextFile: () => Promise.reject(new Deno.errors.NotFound("x")) };
  const cases: Array<[string, typeof SERVE_SPECS, string[], RegExp]> = [
    ["serve", SERVE_SPECS, ["--port", "-1"], /^--port must be at least 0, got -1$/],
    ["serve", SERVE_SPECS, ["-p", "-1"], /^--port must be at least 0, got -1$/],
    ["serve", SERVE_SPECS, ["--max-clients", "-3"], /^--max-clients must be at least 1, got -3$/],
    ["serve", SERVE_SPECS, ["--timeout", "-100"], /^--timeout must be at least 100, got -100$/],
    ["serve", SERVE_SPECS, ["--history", "-1.5"], /^--history must be an integer, got "-1.5"$/],
    ["join", JOIN_SPECS, ["--name", "alice", "--port", "-80"], /^--port must be at least 1, got -80$/],
    ["join", JOIN_SPECS, ["--reconnect-attempts", "-2"], /^--reconnect-attempts must be at least 0, got -2$/],
    ["history", HISTORY_SPECS, ["--limit", "-10"], /^--limit must be at least 0, got -10$/],
    ["send", SEND_SPECS, ["--timeout", "-1", "hello"], /^--timeout must be at least 100, got -1$/],
    ["tail", TAIL_SPECS, ["--since", "-4"], /^--since must be at least 0, got -4$/],
    ["bench", BENCH_SPECS, ["--clients", "-2"], /^--clients must be at least 1, got -2$/],
  ];
  for (const [command, specs, argv, message] of cases) {
    const positionals = command === "send";
    const err = await parseCommand(command, argv, specs, ALL_CONFIG_KEYS, io, positionals).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof UsageError, `${command} ${argv.join(" ")}: ${err}`);
    assert.match(err.message, message, `${command} ${argv.join(" ")}`);
  }
});

Deno.test("a value that starts with '-' but is no number asks for the value, and how to write one", async () => {
  const io = { env: {}, readTextFile: () => Promise.reject(new Deno.errors.NotFound("x")) };
  await assert.rejects(
    parseCommand("join", ["--name", "--json"], JOIN_SPECS, ALL_CONFIG_KEYS, io),
    /^UsageError: flag --name needs a value; one that starts with "-" is written --name=VALUE$/,
  );
  await assert.rejects(
    parseCommand("history", ["--grep", "-v"], HISTORY_SPECS, ALL_CONFIG_KEYS, io),
    /flag --grep needs a value/,
  );
  await assert.rejects(
    parseCommand("serve", ["-p", "-x"], SERVE_SPECS, ALL_CONFIG_KEYS, io),
    /flag --port needs a value; one that starts with "-" is written --port=VALUE/,
  );
});

Deno.test("attachNegativeNumbers() glues only numbers to flags that take a value, and stops at --", () => {
  assert.deepEqual(attachNegativeNumbers(["--port", "-1", "-p", "-2"], SERVE_SPECS), [
    "--port=-1",
    "--port=-2",
  ]);
  // A boolean flag takes no value: what follows stays an argument of its own.
  assert.deepEqual(attachNegativeNumbers(["--ephemeral", "-1"], SERVE_SPECS), ["--ephemeral", "-1"]);
  assert.deepEqual(attachNegativeNumbers(["--host", "-x"], SERVE_SPECS), ["--host", "-x"]);
  assert.deepEqual(attachNegativeNumbers(["--", "--timeout", "-1"], SEND_SPECS), ["--", "--timeout", "-1"]);
  assert.deepEqual(attachNegativeNumbers(["--port=-1"], SERVE_SPECS), ["--port=-1"]);
});

Deno.test("the client commands take --host as one server or a list, from a flag, CHAT_HOST or the config file", () => {
  const servers = (
    input: { flags?: Record<string, unknown>; env?: Record<string, string>; file?: unknown },
  ) =>
    [JOIN_SPECS, SEND_SPECS, TAIL_SPECS, HISTORY_SPECS].map((specs) =>
      checkedServers(resolveOptions(specs, {
        flags: input.flags ?? {},
        env: input.env ?? noEnv,
        ...(input.file ? { file: input.file as Record<string, unknown> } : {}),
      }))
    );
  const each = (list: { host: string; port: number }[]) => [list, list, list, list];
  assert.deepEqual(servers({}), each([{ host: "127.0.0.1", port: 3000 }]), "the default is unchanged");
  assert.deepEqual(
    servers({ flags: { host: ["chat.example.org"] } }),
    each([{ host: "chat.example.org", port: 3000 }]),
  );
  const ab = [{ host: "a", port: 4000 }, { host: "b", port: 4001 }];
  assert.deepEqual(servers({ flags: { host: ["a,b:4001"], port: "4000" } }), each(ab));
  assert.deepEqual(servers({ flags: { host: ["a", "b:4001"], port: "4000" } }), each(ab), "repeated");
  assert.deepEqual(servers({ env: { CHAT_HOST: "a, b:4001", PORT: "4000" } }), each(ab));
  assert.deepEqual(servers({ file: { host: ["a", "b:4001"], port: 4000 } }), each(ab), "a JSON array");
  assert.deepEqual(servers({ file: { host: "a,b:4001", port: 4000 } }), each(ab), "a comma-separated string");
  assert.throws(
    () => servers({ flags: { host: ["a,b:99999"] } }),
    (e: Error) => e instanceof UsageError && /^invalid --host: "b:99999": the port must be/.test(e.message),
  );
  assert.throws(
    () => servers({ file: { host: 7 } }),
    /config key "host" must be a string or a list of strings/,
  );
});
