/**
 * What a client keeps on disk per server and name, so that a restart loses
 * nothing: the resume token, the last sequence seen per room, and every
 * message typed but not yet acknowledged.
 *
 * The file is an append-only log of JSON lines (one small synchronous write
 * per change, so a message is on disk before it goes on the wire), compacted
 * into a snapshot each time it is opened.
 *
 * @module
 */

import {
  applyEntry,
  type Journal,
  type JournalLine,
  type JournalState,
  type PendingSend,
  replay,
} from "./journal_state.ts";
import { type ServerAddress, storageKey } from "./servers.ts";

export {
  applyEntry,
  type Journal,
  type JournalEntry,
  type JournalState,
  MemoryJournal,
  type PendingSend,
  record,
  replay,
} from "./journal_state.ts";

const encoder = new TextEncoder();

/** Journal lines after which the file is rewritten as one snapshot. */
const COMPACT_AFTER = 10_000;

/** Another live process holds the journal (the same name on the same server, twice). */
export class JournalBusyError extends Error {
  constructor(path: string, pid: number) {
    super(`${path} is in use by process ${pid}`);
    this.name = "JournalBusyError";
  }
}

/**
 * Takes `${path}.lock`, holding our pid. A lock whose process is gone is
 * stale and taken over; a live one makes the open fail with JournalBusyError,
 * since two writers would lose each other's entries.
 */
function takeLock(path: string): string {
  const lock = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      Deno.writeTextFileSync(lock, String(Deno.pid), { createNew: true, mode: 0o600 });
      return lock;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const pid = Number(Deno.readTextFileSync(lock).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== Deno.pid && processAlive(pid)) {
      throw new JournalBusyError(path, pid);
    }
    Deno.removeSync(lock);
  }
  throw new JournalBusyError(path, 0);
}

function processAlive(pid: number): boolean {
  if (Deno.build.os !== "linux") return true; // no cheap check: assume it is, and fall back to memory
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** A journal in a file. Opening compacts it; a second live client on the same file is refused. */
export class FileJournal implements Journal {
  readonly state: JournalState;
  readonly path: string;
  #file: Deno.FsFile;
  #lines = 0;
  #lock: string;

  constructor(path: string) {
    this.path = path;
    const dir = path.slice(0, path.lastIndexOf("/"));
    if (dir) Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#lock = takeLock(path);
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    this.state = replay(text);
    this.#file = this.#compact();
  }

  /** Writes the state as one snapshot to a temporary file and renames it over the journal, atomically. */
  #compact(): Deno.FsFile {
    const tmp = `${this.path}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify({ op: "snapshot", state: this.state }) + "\n", {
      mode: 0o600,
    });
    Deno.renameSync(tmp, this.path);
    this.#lines = 0;
    return Deno.openSync(this.path, { append: true });
  }

  #write(e: JournalLine): void {
    applyEntry(this.state, e);
    const bytes = encoder.encode(JSON.stringify(e) + "\n");
    let off = 0;
    while (off < bytes.byteLength) off += this.#file.writeSync(bytes.subarray(off));
    // Sequence entries accumulate in a busy room: keep the file near the size of its snapshot.
    if (++this.#lines >= COMPACT_AFTER) {
      this.#file.close();
      this.#file = this.#compact();
    }
  }

  send(p: PendingSend): void {
    this.#write({ op: "send", p });
  }
  ack(id: number): void {
    this.#write({ op: "ack", id });
  }
  seq(room: string, seq: number): void {
    this.#write({ op: "seq", room, seq });
  }
  token(token: string, storeId: string | null): void {
    this.#write({ op: "token", token, storeId });
  }
  close(): void {
    try {
      this.#file.close();
      Deno.removeSync(this.#lock);
    } catch { /* closed already */ }
  }
}

/** A file-name-safe key for a server (or a list of them, see servers.ts) and user: "127.0.0.1_3000/alice". */
export function journalKey(servers: readonly ServerAddress[], nameKey: string): string {
  return `${storageKey(servers)}/${nameKey.replace(/[^\p{L}\p{N}._-]/gu, "_")}`;
}
