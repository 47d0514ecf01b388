import assert from "node:assert/strict";
import { type Resolved, UsageError } from "../../src/cli/options.ts";
import {
  checkServeTlsFlags,
  clientTls,
  isLoopback,
  SELF_SIGNED_CERT_FILE,
  SELF_SIGNED_KEY_FILE,
  selfSignedDir,
  serveTls,
  tlsSummary,
  transportWarnings,
} from "../../src/cli/tls.ts";
import { leafFingerprint } from "../../src/net/fingerprint.ts";
import { testCert } from "../_helpers/tls.ts";

const quiet = { info() {} };
const io = (env: Record<string, string> = {}) => ({ env, readTextFile: (p: string) => Deno.readTextFile(p) });

Deno.test("isLoopback() is true only for addresses no other machine can reach", () => {
  for (
    const host of ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]", "::ffff:127.0.0.1"]
  ) {
    assert.ok(isLoopback(host), host);
  }
  for (const host of ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "chat.example.org", "128.0.0.1", "::2"]) {
    assert.ok(!isLoopback(host), host);
  }
});

Deno.test("checkServeTlsFlags() wants a certificate and key together, one source, and TLS for --require-tls", () => {
  const table: Array<[Resolved, RegExp | null]> = [
    [{}, null],
    [{ tlsCert: "c", tlsKey: "k" }, null],
    [{ tlsSelfSigned: true, requireTls: true }, null],
    [{ tlsCert: "c" }, /--tls-cert needs --tls-key/],
    [{ tlsKey: "k" }, /--tls-key needs --tls-cert/],
    [{ tlsCert: "c", tlsKey: "k", tlsSelfSigned: true }, /cannot be combined/],
    [{ requireTls: true }, /--require-tls needs a certificate/],
  ];
  for (const [o, error] of table) {
    if (error) {
      assert.throws(
        () => checkServeTlsFlags(o),
        (e: Error) => e instanceof UsageError && error.test(e.message),
      );
    } else checkServeTlsFlags(o);
  }
});

Deno.test("the startup words: the fingerprint when TLS is on, and a warning for plaintext on a network address", async () => {
  const { cert, key, fingerprint } = await testCert();
  const setup = await serveTls({ tlsCert: "c", tlsKey: "k" }, {
    env: {},
    readTextFile: (p) => Promise.resolve(p === "c" ? cert : key),
  }, quiet);
  assert.ok(!(setup instanceof Error));
  const acceptor = setup.acceptor!;
  assert.equal(tlsSummary(acceptor), `TLS or plaintext, certificate SHA-256 ${fingerprint}`);
  assert.equal(tlsSummary(undefined), undefined);
  assert.deepEqual(transportWarnings("127.0.0.1", 3000, undefined), []);
  assert.deepEqual(transportWarnings("127.0.0.1", 3000, acceptor), []);
  const [clear] = transportWarnings("0.0.0.0", 3000, undefined);
  assert.match(clear, /^listening on 0\.0\.0\.0:3000 without TLS: .*--tls-self-signed/);
  const [mixed] = transportWarnings("192.0.2.1", 3000, acceptor);
  assert.match(mixed, /plaintext clients are accepted .* \(--require-tls refuses them\)/);
});

Deno.test("selfSignedDir() is the server's data dir, or its state dir when --ephemeral", () => {
  const env = { HOME: "/home/u" };
  assert.equal(selfSignedDir({}, env), "/home/u/.local/share/chat/server");
  assert.equal(selfSignedDir({ dataDir: "/srv/chat" }, env), "/srv/chat");
  assert.equal(selfSignedDir({ ephemeral: true }, env), "/home/u/.local/state/chat/server");
  assert.equal(selfSignedDir({ ephemeral: true }, { XDG_STATE_HOME: "/state" }), "/state/chat/server");
  assert.equal(selfSignedDir({}, {}), undefined);
});

Deno.test("serveTls() with --tls-self-signed makes the certificate once (key mode 0600) and reuses it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-tls-cli-" });
  try {
    const o = { tlsSelfSigned: true, dataDir: `${dir}/server`, host: "0.0.0.0" };
    const first = await serveTls(o, io(), quiet);
    assert.ok(!(first instanceof Error), String(first));
    assert.match(first.notes.join("\n"), /generated a self-signed certificate/);
    assert.deepEqual(first.warnings, []);
    const cert = await Deno.readTextFile(`${dir}/server/${SELF_SIGNED_CERT_FILE}`);
    assert.equal(first.acceptor!.fingerprint, await leafFingerprint(cert));
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(`${dir}/server/${SELF_SIGNED_KEY_FILE}`)).mode! & 0o777, 0o600);
    }
    const again = await serveTls(o, io(), quiet);
    assert.ok(!(again instanceof Error));
    assert.equal(
      again.acceptor!.fingerprint,
      first.acceptor!.fingerprint,
      "the same certificate after a restart",
    );
    assert.deepEqual(again.notes, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveTls() refuses a key that is not the certificate's, and warns about a key others can read", async () => {
  const a = await testCert();
  const b = await testCert("other");
  const dir = await Deno.makeTempDir({ prefix: "chat-tls-cli-" });
  try {
    await Deno.writeTextFile(`${dir}/cert.pem`, a.cert);
    await Deno.writeTextFile(`${dir}/key.pem`, b.key, { mode: 0o600 });
    const mismatch = await serveTls({ tlsCert: `${dir}/cert.pem`, tlsKey: `${dir}/key.pem` }, io(), quiet);
    assert.ok(mismatch instanceof Error);
    assert.match(mismatch.message, /not a usable certificate and key/);

    const missing = await serveTls({ tlsCert: `${dir}/nope.pem`, tlsKey: `${dir}/key.pem` }, io(), quiet);
    assert.ok(missing instanceof Error);
    assert.match(missing.message, /^cannot read --tls-cert .*nope\.pem/);

    if (Deno.build.os !== "windows") {
      await Deno.writeTextFile(`${dir}/key.pem`, a.key);
      await Deno.chmod(`${dir}/key.pem`, 0o644);
      const loose = await serveTls({ tlsCert: `${dir}/cert.pem`, tlsKey: `${dir}/key.pem` }, io(), quiet);
      assert.ok(!(loose instanceof Error), String(loose));
      assert.match(
        loose.warnings.join("\n"),
        /key\.pem can be read by other users \(mode 0644\): chmod 600 it/,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("clientTls(): nothing without TLS flags; --ca must hold a certificate; --tofu needs a state dir", async () => {
  assert.deepEqual(await clientTls({ timeout: 5000 }, io(), () => {}), {});
  const { connect } = await clientTls({ tls: true, timeout: 5000 }, io(), () => {});
  assert.equal(typeof connect, "function");
  assert.equal(
    typeof (await clientTls({ tofu: true, timeout: 5000 }, io({ HOME: "/h" }), () => {})).connect,
    "function",
  );
  await assert.rejects(
    clientTls({ tofu: true, timeout: 5000 }, io(), () => {}),
    (e: Error) => e instanceof UsageError && /--tofu needs a state directory/.test(e.message),
  );
  await assert.rejects(
    clientTls({ tlsCa: "/nonexistent/ca.pem", timeout: 5000 }, io(), () => {}),
    (e: Error) => e instanceof UsageError && /^cannot read --ca \/nonexistent\/ca\.pem/.test(e.message),
  );
  const notPem = { env: {}, readTextFile: () => Promise.resolve("not a certificate") };
  await assert.rejects(
    clientTls({ tlsCa: "ca.pem", timeout: 5000 }, notPem, () => {}),
    (e: Error) => e instanceof UsageError && /holds no PEM certificate/.test(e.message),
  );
});
