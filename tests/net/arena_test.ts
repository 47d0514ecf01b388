import assert from "node:assert/strict";
import { ARENA_MAX_FRAME, FrameArena } from "../../src/net/arena.ts";

Deno.test("FrameArena.place() copies consecutive frames end to end in one buffer", () => {
  const arena = new FrameArena(64);
  const a = arena.place(new Uint8Array([1, 2, 3]));
  const b = arena.place(new Uint8Array([4, 5]));
  assert.equal(a.buffer, b.buffer);
  assert.equal(b.start, a.end);
  assert.equal(a.bytes.buffer, a.buffer);
  assert.equal(a.bytes.byteOffset, a.start);
  assert.deepEqual([...new Uint8Array(a.buffer, a.start, b.end - a.start)], [1, 2, 3, 4, 5]);
});

Deno.test("FrameArena.place() starts a new chunk when a frame does not fit, never overwriting a placed one", () => {
  const arena = new FrameArena(8);
  const a = arena.place(new Uint8Array([1, 1, 1, 1, 1]));
  const b = arena.place(new Uint8Array([2, 2, 2, 2]));
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(b.start, 0);
  assert.deepEqual([...a.bytes], [1, 1, 1, 1, 1]);
  assert.deepEqual([...b.bytes], [2, 2, 2, 2]);
});

Deno.test("FrameArena.place() passes large frames through uncopied", () => {
  const arena = new FrameArena();
  const big = new Uint8Array(ARENA_MAX_FRAME + 1);
  const placed = arena.place(big);
  assert.equal(placed.bytes, big);
  assert.equal(placed.end - placed.start, big.byteLength);
  const tooBigForChunk = new Uint8Array(9);
  assert.equal(new FrameArena(8).place(tooBigForChunk).bytes, tooBigForChunk);
});
