import assert from "node:assert/strict";
import { hashPassword, sameSecret, SCRYPT_LOG_N, verifyPassword } from "../../src/auth/passwords.ts";

Deno.test("hashPassword() uses scrypt with N=2^17, r=8, p=1 and a fresh salt by default", async () => {
  const a = await hashPassword("correct horse");
  const [alg, logN, r, p, salt] = a.split("$");
  assert.deepEqual([alg, Number(logN), Number(r), Number(p)], ["scrypt", SCRYPT_LOG_N, 8, 1]);
  assert.equal(SCRYPT_LOG_N, 17);
  assert.equal(atob(salt).length, 16);
  assert.notEqual(await hashPassword("correct horse", 10), await hashPassword("correct horse", 10), "salted");
});

Deno.test("verifyPassword() accepts the right password and refuses wrong ones and malformed hashes", async () => {
  const h = await hashPassword("s3cret-enough", 10);
  assert.equal(await verifyPassword("s3cret-enough", h), true);
  assert.equal(await verifyPassword("s3cret-enougH", h), false);
  assert.equal(await verifyPassword("", h), false);
  for (const bad of ["", "scrypt$10$8$1$$", "md5$x", h.replace("scrypt$10", "scrypt$99"), h.slice(0, -4)]) {
    assert.equal(await verifyPassword("s3cret-enough", bad), false, bad);
  }
});

Deno.test("verifyPassword() treats the NFC and NFD spellings of a password alike", async () => {
  const h = await hashPassword("caf\u00e9-caf\u00e9", 10);
  assert.equal(await verifyPassword("cafe\u0301-cafe\u0301", h), true);
});

Deno.test("sameSecret() compares exactly", () => {
  assert.equal(sameSecret("token-1234567890", "token-1234567890"), true);
  assert.equal(sameSecret("token-1234567890", "token-1234567891"), false);
  assert.equal(sameSecret("short", "token-1234567890"), false);
});
