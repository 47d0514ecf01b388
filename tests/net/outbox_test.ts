import assert from "node:assert/strict";
import { FrameArena } from "../../src/net/arena.ts";
import { HARD_FACTOR, LAZY_MS, lazyWindowMs, Outbox, STORM_LAZY_MS } from "../../src/net/outbox.ts";
import { withDeadline } from "../_helpers/deadline.ts";

/** A writer whose writes complete only when the test releases them, accepting at most `chunk` bytes each. */
class GatedWriter {
  calls: Uint8Array[] = [];
  written: number[] = [];
  #release: Array<() => void> = [];
  chunk: number;
  fail = false;

  constructor(chunk = Infinity) {
    this.chunk = chunk;
  }

  write(bytes: Uint8Array): Promise<number> {
    this.calls.push(bytes.slice());
    return new Promise((resolve, reject) => {
      this.#release.push(() => {
        if (this.fail) return reject(new Error("broken pipe"));
        const n = Math.min(this.chunk, bytes.byteLength);
        this.written.push(...bytes.subarray(0, n));
        resolve(n);
      });
    });
  }

  /** Completes the oldest pending write; resolves after the outbox has reacted to it. */
  async releaseOne(): Promise<void> {
    // The outbox starts writing a microtask after the first enqueue.
    if (this.#release.length === 0) await tick();
    const r = this.#release.shift();
    if (!r) throw new Error("no write pending");
    r();
    await new Promise((r) => setTimeout(r, 0));
  }

  get pending(): number {
    return this.#release.length;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("Outbox coalesces a burst into one write, and frames queued during a write into the next", async () => {
  const w = new GatedWriter();
  const out = new Outbox(w, 1 << 20);
  for (let i = 1; i <= 60; i++) out.enqueue(new Uint8Array([i]));
  assert.equal(w.calls.length, 0, "nothing is written inside the synchronous step that queued");
  await tick();
  assert.equal(w.calls.length, 1, "the whole burst goes out in one write");
  assert.equal(w.calls[0].byteLength, 60);
  for (let i = 61; i <= 100; i++) out.enqueue(new Uint8Array([i]));
  await w.releaseOne();
  assert.equal(w.calls.length, 2, "the 40 frames queued during the write go out in one more");
  assert.equal(w.calls[1].byteLength, 40);
  await w.releaseOne();
  await out.flushed();
  assert.deepEqual(w.written, Array.from({ length: 100 }, (_, i) => i + 1));
  assert.equal(out.writes, 2);
  assert.equal(out.queuedBytes, 0);
});

Deno.test("Outbox loops on partial writes until every byte is out, in order", async () => {
  const w = new GatedWriter(3);
  const out = new Outbox(w, 1 << 20);
  out.enqueue(new Uint8Array([1, 2, 3, 4, 5]));
  out.enqueue(new Uint8Array([6, 7, 8, 9, 10, 11, 12]));
  await tick();
  while (w.pending > 0) await w.releaseOne();
  await out.flushed();
  assert.deepEqual(w.written, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.ok(w.calls.length >= 4, `expected several partial writes, got ${w.calls.length}`);
});

Deno.test("Outbox goes past its budget for a burst, says so, and refuses only past its hard limit", async () => {
  const w = new GatedWriter();
  const out = new Outbox(w, 10);
  const over: Outbox[] = [];
  out.onOver = (o) => over.push(o);
  assert.equal(out.limit, 10 * HARD_FACTOR);
  assert.equal(out.enqueue(new Uint8Array(6)), true);
  assert.equal(out.enqueue(new Uint8Array(4)), true);
  assert.equal(out.over, false, "at the budget is not over it");
  assert.equal(out.enqueue(new Uint8Array(1)), true, "a burst may go past the budget");
  assert.equal(out.over, true);
  assert.deepEqual(over, [out], "told once when it went over");
  out.enqueue(new Uint8Array(5));
  assert.equal(over.length, 1, "not again while it stays over");
  assert.equal(
    out.enqueue(new Uint8Array(out.limit - out.queuedBytes + 1)),
    false,
    "one byte past the hard limit",
  );
  assert.equal(out.queuedBytes, 16);
  out.enqueueFinal(new Uint8Array(out.limit));
  assert.equal(out.queuedBytes, 16 + out.limit, "the final frame may go past the limit");
  await tick();
  while (w.pending > 0) await w.releaseOne();
  await out.flushed();
  assert.equal(w.written.length, 16 + out.limit);
  assert.equal(out.over, false, "drained: under the budget again");
  assert.equal(out.enqueue(new Uint8Array(11)), true);
  assert.deepEqual(over, [out, out], "told again when it goes over again");
  await w.releaseOne();
});

Deno.test("Outbox reports a failed write once and refuses further frames", async () => {
  const w = new GatedWriter();
  const errors: unknown[] = [];
  const out = new Outbox(w, 100, (e) => errors.push(e));
  out.enqueue(new Uint8Array(3));
  w.fail = true;
  await w.releaseOne();
  await out.flushed();
  assert.equal(errors.length, 1);
  assert.equal(out.failed, true);
  assert.equal(out.enqueue(new Uint8Array(1)), false);
});

Deno.test("Outbox.close() lets queued frames drain but refuses new ones", async () => {
  const w = new GatedWriter();
  const out = new Outbox(w, 100);
  out.enqueue(new Uint8Array([1]));
  out.enqueue(new Uint8Array([2]));
  out.close();
  assert.equal(out.enqueue(new Uint8Array([3])), false);
  await tick();
  while (w.pending > 0) await w.releaseOne();
  await out.flushed();
  assert.deepEqual(w.written, [1, 2]);
});

Deno.test("A stalled outbox does not hold up another connection's outbox", async () => {
  const stalled = new GatedWriter();
  const fast = {
    n: 0,
    write(b: Uint8Array) {
      this.n += b.byteLength;
      return Promise.resolve(b.byteLength);
    },
  };
  const a = new Outbox(stalled, 1000);
  const b = new Outbox(fast, 1000);
  for (let i = 0; i < 50; i++) {
    a.enqueue(new Uint8Array(10));
    b.enqueue(new Uint8Array(10));
  }
  await b.flushed();
  assert.equal(fast.n, 500, "the fast peer got everything while the other never completed a write");
  assert.equal(a.queuedBytes, 500);
  assert.equal(stalled.calls.length, 1, "the stalled peer has one write in flight, not one per frame");
  await stalled.releaseOne();
  await a.flushed();
  assert.equal(a.queuedBytes, 0);
});

Deno.test("Outbox writes frames that lie end to end in one buffer as one view of it, uncopied", async () => {
  const arena = new FrameArena(1024);
  const seen: Uint8Array[] = [];
  const out = new Outbox({
    write(b: Uint8Array) {
      seen.push(b);
      return Promise.resolve(b.byteLength);
    },
  }, 1 << 20);
  const frames = [new Uint8Array([1, 2]), new Uint8Array([3]), new Uint8Array([4, 5, 6])].map((f) =>
    arena.place(f)
  );
  // Placed frames, and plain views of the same bytes, join one run alike.
  out.enqueuePlaced(frames[0]);
  out.enqueue(frames[1].bytes);
  out.enqueuePlaced(frames[2]);
  await out.flushed();
  assert.equal(seen.length, 1);
  assert.equal(seen[0].buffer, frames[0].buffer, "the write is a view of the shared buffer");
  assert.deepEqual([...seen[0]], [1, 2, 3, 4, 5, 6]);
  assert.equal(out.queuedBytes, 0);
});

Deno.test("Outbox keeps order when shared and separate frames alternate", async () => {
  const arena = new FrameArena(1024);
  const w = new GatedWriter();
  const out = new Outbox(w, 1 << 20);
  out.enqueuePlaced(arena.place(new Uint8Array([1])));
  out.enqueue(new Uint8Array([2]));
  out.enqueuePlaced(arena.place(new Uint8Array([3])));
  out.enqueuePlaced(arena.place(new Uint8Array([4])));
  await w.releaseOne();
  assert.equal(w.calls.length, 1, "separate runs are still coalesced into one write");
  assert.deepEqual(w.written, [1, 2, 3, 4]);
});

Deno.test("Outbox does not grow a run that is being written: frames that follow it go in the next write", async () => {
  const arena = new FrameArena(1024);
  const w = new GatedWriter(2);
  const out = new Outbox(w, 1 << 20);
  out.enqueuePlaced(arena.place(new Uint8Array([1, 2, 3])));
  await tick();
  assert.equal(w.calls.length, 1);
  // Adjacent in the arena to the run in flight, but queued after its write began.
  out.enqueuePlaced(arena.place(new Uint8Array([4, 5])));
  while (w.pending > 0 || out.queuedBytes > 0) await w.releaseOne();
  assert.deepEqual(w.written, [1, 2, 3, 4, 5]);
  assert.deepEqual(w.calls.map((c) => [...c]), [[1, 2, 3], [3], [4, 5]]);
});

Deno.test("Outbox.enqueuePlaced() keeps the budget and the hard limit like enqueue()", async () => {
  const arena = new FrameArena(1024);
  const w = new GatedWriter();
  const out = new Outbox(w, 5);
  assert.equal(out.enqueuePlaced(arena.place(new Uint8Array(3))), true);
  assert.equal(out.enqueuePlaced(arena.place(new Uint8Array(3))), true, "past the budget of 5");
  assert.equal(out.over, true);
  assert.equal(
    out.enqueuePlaced(arena.place(new Uint8Array(35))),
    false,
    "41 bytes would exceed the limit of 40",
  );
  assert.equal(out.queuedBytes, 6);
  out.close();
  assert.equal(out.enqueuePlaced(arena.place(new Uint8Array(1))), false, "closed");
  await w.releaseOne();
  await out.flushed();
});

/** A writer that completes at once and lets a test wait for its n-th write, with a deadline. */
class CountingWriter {
  readonly calls: number[][] = [];
  #waiters: Array<() => void> = [];

  write(bytes: Uint8Array): Promise<number> {
    this.calls.push([...bytes]);
    for (const wake of this.#waiters.splice(0)) wake();
    return Promise.resolve(bytes.byteLength);
  }

  async writes(n: number): Promise<number[][]> {
    while (this.calls.length < n) {
      await withDeadline(new Promise<void>((r) => this.#waiters.push(r)), 5000, () => `write ${n}`);
    }
    return this.calls;
  }
}

Deno.test("Outbox holds lazy frames for the rest of the window and sends those that came meanwhile in one write", async () => {
  const arena = new FrameArena(1024);
  const w = new CountingWriter();
  const out = new Outbox(w, 1 << 20);
  // Read before the first frame: whether it goes at once or at the end of a window another test opened, the
  // window it opens ends LAZY_MS after this at the earliest.
  const before = performance.now();
  out.enqueuePlaced(arena.place(new Uint8Array([1])), true);
  await w.writes(1);
  // A lazy frame just went: a new window is open.
  out.enqueuePlaced(arena.place(new Uint8Array([2])), true);
  out.enqueuePlaced(arena.place(new Uint8Array([3])), true);
  await tick();
  assert.equal(w.calls.length, 1, "held while the window is open");
  const calls = await w.writes(2);
  assert.deepEqual(calls, [[1], [2, 3]]);
  // Timers fire a little late, never early (a millisecond of rounding aside).
  const held = performance.now() - before;
  assert.ok(held >= LAZY_MS - 1, `written ${held} ms after the first frame`);
});

Deno.test("Outbox sends held lazy frames at once, in order, with a frame that may not wait or on flushed()", async () => {
  const arena = new FrameArena(1024);
  const w = new CountingWriter();
  const out = new Outbox(w, 1 << 20);
  out.enqueuePlaced(arena.place(new Uint8Array([1])), true);
  await w.writes(1);
  out.enqueuePlaced(arena.place(new Uint8Array([2])), true);
  out.enqueue(new Uint8Array([3]));
  assert.deepEqual(await w.writes(2), [[1], [2, 3]], "the ping carries the presence before it");
  out.enqueuePlaced(arena.place(new Uint8Array([4])), true);
  await out.flushed();
  assert.deepEqual(w.calls, [[1], [2, 3], [4]], "flushed() does not wait for the window");
  // Nothing waits now, so no timer is left armed (the test's op sanitizer would fail on one).
});

Deno.test("lazyWindowMs: a millisecond per outbox swept, from LAZY_MS up to STORM_LAZY_MS", () => {
  assert.equal(lazyWindowMs(0), LAZY_MS);
  assert.equal(lazyWindowMs(1), LAZY_MS);
  assert.equal(lazyWindowMs(LAZY_MS), LAZY_MS);
  assert.equal(lazyWindowMs(600), 600);
  assert.equal(lazyWindowMs(STORM_LAZY_MS), STORM_LAZY_MS);
  assert.equal(lazyWindowMs(100_000), STORM_LAZY_MS);
});

Deno.test("Outbox: after a sweep of many waiting outboxes the next window is longer, and after a small one short again", async () => {
  const arena = new FrameArena(1 << 16);
  const n = STORM_LAZY_MS; // outboxes in the big sweep: its window is STORM_LAZY_MS
  const writers = Array.from({ length: n }, () => new CountingWriter());
  const outs = writers.map((w) => new Outbox(w, 1 << 20));
  // A lone lazy frame goes at once (or at the end of a window another test opened) and opens a window...
  outs[0].enqueuePlaced(arena.place(new Uint8Array([1])), true);
  await writers[0].writes(1);
  // ... in which every outbox waits: one sweep writes them all.
  for (const out of outs) out.enqueuePlaced(arena.place(new Uint8Array([2])), true);
  await tick();
  assert.equal(writers[1].calls.length, 0, "held while the window is open");
  await Promise.all(writers.map((w, i) => w.writes(i === 0 ? 2 : 1)));
  const swept = performance.now();
  // The sweep opened a window of STORM_LAZY_MS: a lazy frame now waits for its end.
  outs[1].enqueuePlaced(arena.place(new Uint8Array([3])), true);
  await writers[1].writes(2);
  // Measured from the end of the sweep's writes, a little after the window opened: well above LAZY_MS.
  const held = performance.now() - swept;
  assert.ok(held >= STORM_LAZY_MS - 100, `held ${held} ms after a sweep of ${n}`);
  // That sweep was of one outbox: the window it opened is LAZY_MS again.
  const small = performance.now();
  outs[2].enqueuePlaced(arena.place(new Uint8Array([4])), true);
  await writers[2].writes(2);
  const again = performance.now() - small;
  assert.ok(again < STORM_LAZY_MS - 100, `held ${again} ms after a sweep of one`);
  assert.deepEqual(writers[1].calls, [[2], [3]]);
});
