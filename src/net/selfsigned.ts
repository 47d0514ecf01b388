/**
 * Makes a self-signed server certificate (ECDSA P-256, SHA-256) with
 * WebCrypto and the DER writers of der.ts, for servers without a CA. Clients trust it
 * by its fingerprint (on first use) or by passing it as `--ca`. No I/O: the
 * caller decides where the PEM text is kept.
 *
 * @module
 */

import {
  bitString,
  boolean,
  contextTag,
  ipBytes,
  octetString,
  oid,
  pem,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from "./der.ts";

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

/** Object identifiers (RFC 5280, RFC 5758). */
const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/** The subject and issuer: one common name. */
const NAME = "chat self-signed";

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** GeneralName: dNSName is [2] IA5String, iPAddress is [7] OCTET STRING, both implicit. */
function generalName(name: string): Uint8Array {
  const ip = ipBytes(name);
  return ip ? contextTag(7, false, ip) : contextTag(2, false, new TextEncoder().encode(name));
}

/** WebCrypto signs ECDSA as r || s (IEEE P1363); X.509 wants SEQUENCE { INTEGER r, INTEGER s }. */
function ecdsaSignatureDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

/**
 * Generates a key pair and a certificate for `names` (DNS names or IP
 * addresses), valid for `days` from a day ago.
 */
export async function generateSelfSigned(names: string[], days = SELF_SIGNED_DAYS): Promise<SelfSigned> {
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f; // A serial number is a positive integer.
  const now = Date.now();
  const signatureAlgorithm = sequence(oid(OID.ecdsaWithSha256));
  const name = sequence(set(sequence(oid(OID.commonName), utf8String(NAME))));
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const tbs = sequence(
    contextTag(0, true, smallInteger(2)), // version: v3, the one with extensions
    unsignedInteger(serial),
    signatureAlgorithm,
    name,
    sequence(time(new Date(now - BACKDATE_MS)), time(new Date(now + days * 24 * 3600 * 1000))),
    name,
    spki,
    contextTag(
      3,
      true,
      sequence(
        extension(OID.basicConstraints, true, sequence()), // cA FALSE, the default, is left out
        extension(OID.keyUsage, true, Uint8Array.of(0x03, 0x02, 0x07, 0x80)), // digitalSignature only
        extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
        extension(OID.subjectAltName, false, sequence(...names.map(generalName))),
      ),
    ),
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      keys.privateKey,
      tbs as Uint8Array<ArrayBuffer>,
    ),
  );
  const cert = sequence(tbs, signatureAlgorithm, bitString(ecdsaSignatureDer(signature)));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { cert: pem("CERTIFICATE", cert), key: pem("PRIVATE KEY", pkcs8) };
}
