/**
 * /lastlog for every front end: the lines of a scrollback that contain a
 * text (ignoring case) or are from someone of that name, newest last,
 * capped so that a common word does not flood the screen. Pure.
 *
 * @module
 */

import { nameKey } from "../protocol/names.ts";

/** The most matches /lastlog shows; the answer says how many there were. */
export const MAX_LASTLOG = 100;

/** A line /lastlog can search: its sender (if any) and text. */
export interface Searchable {
  from?: string;
  text: string;
}

/** The matches of `query` among `lines` (the last MAX_LASTLOG of them) and how many matched in all. */
export function lastlog<T extends Searchable>(
  lines: readonly T[],
  query: string,
): { shown: T[]; total: number } {
  const q = query.normalize("NFC").toLowerCase();
  const from = nameKey(query);
  const hits = lines.filter((l) =>
    l.text.normalize("NFC").toLowerCase().includes(q) || (l.from !== undefined && nameKey(l.from) === from)
  );
  return { shown: hits.slice(-MAX_LASTLOG), total: hits.length };
}

/** The heading of a /lastlog answer. */
export function lastlogHeading(
  query: string,
  where: string,
  found: { shown: unknown[]; total: number },
): string {
  if (found.total === 0) return `lastlog: nothing in ${where} matches "${query}"`;
  const more = found.total > found.shown.length ? ` (the last ${found.shown.length} shown)` : "";
  return `lastlog: ${found.total} line(s) in ${where} match "${query}"${more}:`;
}
