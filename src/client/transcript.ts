/**
 * The client's local transcript: every message it has shown, per server
 * and room, as JSON lines in the XDG data directory. The terminal UI shows
 * it as scrollback on start, and `chat history` searches it.
 *
 * @module
 */

import type { MessageEvent } from "./events.ts";

/** One transcript line: a message as delivered. */
export interface TranscriptEntry {
  room: string;
  seq: number;
  ts: number;
  from: string;
  text: string;
  action: boolean;
}

const encoder = new TextEncoder();

function safe(s: string): string {
  return s.replace(/[^\p{L}\p{N}._-]/gu, "_");
}

/** The directory of one server's transcripts under `base` (the XDG data dir of chat). */
export function transcriptDir(base: string, host: string, port: number): string {
  return `${base}/transcripts/${safe(host)}_${port}`;
}

/** Appends messages to per-room files, each seq at most once. */
export class TranscriptWriter {
  readonly dir: string;
  #files = new Map<string, { file: Deno.FsFile; last: number; lastTs: number }>();

  constructor(dir: string) {
    this.dir = dir;
  }

  #open(room: string): { file: Deno.FsFile; last: number; lastTs: number } {
    let f = this.#files.get(room);
    if (f) return f;
    Deno.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = `${this.dir}/${safe(room)}.jsonl`;
    const existing = readEntries(path);
    f = {
      file: Deno.openSync(path, { append: true, create: true, mode: 0o600 }),
      last: existing.length ? existing[existing.length - 1].seq : 0,
      lastTs: existing.length ? existing[existing.length - 1].ts : 0,
    };
    this.#files.set(room, f);
    return f;
  }

  /**
   * Records `m` unless a message with its seq (or a later one) is already
   * recorded. A lower seq with a newer time means the server's data was
   * reset and numbering started again: that is recorded too.
   */
  add(m: MessageEvent): void {
    const f = this.#open(m.room);
    if (m.seq <= f.last && m.ts <= f.lastTs) return;
    f.last = m.seq;
    f.lastTs = m.ts;
    const line: TranscriptEntry = {
      room: m.room,
      seq: m.seq,
      ts: m.ts,
      from: m.from,
      text: m.text,
      action: m.action,
    };
    f.file.writeSync(encoder.encode(JSON.stringify(line) + "\n"));
  }

  close(): void {
    for (const f of this.#files.values()) {
      try {
        f.file.close();
      } catch { /* closed */ }
    }
    this.#files.clear();
  }
}

/** Reads a transcript file; missing files and torn lines yield nothing. */
export function readEntries(path: string): TranscriptEntry[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const out: TranscriptEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const e = JSON.parse(line);
      if (typeof e.seq === "number" && typeof e.text === "string") out.push(e);
    } catch { /* a torn last line after a crash */ }
  }
  return out;
}

/** Reads every room of a server's transcript directory, or only `room`. */
export function readTranscript(dir: string, room?: string): TranscriptEntry[] {
  if (room !== undefined) return readEntries(`${dir}/${safe(room)}.jsonl`);
  const out: TranscriptEntry[] = [];
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".jsonl")).map((e) =>
      e.name
    );
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  for (const n of names.sort()) out.push(...readEntries(`${dir}/${n}`));
  return out.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
}

/**
 * Parses a --since value: a duration back from `now` ("90s", "15m", "2h",
 * "7d") or an ISO date/time. Returns epoch milliseconds, or null if invalid.
 */
export function parseSince(value: string, now: number): number | null {
  const d = value.match(/^(\d+)\s*(s|m|h|d|w)$/);
  if (d) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[d[2] as "s" | "m" | "h" | "d" | "w"];
    return now - Number(d[1]) * unit;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}
