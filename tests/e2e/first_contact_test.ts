/**
 * What a new user meets on first contact, end to end: a refused login says
 * how to give a password, an encrypted connection says so, `chat history`
 * names a server it has no transcript of, and the server logs who connects.
 *
 * @module
 */

import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { ChatProcess, runChat, startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** Runs `chat join MODE --name NAME` against `port` with stdin closed at once; returns its exit and stderr. */
async function joinOnce(port: number, name: string, mode: string, env: Record<string, string> = {}) {
  await using proc = new ChatProcess(["join", mode, "--port", String(port), "--name", name], {
    label: name,
    env,
  });
  await proc.closeStdin();
  const status = await proc.exit();
  return { code: status.code, stderr: proc.stderr.lines, stdout: proc.stdout.lines, output: proc.describe() };
}

Deno.test("AUTH_FAILED says how to give a password when none was given, and which one was refused otherwise", async () => {
  await using server = await startServer(["--ephemeral"], { env: { CHAT_PASSWORD: "the server's secret" } });

  const none = await joinOnce(server.port, "alice", "--plain");
  assert.equal(none.code, 1, none.output);
  assert.deepEqual(none.stderr.slice(0, 1), ["chat join: AUTH_FAILED: authentication failed"], none.output);
  assert.equal(none.stderr.length, 2, none.output);
  for (const way of ["--ask-password", "--password-file FILE", "CHAT_PASSWORD"]) {
    assert.ok(none.stderr[1].includes(way), `${way} in: ${none.stderr[1]}`);
  }
  assert.match(none.stderr[1], /^chat join: the server wants a password/);

  // With --json the events stay the server's words; the advice is on stderr.
  const wrong = await joinOnce(server.port, "bob", "--json", { CHAT_PASSWORD: "a guess" });
  assert.equal(wrong.code, 1, wrong.output);
  const errors = wrong.stdout.map((l) => JSON.parse(l)).filter((e) => e.type === "error");
  assert.deepEqual(errors, [{
    type: "error",
    code: "AUTH_FAILED",
    message: "authentication failed",
    fatal: true,
  }]);
  assert.deepEqual(wrong.stderr, [
    "chat join: AUTH_FAILED: authentication failed",
    "chat join: the password in CHAT_PASSWORD was refused: it must be the server password, or the one your name " +
    "was registered with",
  ], wrong.output);
});

Deno.test("chat send says how to give a password after AUTH_FAILED", async () => {
  await using server = await startServer(["--ephemeral"], { env: { CHAT_PASSWORD: "the server's secret" } });
  const r = await runChat(["send", "--port", String(server.port), "hello"]);
  assert.equal(r.code, 1, r.output);
  assert.equal(r.stderr[0], "chat send: AUTH_FAILED: authentication failed", r.output);
  assert.match(r.stderr[1] ?? "", /^chat send: the server wants a password.*--password-file FILE/, r.output);
});

Deno.test("the welcome says whether the connection is encrypted: a tls field with --json, 'over TLS' in plain lines", async () => {
  await using server = await startServer(["--tls-self-signed", "--ephemeral"]);
  await using tls = await joinJson(server.port, "alice", { flags: ["--tofu"] });
  const welcome = tls.all("welcome")[0];
  assert.equal(welcome.tls, true, tls.describe());
  // The first contact pinned the certificate, and said where.
  const notice = await tls.proc.stderr.next((l) => l.includes("on first use"), "the first-use notice");
  assert.match(
    notice,
    new RegExp(
      `^chat join: trusting 127\\.0\\.0\\.1:${server.port} on first use: .*fingerprint is ` +
        "(?:[0-9A-F]{2}:){31}[0-9A-F]{2} .*pinned in \\S+/known_servers\\)$",
    ),
    tls.describe(),
  );

  await using plain = await joinJson(server.port, "bob");
  assert.equal(plain.all("welcome")[0].tls, false, plain.describe());

  const lines = await joinOnce(server.port, "carol", "--plain", {});
  assert.equal(lines.code, 0, lines.output);
  assert.ok(
    lines.stdout.some((l) => / -- connected to 127\.0\.0\.1:\d+ as carol in #lobby;/.test(l)),
    lines.output,
  );
  await using proc = new ChatProcess([
    "join",
    "--plain",
    "--tofu",
    "--port",
    String(server.port),
    "--name",
    "dave",
  ]);
  await proc.stdout.next(
    (l) => new RegExp(` -- connected to 127\\.0\\.0\\.1:${server.port} over TLS as dave in #lobby;`).test(l),
    "the TLS welcome line",
  );
});

Deno.test("chat history for a server or room it has no transcript of says so and exits 1", async () => {
  await using server = await startServer(["--ephemeral"]);
  const home = await Deno.makeTempDir({ prefix: "chat-e2e-history-" });
  try {
    const env = { XDG_DATA_HOME: `${home}/data`, XDG_STATE_HOME: `${home}/state` };
    const port = String(server.port);
    const unknown = await runChat(["history", "--port", "1"], { env });
    assert.equal(unknown.code, 1, unknown.output);
    assert.deepEqual(unknown.stdout, []);
    assert.equal(unknown.stderr.length, 1, unknown.output);
    assert.match(unknown.stderr[0], /^chat history: no transcript for 127\.0\.0\.1:1 in \S+\/transcripts: /);

    // Once a client has received something from the server, its transcript is there.
    const sent = await runChat(["send", "--port", port, "a line to remember"], { env });
    assert.equal(sent.code, 0, sent.output);
    await using reader = new ChatProcess(["join", "--plain", "--port", port, "--name", "reader"], { env });
    await reader.stdout.next((l) => l.includes("a line to remember"), "the message, from history");
    await reader.closeStdin();
    assert.equal((await reader.exit()).code, 0, reader.describe());

    const found = await runChat(["history", "--port", port], { env });
    assert.equal(found.code, 0, found.output);
    assert.ok(found.stdout.some((l) => l.includes("a line to remember")), found.output);
    // A filter that matches nothing is an answer, not an error.
    const nothing = await runChat(["history", "--port", port, "--grep", "no such words"], { env });
    assert.equal(nothing.code, 0, nothing.output);
    assert.deepEqual(nothing.stdout, []);

    const otherRoom = await runChat(["history", "--port", port, "--room", "dev"], { env });
    assert.equal(otherRoom.code, 1, otherRoom.output);
    assert.deepEqual(otherRoom.stderr, [
      `chat history: no messages of #dev in the transcript of 127.0.0.1:${port} (rooms in it: #lobby)`,
    ]);
    const otherServer = await runChat(["history", "--port", "1"], { env });
    assert.equal(otherServer.code, 1, otherServer.output);
    assert.match(
      otherServer.stderr[0],
      new RegExp(`transcripts exist for 127\\.0\\.0\\.1:${port}: choose one`),
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the server logs each connection at its default level, with the name once welcomed", async () => {
  await using server = await startServer(["--ephemeral"]);
  // A connection that never says HELLO is no one yet: nothing at info.
  const silent = await RawClient.connect(server.port, "silent");
  await silent[Symbol.asyncDispose]();
  await using alice = await RawClient.connect(server.port, "alice");
  await alice.handshake("alice");
  const line = await server.proc.stderr.next((l) => / info {2}connect /.test(l), "the connect line");
  assert.match(line, /^\S+Z info {2}connect alice \(127\.0\.0\.1:\d+\)$/);
  await alice[Symbol.asyncDispose]();
  await server.proc.stderr.next(
    (l) => / disconnect alice \(127\.0\.0\.1:\d+\)/.test(l),
    "the disconnect line",
  );
  assert.equal(server.proc.stderr.lines.filter((l) => / connect /.test(l)).length, 1, server.proc.describe());
});
