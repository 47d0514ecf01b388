/**
 * The scrollback a room's window starts with: its last messages from the
 * local transcript of earlier sessions, greyed out, under a divider for each
 * day ("-- earlier: Fri 2026-01-02 --") and above one that marks where this
 * session begins. Each keeps its sequence number, so when the server sends
 * the same message again (as recent history) it is recognised and skipped.
 *
 * @module
 */

import type { TranscriptEntry } from "../client/transcript.ts";
import { nameKey } from "../protocol/names.ts";
import type { Entry } from "./entries.ts";

/** Transcript messages shown per room on start: a screenful or ten, without reading a year of chat. */
export const BACKLOG_ENTRIES = 200;

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "Fri 2026-01-02", in local time: the clock on each line says only hours and minutes. */
export function dayLabel(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getDay()]} ${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A transcript line as read from disk: a torn or edited file must not take the client down. */
function wellFormed(t: TranscriptEntry): boolean {
  return Number.isSafeInteger(t.seq) && t.seq > 0 && Number.isFinite(t.ts) && typeof t.from === "string" &&
    typeof t.text === "string";
}

/**
 * The entries that show the last `limit` messages of `transcript` (one
 * room's, oldest first) as earlier scrollback for `me`; none for an empty
 * transcript.
 */
export function backlogEntries(
  transcript: readonly TranscriptEntry[],
  me: string,
  limit = BACKLOG_ENTRIES,
): Entry[] {
  const last = transcript.filter(wellFormed).slice(-limit);
  if (last.length === 0) return [];
  const out: Entry[] = [];
  let day = "";
  for (const t of last) {
    const label = dayLabel(t.ts);
    if (label !== day) {
      out.push({ kind: "divider", ts: t.ts, text: `earlier: ${label}` });
      day = label;
    }
    out.push({
      kind: "chat",
      ts: t.ts,
      from: t.from,
      text: t.text,
      action: t.action === true,
      mine: nameKey(t.from) === nameKey(me),
      mention: false,
      history: false,
      seq: t.seq,
      earlier: true,
    });
  }
  out.push({ kind: "divider", ts: last[last.length - 1].ts, text: "end of earlier messages" });
  return out;
}
