import assert from "node:assert/strict";
import { RoomSequencer } from "../../src/client/sequencer.ts";

const m = (seq: number) => ({ seq });
const seqs = (ms: Array<{ seq: number }>) => ms.map((x) => x.seq);

Deno.test("RoomSequencer passes on consecutive messages and drops duplicates", () => {
  const s = new RoomSequencer();
  assert.deepEqual(seqs(s.receive(m(5)).deliver), [5], "the first message of a new room sets the baseline");
  assert.deepEqual(seqs(s.receive(m(6)).deliver), [6]);
  assert.deepEqual(s.receive(m(6)).deliver, []);
  assert.deepEqual(s.receive(m(3)).deliver, []);
  assert.equal(s.last, 6);
});

Deno.test("RoomSequencer holds messages after a gap, fetches once, and releases them in order", () => {
  const s = new RoomSequencer(10);
  const a = s.receive(m(13));
  assert.deepEqual(a, { deliver: [], fetchAfter: 10 });
  assert.deepEqual(s.receive(m(14)), { deliver: [] }, "no second fetch while one is outstanding");
  assert.deepEqual(seqs(s.receive(m(11)).deliver), [11]);
  assert.deepEqual(seqs(s.receive(m(12)).deliver), [12, 13, 14]);
  assert.deepEqual(s.receive(m(13)).deliver, [], "the fetched copy of a held message is a duplicate");
  assert.deepEqual(s.fetched({ count: 2, more: false, lastSeq: 14 }), { deliver: [] });
  assert.equal(s.last, 14);
});

Deno.test("RoomSequencer asks for the next page while the server says there is more", () => {
  const s = new RoomSequencer(1);
  s.receive(m(600));
  for (let i = 2; i <= 501; i++) s.receive(m(i));
  assert.deepEqual(s.fetched({ count: 500, more: true, lastSeq: 600 }), { deliver: [], fetchAfter: 501 });
  const rest: number[] = [];
  for (let i = 502; i <= 599; i++) rest.push(...seqs(s.receive(m(i)).deliver));
  assert.deepEqual(rest.at(-1), 600);
  assert.equal(rest.length, 99);
});

Deno.test("RoomSequencer skips a gap the server no longer has", () => {
  const s = new RoomSequencer(3);
  s.receive(m(9));
  s.receive(m(10));
  assert.deepEqual(seqs(s.fetched({ count: 0, more: false, lastSeq: 10 }).deliver), [9, 10]);
  assert.equal(s.last, 10);
});

Deno.test("RoomSequencer.resume() fetches after the last sequence, and refetches if the answer fell short", () => {
  const s = new RoomSequencer(7);
  assert.deepEqual(s.resume(), { deliver: [], fetchAfter: 7 });
  assert.deepEqual(s.fetched({ count: 1, more: false, lastSeq: 9 }), { deliver: [], fetchAfter: 7 });
  assert.deepEqual(
    s.fetched({ count: 0, more: false, lastSeq: 9 }),
    { deliver: [] },
    "nothing left to fetch: skip",
  );
  assert.equal(s.last, 9);
  assert.deepEqual(new RoomSequencer().resume(), { deliver: [] });
});

Deno.test("RoomSequencer(0) starts at the room's first message: resume() fetches after 0, a later message waits", () => {
  const s = new RoomSequencer<{ seq: number }>(0);
  assert.equal(s.based, true);
  assert.deepEqual(s.resume(), { deliver: [], fetchAfter: 0 });
  assert.deepEqual(s.receive(m(51)), { deliver: [] }, "recent history is not a baseline");
  assert.deepEqual(seqs(s.receive(m(1)).deliver), [1]);
  const fresh = new RoomSequencer<{ seq: number }>();
  assert.equal(fresh.based, false);
  assert.deepEqual(
    seqs(fresh.receive(m(51)).deliver),
    [51],
    "a room never seen starts where its first message is",
  );
  assert.equal(fresh.based, true);
});
