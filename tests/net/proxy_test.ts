import assert from "node:assert/strict";
import { CidrSet, formatIp, forwardedFor, parseIp } from "../../src/net/proxy.ts";

Deno.test("parseIp() reads IPv4 and IPv6 (compressed, with an IPv4 tail) and refuses anything else", () => {
  const round = (s: string) => {
    const ip = parseIp(s);
    return ip && formatIp(ip);
  };
  assert.equal(round("192.0.2.7"), "192.0.2.7");
  assert.equal(round("::ffff:192.0.2.7"), "192.0.2.7", "an IPv4-mapped address is the IPv4 address");
  assert.equal(round("::1"), "::1");
  assert.equal(round("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(round("2001:db8::"), "2001:db8::");
  assert.equal(round("::"), "::");
  assert.equal(round("fe80::1:2:3:4"), "fe80::1:2:3:4");
  assert.equal(round("2001:db8:1:0:0:1:0:1"), "2001:db8:1::1:0:1", "the longest zero run is compressed");
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.4:80",
      "[::1]",
      "::1::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "12345::",
      "g::1",
      "unknown",
      "fe80::1%eth0",
    ]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
});

Deno.test("CidrSet.has() matches addresses inside its ranges, IPv4 and IPv6, and nothing else", () => {
  const set = new CidrSet(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "2001:db8::1", "172.16.0.0/12"]);
  for (
    const ip of [
      "10.1.2.3",
      "10.255.255.255",
      "192.168.1.7",
      "fd12::9",
      "2001:db8::1",
      "::ffff:10.0.0.1",
      "172.31.0.1",
    ]
  ) {
    assert.ok(set.has(ip), ip);
  }
  for (const ip of ["11.0.0.1", "192.168.1.8", "fe00::1", "2001:db8::2", "172.32.0.1", "not an ip", ""]) {
    assert.ok(!set.has(ip), ip);
  }
  assert.ok(new CidrSet(["0.0.0.0/0"]).has("203.0.113.9"));
  assert.ok(!new CidrSet(["0.0.0.0/0"]).has("2001:db8::1"), "an IPv4 range covers no IPv6 address");
  assert.ok(!new CidrSet([]).has("127.0.0.1"));
});

Deno.test("CidrSet refuses a malformed entry with a message that names it", () => {
  for (const bad of ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/x", "example.org", "10.0.0/8"]) {
    assert.throws(
      () => new CidrSet([bad]),
      (err) => err instanceof RangeError && err.message.includes(bad),
      bad,
    );
  }
});

Deno.test("forwardedFor() takes the rightmost untrusted address, so what a client writes itself is never used", () => {
  const trusted = new CidrSet(["10.0.0.0/8"]);
  assert.equal(forwardedFor("203.0.113.9", trusted), "203.0.113.9");
  // The client claimed 1.2.3.4; the proxy appended the address it saw.
  assert.equal(forwardedFor("1.2.3.4, 203.0.113.9", trusted), "203.0.113.9");
  // Two proxies: the inner one (10.0.0.2) appended the outer one's address.
  assert.equal(forwardedFor("1.2.3.4, 203.0.113.9, 10.0.0.2", trusted), "203.0.113.9");
  assert.equal(forwardedFor("10.0.0.3,10.0.0.2", trusted), "10.0.0.3", "all trusted: the leftmost");
  assert.equal(forwardedFor("2001:DB8::7", trusted), "2001:db8::7");
  assert.equal(forwardedFor(undefined, trusted), null);
  assert.equal(forwardedFor(" , ", trusted), null);
  // Garbage left of the address we settle on is never read; garbage we would settle on is an error.
  assert.equal(forwardedFor("<script>, 203.0.113.9", trusted), "203.0.113.9");
  assert.throws(() => forwardedFor("203.0.113.9, unknown", trusted), RangeError);
});
