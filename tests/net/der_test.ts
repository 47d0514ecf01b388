import assert from "node:assert/strict";
import {
  bitString,
  boolean,
  contextTag,
  ipBytes,
  oid,
  pem,
  sequence,
  smallInteger,
  time,
  tlv,
  unsignedInteger,
  utf8String,
} from "../../src/net/der.ts";
import { pemBlocks } from "../../src/net/fingerprint.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

Deno.test("tlv() writes short lengths in one byte and long ones in long form", () => {
  assert.equal(hex(tlv(0x04, new Uint8Array(3))), "04 03 00 00 00");
  assert.equal(hex(tlv(0x04, new Uint8Array(127)).subarray(0, 2)), "04 7f");
  assert.equal(hex(tlv(0x04, new Uint8Array(128)).subarray(0, 3)), "04 81 80");
  assert.equal(hex(tlv(0x04, new Uint8Array(256)).subarray(0, 4)), "04 82 01 00");
  assert.equal(tlv(0x04, new Uint8Array(70000)).length, 70000 + 5);
});

Deno.test("oid() encodes the X.509 identifiers as RFC 5280 prints them", () => {
  assert.equal(hex(oid("1.2.840.10045.4.3.2")), "06 08 2a 86 48 ce 3d 04 03 02");
  assert.equal(hex(oid("2.5.29.17")), "06 03 55 1d 11");
  assert.equal(hex(oid("1.3.6.1.5.5.7.3.1")), "06 08 2b 06 01 05 05 07 03 01");
  assert.throws(() => oid("3.1"), RangeError);
  assert.throws(() => oid("1"), RangeError);
});

Deno.test("unsignedInteger() drops leading zeros and adds one before a set top bit", () => {
  assert.equal(hex(unsignedInteger(Uint8Array.of(0, 0, 0x05))), "02 01 05");
  assert.equal(hex(unsignedInteger(Uint8Array.of(0x80))), "02 02 00 80");
  assert.equal(hex(unsignedInteger(Uint8Array.of(0, 0xff, 1))), "02 03 00 ff 01");
  assert.equal(hex(unsignedInteger(Uint8Array.of(0, 0))), "02 01 00");
  assert.equal(hex(smallInteger(2)), "02 01 02");
  assert.throws(() => smallInteger(128), RangeError);
});

Deno.test("the other writers: boolean, UTF8String, BIT STRING, SEQUENCE, context tags", () => {
  assert.equal(hex(boolean(true)), "01 01 ff");
  assert.equal(hex(utf8String("é")), "0c 02 c3 a9");
  assert.equal(hex(bitString(Uint8Array.of(0xaa))), "03 02 00 aa");
  assert.equal(hex(sequence()), "30 00");
  assert.equal(hex(contextTag(0, true, smallInteger(2))), "a0 03 02 01 02");
  assert.equal(hex(contextTag(2, false, Uint8Array.of(0x61))), "82 01 61");
});

Deno.test("time() is UTCTime before 2050 and GeneralizedTime from 2050, to the second", () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(2));
  const t2036 = time(new Date("2036-12-04T10:41:57.999Z"));
  assert.equal(t2036[0], 0x17);
  assert.equal(text(t2036), "361204104157Z");
  const t2050 = time(new Date("2050-01-01T00:00:00Z"));
  assert.equal(t2050[0], 0x18);
  assert.equal(text(t2050), "20500101000000Z");
  assert.equal(time(new Date("1949-12-31T23:59:59Z"))[0], 0x18);
});

Deno.test("ipBytes() reads IPv4 and IPv6 (with ::, and an IPv4 tail) and refuses names and malformed ones", () => {
  assert.equal(hex(ipBytes("127.0.0.1")!), "7f 00 00 01");
  assert.equal(hex(ipBytes("::1")!), "00 ".repeat(15) + "01");
  assert.equal(hex(ipBytes("::")!), "00 ".repeat(15) + "00");
  assert.equal(hex(ipBytes("fe80::1:2")!), "fe 80 " + "00 ".repeat(10) + "00 01 00 02");
  assert.equal(hex(ipBytes("::ffff:1.2.3.4")!), "00 ".repeat(10) + "ff ff 01 02 03 04");
  assert.equal(hex(ipBytes("1:2:3:4:5:6:7:8")!), "00 01 00 02 00 03 00 04 00 05 00 06 00 07 00 08");
  for (
    const bad of [
      "localhost",
      "chat.example.org",
      "256.0.0.1",
      "1.2.3",
      "1::2::3",
      "1:2:3",
      "12345::",
      "1:2:3:4:5:6:7:8::",
    ]
  ) {
    assert.equal(ipBytes(bad), null, bad);
  }
});

Deno.test("pem() wraps base64 at 64 characters and round-trips through pemBlocks()", () => {
  const der = Uint8Array.from({ length: 100 }, (_, i) => i);
  const text = pem("CERTIFICATE", der);
  const lines = text.trimEnd().split("\n");
  assert.equal(lines[0], "-----BEGIN CERTIFICATE-----");
  assert.equal(lines.at(-1), "-----END CERTIFICATE-----");
  assert.ok(lines.slice(1, -1).every((l) => l.length <= 64));
  assert.equal(lines[1].length, 64);
  assert.deepEqual(pemBlocks(text, "CERTIFICATE"), [der]);
});
