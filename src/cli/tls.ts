/**
 * TLS settings from the command line. For `chat serve`: the certificate and
 * key (given, or self-signed and kept in the data dir), whether plaintext is
 * refused, the words of the startup line and the warnings about listening
 * in the clear. For the clients: the `connect` that opens TLS connections
 * (default roots, --ca, or trust on first use with pins in the state dir).
 *
 * @module
 */

import type { ClientConn } from "../client/client.ts";
import { PinFile } from "../client/pins.ts";
import { tlsConnector } from "../client/tls.ts";
import { leafFingerprint, pemBlocks } from "../net/fingerprint.ts";
import type { Logger } from "../net/log.ts";
import { certificateNames, generateSelfSigned } from "../net/selfsigned.ts";
import { TlsAcceptor } from "../net/tls_server.ts";
import type { Resolved } from "./options.ts";
import { UsageError } from "./options.ts";
import { dataDir, type Env, stateDir } from "./paths.ts";

/** File names of a self-signed certificate and its key inside the server's directory. */
export const SELF_SIGNED_CERT_FILE = "tls-cert.pem";
export const SELF_SIGNED_KEY_FILE = "tls-key.pem";

/** The file (in the client's state dir) where trust-on-first-use pins live. */
export const PIN_FILE = "known_servers";

/** True for an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return h === "localhost" || h === "::1" || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(h);
}

/** Checks that the serve TLS flags make sense together; throws UsageError otherwise. */
export function checkServeTlsFlags(o: Resolved): void {
  const cert = o.tlsCert as string | undefined;
  const key = o.tlsKey as string | undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError(
      `${cert === undefined ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key"}`,
    );
  }
  if (o.tlsSelfSigned && cert !== undefined) {
    throw new UsageError("--tls-self-signed cannot be combined with --tls-cert and --tls-key");
  }
  if (o.requireTls && cert === undefined && !o.tlsSelfSigned) {
    throw new UsageError("--require-tls needs a certificate: --tls-cert and --tls-key, or --tls-self-signed");
  }
}

/** What `chat serve` says about TLS and plaintext at startup. */
export interface ServeTlsSetup {
  /** Absent when TLS is off. */
  acceptor?: TlsAcceptor;
  /** Warnings for stderr, one line each. */
  warnings: string[];
  /** Said once, e.g. that a certificate was generated. */
  notes: string[];
}

/** The part of the startup line about transport: "TLS only, certificate SHA-256 AB:..." or nothing. */
export function tlsSummary(acceptor: TlsAcceptor | undefined): string | undefined {
  if (!acceptor) return undefined;
  return `${
    acceptor.required ? "TLS only" : "TLS or plaintext"
  }, certificate SHA-256 ${acceptor.fingerprint}`;
}

/** The warnings a server listening on `host` deserves for its transport. */
export function transportWarnings(host: string, port: number, acceptor: TlsAcceptor | undefined): string[] {
  if (isLoopback(host)) return [];
  if (!acceptor) {
    return [
      `listening on ${host}:${port} without TLS: anyone on the network path can read and change the chat, ` +
      `passwords included (use --tls-cert and --tls-key, or --tls-self-signed)`,
    ];
  }
  if (!acceptor.required) {
    return [
      `plaintext clients are accepted on ${host}:${port} as well as TLS ones (--require-tls refuses them)`,
    ];
  }
  return [];
}

/** Where a self-signed certificate is kept: the data dir, or the state dir with --ephemeral. */
export function selfSignedDir(o: Resolved, env: Env): string | undefined {
  if (o.ephemeral) {
    const state = stateDir(env);
    return state && `${state}/server`;
  }
  const base = dataDir(env);
  return (o.dataDir as string | undefined) ?? (base && `${base}/server`);
}

/**
 * Sets TLS up for `chat serve`: reads (or on first use generates) the
 * certificate and key, and checks that they belong together. Returns an
 * Error to report when a file cannot be read or written or is not usable.
 */
export async function serveTls(
  o: Resolved,
  io: { env: Env; readTextFile(path: string): Promise<string> },
  logger: Pick<Logger, "info">,
): Promise<ServeTlsSetup | Error> {
  checkServeTlsFlags(o);
  const setup: ServeTlsSetup = { warnings: [], notes: [] };
  let cert: string;
  let key: string;
  let keyPath: string;
  if (o.tlsSelfSigned) {
    const dir = selfSignedDir(o, io.env);
    if (!dir) return new Error("no directory for the self-signed certificate: set --data-dir, or HOME");
    keyPath = `${dir}/${SELF_SIGNED_KEY_FILE}`;
    const kept = await loadOrCreateSelfSigned(dir, o.host as string);
    if (kept instanceof Error) return kept;
    ({ cert, key } = kept);
    if (kept.created) {
      setup.notes.push(`generated a self-signed certificate in ${dir}/${SELF_SIGNED_CERT_FILE}`);
    }
  } else if (o.tlsCert !== undefined) {
    keyPath = o.tlsKey as string;
    try {
      cert = await io.readTextFile(o.tlsCert as string);
    } catch (err) {
      return new Error(`cannot read --tls-cert ${o.tlsCert}: ${(err as Error).message}`);
    }
    try {
      key = await io.readTextFile(keyPath);
    } catch (err) {
      return new Error(`cannot read --tls-key ${keyPath}: ${(err as Error).message}`);
    }
  } else {
    return setup;
  }
  const usable = checkKeyPair(cert, key);
  if (usable) {
    return new Error(
      `${o.tlsSelfSigned ? `the certificate in ${keyPath}` : "--tls-cert/--tls-key"}: ${usable}`,
    );
  }
  const loose = looseKeyMode(keyPath);
  if (loose !== null) {
    setup.warnings.push(
      `${keyPath} can be read by other users (mode ${loose.toString(8).padStart(4, "0")}): chmod 600 it`,
    );
  }
  setup.acceptor = new TlsAcceptor({
    cert,
    key,
    fingerprint: await leafFingerprint(cert),
    required: o.requireTls as boolean,
    onHandshakeError: (peer, err) => logger.info(`TLS handshake with ${peer} failed: ${err.message}`),
  });
  return setup;
}

/** Null when `cert` and `key` make a usable pair, else what is wrong with them. */
function checkKeyPair(cert: string, key: string): string | null {
  if (pemBlocks(cert, "CERTIFICATE").length === 0) return "no PEM certificate (-----BEGIN CERTIFICATE-----)";
  // rustls is what serves TLS in the end: let it judge the pair (a key of another certificate, garbage).
  try {
    Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key }).close();
    return null;
  } catch (err) {
    return `not a usable certificate and key: ${(err as Error).message}`;
  }
}

/** The permission bits of the key file when others may read it, else null (also where modes do not exist). */
function looseKeyMode(path: string): number | null {
  try {
    const mode = Deno.statSync(path).mode;
    return mode !== null && (mode & 0o077) !== 0 ? mode & 0o777 : null;
  } catch {
    return null;
  }
}

/** Reads the self-signed certificate kept in `dir`, or makes one (key mode 0600) the first time. */
async function loadOrCreateSelfSigned(
  dir: string,
  host: string,
): Promise<{ cert: string; key: string; created: boolean } | Error> {
  const certPath = `${dir}/${SELF_SIGNED_CERT_FILE}`;
  const keyPath = `${dir}/${SELF_SIGNED_KEY_FILE}`;
  try {
    return { cert: Deno.readTextFileSync(certPath), key: Deno.readTextFileSync(keyPath), created: false };
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      return new Error(`cannot read the self-signed certificate in ${dir}: ${(err as Error).message}`);
    }
  }
  try {
    const made = await generateSelfSigned(certificateNames(host));
    Deno.mkdirSync(dir, { recursive: true });
    // The key first and the certificate last: a certificate on disk means its key is there too.
    writeAtomic(keyPath, made.key, 0o600);
    writeAtomic(certPath, made.cert, 0o644);
    return { ...made, created: true };
  } catch (err) {
    return new Error(`cannot make a self-signed certificate in ${dir}: ${(err as Error).message}`);
  }
}

/** Writes `text` to a temporary file with `mode` and renames it over `path`. */
function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, text, { mode });
  Deno.chmodSync(tmp, mode);
  Deno.renameSync(tmp, path);
}

/** The ChatClient options TLS asks for: a `connect` when --tls, --ca or --tofu is given, else nothing. */
export async function clientTls(
  o: Resolved,
  io: { env: Env; readTextFile(path: string): Promise<string> },
  notice: (line: string) => void,
): Promise<{ connect?: (host: string, port: number) => Promise<ClientConn> }> {
  const caPath = o.tlsCa as string | undefined;
  if (!o.tls && !o.tofu && caPath === undefined) return {};
  let ca: string | undefined;
  if (caPath !== undefined) {
    try {
      ca = await io.readTextFile(caPath);
    } catch (err) {
      throw new UsageError(`cannot read --ca ${caPath}: ${(err as Error).message}`);
    }
    if (pemBlocks(ca, "CERTIFICATE").length === 0) {
      throw new UsageError(`--ca ${caPath} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    }
  }
  let pins: PinFile | undefined;
  if (o.tofu) {
    const dir = stateDir(io.env);
    if (!dir) {
      throw new UsageError(
        "--tofu needs a state directory to keep fingerprints in: set XDG_STATE_HOME or HOME",
      );
    }
    pins = new PinFile(`${dir}/${PIN_FILE}`);
  }
  return {
    connect: tlsConnector({
      timeoutMs: o.timeout as number,
      ...(ca !== undefined ? { ca } : {}),
      ...(pins ? { pins } : {}),
      notice,
    }),
  };
}
