/**
 * Password hashing for accounts: salted scrypt with N = 2^17, r = 8, p = 1
 * (128 MiB of memory per hash, so a stolen database is slow to attack).
 * Hashing runs on node:crypto's worker pool, off the event loop.
 *
 * Encoded form: `scrypt$<log2 N>$<r>$<p>$<salt base64>$<hash base64>`, so
 * parameters can be raised later without breaking existing accounts.
 *
 * @module
 */

import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** log2 of scrypt's N: 2^17, the floor and OWASP's recommendation. */
export const SCRYPT_LOG_N = 17;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** Longest password accepted: long passphrases yes, megabytes no (the protocol's MAX_PASSWORD_BYTES too). */
export const MAX_PASSWORD_BYTES = 1024;

function derive(password: string, salt: Uint8Array, logN: number, r: number, p: number): Promise<Uint8Array> {
  const N = 2 ** logN;
  // scrypt needs 128 * N * r bytes; leave headroom over node's 32 MiB default.
  const maxmem = 256 * N * r;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, KEY_BYTES, { N, r, p, maxmem }, (err, key) => {
      if (err) reject(err);
      else resolve(new Uint8Array(key));
    });
  });
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** Hashes `password` with a fresh salt. `logN` is for tests, which cannot wait for 2^17. */
export async function hashPassword(password: string, logN = SCRYPT_LOG_N): Promise<string> {
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  const key = await derive(password, salt, logN, SCRYPT_R, SCRYPT_P);
  return `scrypt$${logN}$${SCRYPT_R}$${SCRYPT_P}$${b64(salt)}$${b64(key)}`;
}

/** True when `password` matches `encoded`; compares in constant time. A malformed hash never matches. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number);
  if (![logN, r, p].every(Number.isInteger) || logN < 1 || logN > 22 || r < 1 || r > 32 || p < 1 || p > 16) {
    return false;
  }
  let salt: Uint8Array, expected: Uint8Array;
  try {
    salt = unb64(parts[4]);
    expected = unb64(parts[5]);
  } catch {
    return false;
  }
  const key = await derive(password, salt, logN, r, p);
  return key.byteLength === expected.byteLength && timingSafeEqual(key, expected);
}

/**
 * Compares a password with the server password in constant time: both are
 * hashed first, so neither the length nor the first differing byte leaks.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given.normalize("NFC")).digest();
  const b = createHash("sha256").update(expected.normalize("NFC")).digest();
  return timingSafeEqual(a, b);
}
