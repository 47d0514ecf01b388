/**
 * Splitting a text too long for one message into several, as irssi and
 * WeeChat do, so that a long paste or a long line is sent rather than
 * refused whole (TOO_LARGE). Each part is at most the server's `maxText`
 * UTF-8 bytes (WELCOME carries it), and parts break, in order of preference:
 *
 * 1. between lines: as many whole lines as fit go in one part, and the line
 *    break where a part ends is dropped;
 * 2. within a line too long for a part, between words: the spaces where it
 *    breaks are dropped (indentation at the start of a line is kept);
 * 3. within a word too long for a part, between grapheme clusters (what a
 *    reader sees as one character: "é" as e and an accent, a flag, a family
 *    emoji), so none is torn apart;
 * 4. only a single cluster longer than a whole part (hundreds of combining
 *    marks) breaks between code points: never inside a UTF-8 sequence.
 *
 * Blank parts are left out (the server refuses a blank message), as are
 * blank lines where a part starts or ends. Pure: no Deno API, so the browser
 * client uses it as it is.
 *
 * @example
 * ```ts
 * splitText("one\ntwo\nthree", 8); // ["one\ntwo", "three"]
 * splitText("a long line", 6); // ["a long", "line"]
 * ```
 *
 * @module
 */

import { utf8Length } from "../protocol/wire.ts";

/** Bytes of the longest UTF-8 sequence: a part must hold at least one code point. */
const MAX_CODE_POINT_BYTES = 4;

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** UTF-8 bytes of the code point starting at `s[i]`, and its length in UTF-16 units. */
function codePointAt(s: string, i: number): { bytes: number; units: number } {
  const c = s.codePointAt(i)!;
  if (c < 0x80) return { bytes: 1, units: 1 };
  if (c < 0x800) return { bytes: 2, units: 1 };
  if (c < 0x10000) return { bytes: 3, units: 1 };
  return { bytes: 4, units: 2 };
}

/** The UTF-16 index where the longest prefix of `s` of at most `max` UTF-8 bytes ends (a code point boundary). */
function prefixWithin(s: string, max: number): number {
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const cp = codePointAt(s, i);
    if (bytes + cp.bytes > max) break;
    bytes += cp.bytes;
    i += cp.units;
  }
  return i;
}

/** The last index `i` in 1..`cut` where `s[i]` is whitespace and `s.slice(0, i)` is not blank, or 0. */
function lastSpace(s: string, cut: number): number {
  for (let i = Math.min(cut, s.length - 1); i > 0; i--) {
    if (/\s/.test(s[i]) && /\S/.test(s.slice(0, i))) return i;
  }
  return 0;
}

/** The last grapheme cluster boundary of `s` at or before `cut` (0 when the first cluster ends after it). */
function lastGrapheme(s: string, cut: number): number {
  let boundary = 0;
  for (const g of graphemes.segment(s)) {
    const end = g.index + g.segment.length;
    if (end > cut) break;
    boundary = end;
  }
  return boundary;
}

/** Splits one line longer than `max` bytes into pieces of at most `max` bytes, by words, then clusters. */
function splitLine(line: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = line;
  while (utf8Length(rest) > max) {
    const cut = prefixWithin(rest, max);
    const space = lastSpace(rest, cut);
    if (space > 0) {
      pieces.push(rest.slice(0, space).trimEnd());
      rest = rest.slice(space).trimStart();
      continue;
    }
    // One word longer than a part: whole clusters, or (one cluster longer than a part) code points.
    const end = lastGrapheme(rest, cut) || cut || codePointAt(rest, 0).units;
    pieces.push(rest.slice(0, end));
    rest = rest.slice(end);
  }
  if (rest !== "") pieces.push(rest);
  return pieces;
}

/** `part` without blank lines at its start and end; null when nothing but blanks is left. */
function trimmed(part: string): string | null {
  const lines = part.split("\n");
  while (lines.length > 0 && lines[0].trim() === "") lines.shift();
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  return lines.length > 0 ? lines.join("\n") : null;
}

/**
 * `text` as one or more messages of at most `maxBytes` UTF-8 bytes each,
 * split as the module describes; `[text]` itself when it fits.
 */
export function splitText(text: string, maxBytes: number): string[] {
  if (utf8Length(text) <= maxBytes) return [text];
  const max = Math.max(maxBytes, MAX_CODE_POINT_BYTES);
  const parts: string[] = [];
  let part: string | null = null;
  let size = 0;
  const flush = () => {
    const t = part === null ? null : trimmed(part);
    if (t !== null) parts.push(t);
    part = null;
    size = 0;
  };
  for (const line of text.split("\n")) {
    const n = utf8Length(line);
    if (part !== null && size + 1 + n <= max) {
      part += "\n" + line;
      size += 1 + n;
      continue;
    }
    flush();
    const pieces = n <= max ? [line] : splitLine(line, max);
    for (const piece of pieces.slice(0, -1)) {
      part = piece;
      flush();
    }
    // The last piece may share its part with the lines that follow.
    part = pieces[pieces.length - 1] ?? "";
    size = utf8Length(part);
  }
  flush();
  return parts;
}
