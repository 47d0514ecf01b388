/**
 * TLS fixtures for integration tests: self-signed certificates (made once per
 * test process, they take a few milliseconds each) and a loopback echo
 * server that serves TLS and plaintext on one port, as `chat serve` does.
 *
 * @module
 */

import { leafFingerprint } from "../../src/net/fingerprint.ts";
import { certificateNames, generateSelfSigned } from "../../src/net/selfsigned.ts";
import { type SniffedConn, TlsAcceptor } from "../../src/net/tls_server.ts";

export interface TestCert {
  cert: string;
  key: string;
  fingerprint: string;
}

const made = new Map<string, Promise<TestCert>>();

/** A self-signed certificate for localhost and 127.0.0.1; the same one for the same `label`. */
export function testCert(label = "default"): Promise<TestCert> {
  let cert = made.get(label);
  if (!cert) {
    cert = generateSelfSigned(certificateNames()).then(async (pair) => ({
      ...pair,
      fingerprint: await leafFingerprint(pair.cert),
    }));
    made.set(label, cert);
  }
  return cert;
}

/** A running echo server: what it accepted, and how to stop it. */
export interface EchoServer extends AsyncDisposable {
  readonly port: number;
  /** Every connection accepted, as the server saw it. */
  readonly conns: SniffedConn[];
  /** Handshake failures the acceptor reported. */
  readonly handshakeErrors: string[];
}

/** Echoes every byte back, over TLS or plaintext (whichever the client opens with). */
export async function echoServer(options: { required?: boolean; label?: string } = {}): Promise<EchoServer> {
  const { cert, key, fingerprint } = await testCert(options.label);
  const handshakeErrors: string[] = [];
  const acceptor = new TlsAcceptor({
    cert,
    key,
    fingerprint,
    required: options.required ?? false,
    onHandshakeError: (_peer, err) => handshakeErrors.push(err.message),
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: SniffedConn[] = [];
  const serving: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const raw of listener) {
      const conn = acceptor.wrap(raw);
      conns.push(conn);
      serving.push(echo(conn));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    conns,
    handshakeErrors,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting.catch(() => {});
      for (const c of conns) {
        try {
          c.close();
        } catch { /* the echo closed it already */ }
      }
      await Promise.all(serving);
    },
  };
}

async function echo(conn: SniffedConn): Promise<void> {
  const buf = new Uint8Array(4096);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // Closed by the test, or the client went away: either ends the echo.
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** Writes `text` and reads until as many bytes came back. */
export async function roundTrip(
  conn: { read(b: Uint8Array): Promise<number | null>; write(b: Uint8Array): Promise<number> },
  text: string,
): Promise<string> {
  const out = new TextEncoder().encode(text);
  let off = 0;
  while (off < out.byteLength) off += await conn.write(out.subarray(off));
  const back = new Uint8Array(out.byteLength);
  let got = 0;
  while (got < back.byteLength) {
    const n = await conn.read(back.subarray(got));
    if (n === null) throw new Error(`the echo ended after ${got} of ${back.byteLength} bytes`);
    got += n;
  }
  return new TextDecoder().decode(back);
}
