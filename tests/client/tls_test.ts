import assert from "node:assert/strict";
import { ClientError } from "../../src/client/client.ts";
import type { PinStore } from "../../src/client/pins.ts";
import {
  connectTls,
  describeAuthorizationError,
  handshakeError,
  TlsErrorCode,
} from "../../src/client/tls.ts";
import { encodeMessage, ErrorCode } from "../../src/protocol/mod.ts";
import { echoServer, roundTrip, testCert } from "../_helpers/tls.ts";

/** Pins in memory, recording what was added. */
function memoryPins(initial: Record<string, string> = {}): PinStore & { added: string[] } {
  const pins = new Map(Object.entries(initial));
  const added: string[] = [];
  return {
    path: "/pins/known_servers",
    added,
    lookup: (key) => pins.get(key),
    add(key, fp) {
      added.push(`${key} ${fp}`);
      pins.set(key, fp);
    },
  };
}

function isClientError(code: string, ...patterns: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof ClientError, String(err));
    assert.equal(err.code, code, err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

Deno.test("describeAuthorizationError() puts the common verification failures in words", () => {
  assert.equal(describeAuthorizationError("DEPTH_ZERO_SELF_SIGNED_CERT"), "it is self-signed");
  assert.equal(describeAuthorizationError("ERR_TLS_CERT_ALTNAME_INVALID"), "it was issued for another name");
  assert.equal(describeAuthorizationError("CERT_HAS_EXPIRED"), "it has expired");
  assert.equal(describeAuthorizationError("SOMETHING_NEW"), "SOMETHING_NEW");
});

Deno.test("handshakeError() tells a plaintext server, a chat refusal, a hang-up and a TLS failure apart", () => {
  const text = new TextEncoder().encode("This port speaks the chat binary protocol v1\r\n");
  assert.equal(handshakeError("h:1", null, text).code, TlsErrorCode.NOT_TLS);
  const refusal = encodeMessage({
    type: "error",
    fatal: true,
    code: ErrorCode.TOO_MANY_CONNECTIONS,
    ref: 0,
    message: "too many connections from 127.0.0.1 (limit 20)",
  });
  const refused = handshakeError("h:1", null, refusal);
  assert.equal(refused.code, ErrorCode.TOO_MANY_CONNECTIONS);
  assert.match(refused.message, /^h:1 refused the connection: too many connections/);
  assert.equal(handshakeError("h:1", null, new Uint8Array(0)).code, TlsErrorCode.TLS_FAILED);
  const alert = handshakeError(
    "h:1",
    new Error("received fatal alert: HandshakeFailure"),
    new Uint8Array([0x15, 3, 3]),
  );
  assert.equal(alert.code, TlsErrorCode.TLS_FAILED);
  assert.match(alert.message, /HandshakeFailure/);
});

Deno.test("connectTls() refuses a certificate that does not verify, showing its fingerprint", async () => {
  const { fingerprint } = await testCert();
  await using server = await echoServer();
  await assert.rejects(
    connectTls("127.0.0.1", server.port, { timeoutMs: 5000 }),
    isClientError(TlsErrorCode.TLS_UNTRUSTED, /self-signed/, new RegExp(fingerprint), /--tofu/, /--ca FILE/),
  );
});

Deno.test("connectTls() with the server's certificate as the CA verifies it, and the stream works", async () => {
  const { cert } = await testCert();
  await using server = await echoServer();
  const conn = await connectTls("127.0.0.1", server.port, { timeoutMs: 5000, ca: cert });
  try {
    assert.equal(await roundTrip(conn, "verified"), "verified");
    assert.equal(server.conns[0].secure, true);
  } finally {
    conn.close();
  }
  // Another certificate as the only CA does not vouch for it.
  const other = await testCert("other");
  await assert.rejects(
    connectTls("127.0.0.1", server.port, { timeoutMs: 5000, ca: other.cert }),
    isClientError(TlsErrorCode.TLS_UNTRUSTED, /not signed by a trusted authority/),
  );
});

Deno.test("connectTls() with pins: the first use pins and says so, the same certificate passes quietly", async () => {
  const { fingerprint } = await testCert();
  await using server = await echoServer();
  const pins = memoryPins();
  const notices: string[] = [];
  const options = { timeoutMs: 5000, pins, notice: (l: string) => notices.push(l) };
  for (const text of ["first", "second"]) {
    const conn = await connectTls("127.0.0.1", server.port, options);
    try {
      assert.equal(await roundTrip(conn, text), text);
    } finally {
      conn.close();
    }
  }
  assert.deepEqual(pins.added, [`127.0.0.1:${server.port} ${fingerprint}`]);
  assert.equal(notices.length, 1, notices.join("\n"));
  assert.match(
    notices[0],
    new RegExp(`trusting 127\\.0\\.0\\.1:${server.port} on first use: .*${fingerprint}`),
  );
  assert.match(notices[0], /\/pins\/known_servers/);
});

Deno.test("connectTls() with pins refuses a changed certificate, naming both fingerprints and the pin file", async () => {
  const { fingerprint } = await testCert();
  await using server = await echoServer();
  const old = "AB:".repeat(31) + "AB";
  const pins = memoryPins({ [`127.0.0.1:${server.port}`]: old });
  await assert.rejects(
    connectTls("127.0.0.1", server.port, { timeoutMs: 5000, pins }),
    isClientError(
      TlsErrorCode.TLS_CERT_CHANGED,
      new RegExp(old),
      new RegExp(fingerprint),
      /\/pins\/known_servers/,
    ),
  );
  assert.deepEqual(pins.added, [], "a changed certificate is never pinned over the old one");
  // The pin is per port: the same host on another port is a first use.
  const elsewhere = memoryPins({ [`127.0.0.1:${server.port + 1}`]: old });
  (await connectTls("127.0.0.1", server.port, { timeoutMs: 5000, pins: elsewhere })).close();
  assert.equal(elsewhere.added.length, 1);
});

Deno.test("connectTls() to a plaintext server fails at once with NOT_TLS", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(1024));
      await conn.write(new TextEncoder().encode("This port speaks the chat binary protocol v1\r\n"));
      conn.close();
    }
  })();
  try {
    await assert.rejects(
      connectTls("127.0.0.1", (listener.addr as Deno.NetAddr).port, { timeoutMs: 60_000 }),
      isClientError(TlsErrorCode.NOT_TLS, /answered in plaintext/, /without --tls/),
    );
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});

Deno.test("connectTls() gives up on a server that never answers the handshake after the deadline", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const start = Date.now();
    await assert.rejects(
      connectTls("127.0.0.1", (listener.addr as Deno.NetAddr).port, { timeoutMs: 300 }),
      isClientError("TIMEOUT", /no TLS handshake .* within 300 ms/),
    );
    assert.ok(Date.now() - start < 5000, `took ${Date.now() - start} ms`);
  } finally {
    listener.close();
    for (const c of held) c.close();
    await serving.catch(() => {});
  }
});

Deno.test("connectTls() passes Deno's own connection errors through (refused, for the client to word)", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(connectTls("127.0.0.1", port, { timeoutMs: 5000 }), Deno.errors.ConnectionRefused);
});
