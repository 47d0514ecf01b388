/**
 * TLS on the server's one port. Every connection is accepted as plain TCP and
 * its first byte decides: 0x16 opens a TLS ClientHello, so the connection is
 * served over TLS (node:tls on top of the Deno connection); anything else is
 * the plaintext protocol, whose frames can never start with 0x16 (that would
 * be a frame length past 350 MiB). Whether plaintext is then allowed is the
 * server's call ({@linkcode TlsAcceptor.required}).
 *
 * @module
 */

import tls from "node:tls";
import { connDuplex, SocketConn, type StreamConn, TLS_HANDSHAKE } from "./tls_stream.ts";

/** A connection whose transport is decided by its first byte; `secure` says which it became. */
export interface SniffedConn extends StreamConn {
  /** True once the peer opened with a TLS handshake; false while undecided and for plaintext. */
  readonly secure: boolean;
}

export interface TlsAcceptorOptions {
  /** PEM certificate chain, leaf first. */
  cert: string;
  /** PEM private key of the leaf. */
  key: string;
  /** SHA-256 fingerprint of the leaf, shown at startup. */
  fingerprint: string;
  /** Refuse clients that do not start TLS. */
  required: boolean;
  /** Told about a TLS handshake that failed (the peer distrusts our certificate, speaks garbage, ...). */
  onHandshakeError?: (peer: string, err: Error) => void;
}

export class TlsAcceptor {
  readonly fingerprint: string;
  readonly required: boolean;
  readonly #context: tls.SecureContext;
  readonly #onHandshakeError: (peer: string, err: Error) => void;

  constructor(options: TlsAcceptorOptions) {
    this.fingerprint = options.fingerprint;
    this.required = options.required;
    this.#context = tls.createSecureContext({ cert: options.cert, key: options.key });
    this.#onHandshakeError = options.onHandshakeError ?? (() => {});
  }

  /** Wraps an accepted connection: its first read decides between TLS and plaintext. */
  wrap(conn: Deno.Conn): SniffedConn {
    return new Sniffer(conn, this.#context, this.#onHandshakeError);
  }
}

class Sniffer implements SniffedConn {
  secure = false;
  readonly #raw: Deno.Conn;
  readonly #context: tls.SecureContext;
  readonly #onHandshakeError: (peer: string, err: Error) => void;
  #stream: StreamConn;
  #decided = false;
  #handshaken = false;

  constructor(
    raw: Deno.Conn,
    context: tls.SecureContext,
    onHandshakeError: (peer: string, err: Error) => void,
  ) {
    this.#raw = raw;
    this.#stream = raw;
    this.#context = context;
    this.#onHandshakeError = onHandshakeError;
  }

  async read(buf: Uint8Array): Promise<number | null> {
    if (this.#decided) return await this.#readTls(buf);
    const n = await this.#raw.read(buf);
    if (n === null || n === 0) return n;
    this.#decided = true;
    if (buf[0] !== TLS_HANDSHAKE) return n;
    this.secure = true;
    const socket = new tls.TLSSocket(connDuplex(this.#raw, buf.slice(0, n)), {
      isServer: true,
      secureContext: this.#context,
    });
    // Started at once, as node:tls's own server does: otherwise a ClientHello that fails at once (already
    // buffered above) destroys the socket before its deferred start, which then throws uncaught.
    (socket as unknown as { _start(): void })._start();
    socket.once("secure", () => this.#handshaken = true);
    this.#stream = new SocketConn(socket, this.#raw);
    return await this.#readTls(buf);
  }

  /** Reads the decided stream; a failed TLS handshake is reported once and reads as a clean end. */
  async #readTls(buf: Uint8Array): Promise<number | null> {
    try {
      return await this.#stream.read(buf);
    } catch (err) {
      if (!this.secure || this.#handshaken || !(this.#stream instanceof SocketConn)) throw err;
      if (this.#stream.error !== err) throw err;
      const remote = this.#raw.remoteAddr as Deno.NetAddr;
      this.#onHandshakeError(`${remote.hostname}:${remote.port}`, err as Error);
      return null;
    }
  }

  write(bytes: Uint8Array): Promise<number> {
    return this.#stream.write(bytes);
  }

  /** Closes the plaintext connection, or says goodbye over TLS first (SocketConn closes the raw one). */
  close(): void {
    this.#stream.close();
  }
}
