/**
 * How many terminal columns text takes, like wcwidth(3) but per grapheme
 * cluster: East Asian wide and fullwidth characters and emoji take 2
 * columns, combining marks and format characters 0, everything else 1. The
 * screen lays out every row with these numbers, so they decide whether the
 * cursor lands where the terminal puts it.
 *
 * The wide table is a compact hand-written subset of Unicode's
 * East_Asian_Width=W/F ranges (JavaScript regular expressions have no
 * property for it); emoji come from the Emoji_Presentation property.
 *
 * @module
 */

// Sorted, non-overlapping [first, last] code point ranges of wide characters that are not emoji.
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2329, 0x232a], // angle brackets
  [0x2e80, 0x2fff], // CJK radicals, Kangxi radicals, ideographic description
  [0x3000, 0x303e], // CJK symbols and punctuation
  [0x3041, 0x33ff], // kana, bopomofo, Hangul compatibility jamo, CJK compatibility
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0xa4cf], // CJK unified ideographs, Yi
  [0xa960, 0xa97f], // Hangul Jamo extended A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x16fe0, 0x16fe4], // ideographic symbols
  [0x17000, 0x18d08], // Tangut, Khitan
  [0x1aff0, 0x1b2ff], // kana extensions, Nushu
  [0x1f200, 0x1f265], // enclosed ideographic supplement
  [0x20000, 0x2fffd], // CJK extensions B-F
  [0x30000, 0x3fffd], // CJK extensions G-H
];

const EMOJI = /\p{Emoji_Presentation}/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
// Marks, format characters (ZWJ, ZWSP, bidi marks), Hangul medial vowels and final consonants.
const ZERO = /^[\p{Mn}\p{Me}\p{Cf}\u1160-\u11ff\ud7b0-\ud7ff]$/u;

function inWide(cp: number): boolean {
  let lo = 0;
  let hi = WIDE.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [first, last] = WIDE[mid];
    if (cp < first) hi = mid - 1;
    else if (cp > last) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Columns one code point takes on its own: 0, 1 or 2 (controls count 0; sanitise before display). */
export function codePointWidth(cp: number): 0 | 1 | 2 {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp < 0x300) return 1;
  const ch = String.fromCodePoint(cp);
  if (ZERO.test(ch)) return 0;
  if (inWide(cp) || EMOJI.test(ch)) return 2;
  return 1;
}

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });

/** The grapheme clusters of `text`: what a user sees as one character. */
export function graphemes(text: string): string[] {
  // Fast path: printable ASCII is one grapheme per code unit.
  if (/^[\x20-\x7e]*$/.test(text)) return text.split("");
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/** Columns one grapheme cluster takes: its base character's width, 2 for emoji presentation. */
export function graphemeWidth(g: string): number {
  const base = g.codePointAt(0);
  if (base === undefined) return 0;
  const w = codePointWidth(base);
  if (g.length === 1 || (g.length === 2 && base > 0xffff)) return w;
  // An emoji variation selector turns a text-style pictograph (e.g. U+2764 + U+FE0F) into a wide emoji.
  if (w === 1 && g.includes("\ufe0f") && PICTOGRAPHIC.test(String.fromCodePoint(base))) return 2;
  return w;
}

/** Columns `text` takes on one terminal row. */
export function stringWidth(text: string): number {
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let w = 0;
  for (const g of graphemes(text)) w += graphemeWidth(g);
  return w;
}

/** The longest prefix of `text` that fits in `width` columns (never splits a grapheme). */
export function truncate(text: string, width: number): string {
  let w = 0;
  let out = "";
  for (const g of graphemes(text)) {
    const gw = graphemeWidth(g);
    if (w + gw > width) break;
    w += gw;
    out += g;
  }
  return out;
}
