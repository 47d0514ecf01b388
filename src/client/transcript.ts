/**
 * The client's local transcript: every message it has shown, per server
 * and room, as JSON lines in the XDG data directory. The terminal UI shows
 * it as scrollback on start, and `chat history` searches it. A stored
 * conversation ("@peer") has a file per person and peer
 * ({@linkcode transcriptFile}): two people on one machine each have their own
 * conversation with bob, numbered by the server on its own.
 *
 * A message is identified by its server (the directory), room (the file) and
 * sequence number, with its time telling a message from one renumbered after
 * the server's data was reset. Every client on the machine that talks to a
 * server writes that server's files, so writes are deduplicated across
 * processes (an exclusive lock per append) and reads drop copies that older
 * versions left.
 *
 * @module
 */

import { nameKey } from "../protocol/names.ts";
import type { MessageEvent } from "./events.ts";
import { type ServerAddress, storageKey } from "./servers.ts";

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

/**
 * The file name (without ".jsonl") of `room` in a server's transcript directory: the room made safe for a
 * file name, or for a stored conversation ("@peer") `@` and the name keys of `me` and the peer, joined by
 * `+`. Neither character survives {@linkcode safe}, so a room's file never looks like a conversation's.
 */
export function transcriptFile(room: string, me: string): string {
  if (!room.startsWith("@")) return safe(room);
  return `@${safe(nameKey(me))}+${safe(nameKey(room.slice(1)))}`;
}

/** The people (name keys, as made safe for file names) with a transcript of their conversation with `peer`. */
export function conversationOwners(dir: string, peer: string): string[] {
  const suffix = `+${safe(nameKey(peer))}.jsonl`;
  return fileNames(dir).filter((n) => n.startsWith("@") && n.endsWith(suffix)).map((n) =>
    n.slice(1, n.length - suffix.length)
  );
}

/** The directory of one server's (or one server list's) transcripts under `base` (the XDG data dir of chat). */
export function transcriptDir(base: string, servers: readonly ServerAddress[]): string {
  return `${base}/transcripts/${storageKey(servers)}`;
}

/** What a writer knows of one room's file: where it has read to, and which messages it holds. */
interface RoomFile {
  file: Deno.FsFile;
  /** Bytes of the file read so far: what lies beyond was written by another process. */
  offset: number;
  /** The messages in the file, as `seq@ts`: one that fills a gap (caught up after another client wrote later ones) is new. */
  held: Set<string>;
  /** False when the file ends in a torn line (a crash mid-write): the next line starts on a new one. */
  endsClean: boolean;
}

/**
 * Appends messages to per-room files, each message at most once, even when
 * several clients on this machine write the same server's transcript (two
 * sessions of one account, or two people sharing a data dir): each append
 * holds an exclusive lock on the file and first reads what the others
 * appended since, so a message one of them recorded is not recorded again.
 */
export class TranscriptWriter {
  readonly dir: string;
  /** Whose client writes: a conversation's file is its own (see {@linkcode transcriptFile}). */
  readonly me: string;
  #files = new Map<string, RoomFile>();

  constructor(dir: string, me = "") {
    this.dir = dir;
    this.me = me;
  }

  #open(room: string): RoomFile {
    let f = this.#files.get(room);
    if (f) return f;
    Deno.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = `${this.dir}/${transcriptFile(room, this.me)}.jsonl`;
    f = {
      file: Deno.openSync(path, { read: true, append: true, create: true, mode: 0o600 }),
      offset: 0,
      held: new Set(),
      endsClean: true,
    };
    this.#files.set(room, f);
    return f;
  }

  /** Reads what was appended beyond `f.offset` (by anyone) into `held`. Call holding the lock. */
  #catchUp(f: RoomFile): void {
    const size = f.file.statSync().size;
    if (size <= f.offset) return;
    const bytes = new Uint8Array(size - f.offset);
    f.file.seekSync(f.offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < bytes.length) {
      const n = f.file.readSync(bytes.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    f.offset += got;
    const text = new TextDecoder().decode(bytes.subarray(0, got));
    f.endsClean = text.endsWith("\n");
    for (const e of parseEntries(text)) f.held.add(entryKey(e));
  }

  /**
   * Records `m` unless it is already recorded (the same seq and time). An older message than the newest
   * recorded is recorded too: one this client caught up on after another client on the machine recorded later
   * ones, or one numbered again after the server's data was reset (a lower seq with a newer time).
   */
  add(m: MessageEvent): void {
    const f = this.#open(m.room);
    // Another process appends to the same file only while holding this lock (see the class comment).
    f.file.lockSync(true);
    try {
      this.#catchUp(f);
      const key = entryKey(m);
      if (f.held.has(key)) return;
      const line: TranscriptEntry = {
        room: m.room,
        seq: m.seq,
        ts: m.ts,
        from: m.from,
        text: m.text,
        action: m.action,
      };
      const bytes = encoder.encode(`${f.endsClean ? "" : "\n"}${JSON.stringify(line)}\n`);
      let off = 0;
      while (off < bytes.length) off += f.file.writeSync(bytes.subarray(off));
      f.offset += bytes.length;
      f.endsClean = true;
      f.held.add(key);
    } finally {
      f.file.unlockSync();
    }
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

/** A message's identity in a transcript: its seq, and its time to tell a renumbered one apart. */
function entryKey(e: { seq: number; ts: number }): string {
  return `${e.seq}@${e.ts}`;
}

/**
 * The entries of transcript text, each message once: a line that repeats a
 * message already read (same seq and time: one written by an older client
 * beside another session) is dropped, as are torn lines after a crash.
 */
export function parseEntries(text: string): TranscriptEntry[] {
  const out: TranscriptEntry[] = [];
  const seen = new Set<string>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const e = JSON.parse(line);
      if (typeof e.seq !== "number" || typeof e.text !== "string") continue;
      // The time tells a message from one with the same number after the server's data was reset.
      const key = entryKey(e);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(e);
    } catch { /* a torn line after a crash */ }
  }
  return out;
}

/** Reads a transcript file, each message once; missing files and torn lines yield nothing. */
export function readEntries(path: string): TranscriptEntry[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  // In the order the messages were sent: a file may hold a gap filled later (see TranscriptWriter.add).
  return parseEntries(text).sort((a, b) => a.ts - b.ts || a.seq - b.seq);
}

/** The .jsonl files of a transcript directory, sorted; none when it does not exist. */
function fileNames(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".jsonl")).map((e) => e.name)
      .sort();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    return [];
  }
}

/**
 * Reads every room of a server's transcript directory, or only `room` (a conversation "@peer" is `me`'s).
 * Every room means every conversation too: of `me` only, when given.
 */
export function readTranscript(dir: string, room?: string, me?: string): TranscriptEntry[] {
  if (room !== undefined) return readEntries(`${dir}/${transcriptFile(room, me ?? "")}.jsonl`);
  const mine = me === undefined ? null : `@${safe(nameKey(me))}+`;
  const out: TranscriptEntry[] = [];
  for (const n of fileNames(dir)) {
    if (mine !== null && n.startsWith("@") && !n.startsWith(mine)) continue;
    out.push(...readEntries(`${dir}/${n}`));
  }
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
