import assert from "node:assert/strict";
import { type ReadResult, StreamFeed, type StreamRecord } from "../../src/store/jetstream/feed.ts";

/** A feed over a stream held in a map (seq -> record), recording what it took, read and logged as missed. */
function harness(stream: Map<number, string>, start = 1, failReads = 0) {
  const taken: number[] = [];
  const reads: number[] = [];
  const missed: number[] = [];
  let closed = false;
  let failures = failReads;
  const record = (seq: number): StreamRecord => ({ seq, data: new TextEncoder().encode(stream.get(seq)!) });
  const feed = new StreamFeed(start, {
    read(from: number): Promise<ReadResult> {
      reads.push(from);
      if (failures > 0) {
        failures--;
        return Promise.resolve(null);
      }
      const seqs = [...stream.keys()].filter((s) => s >= from).sort((a, b) => a - b);
      return Promise.resolve(seqs.length ? record(seqs[0]) : "none");
    },
    take: (r) => taken.push(r.seq),
    missed: (seq) => missed.push(seq),
    retryMs: 1,
    closed: () => closed,
  });
  return { feed, taken, reads, missed, record, close: () => closed = true };
}

const streamOf = (n: number) => new Map(Array.from({ length: n }, (_, i) => [i + 1, `r${i + 1}`]));

Deno.test("StreamFeed takes the consumer's records in order, once each, without reading the stream", async () => {
  const h = harness(streamOf(3));
  for (const seq of [1, 2, 3]) h.feed.push(h.record(seq));
  await h.feed.settled();
  assert.deepEqual(h.taken, [1, 2, 3]);
  assert.deepEqual(h.reads, []);
  assert.equal(h.feed.consumed, 3);
});

Deno.test("StreamFeed reads a record the consumer lost from the stream before taking the next one", async () => {
  const h = harness(streamOf(5));
  for (const seq of [1, 2, 4, 5]) h.feed.push(h.record(seq));
  await h.feed.settled();
  assert.deepEqual(h.taken, [1, 2, 3, 4, 5]);
  assert.deepEqual(h.reads, [3]);
  assert.deepEqual(h.missed, [3]);
});

Deno.test("StreamFeed takes a record the consumer sends again once (its leader moved and started over)", async () => {
  const h = harness(streamOf(4));
  for (const seq of [1, 2, 3, 2, 3, 4]) h.feed.push(h.record(seq));
  await h.feed.settled();
  assert.deepEqual(h.taken, [1, 2, 3, 4]);
});

Deno.test("StreamFeed finds records lost at the end of the stream when told how far the stream goes", async () => {
  const h = harness(streamOf(4));
  h.feed.push(h.record(1));
  await h.feed.settled();
  h.feed.want(4); // the periodic check: the stream's last sequence
  await h.feed.settled();
  assert.deepEqual(h.taken, [1, 2, 3, 4]);
  assert.deepEqual(h.missed, [2, 3, 4]);
});

Deno.test("StreamFeed skips what retention deleted and starts where it was told", async () => {
  const stream = streamOf(9);
  for (const seq of [5, 6, 7]) stream.delete(seq);
  const h = harness(stream, 4);
  h.feed.push(h.record(4));
  h.feed.push(h.record(9));
  await h.feed.settled();
  assert.deepEqual(h.taken, [4, 8, 9]);
  assert.equal(h.feed.consumed, 9);
});

Deno.test("StreamFeed waits for NATS and reads again rather than skip a record it could not read", async () => {
  const h = harness(streamOf(3), 1, 3);
  h.feed.push(h.record(1));
  h.feed.push(h.record(3));
  await h.feed.settled();
  assert.deepEqual(h.taken, [1, 2, 3]);
  assert.deepEqual(h.reads, [2, 2, 2, 2]);
});

Deno.test("StreamFeed stops taking once the node closes", async () => {
  const h = harness(streamOf(3));
  h.close();
  h.feed.push(h.record(1));
  await h.feed.settled();
  assert.deepEqual(h.taken, []);
});
