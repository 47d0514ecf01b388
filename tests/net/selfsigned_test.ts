import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { leafFingerprint, pemBlocks } from "../../src/net/fingerprint.ts";
import { certificateNames, generateSelfSigned } from "../../src/net/selfsigned.ts";

Deno.test("certificateNames() names loopback, plus the listen address when it is one machine", () => {
  assert.deepEqual(certificateNames(), ["localhost", "127.0.0.1", "::1"]);
  assert.deepEqual(certificateNames("0.0.0.0"), ["localhost", "127.0.0.1", "::1"]);
  assert.deepEqual(certificateNames("::"), ["localhost", "127.0.0.1", "::1"]);
  assert.deepEqual(certificateNames("127.0.0.1"), ["localhost", "127.0.0.1", "::1"]);
  assert.deepEqual(certificateNames("chat.example.org"), [
    "localhost",
    "127.0.0.1",
    "::1",
    "chat.example.org",
  ]);
  assert.deepEqual(certificateNames("192.0.2.7"), ["localhost", "127.0.0.1", "::1", "192.0.2.7"]);
});

Deno.test("generateSelfSigned() makes a PEM certificate and PKCS#8 key, new each time", async () => {
  const a = await generateSelfSigned(certificateNames());
  const b = await generateSelfSigned(certificateNames());
  assert.equal(pemBlocks(a.cert, "CERTIFICATE").length, 1);
  assert.equal(pemBlocks(a.key, "PRIVATE KEY").length, 1);
  assert.notEqual(await leafFingerprint(a.cert), await leafFingerprint(b.cert));
});

Deno.test("a generated certificate serves TLS and verifies, as its own CA, for each of its names and no other CA", async () => {
  const { cert, key } = await generateSelfSigned(certificateNames("192.0.2.7"));
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const port = (listener.addr as Deno.NetAddr).port;
  const serving = (async () => {
    for await (const conn of listener) {
      await conn.write(new TextEncoder().encode("ok")).catch(() => 0);
      conn.close();
    }
  })();
  try {
    // Deno.connectTls is rustls with webpki: the strict path a client with --ca takes.
    for (const hostname of ["localhost", "127.0.0.1"]) {
      const conn = await Deno.connectTls({ hostname, port, caCerts: [cert] });
      const buf = new Uint8Array(2);
      assert.equal(await conn.read(buf), 2, hostname);
      conn.close();
    }
    // Another certificate as the CA does not vouch for it.
    const other = await generateSelfSigned(["elsewhere.example"]);
    await assert.rejects(async () => {
      const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [other.cert] });
      try {
        await conn.handshake();
      } finally {
        conn.close();
      }
    });
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});

Deno.test("a generated certificate holds what a TLS server certificate needs, as an independent parser reads it", async () => {
  const before = Date.now();
  const { cert } = await generateSelfSigned(certificateNames("fe80::1:2"), 30);
  const x = new X509Certificate(cert);
  assert.equal(x.subject, "CN=chat self-signed");
  assert.equal(x.issuer, "CN=chat self-signed");
  assert.equal(x.subjectAltName, "DNS:localhost, IP Address:127.0.0.1, IP Address:::1, IP Address:fe80::1:2");
  assert.equal(x.ca, false);
  assert.deepEqual(x.keyUsage, ["DigitalSignature"]);
  assert.ok(x.verify(x.publicKey), "signed by its own key");
  const from = Date.parse(x.validFrom);
  const to = Date.parse(x.validTo);
  // Backdated a day, valid `days` after now; the text form has whole seconds.
  assert.ok(Math.abs(from - (before - 24 * 3600 * 1000)) < 60_000, x.validFrom);
  assert.ok(Math.abs(to - (before + 30 * 24 * 3600 * 1000)) < 60_000, x.validTo);
  assert.match(x.serialNumber, /^[0-9A-F]+$/);
});
