/**
 * Line wrapping of styled text at a column width, measured with
 * {@linkcode graphemeWidth}: breaks after a space when it can, inside a word
 * only when the word is longer than the row, and never inside a grapheme
 * cluster or a wide character. A "\n" always starts a new row.
 *
 * @module
 */

import type { Span, Style } from "./style.ts";
import { graphemes, graphemeWidth } from "./width.ts";

interface Cell {
  g: string;
  w: number;
  style: Style | undefined;
}

function cells(spans: readonly Span[]): Cell[] {
  const out: Cell[] = [];
  for (const s of spans) {
    for (const g of graphemes(s.text)) out.push({ g, w: g === "\n" ? 0 : graphemeWidth(g), style: s.style });
  }
  return out;
}

function toSpans(row: Cell[]): Span[] {
  const out: Span[] = [];
  for (const c of row) {
    const last = out[out.length - 1];
    if (last && last.style === c.style) last.text += c.g;
    else out.push(c.style ? { text: c.g, style: c.style } : { text: c.g });
  }
  return out;
}

/** Splits `spans` into rows of at most `width` columns (at least one row, maybe empty). */
export function wrapSpans(spans: readonly Span[], width: number): Span[][] {
  const w = Math.max(1, width);
  const rows: Cell[][] = [];
  let row: Cell[] = [];
  let used = 0;
  // Index in `row` just after the last space: where the row may be cut.
  let breakAt = -1;
  const newRow = () => {
    // A row never ends in the spaces it was broken after.
    while (row.length > 0 && row[row.length - 1].g === " ") row.pop();
    rows.push(row);
    row = [];
    used = 0;
    breakAt = -1;
  };
  for (const c of cells(spans)) {
    if (c.g === "\n") {
      newRow();
      continue;
    }
    if (used + c.w > w && row.length > 0) {
      if (c.g === " ") {
        // The space that does not fit becomes the break itself.
        newRow();
        continue;
      }
      if (breakAt > 0 && breakAt < row.length) {
        const carry = row.slice(breakAt);
        row = row.slice(0, breakAt);
        newRow();
        row = carry;
        used = carry.reduce((n, x) => n + x.w, 0);
      } else {
        newRow();
      }
    }
    row.push(c);
    used += c.w;
    if (c.g === " ") breakAt = row.length;
  }
  rows.push(row);
  return rows.map(toSpans);
}

/** Width in columns of `spans`. */
export function spansWidth(spans: readonly Span[]): number {
  let n = 0;
  for (const c of cells(spans)) n += c.w;
  return n;
}

/** The first `width` columns of `spans` (never splitting a grapheme). */
export function fitSpans(spans: readonly Span[], width: number): Span[] {
  const out: Cell[] = [];
  let used = 0;
  for (const c of cells(spans)) {
    if (c.g === "\n") continue;
    if (used + c.w > width) break;
    out.push(c);
    used += c.w;
  }
  return toSpans(out);
}
