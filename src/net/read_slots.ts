/**
 * Small read buffers cut from shared slabs, for connections that are quiet.
 *
 * An idle connection spends its life in a pending read, and that read holds
 * its buffer. A buffer of its own costs far more than its bytes: a
 * Uint8Array, an ArrayBuffer, a backing-store record and a malloc block each.
 * A slot here is one Uint8Array over a shared ArrayBuffer. A slot belongs to
 * one connection from {@linkcode ReadSlots.take} to
 * {@linkcode ReadSlots.give}, so two reads never share bytes; the caller must
 * give a slot back only when no read into it is pending.
 *
 * Slabs are kept once carved: their size follows the most connections ever
 * open at once (256 B each), which the server's client limit bounds.
 *
 * @module
 */

/** Slots per slab: 64 KiB slabs of 256-byte slots by default. */
const SLOTS_PER_SLAB = 256;

export class ReadSlots {
  readonly slotSize: number;
  readonly #perSlab: number;
  #free: Uint8Array[] = [];
  #slab: ArrayBuffer | null = null;
  #carved = 0;
  /** Slots handed out and not yet given back. */
  inUse = 0;

  constructor(slotSize: number, perSlab = SLOTS_PER_SLAB) {
    if (!(slotSize > 0) || !(perSlab > 0)) {
      throw new RangeError("slot size and slots per slab must be positive");
    }
    this.slotSize = slotSize;
    this.#perSlab = perSlab;
  }

  /** A slot of `slotSize` bytes, reused or freshly cut. Its old contents are not cleared. */
  take(): Uint8Array {
    this.inUse++;
    const reused = this.#free.pop();
    if (reused) return reused;
    if (this.#slab === null || this.#carved === this.#perSlab) {
      this.#slab = new ArrayBuffer(this.slotSize * this.#perSlab);
      this.#carved = 0;
    }
    return new Uint8Array(this.#slab, this.slotSize * this.#carved++, this.slotSize);
  }

  /** Returns a slot that {@linkcode take} gave; after this the caller must not touch it. */
  give(slot: Uint8Array): void {
    if (slot.byteLength !== this.slotSize) throw new RangeError("not a slot of this pool");
    this.inUse--;
    this.#free.push(slot);
  }
}
