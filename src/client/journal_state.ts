/**
 * What a client's journal holds, without the file: the state (resume token,
 * store id, last sequence per room, the outbox), the entries that change it,
 * how they fold into it, and an in-memory journal. Pure, so the client
 * session (and a browser client) can use it; the file lives in journal.ts.
 *
 * @module
 */

/** A message sent and not yet acknowledged. */
export interface PendingSend {
  id: number;
  room: string;
  flags: number;
  text: string;
}

export interface JournalState {
  /** Resume token of the last session (hex). */
  token: string | null;
  /** The server store the sequence numbers belong to (hex). */
  storeId: string | null;
  lastSeq: Record<string, number>;
  outbox: PendingSend[];
}

/** Where a client records its state; the in-memory one forgets on exit. */
export interface Journal {
  readonly state: JournalState;
  send(p: PendingSend): void;
  ack(id: number): void;
  seq(room: string, seq: number): void;
  /** Records the session's token and the server's store; a different store forgets every sequence. */
  token(token: string, storeId: string | null): void;
  close(): void;
}

/** One change to record: what the client session asks its journal to keep. */
export type JournalEntry =
  | { op: "send"; p: PendingSend }
  | { op: "ack"; id: number }
  | { op: "seq"; room: string; seq: number }
  // storeId is absent in journals written before stores had ids.
  | { op: "token"; token: string; storeId?: string | null };

/** A line of a journal file: a change, or the whole state (what compaction writes). */
export type JournalLine = JournalEntry | { op: "snapshot"; state: JournalState };

export function emptyState(): JournalState {
  return { token: null, storeId: null, lastSeq: {}, outbox: [] };
}

/** Folds one journal line into `state`. Pure. */
export function applyEntry(state: JournalState, e: JournalLine): void {
  switch (e.op) {
    case "send":
      if (!state.outbox.some((p) => p.id === e.p.id)) state.outbox.push(e.p);
      break;
    case "ack":
      state.outbox = state.outbox.filter((p) => p.id !== e.id);
      break;
    case "seq":
      // Position 0 is recorded too: "seen the room empty" differs from "never seen it".
      if (!(e.room in state.lastSeq) || state.lastSeq[e.room] < e.seq) state.lastSeq[e.room] = e.seq;
      break;
    case "token":
      state.token = e.token;
      if (e.storeId !== undefined && e.storeId !== state.storeId) {
        // Sequence numbers of another store (the server's data was reset) mean nothing here.
        if (state.storeId !== null) state.lastSeq = {};
        state.storeId = e.storeId;
      }
      break;
    case "snapshot":
      state.token = e.state.token;
      state.storeId = e.state.storeId ?? null;
      state.lastSeq = { ...e.state.lastSeq };
      state.outbox = [...e.state.outbox];
      break;
  }
}

/** Rebuilds the state from journal text; a torn last line (a crash mid-write) is ignored. */
export function replay(text: string): JournalState {
  const state = emptyState();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let e: JournalLine;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (e && typeof e === "object" && typeof e.op === "string") applyEntry(state, e);
  }
  return state;
}

/** Hands one entry to `journal` (whose methods may write it to disk). */
export function record(journal: Journal, e: JournalEntry): void {
  switch (e.op) {
    case "send":
      return journal.send(e.p);
    case "ack":
      return journal.ack(e.id);
    case "seq":
      return journal.seq(e.room, e.seq);
    case "token":
      return journal.token(e.token, e.storeId ?? null);
  }
}

export class MemoryJournal implements Journal {
  readonly state: JournalState = emptyState();
  send(p: PendingSend): void {
    applyEntry(this.state, { op: "send", p });
  }
  ack(id: number): void {
    applyEntry(this.state, { op: "ack", id });
  }
  seq(room: string, seq: number): void {
    applyEntry(this.state, { op: "seq", room, seq });
  }
  token(token: string, storeId: string | null): void {
    applyEntry(this.state, { op: "token", token, storeId });
  }
  close(): void {}
}
