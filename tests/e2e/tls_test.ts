import assert from "node:assert/strict";
import { leafFingerprint } from "../../src/net/fingerprint.ts";
import { WAIT_MS, withDeadline } from "../_helpers/deadline.ts";
import { joinJson } from "../_helpers/json_client.ts";
import { assertOneLine, runChat, type ServerProcess, startServer } from "../_helpers/process.ts";

/** The fingerprint in a startup line: colon-separated upper-case hex, 32 bytes. */
const FINGERPRINT = /certificate SHA-256 ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})[;)]/;

/** The certificate fingerprint `chat serve` printed on its startup line. */
function printedFingerprint(server: ServerProcess): string {
  const line = server.proc.stderr.lines.find((l) => l.startsWith("chat serve: listening on"));
  const m = line?.match(FINGERPRINT);
  assert.ok(m, `no fingerprint in the startup line:\n${server.proc.describe()}`);
  return m[1];
}

/** A client's --timeout far beyond the test's own deadline: a client that hangs fails the test. */
const PATIENT = ["--timeout", "60000"];

Deno.test("TLS end to end: a self-signed server, clients that trust it on first use, messages both ways", async () => {
  await using server = await startServer(["--tls-self-signed", "--ephemeral"]);
  const fingerprint = printedFingerprint(server);
  assert.match(server.proc.stderr.lines[0], /\(TLS or plaintext, certificate SHA-256 /);
  await using alice = await joinJson(server.port, "alice", { flags: ["--tofu"] });
  await using bob = await joinJson(server.port, "bob", { flags: ["--tofu"] });
  // Each client has its own state dir, so each meets the server for the first time and says so.
  for (const client of [alice, bob]) {
    const notice = await client.proc.stderr.next((l) => l.includes("on first use"), "the first-use notice");
    assert.ok(notice.includes(fingerprint), `${notice}\nserver printed ${fingerprint}`);
  }
  await alice.say("hello over TLS");
  const m = await bob.next("message", (e) => e.text === "hello over TLS");
  assert.equal(m.from, "alice");
  await alice.next("ack", (a) => a.seq === m.seq);
  await bob.say("and back");
  await alice.next("message", (e) => e.text === "and back" && e.from === "bob");
});

Deno.test("--ca with the server's certificate verifies it; --tls without it is refused, showing the fingerprint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-tls-" });
  try {
    await using server = await startServer(["--tls-self-signed", "--data-dir", `${dir}/server`]);
    const fingerprint = printedFingerprint(server);
    const certFile = `${dir}/server/tls-cert.pem`;
    assert.equal(await leafFingerprint(await Deno.readTextFile(certFile)), fingerprint);

    const ok = await runChat(["send", "--port", String(server.port), "--ca", certFile, "verified by --ca"]);
    assert.equal(ok.code, 0, ok.output);
    assert.equal(JSON.parse(ok.stdout[0]).type, "ack", ok.output);

    const refused = await runChat([
      "send",
      "--port",
      String(server.port),
      "--tls",
      ...PATIENT,
      "not trusted",
    ]);
    assert.equal(refused.code, 1, refused.output);
    assertOneLine(refused.stderr, [
      /^chat send: TLS_UNTRUSTED: /,
      /self-signed/,
      new RegExp(fingerprint),
      /--tofu/,
    ], "--tls");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client that pinned a certificate refuses the server's new one (new data dir, same port)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-tls-" });
  // The client's state dir outlives both servers: it holds the pin.
  const client = { env: { XDG_STATE_HOME: `${dir}/client-state` } };
  try {
    let port: number;
    let pinned: string;
    {
      await using first = await startServer(["--tls-self-signed", "--data-dir", `${dir}/one`]);
      port = first.port;
      pinned = printedFingerprint(first);
      const r = await runChat(["send", "--port", String(port), "--tofu", "first contact"], client);
      assert.equal(r.code, 0, r.output);
      assertOneLine(r.stderr, [/on first use/, new RegExp(pinned)], "first contact");
      // Same certificate again: accepted without a word.
      const again = await runChat(["send", "--port", String(port), "--tofu", "same server"], client);
      assert.equal(again.code, 0, again.output);
      assert.deepEqual(again.stderr.filter((l) => l.trim() !== ""), [], again.output);
      first.proc.kill("SIGTERM");
      await first.proc.exit();
    }
    await using second = await startServer([
      "--tls-self-signed",
      "--data-dir",
      `${dir}/two`,
      "--port",
      String(port),
    ]);
    assert.equal(second.port, port);
    const now = printedFingerprint(second);
    assert.notEqual(now, pinned);
    const r = await runChat(["send", "--port", String(port), "--tofu", ...PATIENT, "who is this?"], client);
    assert.equal(r.code, 1, r.output);
    assertOneLine(
      r.stderr,
      [
        /^chat send: TLS_CERT_CHANGED: /,
        /CHANGED/,
        new RegExp(`pinned SHA-256 ${pinned}`),
        new RegExp(`now ${now}`),
      ],
      "changed certificate",
    );
    const pins = await Deno.readTextFile(`${dir}/client-state/chat/known_servers`);
    assert.ok(pins.includes(`127.0.0.1:${port} ${pinned}`), pins);
    assert.ok(!pins.includes(now), "the new certificate was not pinned");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--require-tls serves TLS clients and refuses a plaintext one at once with TLS_REQUIRED", async () => {
  await using server = await startServer(["--tls-self-signed", "--require-tls", "--ephemeral"]);
  assert.match(server.proc.stderr.lines[0], /\(TLS only, certificate SHA-256 /);
  const ok = await runChat(["send", "--port", String(server.port), "--tofu", "over TLS"]);
  assert.equal(ok.code, 0, ok.output);

  for (const args of [["send", "plaintext"], ["join", "--name", "carol"], ["tail"]]) {
    const r = await runChat([args[0], "--port", String(server.port), ...PATIENT, ...args.slice(1)]);
    assert.equal(r.code, 1, r.output);
    assertOneLine(
      r.stderr,
      [new RegExp(`^chat ${args[0]}: TLS_REQUIRED: `), /--tls/],
      `plaintext ${args[0]}`,
    );
  }
  await server.proc.stderr.next((l) => /reason=tls_required/.test(l), "the server logging the refusal");
});

Deno.test("a TLS client on a plaintext server fails at once with NOT_TLS, never waiting for its timeout", async () => {
  await using server = await startServer(["--ephemeral"]);
  for (
    const args of [["send", "--tls", "x"], ["join", "--tofu", "--name", "dave"], [
      "tail",
      "--ca",
      "/dev/null",
    ]]
  ) {
    // /dev/null is no certificate: that one is a usage error before any connection.
    const r = await runChat([args[0], "--port", String(server.port), ...PATIENT, ...args.slice(1)]);
    if (args.includes("/dev/null")) {
      assert.equal(r.code, 2, r.output);
      assertOneLine(r.stderr, [/--ca \/dev\/null holds no PEM certificate/], "tail --ca /dev/null");
      continue;
    }
    assert.equal(r.code, 1, r.output);
    assertOneLine(
      r.stderr,
      [
        new RegExp(`^chat ${args[0]}: NOT_TLS: 127\\.0\\.0\\.1:${server.port} answered in plaintext`),
        /without --tls/,
      ],
      `TLS ${args[0]}`,
    );
  }
});

Deno.test("the startup output says plainly when a network address is served without TLS, or with plaintext allowed", async () => {
  const warnings = async (flags: string[]): Promise<string[]> => {
    await using server = await startServer(["--ephemeral", ...flags]);
    server.proc.kill("SIGTERM");
    await server.proc.exit();
    // Only the transport warnings: the one about authentication is another test's business.
    return server.proc.stderr.lines.filter((l) =>
      l.startsWith("chat serve: warning:") && !l.includes("without authentication")
    );
  };
  assert.deepEqual(await warnings([]), [], "loopback without TLS is fine");
  const clear = await warnings(["--host", "0.0.0.0"]);
  assert.equal(clear.length, 1, clear.join("\n"));
  assert.match(clear[0], /^chat serve: warning: listening on 0\.0\.0\.0:\d+ without TLS: /);
  const mixed = await warnings(["--host", "0.0.0.0", "--tls-self-signed"]);
  assert.equal(mixed.length, 1, mixed.join("\n"));
  assert.match(mixed[0], /plaintext clients are accepted .* \(--require-tls refuses them\)/);
  assert.deepEqual(await warnings(["--host", "0.0.0.0", "--tls-self-signed", "--require-tls"]), []);
});

Deno.test("a client that starts a TLS handshake and stalls is closed at the handshake deadline", async () => {
  await using server = await startServer(["--tls-self-signed", "--ephemeral", "--timeout", "500"]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    // The first bytes of a ClientHello record, and then nothing.
    await conn.write(new Uint8Array([0x16, 3, 1]));
    const buf = new Uint8Array(1024);
    const closed = (async () => {
      try {
        while (await conn.read(buf) !== null) { /* whatever comes before the close */ }
      } catch { /* a reset is a close too */ }
    })();
    await withDeadline(closed, WAIT_MS, () => `waiting for the server to close\n${server.proc.describe()}`);
  } finally {
    conn.close();
  }
  await server.proc.stderr.next(
    (l) => /disconnect 127\.0\.0\.1:\d+ reason=timeout/.test(l),
    "the timeout logged",
  );
});

Deno.test("the startup output says plainly when a network address is served without authentication", async () => {
  const warnings = async (flags: string[], env: Record<string, string> = {}): Promise<string[]> => {
    await using server = await startServer(["--ephemeral", ...flags], { env });
    server.proc.kill("SIGTERM");
    await server.proc.exit();
    return server.proc.stderr.lines.filter((l) => l.includes("without authentication"));
  };
  assert.deepEqual(await warnings([]), [], "loopback is fine");
  const open = await warnings(["--host", "0.0.0.0"]);
  assert.equal(open.length, 1, open.join("\n"));
  assert.match(open[0], /^chat serve: warning: listening on 0\.0\.0\.0:\d+ without authentication: /);
  assert.deepEqual(await warnings(["--host", "0.0.0.0"], { CHAT_PASSWORD: "a-server-password" }), []);
  // Shown at --log-level warn; --log-level error or silent asks for no warnings.
  assert.equal((await warnings(["--host", "0.0.0.0", "--log-level", "warn"])).length, 1);
  assert.deepEqual(await warnings(["--host", "0.0.0.0", "--log-level", "error"]), []);
  assert.deepEqual(await warnings(["--host", "0.0.0.0", "--log-level", "silent"]), []);
});
