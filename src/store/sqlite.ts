/**
 * The durable store: SQLite through `node:sqlite`, WAL mode with
 * `synchronous=FULL`, so a committed batch survives a power cut. Each
 * {@linkcode SqliteStore.append} batch is one transaction: one fsync for
 * many messages.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import {
  type Account,
  type AccountStore,
  type AppendResult,
  type Ban,
  type BanStore,
  conversationKeys,
  type ConversationTail,
  type Draft,
  type MessageLog,
  type Page,
  type PageQuery,
  type RoomSettings,
  type RoomTopic,
  type SenderRef,
  type SendReceipt,
  type StoredMessage,
  StoreError,
} from "../chat/ports.ts";
import { fullError } from "./full.ts";
import { RowStatement } from "./sqlite_rows.ts";
import { DEFAULT_RECEIPTS_MS, newStoreId, type Retention } from "./retention.ts";

/**
 * Bumped when the schema changes in a way an older chat would misread; a newer file is refused rather than
 * misread. (The conversations table came later without a bump: an older chat never stores a conversation,
 * and ignores the table.)
 */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rooms (room TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  room TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, flags INTEGER NOT NULL,
  sender TEXT NOT NULL, text TEXT NOT NULL,
  PRIMARY KEY (room, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_ts ON messages (ts);
CREATE TABLE IF NOT EXISTS receipts (
  sender_key TEXT NOT NULL, client_id INTEGER NOT NULL, room TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
  PRIMARY KEY (sender_key, client_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS receipts_ts ON receipts (ts);
CREATE TABLE IF NOT EXISTS conversations (
  key TEXT NOT NULL, room TEXT NOT NULL, last_ts INTEGER NOT NULL, PRIMARY KEY (key, room)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accounts (
  key TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL, admin INTEGER NOT NULL, created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bans (
  target TEXT PRIMARY KEY, until INTEGER NOT NULL, reason TEXT NOT NULL, by TEXT NOT NULL, created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics (
  room TEXT PRIMARY KEY, text TEXT NOT NULL, by TEXT NOT NULL, ts INTEGER NOT NULL
) WITHOUT ROWID;
`;

/**
 * Classifies a SQLite failure. node:sqlite under Deno reports only the
 * SQLite message text (no numeric result code), so this matches the
 * standard sqlite3_errstr() texts.
 */
function storeError(
  err: unknown,
  doing: string,
  full?: (doing: string, msg: string) => StoreError,
): StoreError {
  const msg = (err as Error).message;
  if (/disk is full|SQLITE_FULL/i.test(msg)) {
    return full?.(doing, msg) ?? new StoreError("full", `${doing}: disk full (${msg})`);
  }
  if (/not a database|malformed|SQLITE_CORRUPT|SQLITE_NOTADB/i.test(msg)) {
    return new StoreError("corrupt", `${doing}: the database is corrupted or not a chat database (${msg})`);
  }
  if (/unable to open|readonly|read-only|permission|access/i.test(msg)) {
    return new StoreError("open", `${doing}: cannot write the database (${msg})`);
  }
  return new StoreError("io", `${doing}: ${msg}`);
}

function toAccount(r: Record<string, unknown>): Account {
  return {
    key: r.key as string,
    name: r.name as string,
    hash: r.hash as string,
    admin: r.admin === 1,
    created: r.created as number,
  };
}

/** node:sqlite rows have a null prototype; the rest of the program expects plain objects. */
function toMessage(row: Record<string, unknown>): StoredMessage {
  return {
    room: row.room as string,
    seq: row.seq as number,
    ts: row.ts as number,
    flags: row.flags as number,
    from: row.from as string,
    text: row.text as string,
  };
}

/** A send's identity as one string: its sender's key and its SEND id. */
function refKey(key: string, id: number): string {
  return `${key}\u0000${id}`;
}

/** Larger than any sequence number: "no upper bound" in a page query. */
const NO_BOUND = Number.MAX_SAFE_INTEGER;

export class SqliteStore implements MessageLog, AccountStore, BanStore, RoomSettings {
  readonly durable = true;
  readonly id: string;
  readonly path: string;
  #db: DatabaseSync;
  #retention: Retention;
  #seq = new Map<string, number>();
  // Words a "full" failure in: the size cap's or the disk's (src/store/full.ts).
  #full: (doing: string, msg: string) => StoreError;
  #q: {
    lastSeq: StatementSync;
    insert: RowStatement;
    receipts: RowStatement;
    insertReceipt: RowStatement;
    setSeq: StatementSync;
    oldest: StatementSync;
    newest: StatementSync;
    pruneAge: StatementSync;
    pruneRoom: StatementSync;
    pruneReceipts: StatementSync;
    rooms: StatementSync;
    topic: StatementSync;
    touchConversation: StatementSync;
    conversations: StatementSync;
  };

  /**
   * Opens (creating if needed) the database in `dir`. Throws StoreError with
   * a message naming the path when the directory cannot be created or
   * written, or the file is corrupted.
   */
  constructor(dir: string, retention: Partial<Retention> = {}, options: { maxBytes?: number } = {}) {
    this.#retention = { maxMessages: 0, maxAgeMs: 0, receiptsMs: DEFAULT_RECEIPTS_MS, ...retention };
    this.#full = (doing, msg) => fullError(doing, msg, dir, options.maxBytes ?? 0);
    try {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new StoreError("open", `cannot create data directory ${dir}: ${(err as Error).message}`);
    }
    this.path = `${dir}/chat.db`;
    try {
      this.#db = new DatabaseSync(this.path);
    } catch (err) {
      throw storeError(err, `cannot open ${this.path}`);
    }
    try {
      this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
      const check = this.#db.prepare("PRAGMA quick_check").get() as { quick_check?: string } | undefined;
      if (check?.quick_check !== "ok") {
        throw new StoreError("corrupt", `${this.path} failed its integrity check: ${check?.quick_check}`);
      }
      this.#db.exec(SCHEMA);
      if (options.maxBytes) {
        // A size cap: past it SQLite fails writes with "database or disk is full", exactly like a full disk.
        const page = (this.#db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
        this.#db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(options.maxBytes / page))}`);
      }
      const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as
        | { value: string }
        | undefined;
      const idRow = this.#db.prepare("SELECT value FROM meta WHERE key = 'id'").get() as
        | { value: string }
        | undefined;
      this.id = idRow?.value ?? newStoreId();
      if (!idRow) this.#db.prepare("INSERT INTO meta (key, value) VALUES ('id', ?)").run(this.id);
      if (row === undefined) {
        this.#db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
      } else if (Number(row.value) > SCHEMA_VERSION) {
        throw new StoreError(
          "corrupt",
          `${this.path} has schema ${row.value}, newer than this chat (${SCHEMA_VERSION})`,
        );
      }
      this.#q = {
        lastSeq: this.#db.prepare("SELECT last_seq FROM rooms WHERE room = ?"),
        insert: new RowStatement(
          this.#db,
          6,
          (rows) => `INSERT INTO messages (room, seq, ts, flags, sender, text) VALUES ${rows}`,
        ),
        receipts: new RowStatement(
          this.#db,
          2,
          (rows) =>
            "SELECT sender_key, client_id, room, seq, ts FROM receipts " +
            `WHERE (sender_key, client_id) IN (VALUES ${rows})`,
        ),
        // Plain INSERT: the batch was looked up first, so a conflict here is a failure, not a resend.
        insertReceipt: new RowStatement(
          this.#db,
          5,
          (rows) => `INSERT INTO receipts (sender_key, client_id, room, seq, ts) VALUES ${rows}`,
        ),
        setSeq: this.#db.prepare(
          "INSERT INTO rooms (room, last_seq) VALUES (?, ?) ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq",
        ),
        oldest: this.#db.prepare(
          'SELECT room, seq, ts, flags, sender AS "from", text FROM messages WHERE room = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?',
        ),
        newest: this.#db.prepare(
          'SELECT * FROM (SELECT room, seq, ts, flags, sender AS "from", text FROM messages WHERE room = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
        ),
        pruneAge: this.#db.prepare("DELETE FROM messages WHERE ts < ?"),
        pruneRoom: this.#db.prepare("DELETE FROM messages WHERE room = ? AND seq <= ?"),
        pruneReceipts: this.#db.prepare("DELETE FROM receipts WHERE ts < ?"),
        rooms: this.#db.prepare("SELECT room, last_seq FROM rooms"),
        // Read on every join and every listed room: prepared once.
        topic: this.#db.prepare("SELECT room, text, by, ts FROM topics WHERE room = ?"),
        touchConversation: this.#db.prepare(
          "INSERT INTO conversations (key, room, last_ts) VALUES (?, ?, ?) " +
            "ON CONFLICT (key, room) DO UPDATE SET last_ts = max(last_ts, excluded.last_ts)",
        ),
        conversations: this.#db.prepare(
          "SELECT c.room AS room, r.last_seq AS last_seq, c.last_ts AS last_ts FROM conversations c " +
            "JOIN rooms r ON r.room = c.room WHERE c.key = ? ORDER BY c.last_ts DESC, c.room LIMIT ?",
        ),
      };
    } catch (err) {
      try {
        this.#db.close();
      } catch { /* best effort */ }
      if (err instanceof StoreError) throw err;
      throw storeError(err, `cannot use ${this.path}`);
    }
  }

  #lastSeq(room: string): number {
    let seq = this.#seq.get(room);
    if (seq === undefined) {
      const row = this.#q.lastSeq.get(room) as { last_seq: number } | undefined;
      seq = row?.last_seq ?? 0;
      this.#seq.set(room, seq);
    }
    return seq;
  }

  append(drafts: readonly Draft[]): AppendResult[] {
    const results: AppendResult[] = [];
    // Receipts made in this batch: a resend inside the batch is a duplicate too.
    const batch = new Map<string, SendReceipt>();
    const lastByRoom = new Map<string, number>();
    // Duplicates of messages stored by earlier commits, by index: they stand whatever becomes of this batch.
    const earlier = new Map<number, SendReceipt>();
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      // The batch's receipts of earlier commits in one look-up, and its rows in one statement per table:
      // row by row, the calls cost more than SQLite's work (src/store/sqlite_rows.ts).
      const prior = this.#receiptsOf(drafts.map((d) => d.sender));
      const receipts: SQLInputValue[] = [];
      const messages: SQLInputValue[] = [];
      for (const d of drafts) {
        const ref = refKey(d.sender.key, d.sender.id);
        const inBatch = batch.get(ref);
        if (inBatch) {
          results.push({ kind: "duplicate", receipt: inBatch });
          continue;
        }
        const before = prior.get(ref);
        if (before) {
          results.push({ kind: "duplicate", receipt: before });
          earlier.set(results.length - 1, before);
          continue;
        }
        const seq = this.#lastSeq(d.room) + 1;
        this.#seq.set(d.room, seq);
        lastByRoom.set(d.room, seq);
        receipts.push(d.sender.key, d.sender.id, d.room, seq, d.ts);
        messages.push(d.room, seq, d.ts, d.flags, d.from, d.text);
        for (const key of conversationKeys(d.room) ?? []) this.#q.touchConversation.run(key, d.room, d.ts);
        batch.set(ref, { room: d.room, seq, ts: d.ts });
        results.push({
          kind: "stored",
          message: { room: d.room, seq, ts: d.ts, flags: d.flags, from: d.from, text: d.text },
        });
      }
      this.#q.insertReceipt.run(receipts);
      this.#q.insert.run(messages);
      for (const [room, seq] of lastByRoom) this.#q.setSeq.run(room, seq);
      this.#db.exec("COMMIT");
      return results;
    } catch (err) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* no transaction left to roll back */ }
      // Forget the sequence numbers handed out: the rooms continue from what is on disk.
      for (const room of lastByRoom.keys()) this.#seq.delete(room);
      const error = storeError(err, `cannot store ${drafts.length} message(s)`, this.#full);
      return drafts.map((_, i): AppendResult => {
        const receipt = earlier.get(i);
        return receipt ? { kind: "duplicate", receipt } : { kind: "failed", error };
      });
    }
  }

  /** The stored receipts of `refs`, by {@linkcode refKey}, in one look-up. */
  #receiptsOf(refs: readonly SenderRef[]): Map<string, SendReceipt> {
    const found = new Map<string, SendReceipt>();
    if (refs.length === 0) return found;
    const values: SQLInputValue[] = [];
    for (const r of refs) values.push(r.key, r.id);
    for (const row of this.#q.receipts.all(values)) {
      found.set(refKey(row.sender_key as string, row.client_id as number), {
        room: row.room as string,
        seq: row.seq as number,
        ts: row.ts as number,
      });
    }
    return found;
  }

  receipts(refs: readonly SenderRef[]): Array<SendReceipt | undefined> {
    try {
      const found = this.#receiptsOf(refs);
      return refs.map((r) => found.get(refKey(r.key, r.id)));
    } catch (err) {
      throw storeError(err, "cannot read receipts");
    }
  }

  page(room: string, query: PageQuery): Page {
    try {
      const lastSeq = this.#lastSeq(room);
      if (query.limit <= 0) return { messages: [], lastSeq };
      const before = query.before > 0 ? query.before : NO_BOUND;
      // The per-room cap holds for readers at once; the rows past it are deleted by the next prune (a minute).
      const cap = this.#retention.maxMessages;
      const after = cap > 0 ? Math.max(query.after, lastSeq - cap) : query.after;
      const rows = (query.before > 0 ? this.#q.newest : this.#q.oldest).all(
        room,
        after,
        before,
        query.limit,
      );
      return { messages: rows.map(toMessage), lastSeq };
    } catch (err) {
      throw storeError(err, `cannot read ${room}`);
    }
  }

  conversations(key: string, limit: number): ConversationTail[] {
    try {
      const rows = this.#q.conversations.all(key, limit) as Array<
        { room: string; last_seq: number; last_ts: number }
      >;
      return rows.map((r) => ({ room: r.room, lastSeq: r.last_seq, ts: r.last_ts }));
    } catch (err) {
      throw storeError(err, "cannot list conversations");
    }
  }

  prune(now: number): number {
    let deleted = 0;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      if (this.#retention.maxAgeMs > 0) {
        deleted += Number(this.#q.pruneAge.run(now - this.#retention.maxAgeMs).changes);
      }
      if (this.#retention.maxMessages > 0) {
        for (const r of this.#q.rooms.all() as Array<{ room: string; last_seq: number }>) {
          deleted += Number(this.#q.pruneRoom.run(r.room, r.last_seq - this.#retention.maxMessages).changes);
        }
      }
      if (this.#retention.receiptsMs > 0) this.#q.pruneReceipts.run(now - this.#retention.receiptsMs);
      this.#db.exec("COMMIT");
    } catch (err) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* none */ }
      throw storeError(err, "cannot apply retention", this.#full);
    }
    return deleted;
  }

  account(key: string): Account | undefined {
    const row = this.#db.prepare("SELECT key, name, hash, admin, created FROM accounts WHERE key = ?").get(
      key,
    ) as
      | Record<string, unknown>
      | undefined;
    return row ? toAccount(row) : undefined;
  }

  putAccount(a: Account): void {
    this.#write(() =>
      this.#db.prepare(
        "INSERT INTO accounts (key, name, hash, admin, created) VALUES (?, ?, ?, ?, ?) " +
          "ON CONFLICT (key) DO UPDATE SET name = excluded.name, hash = excluded.hash, admin = excluded.admin",
      ).run(a.key, a.name, a.hash, a.admin ? 1 : 0, a.created), "cannot save the account");
  }

  removeAccount(key: string): boolean {
    return this.#write(
      () => Number(this.#db.prepare("DELETE FROM accounts WHERE key = ?").run(key).changes) > 0,
      "cannot remove the account",
    );
  }

  accounts(): Account[] {
    return (this.#db.prepare("SELECT key, name, hash, admin, created FROM accounts ORDER BY key")
      .all() as Record<
        string,
        unknown
      >[]).map(toAccount);
  }

  bans(now: number): Ban[] {
    return (this.#db.prepare(
      "SELECT target, until, reason, by, created FROM bans WHERE until = 0 OR until > ?",
    ).all(
      now,
    ) as Record<string, unknown>[]).map((r) => ({
      target: r.target as string,
      until: r.until as number,
      reason: r.reason as string,
      by: r.by as string,
      created: r.created as number,
    }));
  }

  /** Moves with every change of the bans made through this store. */
  version = 0;

  putBan(b: Ban): void {
    this.version++;
    this.#write(() =>
      this.#db.prepare(
        "INSERT INTO bans (target, until, reason, by, created) VALUES (?, ?, ?, ?, ?) " +
          "ON CONFLICT (target) DO UPDATE SET until = excluded.until, reason = excluded.reason, by = excluded.by",
      ).run(b.target, b.until, b.reason, b.by, b.created), "cannot save the ban");
  }

  removeBan(target: string): boolean {
    this.version++;
    return this.#write(
      () => Number(this.#db.prepare("DELETE FROM bans WHERE target = ?").run(target).changes) > 0,
      "cannot remove the ban",
    );
  }

  topic(room: string): RoomTopic | undefined {
    let row: Record<string, unknown> | undefined;
    try {
      row = this.#q.topic.get(room) as Record<string, unknown> | undefined;
    } catch (err) {
      throw storeError(err, `cannot read the topic of ${room}`);
    }
    return row
      ? { room: row.room as string, text: row.text as string, by: row.by as string, ts: row.ts as number }
      : undefined;
  }

  putTopic(t: RoomTopic): void {
    this.#write(() => {
      if (t.text === "") this.#db.prepare("DELETE FROM topics WHERE room = ?").run(t.room);
      else {
        this.#db.prepare(
          "INSERT INTO topics (room, text, by, ts) VALUES (?, ?, ?, ?) " +
            "ON CONFLICT (room) DO UPDATE SET text = excluded.text, by = excluded.by, ts = excluded.ts",
        ).run(t.room, t.text, t.by, t.ts);
      }
    }, "cannot save the topic");
  }

  #write<T>(fn: () => T, doing: string): T {
    try {
      return fn();
    } catch (err) {
      throw storeError(err, doing, this.#full);
    }
  }

  close(): void {
    try {
      this.#db.close();
    } catch { /* already closed */ }
  }
}
