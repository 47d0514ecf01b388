/**
 * Input history: Up and Down walk the lines sent before, keeping the line
 * being typed as a draft to come back to. Pure; the file format (one JSON
 * string per line, so multi-line messages survive) is parsed and written
 * here, and the caller does the disk I/O.
 *
 * @module
 */

/** Entries kept, in memory and on disk: a day's worth of lines for a busy user. */
export const MAX_HISTORY = 1000;

export interface HistoryState {
  readonly entries: readonly string[];
  /** Which entry is shown: entries.length means the draft. */
  readonly index: number;
  /** What was typed before walking into the history. */
  readonly draft: string;
}

export function historyOf(entries: readonly string[]): HistoryState {
  const kept = entries.slice(-MAX_HISTORY);
  return { entries: kept, index: kept.length, draft: "" };
}

/** One step back; returns the new state and the text to show, or null at the oldest entry. */
export function historyUp(h: HistoryState, current: string): { history: HistoryState; text: string } | null {
  if (h.index === 0) return null;
  const draft = h.index === h.entries.length ? current : h.draft;
  const index = h.index - 1;
  return { history: { ...h, index, draft }, text: h.entries[index] };
}

/** One step forward; past the newest entry comes the draft. Null when already on the draft. */
export function historyDown(h: HistoryState): { history: HistoryState; text: string } | null {
  if (h.index >= h.entries.length) return null;
  const index = h.index + 1;
  const text = index === h.entries.length ? h.draft : h.entries[index];
  return { history: { ...h, index, draft: index === h.entries.length ? "" : h.draft }, text };
}

/** A line that carries a password (`/register PASSWORD`): kept neither in the history nor in its file. */
export function holdsSecret(line: string): boolean {
  return /^\s*\/register(\s|$)/i.test(line);
}

/** Records a sent line (not blank, not a repeat of the last one) and resets to the draft. */
export function historyAdd(h: HistoryState, line: string): HistoryState {
  const entries = line.trim() === "" || h.entries[h.entries.length - 1] === line
    ? h.entries
    : [...h.entries, line].slice(-MAX_HISTORY);
  return { entries, index: entries.length, draft: "" };
}

/** Parses a history file; lines that are not a JSON string are skipped. */
export function parseHistory(file: string): string[] {
  const out: string[] = [];
  for (const line of file.split("\n")) {
    if (line === "") continue;
    try {
      const v = JSON.parse(line);
      if (typeof v === "string") out.push(v);
    } catch { /* a torn last line from a crash: skip it */ }
  }
  return out.slice(-MAX_HISTORY);
}

/** The line to append to the history file for `entry`. */
export function historyLine(entry: string): string {
  return JSON.stringify(entry) + "\n";
}

/** A file name for the history of `server` ("host:port"): safe on every file system. */
export function historyFileName(server: string): string {
  return `history-${server.replace(/[^A-Za-z0-9._-]/g, "_")}.jsonl`;
}
