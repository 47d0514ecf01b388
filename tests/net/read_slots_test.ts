import assert from "node:assert/strict";
import { ReadSlots } from "../../src/net/read_slots.ts";

Deno.test("ReadSlots cuts disjoint slots of one slab, then starts another", () => {
  const slots = new ReadSlots(16, 4);
  const taken = Array.from({ length: 5 }, () => slots.take());
  for (const s of taken) assert.equal(s.byteLength, 16);
  // The first four share one slab, laid end to end, with no byte in two slots.
  const slab = taken[0].buffer;
  assert.deepEqual(taken.slice(0, 4).map((s) => [s.buffer === slab, s.byteOffset]), [
    [true, 0],
    [true, 16],
    [true, 32],
    [true, 48],
  ]);
  assert.notEqual(taken[4].buffer, slab);
  taken.forEach((s, i) => s.fill(i + 1));
  taken.forEach((s, i) => assert.ok(s.every((b) => b === i + 1), `slot ${i} was overwritten`));
  assert.equal(slots.inUse, 5);
});

Deno.test("ReadSlots reuses a slot given back, and never hands one slot to two takers", () => {
  const slots = new ReadSlots(8, 2);
  const a = slots.take();
  const b = slots.take();
  slots.give(a);
  assert.equal(slots.inUse, 1);
  const c = slots.take();
  assert.equal(c, a);
  const d = slots.take();
  assert.notEqual(d, b);
  assert.notEqual(d, c);
  assert.notEqual(d.buffer, a.buffer);
  assert.equal(slots.inUse, 3);
});

Deno.test("ReadSlots refuses what is not one of its slots, and bad sizes", () => {
  const slots = new ReadSlots(8);
  slots.take();
  assert.throws(() => slots.give(new Uint8Array(4)), RangeError);
  assert.throws(() => new ReadSlots(0), RangeError);
  assert.throws(() => new ReadSlots(8, 0), RangeError);
});
