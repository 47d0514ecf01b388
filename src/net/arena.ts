/**
 * Fan-out frames laid end to end in large shared chunks. A burst of
 * broadcasts to one room then sits in one contiguous run of bytes, and every
 * member's {@linkcode Outbox} holds that run as a single view: it writes the
 * same bytes to each peer without copying them once per peer.
 *
 * Chunks are never reused: one is dropped by the arena when full and freed by
 * the garbage collector once no outbox still holds a view of it, so a view
 * stays valid for as long as a write may need it.
 *
 * @module
 */

/** Bytes per chunk: one chunk holds a few dozen bursts, so a burst rarely straddles two. */
export const ARENA_CHUNK = 256 * 1024;

/** Frames larger than this are not copied in: they would waste the rest of a chunk, and gain nothing. */
export const ARENA_MAX_FRAME = 16 * 1024;

/** A frame and where its bytes lie, worked out once per broadcast rather than once per peer. */
export interface PlacedFrame {
  readonly bytes: Uint8Array;
  readonly buffer: ArrayBufferLike;
  /** Offsets of the bytes in `buffer`: [start, end). */
  readonly start: number;
  readonly end: number;
}

export class FrameArena {
  readonly chunkSize: number;
  #chunk: ArrayBuffer;
  #used = 0;

  constructor(chunkSize = ARENA_CHUNK) {
    this.chunkSize = chunkSize;
    this.#chunk = new ArrayBuffer(chunkSize);
  }

  /**
   * A copy of `frame` placed right after the previous one (in the same chunk,
   * while it fits), or `frame` itself when it is too large to be worth copying.
   */
  place(frame: Uint8Array): PlacedFrame {
    const n = frame.byteLength;
    if (n > ARENA_MAX_FRAME || n > this.chunkSize) {
      return { bytes: frame, buffer: frame.buffer, start: frame.byteOffset, end: frame.byteOffset + n };
    }
    if (this.#used + n > this.chunkSize) {
      this.#chunk = new ArrayBuffer(this.chunkSize);
      this.#used = 0;
    }
    const start = this.#used;
    const bytes = new Uint8Array(this.#chunk, start, n);
    bytes.set(frame);
    this.#used += n;
    return { bytes, buffer: this.#chunk, start, end: start + n };
  }
}
