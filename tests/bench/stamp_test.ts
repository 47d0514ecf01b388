import assert from "node:assert/strict";
import { MIN_TEXT_SIZE, readSender, readStamp, StampWriter } from "../../src/bench/stamp.ts";

const encoder = new TextEncoder();

Deno.test("StampWriter.text() has the requested size and carries the send time and sender", () => {
  const w = new StampWriter(42, 100);
  const text = w.text(1234.5678);
  assert.equal(encoder.encode(text).byteLength, 100);
  const bytes = encoder.encode(`xx${text}`);
  assert.equal(readStamp(bytes, 2), 1234.567);
  assert.equal(readSender(bytes, 2), 42);
});

Deno.test("StampWriter accepts the smallest size that holds a stamp, and refuses smaller", () => {
  assert.equal(new StampWriter(0, MIN_TEXT_SIZE).text(1).length, MIN_TEXT_SIZE);
  assert.throws(() => new StampWriter(0, MIN_TEXT_SIZE - 1), RangeError);
  assert.throws(() => new StampWriter(-1, 100), RangeError);
});

Deno.test("readStamp() and readSender() return NaN for bytes that are not a stamp", () => {
  const bytes = encoder.encode("hello, this is not a stamp");
  assert.ok(Number.isNaN(readStamp(bytes, 0)));
  assert.ok(Number.isNaN(readSender(bytes, 0)));
  assert.ok(Number.isNaN(readStamp(encoder.encode("0001"), 0)), "cut short");
});
