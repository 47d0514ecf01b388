/**
 * What the browser client keeps across a reload, in the page's
 * localStorage: who signed in, the session's journal (the outbox of messages
 * not yet acknowledged, each room's last sequence, the resume token and the
 * server's store id: what the terminal client keeps in its journal file),
 * the rooms and the window looked at, the last lines of each window, and the
 * preferences of /ignore and /joins.
 *
 * localStorage writes are synchronous, which is what the promise "typed
 * while offline is sent exactly once" needs: a message is written here
 * before its frame is handed to the socket ({@linkcode BrowserStore.record}
 * writes a "send" at once). Everything else is written in one
 * {@linkcode BrowserStore.flush}, journal and lines together, so a reload
 * never finds a room's sequence ahead of the lines shown for it.
 *
 * The storage is passed in (`Pick<Storage, ...>`), so Deno's own
 * localStorage or a Map stands in for the browser's in tests.
 *
 * @module
 */

import { applyEntry, emptyState, type JournalEntry, type JournalState } from "../client/journal_state.ts";
import { DEFAULT_PREFS, parsePrefs, type Prefs } from "../client/prefs.ts";
import { nameKey } from "../protocol/names.ts";
import type { Line } from "./model.ts";

/** Every key starts with this: a later format gets a new prefix rather than misreading this one. */
export const PREFIX = "chat.v1.";

/** Lines kept per window across a reload (the terminal client's scrollback from its transcript is 200). */
export const KEPT_LINES = 200;

export type KeyValue = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/** The windows of the page, as kept. */
export interface SavedView {
  rooms: string[];
  current: string;
  windows: Array<{ id: string; target: string; lines: Line[] }>;
}

/** Reads a JSON value, or undefined when absent or unreadable (a hand-edited or foreign value). */
function readJson(kv: KeyValue, key: string): unknown {
  const text = kv.getItem(key);
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A journal state read back, with anything malformed dropped rather than trusted. */
function journalFrom(v: unknown): JournalState {
  const state = emptyState();
  if (!isObject(v)) return state;
  if (typeof v.token === "string") state.token = v.token;
  if (typeof v.storeId === "string") state.storeId = v.storeId;
  if (isObject(v.lastSeq)) {
    for (const [room, seq] of Object.entries(v.lastSeq)) {
      if (Number.isSafeInteger(seq) && (seq as number) >= 0) state.lastSeq[room] = seq as number;
    }
  }
  if (Array.isArray(v.outbox)) {
    for (const p of v.outbox) {
      if (
        isObject(p) && Number.isSafeInteger(p.id) && typeof p.room === "string" &&
        typeof p.text === "string" &&
        Number.isInteger(p.flags)
      ) state.outbox.push({ id: p.id as number, room: p.room, flags: p.flags as number, text: p.text });
    }
  }
  return state;
}

function viewFrom(v: unknown): SavedView | null {
  if (!isObject(v) || !Array.isArray(v.rooms) || !Array.isArray(v.windows)) return null;
  const rooms = v.rooms.filter((r): r is string => typeof r === "string");
  const windows: SavedView["windows"] = [];
  for (const w of v.windows) {
    if (!isObject(w) || typeof w.id !== "string" || typeof w.target !== "string" || !Array.isArray(w.lines)) {
      continue;
    }
    const lines = w.lines.filter((l): l is Line =>
      isObject(l) && typeof l.key === "string" && typeof l.text === "string" && typeof l.ts === "number" &&
      (l.kind === "chat" || l.kind === "event" || l.kind === "notice" || l.kind === "error")
    );
    windows.push({ id: w.id, target: w.target, lines });
  }
  return { rooms, current: typeof v.current === "string" ? v.current : "", windows };
}

/** What is kept per name, each under `PREFIX` + the name + "." + the key. */
const KEPT_KEYS = ["journal", "view", "prefs"] as const;

/** The page's storage for one user (the name, compared as the server compares names). */
export class BrowserStore {
  readonly #kv: KeyValue;
  #base: string;
  readonly journal: JournalState;
  #view: () => SavedView | null = () => null;
  #dirty = false;

  constructor(kv: KeyValue, name: string) {
    this.#kv = kv;
    this.#base = BrowserStore.#baseOf(name);
    this.journal = journalFrom(readJson(kv, this.#base + "journal"));
  }

  /** The name last signed in with on this page, or null. */
  static identity(kv: KeyValue): string | null {
    const v = readJson(kv, PREFIX + "identity");
    return isObject(v) && typeof v.name === "string" ? v.name : null;
  }

  /** Remembers `name` (null: forgets it), so that a reload signs in again. */
  static setIdentity(kv: KeyValue, name: string | null): void {
    if (name === null) kv.removeItem(PREFIX + "identity");
    else kv.setItem(PREFIX + "identity", JSON.stringify({ name }));
  }

  /** The windows kept by the last flush, or null. */
  view(): SavedView | null {
    return viewFrom(readJson(this.#kv, this.#base + "view"));
  }

  prefs(): Prefs {
    const text = this.#kv.getItem(this.#base + "prefs");
    if (text === null) return DEFAULT_PREFS;
    try {
      return parsePrefs(text);
    } catch {
      return DEFAULT_PREFS;
    }
  }

  savePrefs(p: Prefs): void {
    this.#kv.setItem(this.#base + "prefs", JSON.stringify(p));
  }

  /** Where {@linkcode flush} takes the windows from. */
  watch(view: () => SavedView): void {
    this.#view = view;
  }

  /**
   * Records one journal entry. A message to send is written at once (it must
   * be kept before it goes out); the rest waits for {@linkcode flush}.
   */
  record(e: JournalEntry): void {
    applyEntry(this.journal, e);
    if (e.op === "send") this.#writeJournal();
    else this.#dirty = true;
  }

  /** Something the windows show changed: the next flush writes them. */
  touch(): void {
    this.#dirty = true;
  }

  /** True when there is something to write. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /**
   * Writes the journal and the windows together. When the storage is full,
   * fewer lines are kept per window, down to none: the journal (the outbox)
   * always fits before any line does.
   */
  flush(): void {
    this.#dirty = false;
    this.#writeJournal();
    const view = this.#view();
    if (!view) return;
    for (let keep = KEPT_LINES;; keep = Math.floor(keep / 2)) {
      const trimmed = { ...view, windows: view.windows.map((w) => ({ ...w, lines: w.lines.slice(-keep) })) };
      try {
        this.#kv.setItem(this.#base + "view", JSON.stringify(trimmed));
        return;
      } catch (err) {
        if (keep === 0) throw err;
      }
    }
  }

  /** Forgets everything kept for this user (signing out). */
  clear(): void {
    for (const k of KEPT_KEYS) this.#kv.removeItem(this.#base + k);
    this.#dirty = false;
  }

  /**
   * The user is now called `name` (their /nick): what is kept moves to that name, whatever an earlier
   * user of it left, and the page signs in as it from now on, so a reload resumes this session (its
   * resume token moves with the journal).
   */
  rename(name: string): void {
    const base = BrowserStore.#baseOf(name);
    if (base !== this.#base) {
      const moved = KEPT_KEYS.map((k) => [k, this.#kv.getItem(this.#base + k)] as const);
      // Everything is removed before anything is written, so the move never needs more room than it frees.
      for (const k of KEPT_KEYS) {
        this.#kv.removeItem(this.#base + k);
        this.#kv.removeItem(base + k);
      }
      for (const [k, v] of moved) if (v !== null) this.#kv.setItem(base + k, v);
      this.#base = base;
    }
    BrowserStore.setIdentity(this.#kv, name);
  }

  static #baseOf(name: string): string {
    return `${PREFIX}${encodeURIComponent(nameKey(name))}.`;
  }

  #writeJournal(): void {
    const text = JSON.stringify(this.journal);
    try {
      this.#kv.setItem(this.#base + "journal", text);
    } catch {
      // Full: the kept lines make room for the outbox, which matters more (the next flush keeps fewer).
      this.#kv.removeItem(this.#base + "view");
      this.#kv.setItem(this.#base + "journal", text);
    }
  }
}
