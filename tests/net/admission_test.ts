// src/net/admission.ts: connections per address, open at once and per minute; loopback; forgetting addresses.

import assert from "node:assert/strict";
import { Admission, isLoopback } from "../../src/net/admission.ts";

const MINUTE = 60_000;

Deno.test("Admission refuses an address past its open connections, counts only those it admits, and admits again after a close", () => {
  const a = new Admission({ perAddress: 2, perMinute: 100, loopback: false });
  assert.equal(a.admit("10.0.0.1", 0), null);
  assert.equal(a.admit("10.0.0.1", 1), null);
  assert.equal(a.admit("10.0.0.1", 2), "too many connections from 10.0.0.1 (limit 2)");
  assert.notEqual(a.admit("10.0.0.1", 3), null, "the refused one was not counted as open, but still is over");
  assert.equal(a.admit("10.0.0.2", 4), null, "another address has its own count");
  a.release("10.0.0.1", 5);
  assert.equal(a.admit("10.0.0.1", 6), null, "one closed: one more may open");
  assert.notEqual(a.admit("10.0.0.1", 7), null);
});

Deno.test("Admission refuses an address past its new connections per minute, and admits it again a minute later", () => {
  const a = new Admission({ perAddress: 100, perMinute: 3, loopback: false });
  for (let t = 0; t < 3; t++) {
    assert.equal(a.admit("10.0.0.1", t * 1000), null);
    a.release("10.0.0.1", t * 1000 + 1);
  }
  assert.equal(a.admit("10.0.0.1", 30_000), "too many new connections from 10.0.0.1 (limit 3 a minute)");
  assert.equal(a.admit("10.0.0.2", 30_000), null);
  assert.notEqual(a.admit("10.0.0.1", MINUTE - 1), null, "the first start is not a minute old yet");
  assert.equal(a.admit("10.0.0.1", MINUTE + 2001), null, "a minute after the three starts");
});

Deno.test("Admission lets loopback through its limits unless told to apply them there", () => {
  for (const ip of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
    assert.equal(isLoopback(ip), true, ip);
    const exempt = new Admission({ perAddress: 1, perMinute: 1, loopback: false });
    for (let i = 0; i < 5; i++) assert.equal(exempt.admit(ip, i), null, `${ip} #${i}`);
    const strict = new Admission({ perAddress: 1, perMinute: 1, loopback: true });
    assert.equal(strict.admit(ip, 0), null, ip);
    assert.notEqual(strict.admit(ip, 1), null, ip);
  }
  assert.equal(isLoopback("10.127.0.1"), false);
  const open = new Admission();
  for (let i = 0; i < 100; i++) assert.equal(open.admit("10.0.0.1", i), null, "no limits: everyone");
});

Deno.test("Admission forgets an address once it has no connection open and none started in the last minute", () => {
  const a = new Admission({ perAddress: 5, perMinute: 5, loopback: false });
  a.admit("10.0.0.1", 0);
  a.admit("10.0.0.1", 10);
  a.release("10.0.0.1", 20);
  assert.equal(a.addresses, 1, "one still open");
  a.release("10.0.0.1", MINUTE + 10);
  assert.equal(a.addresses, 0, "closed, and its starts are a minute old");

  const free = new Admission();
  free.admit("10.0.0.1", 0);
  free.release("10.0.0.1", 1);
  assert.equal(free.addresses, 0, "without limits nothing is remembered once closed");
});

Deno.test("Admission forgets addresses that came and went within their minute once the minute has passed", () => {
  // release() cannot forget these: when they close, their start is still within the per-minute window.
  const a = new Admission({ perAddress: 5, perMinute: 5, loopback: false });
  for (let i = 0; i < 100; i++) {
    const ip = `10.1.0.${i}`;
    a.admit(ip, 1000 + i);
    a.release(ip, 2000 + i);
  }
  assert.equal(a.addresses, 100, "still within their minute: remembered, for the per-minute limit");
  assert.equal(a.admit("10.2.0.1", 3 * MINUTE), null);
  assert.equal(a.addresses, 1, "a minute on, only the one that just connected is tracked");
});
