/**
 * The client's TLS connection: TCP, then a node:tls handshake (node:tls,
 * because it shows the peer's certificate, which Deno.connectTls does not),
 * then the trust decision. A certificate that verifies against the trust
 * roots (the default roots, or only `ca` when given) is accepted. One that
 * does not is refused, unless trust on first use is on: then its SHA-256
 * fingerprint is pinned for the server the first time, and any other
 * fingerprint later is refused. Every failure is a {@linkcode ClientError}
 * with a code, and the connect and handshake together are bounded by a
 * deadline, so a server that does not answer TLS never hangs the client.
 *
 * @module
 */

import tls from "node:tls";
import { derFingerprint, parseFingerprint } from "../net/fingerprint.ts";
import { decodeServerMessage, FrameDecoder, MAX_FRAME_CEILING } from "../protocol/mod.ts";
import { connDuplex, SocketConn, TLS_HANDSHAKE } from "../net/tls_stream.ts";
import { type ClientConn, ClientError, ClientErrorCode } from "./client.ts";
import { checkPin, type PinStore, serverKey } from "./pins.ts";

/** Codes of the TLS failures, as {@linkcode ClientError.code}. */
export const TlsErrorCode = {
  /** The certificate does not verify and trust on first use is off. */
  TLS_UNTRUSTED: "TLS_UNTRUSTED",
  /** The certificate differs from the one pinned for this server. */
  TLS_CERT_CHANGED: "TLS_CERT_CHANGED",
  /** The server answered the ClientHello in plaintext: it does not serve TLS. */
  NOT_TLS: "NOT_TLS",
  /** The handshake failed for another reason (the server hung up, no common cipher, ...). */
  TLS_FAILED: "TLS_FAILED",
} as const;

/** The first byte of a TLS alert record: a TLS server refusing the handshake. */
const TLS_ALERT = 0x15;

/** Bytes of a plaintext answer kept to explain a failed handshake (a chat ERROR frame fits). */
const ANSWER_BYTES = 4096;

export interface TlsClientOptions {
  /** PEM certificates to trust instead of the default roots. */
  ca?: string;
  /** Where trust-on-first-use pins live; without it, a certificate that does not verify is refused. */
  pins?: PinStore;
  /** Deadline for the TCP connect and the TLS handshake together. */
  timeoutMs: number;
  /** Told, once, about a certificate pinned on first use. */
  notice?: (line: string) => void;
}

/** Readable words for the verification failures people meet. */
export function describeAuthorizationError(code: string): string {
  switch (code) {
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
      return "it is self-signed";
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "UNABLE_TO_GET_ISSUER_CERT":
      return "it is not signed by a trusted authority";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return "it was issued for another name";
    case "CERT_HAS_EXPIRED":
      return "it has expired";
    case "CERT_NOT_YET_VALID":
      return "it is not valid yet";
    default:
      return code;
  }
}

/** Opens TLS connections with these options: the `connect` a {@linkcode ChatClient} takes. */
export function tlsConnector(options: TlsClientOptions): (host: string, port: number) => Promise<ClientConn> {
  return (host, port) => connectTls(host, port, options);
}

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/** Connects, completes the handshake and checks the certificate; rejects with a ClientError (or Deno's connect error). */
export async function connectTls(host: string, port: number, o: TlsClientOptions): Promise<ClientConn> {
  const server = `${host}:${port}`;
  const abort = new AbortController();
  // Set once the TLS socket exists, for the deadline and the failure paths to close.
  const opened: { conn?: SocketConn } = {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      opened.conn?.close();
      reject(
        new ClientError(ClientErrorCode.TIMEOUT, `no TLS handshake with ${server} within ${o.timeoutMs} ms`),
      );
    }, o.timeoutMs);
  });
  try {
    return await Promise.race([expired, handshake()]);
  } catch (err) {
    opened.conn?.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }

  async function handshake(): Promise<ClientConn> {
    const raw = await Deno.connect({ hostname: host, port, transport: "tcp", signal: abort.signal });
    try {
      raw.setNoDelay(true);
    } catch { /* not fatal */ }
    // The first bytes the server sent, while the handshake runs: they tell a plaintext server apart.
    let answer = new Uint8Array(0);
    let handshaking = true;
    const keep = (chunk: Uint8Array) => {
      if (!handshaking || answer.byteLength >= ANSWER_BYTES) return;
      const joined = new Uint8Array(Math.min(ANSWER_BYTES, answer.byteLength + chunk.byteLength));
      joined.set(answer);
      joined.set(chunk.subarray(0, joined.byteLength - answer.byteLength), answer.byteLength);
      answer = joined;
    };
    const socket = tls.connect({
      socket: connDuplex(raw, undefined, keep),
      // The name the certificate must carry; SNI is sent for DNS names only.
      host,
      ...(isIpAddress(host) ? {} : { servername: host }),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      // The decision is ours, below, so that a refusal can show the fingerprint.
      rejectUnauthorized: false,
    });
    const conn = opened.conn = new SocketConn(socket, raw);
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => {
        handshaking = false;
        resolve();
      });
      socket.once("error", (err: Error) => reject(handshakeError(server, err, answer)));
      socket.once("close", () => reject(handshakeError(server, null, answer)));
    });
    const peer = socket.getPeerCertificate();
    const fingerprint = peer?.raw
      ? await derFingerprint(peer.raw)
      : parseFingerprint(peer?.fingerprint256 ?? "");
    if (!fingerprint) throw new ClientError(TlsErrorCode.TLS_FAILED, `${server} sent no certificate`);
    if (socket.authorized) return conn;
    const why = describeAuthorizationError(String(socket.authorizationError));
    if (!o.pins) {
      throw new ClientError(
        TlsErrorCode.TLS_UNTRUSTED,
        `the certificate of ${server} is not trusted (${why}); its SHA-256 fingerprint is ${fingerprint}. ` +
          `If that is the fingerprint the server printed, connect with --tofu to pin it, or trust its certificate with --ca FILE`,
      );
    }
    trustOnFirstUse(o.pins, host, port, fingerprint, o.notice);
    return conn;
  }
}

/** Checks `fingerprint` against the pin for the server, pinning it if there is none; throws when it changed. */
function trustOnFirstUse(
  pins: PinStore,
  host: string,
  port: number,
  fingerprint: string,
  notice?: (line: string) => void,
): void {
  const server = `${host}:${port}`;
  const key = serverKey(host, port);
  let pinned: string | undefined;
  try {
    pinned = pins.lookup(key);
  } catch (err) {
    throw new ClientError(
      TlsErrorCode.TLS_UNTRUSTED,
      `cannot read pinned certificates from ${pins.path}: ${(err as Error).message}`,
    );
  }
  const verdict = checkPin(pinned, fingerprint);
  switch (verdict.kind) {
    case "same":
      return;
    case "first":
      try {
        pins.add(key, fingerprint);
      } catch (err) {
        throw new ClientError(
          TlsErrorCode.TLS_UNTRUSTED,
          `cannot pin the certificate of ${server} in ${pins.path}: ${(err as Error).message}`,
        );
      }
      notice?.(
        `trusting ${server} on first use: its certificate's SHA-256 fingerprint is ${fingerprint} ` +
          `(check it against the one the server printed; pinned in ${pins.path})`,
      );
      return;
    case "changed":
      throw new ClientError(
        TlsErrorCode.TLS_CERT_CHANGED,
        `REFUSED: the certificate of ${server} has CHANGED since it was pinned: pinned SHA-256 ${verdict.pinned}, ` +
          `now ${fingerprint}. Someone may be intercepting the connection, or the server has a new certificate; ` +
          `if you trust the new one, delete the line for ${key} from ${pins.path}`,
      );
    default: {
      const never: never = verdict;
      throw new TypeError(`unknown pin verdict ${(never as { kind: string }).kind}`);
    }
  }
}

/**
 * Says why a handshake failed from what the server answered: a chat ERROR
 * frame (a plaintext server refusing the connection: its code and words), any
 * other plaintext (no TLS there), or nothing or TLS (the TLS layer's reason).
 */
export function handshakeError(server: string, err: Error | null, answer: Uint8Array): ClientError {
  const first = answer.byteLength > 0 ? answer[0] : undefined;
  if (first !== undefined && first !== TLS_HANDSHAKE && first !== TLS_ALERT) {
    const refusal = chatError(answer);
    if (refusal) return new ClientError(refusal.code, `${server} refused the connection: ${refusal.message}`);
    return new ClientError(
      TlsErrorCode.NOT_TLS,
      `${server} answered in plaintext, not TLS: it does not serve TLS (connect without --tls, or enable TLS on the server)`,
    );
  }
  if (first === undefined) {
    return new ClientError(
      TlsErrorCode.TLS_FAILED,
      `${server} closed the connection during the TLS handshake`,
    );
  }
  return new ClientError(
    TlsErrorCode.TLS_FAILED,
    `TLS handshake with ${server} failed: ${err?.message ?? "the server closed the connection"}`,
  );
}

/** The ERROR frame at the start of `bytes`, if they start with one. */
function chatError(bytes: Uint8Array): { code: string; message: string } | null {
  try {
    const [frame] = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING }).push(bytes);
    const msg = frame ? decodeServerMessage(frame) : null;
    return msg?.type === "error" ? { code: msg.code, message: msg.message } : null;
  } catch {
    return null;
  }
}
