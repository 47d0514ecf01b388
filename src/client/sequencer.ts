/**
 * Exactly-once, in-order delivery per room on the client. The server
 * numbers each room's messages 1, 2, 3, ... with no gaps; the sequencer
 * passes on each number once, in order, buffers messages that arrive after
 * a gap, and asks for the gap to be fetched from the server's history.
 * Pure: it decides, the client sends the FETCH.
 *
 * @module
 */

/** The part of a message the sequencer looks at. */
export interface Sequenced {
  seq: number;
}

export interface SequencerStep<M extends Sequenced> {
  /** Messages to pass on now, in order. */
  deliver: M[];
  /** When set: fetch the messages after this sequence (none is outstanding). */
  fetchAfter?: number;
}

/** Largest number of out-of-order messages held while a gap is fetched. */
export const MAX_BUFFERED = 10_000;

export class RoomSequencer<M extends Sequenced> {
  /** Highest sequence passed on (0: none yet). */
  last: number;
  #based: boolean;
  #buffer = new Map<number, M>();
  #fetching = false;

  /**
   * `last` is the highest sequence already seen; 0 asks for everything from
   * the room's first message. Omitted for a room never seen: then the first
   * message that arrives (recent history, or a live one) sets the baseline.
   */
  constructor(last?: number) {
    this.last = last ?? 0;
    this.#based = last !== undefined;
  }

  /** True once the sequencer knows where it stands: resuming it fetches everything after `last`. */
  get based(): boolean {
    return this.#based;
  }

  get fetching(): boolean {
    return this.#fetching;
  }

  /** A message arrived (live or fetched). */
  receive(m: M): SequencerStep<M> {
    if (m.seq <= this.last) return { deliver: [] };
    if (!this.#based || m.seq === this.last + 1) {
      this.#based = true;
      this.last = m.seq;
      return { deliver: [m, ...this.#drain()] };
    }
    // A gap: hold this one and fetch what is missing, once.
    if (this.#buffer.size < MAX_BUFFERED) this.#buffer.set(m.seq, m);
    if (this.#fetching) return { deliver: [] };
    this.#fetching = true;
    return { deliver: [], fetchAfter: this.last };
  }

  /**
   * The server finished a FETCH answer. `more` asks for the next page; when
   * the room's history has nothing more (retention deleted the gap), the
   * sequencer skips to what it holds.
   */
  fetched(info: { count: number; more: boolean; lastSeq: number }): SequencerStep<M> {
    this.#fetching = false;
    if (!this.#based) {
      // The answer to "where does this room stand?" for a room joined while empty: resume from here later.
      this.#based = true;
      this.last = Math.max(this.last, info.lastSeq);
      return { deliver: [] };
    }
    if (info.more) {
      this.#fetching = true;
      return { deliver: [], fetchAfter: this.last };
    }
    if (this.#buffer.size === 0) {
      if (info.lastSeq > this.last && info.count > 0) {
        // The page brought some but not all of what the server has: fetch again.
        this.#fetching = true;
        return { deliver: [], fetchAfter: this.last };
      }
      // An empty page short of lastSeq: those messages are gone (retention). Continue from the server's end.
      if (info.lastSeq > this.last) this.last = info.lastSeq;
      return { deliver: [] };
    }
    // Whatever is still missing is gone from the server: continue from the oldest held message.
    const first = Math.min(...this.#buffer.keys());
    this.last = first - 1;
    return { deliver: this.#drain() };
  }

  /** After a reconnect: ask for everything after `last` (nothing is outstanding on a new connection). */
  resume(): SequencerStep<M> {
    this.#fetching = this.#based;
    return this.#based ? { deliver: [], fetchAfter: this.last } : { deliver: [] };
  }

  #drain(): M[] {
    const out: M[] = [];
    for (;;) {
      const next = this.#buffer.get(this.last + 1);
      if (!next) break;
      this.#buffer.delete(this.last + 1);
      this.last++;
      out.push(next);
    }
    // Anything at or below `last` is a duplicate now.
    for (const seq of this.#buffer.keys()) if (seq <= this.last) this.#buffer.delete(seq);
    return out;
  }
}
