/**
 * Certificate fingerprints: the SHA-256 of a certificate's DER bytes, written
 * as colon-separated upper-case hex, the form `openssl x509 -fingerprint
 * -sha256` prints. Servers print it at startup, clients show and pin it, and
 * people compare it by eye. Pure apart from WebCrypto's digest.
 *
 * @module
 */

/** Bytes in a SHA-256 digest. */
const SHA256_BYTES = 32;

/** A PEM file holding something other than what was asked for. */
export class PemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PemError";
  }
}

/**
 * The DER bytes of every `-----BEGIN LABEL-----` block in `pem`, in order.
 *
 * @example
 * ```ts
 * const [leaf] = pemBlocks(await Deno.readTextFile("cert.pem"), "CERTIFICATE");
 * ```
 */
export function pemBlocks(pem: string, label: string): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  const re = new RegExp(`-----BEGIN ${label}-----([^-]*)-----END ${label}-----`, "g");
  for (const m of pem.matchAll(re)) {
    const body = m[1].replace(/\s+/g, "");
    let text: string;
    try {
      text = atob(body);
    } catch {
      throw new PemError(`Cannot decode PEM: the ${label} block is not valid base64`);
    }
    blocks.push(Uint8Array.from(text, (c) => c.charCodeAt(0)));
  }
  return blocks;
}

/** Formats digest bytes as `AB:CD:...`. */
export function formatFingerprint(digest: Uint8Array): string {
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

/**
 * Reads a SHA-256 fingerprint written with or without colons, in either case,
 * with an optional `sha256:` prefix; returns it in {@linkcode formatFingerprint}
 * form, or null when it is not 32 bytes of hex.
 */
export function parseFingerprint(text: string): string | null {
  const hex = text.trim().replace(/^sha-?256[:/ ]?/i, "").replace(/:/g, "");
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== SHA256_BYTES * 2) return null;
  return hex.toUpperCase().match(/../g)!.join(":");
}

/** The SHA-256 fingerprint of one DER-encoded certificate. */
export async function derFingerprint(der: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", der as Uint8Array<ArrayBuffer>);
  return formatFingerprint(new Uint8Array(digest));
}

/** The fingerprint of the first certificate in `pem`: the leaf of a chain file. */
export async function leafFingerprint(pem: string): Promise<string> {
  const [leaf] = pemBlocks(pem, "CERTIFICATE");
  if (!leaf) throw new PemError("Cannot read certificate: no -----BEGIN CERTIFICATE----- block");
  return await derFingerprint(leaf);
}
