/**
 * The colour of a name, the same in every front end: the terminal client
 * draws it as an SGR foreground code, the browser client maps the same code
 * to a colour of its theme. Pure.
 *
 * @module
 */

/** An SGR foreground colour code: 30-37 or 90-97. */
export type Colour = number;

/** Readable on dark and light backgrounds; no black, white or gray, which are kept for chrome. */
export const NAME_PALETTE: readonly Colour[] = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96];

/** A stable colour for `name`: FNV-1a of its case-folded form, so "Alice" and "alice" match. */
export function nameColour(name: string): Colour {
  let h = 0x811c9dc5;
  for (const ch of name.normalize("NFC").toLowerCase()) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return NAME_PALETTE[h % NAME_PALETTE.length];
}
