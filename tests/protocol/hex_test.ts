import assert from "node:assert/strict";
import { hex, unhex } from "../../src/protocol/mod.ts";

Deno.test("hex() writes two lower-case digits per byte, and nothing for no bytes", () => {
  assert.equal(hex(new Uint8Array([0, 15, 16, 171, 255])), "000f10abff");
  assert.equal(hex(new Uint8Array(0)), "");
});

Deno.test("hex() renders a SHA-256 digest as 64 lowercase hex digits", async () => {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("abc"));
  assert.equal(
    hex(new Uint8Array(digest)),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("unhex() reads what hex() wrote, for every byte value, and upper case too", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepStrictEqual(unhex(hex(all)), all);
  assert.deepStrictEqual(unhex("ABcd"), new Uint8Array([0xab, 0xcd]));
  assert.deepStrictEqual(unhex(""), new Uint8Array(0));
});

Deno.test("unhex() ignores an odd last digit and reads a pair that is not hex as 0, as its doc says", () => {
  assert.deepStrictEqual(unhex("abc"), new Uint8Array([0xab]));
  assert.deepStrictEqual(unhex("zz01"), new Uint8Array([0, 1]));
  // Half a pair that is hex does not make the pair hex.
  assert.deepStrictEqual(unhex("az1g0F"), new Uint8Array([0, 0, 0x0f]));
  assert.deepStrictEqual(unhex("@`G:"), new Uint8Array([0, 0]), "the neighbours of the digit ranges");
});
