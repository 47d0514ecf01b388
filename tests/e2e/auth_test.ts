/**
 * Authentication and moderation end to end: every mode lets in the right and refuses the wrong, failures
 * say nothing about which part was wrong and are answered ever more slowly, and operators can kick, ban
 * (for good: across a restart) and mute.
 */

import assert from "node:assert/strict";
import type { ErrorEvent } from "../../src/client/events.ts";
import { type Hello, PROTOCOL_VERSION } from "../../src/protocol/mod.ts";
import { waitFor } from "../_helpers/deadline.ts";
import { joinJson, type JoinOptions, type JsonClient } from "../_helpers/json_client.ts";
import { ChatProcess, runChat, startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** The one answer to every failed login, whatever was wrong. */
const AUTH_FAILED = { code: "AUTH_FAILED", message: "authentication failed", fatal: true };

const SERVER_PASSWORD = "correct horse battery";
const ALICE_PASSWORD = "alice's own secret";
const ROOT_PASSWORD = "root has the keys";

/** A private temporary directory, removed on dispose. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "chat-auth-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Writes `text` as the first line of a file in `dir` and returns its path. */
async function secretFile(dir: string, name: string, text: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, `${text}\n`, { mode: 0o600 });
  return path;
}

/** Registers `name` offline with `chat user add`, the password coming from CHAT_PASSWORD. */
async function addUser(dataDir: string, name: string, password: string, admin = false): Promise<void> {
  const r = await runChat(["user", "add", name, "--data-dir", dataDir, ...(admin ? ["--admin"] : [])], {
    env: { CHAT_PASSWORD: password },
  });
  assert.equal(r.code, 0, r.output);
  assert.deepEqual(r.stdout, [`registered ${name}`], r.output);
}

/** Runs `chat join --json` with stdin open until the server refuses it; returns its exit code and error events. */
async function refusedJoin(port: number, name: string, options: JoinOptions = {}) {
  const { flags = [], ...spawn } = options;
  // A long --timeout: failed logins from one address are answered ever later (0.5 s, 1 s, 2 s, ...), each
  // after a password check that a loaded machine runs slowly; the refusal is the point here, not its speed.
  await using proc = new ChatProcess(
    ["join", "--json", "--port", String(port), "--name", name, "--timeout", "20000", ...flags],
    { label: name, ...spawn },
  );
  const status = await proc.exit();
  const events = proc.stdout.lines.map((l) => JSON.parse(l));
  const errors: ErrorEvent[] = events.filter((e) => e.type === "error");
  assert.ok(!events.some((e) => e.type === "welcome"), `${name} was welcomed:\n${proc.describe()}`);
  return { code: status.code, errors, output: proc.describe() };
}

/** Asserts that `name` is refused with exactly `expected` (code, message, fatal) and exits non-zero. */
async function assertRefused(
  port: number,
  name: string,
  options: JoinOptions,
  expected: Omit<ErrorEvent, "type">,
): Promise<void> {
  const r = await refusedJoin(port, name, options);
  assert.notEqual(r.code, 0, r.output);
  assert.deepEqual(
    r.errors.map(({ code, message, fatal }) => ({ code, message, fatal })),
    [expected],
    r.output,
  );
}

/** A HELLO with the given password (if any), as a password guesser would send it. */
function hello(name: string, password?: string): Hello {
  return {
    type: "hello",
    version: PROTOCOL_VERSION,
    name,
    rooms: [],
    ...(password === undefined ? {} : { password }),
  };
}

/** Sends one HELLO on a fresh connection; returns the first answer and how long it took to come. */
async function attempt(port: number, name: string, password?: string) {
  await using raw = await RawClient.connect(port, `${name} attempt`);
  const since = performance.now();
  await raw.send(hello(name, password));
  const answer = await waitFor(raw, () => raw.messages[0], `an answer to ${name}`);
  return { answer, ms: performance.now() - since, describe: raw.describe() };
}

/** Waits for `c` to say `line` and for `watcher` to receive it. */
async function says(c: JsonClient, line: string, watcher: JsonClient): Promise<void> {
  await c.say(line);
  await watcher.next("message", (m) => m.text === line && m.from === c.name);
}

Deno.test("an open server welcomes any valid unused name and refuses invalid, taken and look-alike names", async () => {
  await using server = await startServer(["--ephemeral"]);
  await using alice = await joinJson(server.port, "alice");
  // A password on an open server is simply not needed.
  await using bob = await joinJson(server.port, "bob", { env: { CHAT_PASSWORD: "whatever" } });
  await says(bob, "hello from bob", alice);

  for (const [name, code] of [["ALICE", "NAME_TAKEN"], ["аlice", "NAME_TAKEN"], ["al1ce", "NAME_TAKEN"]]) {
    await using raw = await RawClient.connect(server.port, name);
    await raw.send(hello(name));
    const err = await raw.next("error");
    assert.equal(err.code, code, `${name}: ${raw.describe()}`);
    assert.equal(err.fatal, true);
  }
  for (const name of ["al ice", "alice\u200b", "\u202eecila", ""]) {
    await using raw = await RawClient.connect(server.port, JSON.stringify(name));
    await raw.send(hello(name));
    const err = await raw.next("error");
    assert.equal(err.code, "INVALID_NAME", `${JSON.stringify(name)}: ${raw.describe()}`);
  }
  await says(alice, "still open", bob);
});

for (const source of ["CHAT_PASSWORD", "--password-file"] as const) {
  Deno.test(`a server password from ${source} admits clients that give it (from CHAT_PASSWORD or --password-file) and refuses the rest`, async () => {
    await using dir = await tempDir();
    const serverFile = await secretFile(dir.path, "server-password", SERVER_PASSWORD);
    await using server = await startServer(
      ["--ephemeral", ...(source === "--password-file" ? ["--password-file", serverFile] : [])],
      source === "CHAT_PASSWORD" ? { env: { CHAT_PASSWORD: SERVER_PASSWORD } } : {},
    );
    const clientFile = await secretFile(dir.path, "client-password", SERVER_PASSWORD);
    await using alice = await joinJson(server.port, "alice", { env: { CHAT_PASSWORD: SERVER_PASSWORD } });
    await using bob = await joinJson(server.port, "bob", { flags: ["--password-file", clientFile] });
    await says(alice, "we both know it", bob);

    // Refusals at once: one after the other, the growing penalty per address would add up.
    const wrongFile = await secretFile(dir.path, "wrong", "correct horse battery staple");
    await Promise.all([
      assertRefused(server.port, "carol", {}, AUTH_FAILED),
      assertRefused(server.port, "dave", { flags: ["--password-file", wrongFile] }, AUTH_FAILED),
    ]);
    await says(bob, "still just us", alice);
    assert.deepEqual(alice.all("presence").map((e) => `${e.event} ${e.name}`), ["join bob"]);
  });
}

Deno.test("a name registered with `chat user add` needs its password; other names stay open", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await addUser(data, "alice", ALICE_PASSWORD);
  await addUser(data, "root", ROOT_PASSWORD, true);
  const list = await runChat(["user", "list", "--data-dir", data]);
  assert.equal(list.code, 0, list.output);
  assert.deepEqual(list.stdout.map((l) => l.split("  ")[0]), ["alice", "root (admin)"], list.output);

  await using server = await startServer(["--data-dir", data]);
  await using guest = await joinJson(server.port, "guest");
  await Promise.all([
    assertRefused(server.port, "alice", {}, AUTH_FAILED),
    assertRefused(server.port, "Alice", { env: { CHAT_PASSWORD: "not alice's secret" } }, AUTH_FAILED),
    // Another account's password does not open this one.
    assertRefused(server.port, "root", { env: { CHAT_PASSWORD: ALICE_PASSWORD } }, AUTH_FAILED),
  ]);
  const file = await secretFile(dir.path, "alice-password", ALICE_PASSWORD);
  await using alice = await joinJson(server.port, "alice", { flags: ["--password-file", file] });
  await says(alice, "it is really me", guest);
});

Deno.test("a failed login gets the same answer whether the name, the password or both were wrong", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await addUser(data, "alice", ALICE_PASSWORD);
  await using server = await startServer(["--data-dir", data], { env: { CHAT_PASSWORD: SERVER_PASSWORD } });
  // A registered and an unregistered name with a wrong password, and the registered one with none, at once
  // (one after the other, the penalties would add up).
  const tries = await Promise.all([
    attempt(server.port, "alice", "password1"),
    attempt(server.port, "mallory", "password1"),
    attempt(server.port, "alice"),
  ]);
  for (const { answer, describe } of tries) {
    assert.ok(answer.type === "error", describe);
    assert.deepEqual(
      { code: answer.code, message: answer.message, fatal: answer.fatal },
      AUTH_FAILED,
      describe,
    );
  }
  // Each right password opens its door.
  assert.equal((await attempt(server.port, "alice", ALICE_PASSWORD)).answer.type, "welcome");
  assert.equal((await attempt(server.port, "mallory", SERVER_PASSWORD)).answer.type, "welcome");
});

Deno.test("password guesses from one address are answered ever more slowly, but the right one at once", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await addUser(data, "alice", ALICE_PASSWORD);
  await using server = await startServer(["--data-dir", data]);
  const delays: number[] = [];
  for (const guess of ["password1", "letmein!", "alice123"]) {
    const { answer, ms, describe } = await attempt(server.port, "alice", guess);
    assert.ok(answer.type === "error" && answer.code === "AUTH_FAILED", describe);
    delays.push(ms);
  }
  // The penalty doubles per failure from the address (0.5 s, 1 s, 2 s, on top of the same scrypt check):
  // compare the order, not absolute times.
  const shown = `answer delays ${delays.map(Math.round).join(", ")} ms`;
  assert.ok(delays[0] < delays[1] && delays[1] < delays[2], shown);
  // The owner is not locked out: the right password is checked and welcomed without the penalty.
  const owner = await attempt(server.port, "alice", ALICE_PASSWORD);
  assert.equal(owner.answer.type, "welcome", owner.describe);
  assert.ok(owner.ms < delays[1], `${shown}; the right password took ${Math.round(owner.ms)} ms`);
});

Deno.test("with --allow-register /register protects a name from then on; without it /register is FORBIDDEN", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  {
    await using server = await startServer(["--data-dir", data, "--allow-register"]);
    {
      await using carol = await joinJson(server.port, "carol");
      await carol.say("/register carols-secret-1");
      const notice = await carol.next("notice");
      assert.equal(notice.kind, "registered", carol.describe());
      await carol.proc.closeStdin();
      assert.equal((await carol.proc.exit()).code, 0, carol.describe());
    }
    await assertRefused(server.port, "carol", {}, AUTH_FAILED);
    await using carol = await joinJson(server.port, "carol", { env: { CHAT_PASSWORD: "carols-secret-1" } });
    // Registering twice is refused.
    await carol.say("/register another-secret");
    const err = await carol.next("error");
    assert.equal(err.code, "FORBIDDEN", carol.describe());
    assert.equal(err.fatal, false);
  }
  {
    await using server = await startServer(["--ephemeral"]);
    await using dan = await joinJson(server.port, "dan");
    await dan.say("/register dans-secret-1");
    const err = await dan.next("error");
    assert.deepEqual([err.code, err.fatal], ["FORBIDDEN", false], dan.describe());
    await using again = await joinJson(server.port, "dan2");
    await says(dan, "still unregistered", again);
  }
});

Deno.test("an admin account can kick, mute and ban (bans survive a restart); others get FORBIDDEN", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await addUser(data, "root", ROOT_PASSWORD, true);
  const rootFlags = { env: { CHAT_PASSWORD: ROOT_PASSWORD } };
  {
    await using server = await startServer(["--data-dir", data]);
    await using root = await joinJson(server.port, "root", rootFlags);
    await using eve = await joinJson(server.port, "eve");
    await using bob = await joinJson(server.port, "bob");
    await using mallory = await joinJson(server.port, "mallory");

    // Not an operator: refused, and nothing happens to bob.
    for (const command of ["/kick bob", "/ban bob", "/mute bob", "/unban bob"]) {
      await eve.say(command);
      const err = await eve.next("error");
      assert.deepEqual([err.code, err.fatal], ["FORBIDDEN", false], `${command}: ${eve.describe()}`);
    }
    await says(bob, "untouched", eve);

    await root.say("/kick bob being rude");
    const kicked = await bob.next("error", (e) => e.code === "KICKED");
    assert.equal(kicked.fatal, true);
    assert.equal(kicked.message, "kicked by root: being rude");
    const kickLeave = await eve.next("presence", (e) => e.event === "leave" && e.name === "bob");
    assert.equal(kickLeave.reason, "kicked");
    assert.equal((await root.next("notice", (n) => n.kind === "moderation")).text, "kicked bob");

    await root.say("/mute eve 1h too loud");
    const told = await eve.next("notice", (n) => n.kind === "moderation");
    assert.match(told.text, /muted by root for 3600 s: too loud/);
    await eve.say("can anyone hear me");
    const muted = await eve.next("error", (e) => e.code === "MUTED");
    assert.equal(muted.fatal, false);
    assert.ok(muted.ref, "MUTED answers the message");
    await says(mallory, "after the mute", root);
    assert.ok(!root.messages().some((m) => m.from === "eve"), root.describe());

    await root.say("/ban mallory spamming links");
    const banned = await mallory.next("error", (e) => e.code === "BANNED");
    assert.equal(banned.fatal, true);
    assert.equal(banned.message, "banned: spamming links");
    const banLeave = await root.next("presence", (e) => e.event === "leave" && e.name === "mallory");
    assert.equal(banLeave.reason, "banned");
    await assertRefused(server.port, "mallory", {}, {
      code: "BANNED",
      message: "banned: spamming links",
      fatal: true,
    });
    await assertRefused(server.port, "MALLORY", {}, {
      code: "BANNED",
      message: "banned: spamming links",
      fatal: true,
    });
    server.proc.kill("SIGTERM");
    assert.equal((await server.proc.exit()).code, 0, server.proc.describe());
  }
  {
    await using server = await startServer(["--data-dir", data]);
    await assertRefused(server.port, "mallory", {}, {
      code: "BANNED",
      message: "banned: spamming links",
      fatal: true,
    });
    await using root = await joinJson(server.port, "root", rootFlags);
    await root.say("/unban mallory");
    assert.equal((await root.next("notice", (n) => n.kind === "moderation")).text, "unbanned mallory");
    await using mallory = await joinJson(server.port, "mallory");
    await says(mallory, "I will behave", root);
  }
});

Deno.test("the admin token makes an operator, a wrong one does not, and --motd greets everyone", async () => {
  await using dir = await tempDir();
  const token = "0123456789abcdef-operator-token";
  const tokenFile = await secretFile(dir.path, "token", token);
  const wrongFile = await secretFile(dir.path, "wrong-token", "0123456789abcdef-guessed-token");
  const motd = "Welcome to the test server.\nBe kind.";
  const motdFile = `${dir.path}/motd`;
  await Deno.writeTextFile(motdFile, `${motd}\n`);
  await using server = await startServer([
    "--ephemeral",
    "--admin-token-file",
    tokenFile,
    "--motd",
    motdFile,
  ]);

  await using op = await joinJson(server.port, "op", { flags: ["--admin-token-file", tokenFile] });
  await using pretender = await joinJson(server.port, "pretender", {
    flags: ["--admin-token-file", wrongFile],
  });
  await using bob = await joinJson(server.port, "bob");
  for (const c of [op, pretender, bob]) {
    const notice = await c.next("notice", (n) => n.kind === "motd");
    assert.deepEqual(notice, { type: "notice", kind: "motd", text: motd }, c.describe());
  }

  await pretender.say("/kick bob");
  assert.equal((await pretender.next("error")).code, "FORBIDDEN", pretender.describe());
  await op.say("/kick bob");
  const kicked = await bob.next("error", (e) => e.code === "KICKED");
  assert.equal(kicked.message, "kicked by op");
  const leave = await pretender.next("presence", (e) => e.event === "leave" && e.name === "bob");
  assert.equal(leave.reason, "kicked");
});
