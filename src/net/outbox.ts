/**
 * A bounded, coalescing outbound queue: the one writer of a connection.
 *
 * Frames are queued synchronously; a single drain loop writes everything
 * queued so far as one buffer, looping on partial writes, then takes what
 * arrived meanwhile. Frames that lie end to end in one buffer (a fan-out
 * burst placed by the server's FrameArena) go out as one view, uncopied.
 *
 * A reader is judged by what it fails to drain over time, not by one burst:
 * the queue may go past its `budget` (it reports when it does, and the
 * caller drops a peer that stays over it too long), and only past
 * {@linkcode HARD_FACTOR} times the budget does {@linkcode Outbox.enqueue}
 * refuse at once, which bounds the memory one peer can hold.
 *
 * @module
 */

import type { PlacedFrame } from "./arena.ts";

/** The narrowest writer an outbox needs: a Deno.Conn, a TLS conn or a test fake. */
export interface ByteWriter {
  write(bytes: Uint8Array): Promise<number>;
}

/** Default byte budget per connection: seconds of busy-room traffic, yet bounded memory per peer. */
export const DEFAULT_OUTBOX_BYTES = 1024 * 1024;

/**
 * How far past its budget a queue may go before frames are refused: room
 * for a burst produced before anything could be written (a loud room's
 * batch, a paste), never unbounded.
 */
export const HARD_FACTOR = 8;

/** Coalesce at most this many bytes into one write: large enough to amortise syscalls, small enough to copy cheaply. */
const MAX_BATCH = 256 * 1024;

/**
 * Presence may wait this long for company. Frames queued with `lazy` (a
 * presence event) go out at once when no lazy frame went out in the last
 * LAZY_MS, anywhere; otherwise they wait until that window ends and go then,
 * every waiting outbox in one sweep, or sooner with a frame that may not wait
 * (nothing is ever reordered). During a burst of joins each member then gets
 * at most about one write per window instead of one per join: the burst's
 * writes no longer grow with the square of a room's size (BENCHMARKS.md,
 * "Loud rooms"); a lone join in a quiet server still goes out at once. The
 * window a sweep opens grows with the sweep: {@linkcode lazyWindowMs}.
 */
export const LAZY_MS = 250;

/** The longest a window grows to: one second. */
export const STORM_LAZY_MS = 1000;

/**
 * The window a sweep of `swept` outboxes opens: a millisecond per outbox,
 * at least LAZY_MS and at most STORM_LAZY_MS. In a storm of joins (10,000
 * clients joining rooms of 100) nearly every member waits in each window, so
 * a sweep is thousands of writes; a window that grows with the sweep keeps
 * those writes a small share of the event loop, which then accepts and seats
 * the joiners sooner (BENCHMARKS.md, change 24). Nobody reads a storm's
 * joins one by one, and the window is back to LAZY_MS after the first sweep
 * of a quieter window.
 */
export function lazyWindowMs(swept: number): number {
  return Math.min(STORM_LAZY_MS, Math.max(LAZY_MS, swept));
}

/**
 * A run of queued bytes: one frame, or frames that lie end to end in one
 * buffer (see src/net/arena.ts), which then go out as one view.
 */
class Segment {
  /** The first frame; alone unless `buffer` is set. */
  first: Uint8Array;
  /** Set once a second adjacent frame joined: the buffer all of them lie in. */
  buffer: ArrayBufferLike | null = null;
  start: number;
  end: number;

  constructor(frame: Uint8Array, buffer: ArrayBufferLike | null = null) {
    this.first = frame;
    this.buffer = buffer;
    this.start = frame.byteOffset;
    this.end = this.start + frame.byteLength;
  }

  /** Takes `f` in when it starts where this run ends, in the same buffer. */
  extendPlaced(f: PlacedFrame): boolean {
    if (f.start !== this.end || f.buffer !== (this.buffer ??= this.first.buffer)) return false;
    this.end = f.end;
    return true;
  }

  /** Takes `frame` in when it starts where this run ends, in the same buffer. */
  extend(frame: Uint8Array): boolean {
    // A frame at offset 0 cannot follow anything; checking it first spares small frames a `.buffer` lookup.
    const at = frame.byteOffset;
    if (at !== this.end || at === 0) return false;
    const buffer = this.buffer ??= this.first.buffer;
    if (frame.buffer !== buffer) return false;
    this.end = at + frame.byteLength;
    return true;
  }

  get byteLength(): number {
    return this.end - this.start;
  }

  view(): Uint8Array {
    const n = this.end - this.start;
    return this.buffer === null || n === this.first.byteLength
      ? this.first
      : new Uint8Array(this.buffer, this.start, n);
  }
}

export class Outbox {
  readonly budget: number;
  /** Queued bytes past which frames are refused at once. */
  readonly limit: number;
  #writer: ByteWriter;
  // Queued runs are #segments[#head..]; taken ones are cleared, and the array is reset when it empties. A lone
  // frame is queued as it is; it becomes a Segment only when a frame that follows it in memory joins it.
  #segments: Array<Segment | Uint8Array> = [];
  #head = 0;
  /** The last queued run (not yet taken), which the next adjacent frame extends. */
  #tail: Segment | Uint8Array | null = null;
  #queued = 0;
  #draining = false;
  #closed = false;
  #error: unknown = null;
  #idle: Array<() => void> = [];
  #onError: (err: unknown) => void;
  #over = false;
  /** The batch being written, and how much of it is out. */
  #batch: Uint8Array | null = null;
  #offset = 0;
  /** Holding lazy frames until the window of {@linkcode LAZY_MS} ends (and not draining). */
  #waiting = false;
  /** Told when the queue goes past its budget (again): the caller watches how long it stays there. */
  onOver: ((outbox: Outbox) => void) | null = null;
  /**
   * Whose outbox this is, for the owner's books (the server's runner keeps the session id here): one shared
   * {@linkcode onOver} then serves every outbox, instead of a closure per connection.
   */
  owner = 0;
  /** Number of write calls made, for tests and stats. */
  writes = 0;

  constructor(writer: ByteWriter, budget = DEFAULT_OUTBOX_BYTES, onError: (err: unknown) => void = () => {}) {
    this.#writer = writer;
    this.budget = budget;
    this.limit = budget * HARD_FACTOR;
    this.#onError = onError;
  }

  /** True while more than `budget` bytes are queued. */
  get over(): boolean {
    return this.#over;
  }

  /** Bytes queued or being written. */
  get queuedBytes(): number {
    return this.#queued;
  }

  get failed(): boolean {
    return this.#error !== null;
  }

  /**
   * Queues one frame. Returns false, queuing nothing, when the frame would
   * take the queue past its hard limit (or the outbox is closed). The bytes
   * must not change until they are written: fan-out shares them between peers.
   */
  enqueue(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#queued + bytes.byteLength > this.limit) return false;
    this.#push(bytes);
    return true;
  }

  /**
   * Queues one frame placed by a FrameArena: the same as
   * {@linkcode Outbox.enqueue}, without reading where its bytes lie again.
   * A `lazy` frame may wait up to {@linkcode LAZY_MS} for others to share its write.
   */
  enqueuePlaced(f: PlacedFrame, lazy = false): boolean {
    const n = f.end - f.start;
    if (this.#closed || this.#queued + n > this.limit) return false;
    const tail = this.#tail;
    if (tail === null) this.#segments.push(this.#tail = f.bytes);
    else if (tail instanceof Segment) {
      if (!tail.extendPlaced(f)) this.#segments.push(this.#tail = f.bytes);
    } else if (f.start === tail.byteOffset + tail.byteLength && f.buffer === tail.buffer) {
      const run = this.#tail = new Segment(tail, f.buffer);
      run.end = f.end;
      this.#segments[this.#segments.length - 1] = run;
    } else this.#segments.push(this.#tail = f.bytes);
    this.#queued += n;
    if (this.#queued > this.budget && !this.#over) this.#wentOver();
    if (!this.#draining) {
      if (lazy) this.#later();
      else this.#schedule();
    }
    return true;
  }

  /** Queues a frame past the budget: for the one last error frame sent to a peer being dropped. */
  enqueueFinal(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#push(bytes);
  }

  #push(bytes: Uint8Array): void {
    const tail = this.#tail;
    if (tail === null) this.#segments.push(this.#tail = bytes);
    else if (tail instanceof Segment) {
      if (!tail.extend(bytes)) this.#segments.push(this.#tail = bytes);
    } else if (follows(tail, bytes)) {
      const run = this.#tail = new Segment(tail);
      run.extend(bytes);
      this.#segments[this.#segments.length - 1] = run;
    } else this.#segments.push(this.#tail = bytes);
    this.#queued += bytes.byteLength;
    if (this.#queued > this.budget && !this.#over) this.#wentOver();
    if (!this.#draining) this.#schedule();
  }

  #wentOver(): void {
    this.#over = true;
    this.onOver?.(this);
  }

  /**
   * Starts the drain after the current synchronous step rather than inside
   * it: everything queued by the same burst of input (a fan-out to this peer
   * of many messages) then goes out in one write instead of first-frame-alone.
   */
  #schedule(): void {
    if (this.#waiting) {
      this.#waiting = false;
      // Nothing left to flush: no timer stays armed for an idle server (or a finished test), and the list of
      // waiting outboxes (all of them since scheduled by a frame that could not wait) starts over.
      if (--Outbox.#waitingCount === 0) {
        clearTimeout(Outbox.#flushTimer);
        Outbox.#flushTimer = undefined;
        Outbox.#lazy = [];
      }
    }
    this.#draining = true;
    // One microtask starts the drains of every peer a burst reached, rather than one closure per peer.
    if (Outbox.#starting.push(this) === 1) queueMicrotask(Outbox.#startAll);
  }

  /** Lazy frames were queued on an idle outbox: they go now if no window is open, else when it ends. */
  #later(): void {
    if (this.#waiting) return;
    // Someone waits: the window is open (its timer is armed). Only a quiet server needs to read the clock.
    if (Outbox.#waitingCount === 0) {
      const now = performance.now();
      if (now >= Outbox.#windowEnds) {
        Outbox.#windowEnds = now + LAZY_MS;
        return this.#schedule();
      }
      Outbox.#flushTimer = setTimeout(Outbox.#flushLazy, Outbox.#windowEnds - now);
    }
    this.#waiting = true;
    Outbox.#waitingCount++;
    Outbox.#lazy.push(this);
  }

  /** Outboxes whose drain starts in the next microtask. */
  static #starting: Outbox[] = [];

  static #startAll = (): void => {
    const starting = Outbox.#starting;
    Outbox.#starting = [];
    for (const o of starting) o.#drain();
  };

  /** Outboxes holding lazy frames (some may have started draining since), their count, and the one timer. */
  static #lazy: Outbox[] = [];
  static #waitingCount = 0;
  static #flushTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** performance.now() at which the window opened by the last lazy write ends. */
  static #windowEnds = -Infinity;

  static #flushLazy = (): void => {
    Outbox.#flushTimer = undefined;
    const lazy = Outbox.#lazy;
    Outbox.#lazy = [];
    const now = performance.now();
    // Counted as swept: the outboxes still waiting (a frame that could not wait took the others already).
    let swept = 0;
    for (const o of lazy) {
      if (o.#waiting) {
        o.#schedule();
        swept++;
      }
    }
    // This sweep is a lazy write too: what comes during the next window waits for the next sweep, and a large
    // sweep opens a longer window.
    Outbox.#windowEnds = now + lazyWindowMs(swept);
  };

  /** Resolves once everything queued so far is written (or writing failed); lazy frames go at once. */
  flushed(): Promise<void> {
    if (this.#waiting) this.#schedule();
    if (!this.#draining || this.#error !== null) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Refuses further frames; what is queued still drains. */
  close(): void {
    this.#closed = true;
  }

  /**
   * Writes everything queued, one batch at a time, looping on partial
   * writes. A chain of callbacks on one handler rather than an async
   * function: each drain of an async function cost its frame, its registers
   * and the await's promises, about 0.8 KB of garbage per heartbeat ping at
   * 10,000 idle connections (BENCHMARKS.md, "Loud rooms").
   */
  #drain(): void {
    if (this.#head >= this.#segments.length) return this.#settle();
    this.#batch = this.#take();
    this.#offset = 0;
    this.#write();
  }

  #write(): void {
    const batch = this.#batch!;
    this.writes++;
    let written: Promise<number>;
    try {
      written = this.#writer.write(this.#offset === 0 ? batch : batch.subarray(this.#offset));
    } catch (err) {
      return this.#fail(err);
    }
    written.then(this.#wrote, this.#wrote);
  }

  /** What a write answered: the bytes written, or the error it failed with. */
  #wrote = (answer: number | unknown): void => {
    if (typeof answer !== "number") return this.#fail(answer);
    const batch = this.#batch!;
    this.#offset += answer;
    if (this.#offset < batch.byteLength) return this.#write();
    this.#batch = null;
    this.#queued -= batch.byteLength;
    if (this.#over && this.#queued <= this.budget) this.#over = false;
    this.#drain();
  };

  #fail(err: unknown): void {
    this.#error = err;
    this.#batch = null;
    this.#segments = [];
    this.#head = 0;
    this.#tail = null;
    this.#queued = 0;
    this.#over = false;
    this.#closed = true;
    this.#onError(err);
    this.#settle();
  }

  /** The drain is over: the next frame starts another, and whoever waited for the queue to empty goes on. */
  #settle(): void {
    this.#draining = false;
    if (this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /**
   * Removes queued runs and returns them as one buffer: a lone run as a view
   * of its bytes (no copy), several copied together up to MAX_BATCH bytes.
   */
  #take(): Uint8Array {
    const q = this.#segments;
    const first = q[this.#head];
    let n = this.#head + 1;
    let size = first.byteLength;
    if (size < MAX_BATCH) {
      while (n < q.length && size + q[n].byteLength <= MAX_BATCH) size += q[n++].byteLength;
    }
    let out: Uint8Array;
    if (n === this.#head + 1) {
      out = first instanceof Segment ? first.view() : first;
    } else {
      out = new Uint8Array(size);
      let at = 0;
      for (let i = this.#head; i < n; i++) {
        const s = q[i];
        if (!(s instanceof Segment)) out.set(s, at);
        else if (s.buffer === null) out.set(s.first, at);
        else out.set(new Uint8Array(s.buffer, s.start, s.end - s.start), at);
        at += s.byteLength;
      }
    }
    if (n === q.length) {
      // Everything is taken: start over, so the array does not grow without end.
      q.length = 0;
      this.#head = 0;
      this.#tail = null;
    } else if (n >= COMPACT_AT && n * 2 >= q.length) {
      // A queue that never empties (a peer always behind) drops its taken slots now and then.
      q.splice(0, n);
      this.#head = 0;
    } else {
      for (let i = this.#head; i < n; i++) q[i] = EMPTY;
      this.#head = n;
    }
    return out;
  }
}

/** True when `next` starts where `frame` ends, in the same buffer (a frame at offset 0 follows nothing). */
function follows(frame: Uint8Array, next: Uint8Array): boolean {
  const at = next.byteOffset;
  return at !== 0 && at === frame.byteOffset + frame.byteLength && next.buffer === frame.buffer;
}

/** Taken slots at which a queue that never empties is compacted. */
const COMPACT_AT = 1024;

/** Fills taken slots, so the queue does not keep their frames alive. */
const EMPTY = new Segment(new Uint8Array(0));
