/**
 * Whether a message mentions the user: their name as a whole word, ignoring
 * case, as every front end marks it (the terminal client highlights it, the
 * browser client too, and both count it apart in the window list). Pure.
 *
 * @module
 */

import { nameKey } from "../protocol/names.ts";

/** Matches `me` as a whole word (not inside a longer name), ignoring case; global, for highlighting. */
export function mentionPattern(me: string): RegExp {
  const escaped = nameKey(me).replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
  return new RegExp(`(?<![\\p{L}\\p{N}\\p{M}_])${escaped}(?![\\p{L}\\p{N}\\p{M}_])`, "giu");
}

/** True when `text` names `me` as a whole word, ignoring case. */
export function mentions(text: string, me: string): boolean {
  if (me === "") return false;
  return mentionPattern(me).test(text.normalize("NFC"));
}
