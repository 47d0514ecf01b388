import assert from "node:assert/strict";
import {
  derFingerprint,
  formatFingerprint,
  leafFingerprint,
  parseFingerprint,
  pemBlocks,
  PemError,
} from "../../src/net/fingerprint.ts";

/** A self-signed ECDSA certificate for localhost and 127.0.0.1. */
const CERT = `-----BEGIN CERTIFICATE-----
MIIBaDCCAQ6gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDEwlsb2NhbGhv
c3QwHhcNMjYxMTI0MTkwMzA1WhcNMzYxMTIyMTkwMzA1WjAUMRIwEAYDVQQDEwls
b2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARs7O2yGapcuaDY5cGL
p5FrAd0Z4IUZI8S+RNTAx4N21RJ0SrMtmE4pvoZ5Uu97W0lRqiYwmK4WCBkj+VOm
Klg7o1EwTzAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAK
BggrBgEFBQcDATAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZIzj0E
AwIDSAAwRQIgbo4E3HinbDwfORP6JXIM8dUkbIH3qJJsSys+51ee6/ACIQCekPE5
z/3dozUCpNzjnJJFCzJLN8WiYyU4DLj1q4j/yQ==
-----END CERTIFICATE-----
`;

/** What `openssl x509 -noout -fingerprint -sha256` prints for CERT. */
const CERT_SHA256 =
  "F6:3D:35:1D:90:6D:E4:BB:03:D7:98:89:67:8F:F4:75:0E:C3:56:DA:D5:28:D6:C8:24:10:CF:AB:F4:76:70:F9";

Deno.test("formatFingerprint() writes upper-case hex bytes joined by colons", () => {
  assert.equal(formatFingerprint(new Uint8Array([0x00, 0x0f, 0xa0, 0xff])), "00:0F:A0:FF");
  assert.equal(formatFingerprint(new Uint8Array(0)), "");
});

Deno.test("parseFingerprint() accepts colons or none, any case, a sha256 prefix, and refuses anything else", () => {
  const hex = CERT_SHA256.replace(/:/g, "");
  for (
    const text of [CERT_SHA256, CERT_SHA256.toLowerCase(), hex, ` ${hex.toLowerCase()}\n`, `SHA256:${hex}`]
  ) {
    assert.equal(parseFingerprint(text), CERT_SHA256, text);
  }
  for (const bad of ["", "AB:CD", hex.slice(2), hex + "00", hex.replace(/^F6/, "G6"), "sha1:" + hex]) {
    assert.equal(parseFingerprint(bad), null, bad);
  }
});

Deno.test("pemBlocks() decodes every block with the label, in order, and skips other labels", () => {
  const key = "-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----\n";
  const two = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n" + key +
    "-----BEGIN CERTIFICATE-----\nBAUG\n-----END CERTIFICATE-----\n";
  assert.deepEqual(pemBlocks(two, "CERTIFICATE"), [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])]);
  assert.deepEqual(pemBlocks(two, "PRIVATE KEY"), [new Uint8Array([0, 1, 2])]);
  assert.deepEqual(pemBlocks("no pem here", "CERTIFICATE"), []);
  assert.throws(
    () => pemBlocks("-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----", "CERTIFICATE"),
    PemError,
  );
});

Deno.test("leafFingerprint() is the SHA-256 of the first certificate's DER, as openssl prints it", async () => {
  assert.equal(await leafFingerprint(CERT), CERT_SHA256);
  // A chain file: the leaf comes first, and only it counts.
  assert.equal(
    await leafFingerprint(CERT + "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"),
    CERT_SHA256,
  );
  assert.equal(await derFingerprint(pemBlocks(CERT, "CERTIFICATE")[0]), CERT_SHA256);
});

Deno.test("leafFingerprint() refuses text without a certificate", async () => {
  await assert.rejects(
    () => leafFingerprint("-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----\n"),
    (err: Error) => err instanceof PemError && /no -----BEGIN CERTIFICATE----- block/.test(err.message),
  );
});
