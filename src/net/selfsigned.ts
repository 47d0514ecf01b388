/**
 * Makes a self-signed server certificate (ECDSA P-256, SHA-256) with
 * WebCrypto and @peculiar/x509, for servers without a CA. Clients trust it
 * by its fingerprint (on first use) or by passing it as `--ca`. No I/O: the
 * caller decides where the PEM text is kept.
 *
 * @module
 */

import { hex } from "../protocol/hex.ts";

/** Long enough never to be a chore; a pinned certificate is trusted by fingerprint, not by date. */
export const SELF_SIGNED_DAYS = 3650;

/** Backdated so a client whose clock runs a little behind still accepts it via --ca. */
const BACKDATE_MS = 24 * 3600 * 1000;

export interface SelfSigned {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

/** The subject alternative names of a generated certificate: loopback, plus `host` when it names one machine. */
export function certificateNames(host?: string): string[] {
  const names = ["localhost", "127.0.0.1", "::1"];
  const wildcard = host === undefined || host === "" || host === "0.0.0.0" || host === "::";
  if (!wildcard && !names.includes(host)) names.push(host);
  return names;
}

function isIp(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(":");
}

/**
 * Generates a key pair and a certificate for `names` (DNS names or IP
 * addresses), valid for `days` from a day ago.
 */
export async function generateSelfSigned(names: string[], days = SELF_SIGNED_DAYS): Promise<SelfSigned> {
  // Loaded only here: it is big, and only a server making its first certificate needs it.
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(crypto);
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f; // A serial number is a positive integer.
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: hex(serial),
    name: "CN=chat self-signed",
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + days * 24 * 3600 * 1000),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((value) => ({ type: isIp(value) ? "ip" as const : "dns" as const, value })),
      ),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: cert.toString("pem") + "\n", key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n" };
}
