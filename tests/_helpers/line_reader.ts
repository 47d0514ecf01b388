/**
 * Reads a byte stream (a child's stdout or stderr) as lines, keeps every
 * line, and lets a test wait for a line matching a predicate with a deadline.
 *
 * @module
 */

import { Changes, tail, WAIT_MS, waitFor } from "./deadline.ts";

export class LineReader {
  readonly label: string;
  /** Every complete line so far, without line endings. */
  readonly lines: string[] = [];
  readonly changes = new Changes();
  #ended = false;
  #cursor = 0;
  /** Settles once the stream has ended and every line is in {@linkcode lines}. */
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>, label: string) {
    this.label = label;
    this.done = this.#pump(stream);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Everything read so far, for failure messages. */
  describe(): string {
    return `${this.label}${this.#ended ? " (ended)" : ""}:\n${tail(this.lines)}`;
  }

  /**
   * Waits for the first line after the last one {@linkcode next} returned
   * that matches `match`, and returns it. Successive calls walk forward, so
   * a sequence of calls checks order.
   */
  async next(match: (line: string) => boolean, what = String(match), timeoutMs = WAIT_MS): Promise<string> {
    const index = await waitFor(
      this,
      () => {
        for (let i = this.#cursor; i < this.lines.length; i++) if (match(this.lines[i])) return i;
        return undefined;
      },
      `a line matching ${what} on ${this.label}`,
      timeoutMs,
    );
    this.#cursor = index + 1;
    return this.lines[index];
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        rest += text;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        if (parts.length === 0) continue;
        this.lines.push(...parts.map((l) => l.replace(/\r$/, "")));
        this.changes.notify();
      }
    } finally {
      if (rest !== "") this.lines.push(rest);
      this.#ended = true;
      this.changes.notify();
    }
  }
}
