import assert from "node:assert/strict";
import tls from "node:tls";
import { WAIT_MS, withDeadline } from "../_helpers/deadline.ts";
import { echoServer, roundTrip, testCert } from "../_helpers/tls.ts";
import { connDuplex, SocketConn, TLS_HANDSHAKE } from "../../src/net/tls_stream.ts";

/** A verified TLS connection to the echo server, as a StreamConn. */
async function tlsClient(port: number, ca: string): Promise<SocketConn> {
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  const socket = tls.connect({ socket: connDuplex(raw), host: "127.0.0.1", ca });
  const conn = new SocketConn(socket, raw);
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  return conn;
}

Deno.test("TlsAcceptor serves a plaintext client unchanged, as plaintext", async () => {
  await using server = await echoServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    // A chat frame starts with a 0 byte; anything but 0x16 is plaintext.
    assert.equal(await roundTrip(conn, "\x00plain bytes"), "\x00plain bytes");
    assert.equal(server.conns.length, 1);
    assert.equal(server.conns[0].secure, false);
  } finally {
    conn.close();
  }
});

Deno.test("TlsAcceptor serves a client that opens with a ClientHello over TLS, on the same port", async () => {
  const { cert } = await testCert();
  await using server = await echoServer();
  const conn = await tlsClient(server.port, cert);
  try {
    assert.equal(await roundTrip(conn, "over tls"), "over tls");
    assert.equal(server.conns[0].secure, true);
    // Larger than a TLS record and the read buffer: arrives whole, in order.
    const big = "x".repeat(100_000) + "end";
    assert.equal(await roundTrip(conn, big), big);
  } finally {
    conn.close();
  }
});

Deno.test("a TLS stream closed by the server ends cleanly for the client (close_notify, then EOF)", async () => {
  const { cert } = await testCert();
  await using server = await echoServer();
  const conn = await tlsClient(server.port, cert);
  try {
    assert.equal(await roundTrip(conn, "hi"), "hi");
    server.conns[0].close();
    const n = await withDeadline(
      conn.read(new Uint8Array(16)),
      WAIT_MS,
      () => "waiting for the end of stream",
    );
    assert.equal(n, null);
  } finally {
    conn.close();
  }
});

Deno.test("a failed TLS handshake is reported once and reads as the end of the connection", async () => {
  await using server = await echoServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    // A handshake record header followed by garbage: not a ClientHello.
    await conn.write(new Uint8Array([TLS_HANDSHAKE, 3, 1, 0, 4, 0xde, 0xad, 0xbe, 0xef]));
    const buf = new Uint8Array(64);
    // The server may answer with an alert before it closes; it never echoes.
    for (;;) {
      const n = await withDeadline(conn.read(buf), WAIT_MS, () => "waiting for the server to close");
      if (n === null) break;
      assert.equal(buf[0], 0x15, "only a TLS alert may come back");
    }
    assert.equal(server.handshakeErrors.length, 1, server.handshakeErrors.join("\n"));
  } finally {
    conn.close();
  }
});
