/**
 * The in-memory store (`--ephemeral`): bounded, so a long-running server
 * with no disk keeps a fixed footprint, and forgotten on exit. Messages are
 * bounded per room (a count) and in all (a byte budget, message_budget.ts:
 * the oldest of the whole store go first); receipts by count.
 *
 * @module
 */

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
} from "../chat/ports.ts";
import { DEFAULT_MEMORY_BYTES, MessageBudget, RoomLog } from "./message_budget.ts";
import { newStoreId, type Retention } from "./retention.ts";

/** Messages kept per room when no retention is set: enough for history and resume, bounded for memory. */
export const MEMORY_LOG_PER_ROOM = 10_000;

/** Receipts kept: a client retries within minutes, not after 100k other messages. */
export const MEMORY_RECEIPTS = 100_000;

export class MemoryStore implements MessageLog, AccountStore, BanStore, RoomSettings {
  readonly durable = false;
  // A memory store dies with the process, so every start is a new store.
  readonly id = newStoreId();
  #rooms = new Map<string, RoomLog>();
  /** The conversations (rooms `@a+b`) of each name key, and the time of each one's last message. */
  #conversations = new Map<string, Set<string>>();
  #lastTs = new Map<string, number>();
  /** Receipts by sender key, then SEND id: numeric keys, so a lookup builds no string. */
  #receipts = new Map<string, Map<number, SendReceipt>>();
  #receiptCount = 0;
  /**
   * Receipts in the order they were made, oldest at #receiptHead, for eviction. Not a Map's own
   * order: deleting a Map's first key leaves a hole that every later `keys().next()` walks past again,
   * so evicting that way costs more with every message (about 100 us per append after 300k).
   */
  #receiptOrder: Array<{ key: string; id: number; receipt: SendReceipt }> = [];
  #receiptHead = 0;
  #retention: Retention;
  #perRoom: number;
  #budget: MessageBudget;

  /** `maxBytes`: the memory all rooms' messages may take (estimated at their largest; see message_budget.ts). */
  constructor(retention: Partial<Retention> = {}, options: { maxBytes?: number } = {}) {
    this.#budget = new MessageBudget(options.maxBytes ?? DEFAULT_MEMORY_BYTES);
    this.#retention = { maxMessages: 0, maxAgeMs: 0, receiptsMs: 0, ...retention };
    this.#perRoom = this.#retention.maxMessages > 0
      ? Math.min(this.#retention.maxMessages, MEMORY_LOG_PER_ROOM)
      : MEMORY_LOG_PER_ROOM;
  }

  append(drafts: readonly Draft[]): AppendResult[] {
    return drafts.map((d) => {
      const prior = this.#receipts.get(d.sender.key)?.get(d.sender.id);
      if (prior) return { kind: "duplicate", receipt: prior };
      return { kind: "stored", message: this.#store(d) };
    });
  }

  #store(d: Draft): StoredMessage {
    const message: StoredMessage = {
      room: d.room,
      seq: (this.#rooms.get(d.room)?.seq ?? 0) + 1,
      ts: d.ts,
      flags: d.flags,
      from: d.from,
      text: d.text,
    };
    this.replicate(message, d.sender);
    return message;
  }

  /**
   * Keeps a message numbered elsewhere (this store as the local view of a
   * shared log): it takes `message.seq` as the room's last, whether it
   * follows the room's previous one or starts the view of the room there.
   */
  replicate(message: StoredMessage, sender: SenderRef): void {
    let r = this.#rooms.get(message.room);
    if (!r) {
      this.#rooms.set(message.room, r = new RoomLog());
      for (const key of conversationKeys(message.room) ?? []) {
        let mine = this.#conversations.get(key);
        if (!mine) this.#conversations.set(key, mine = new Set());
        mine.add(message.room);
      }
    }
    // A view that starts mid-room, or skips ahead, keeps only a run of consecutive messages.
    if (message.seq !== r.seq + 1) this.#trim(r, 0);
    r.seq = message.seq;
    r.push(message);
    this.#trim(r, this.#perRoom);
    this.#budget.added(r, message);
    if (conversationKeys(message.room)) this.#lastTs.set(message.room, message.ts);
    const { key, id } = sender;
    const receipt = { room: message.room, seq: message.seq, ts: message.ts };
    let mine = this.#receipts.get(key);
    if (!mine) this.#receipts.set(key, mine = new Map());
    const size = mine.size;
    mine.set(id, receipt);
    this.#receiptCount += mine.size - size;
    this.#receiptOrder.push({ key, id, receipt });
    while (this.#receiptCount > MEMORY_RECEIPTS) this.#evictReceipt();
  }

  /** The oldest seq of `room` this store holds (0: none), and its last seq. */
  held(room: string): { first: number; last: number } {
    const r = this.#rooms.get(room);
    return { first: r?.first?.seq ?? 0, last: r?.seq ?? 0 };
  }

  /** Messages held, and the bytes they are counted as against the store's budget. */
  get usage(): { messages: number; bytes: number; maxBytes: number } {
    let messages = 0;
    for (const r of this.#rooms.values()) messages += r.size;
    return { messages, bytes: this.#budget.bytes, maxBytes: this.#budget.maxBytes };
  }

  /** Drops `r`'s oldest messages until it holds at most `keep`, or (with `olderThan`) none older. */
  #trim(r: RoomLog, keep: number, olderThan = -Infinity): void {
    while (r.size > keep || (r.size > 0 && r.first!.ts < olderThan)) this.#budget.dropped(r.dropFirst());
  }

  /** Forgets the oldest receipt (unless its key was receipted again since, which keeps the newer one). */
  #evictReceipt(): void {
    const order = this.#receiptOrder;
    const { key, id, receipt } = order[this.#receiptHead++];
    const mine = this.#receipts.get(key);
    if (mine?.get(id) === receipt) {
      mine.delete(id);
      this.#receiptCount--;
      if (mine.size === 0) this.#receipts.delete(key);
    }
    // Drop the evicted entries from the front now and then: amortised O(1) per receipt.
    if (this.#receiptHead >= MEMORY_RECEIPTS) {
      order.splice(0, this.#receiptHead);
      this.#receiptHead = 0;
    }
  }

  receipts(refs: readonly SenderRef[]): Array<SendReceipt | undefined> {
    return refs.map((r) => this.#receipts.get(r.key)?.get(r.id));
  }

  page(room: string, query: PageQuery): Page {
    const r = this.#rooms.get(room);
    if (!r) return { messages: [], lastSeq: 0 };
    // Sequences are consecutive, so the index of seq s is s - first seq; what was trimmed is simply gone.
    const first = r.first?.seq ?? r.seq + 1;
    const upper = query.before > 0 ? Math.min(query.before, r.seq + 1) : r.seq + 1;
    // Forwards from what is still kept: a reader behind the oldest kept message gets that one on, as from SQLite
    // (an empty page would have it ask the same again for ever).
    const lower = Math.max(query.after + 1, first);
    const n = Math.max(0, Math.min(query.limit, upper - lower));
    const from = query.before > 0 ? upper - n : lower;
    const start = Math.max(0, from - first);
    const end = Math.max(0, Math.min(r.size, from + n - first));
    return { messages: r.slice(start, end), lastSeq: r.seq };
  }

  conversations(key: string, limit: number): ConversationTail[] {
    const out: ConversationTail[] = [];
    for (const room of this.#conversations.get(key) ?? []) {
      out.push({ room, lastSeq: this.#rooms.get(room)!.seq, ts: this.#lastTs.get(room) ?? 0 });
    }
    return out.sort((a, b) => b.ts - a.ts || (a.room < b.room ? -1 : 1)).slice(0, limit);
  }

  prune(now: number): number {
    let deleted = 0;
    const cutoff = this.#retention.maxAgeMs > 0 ? now - this.#retention.maxAgeMs : -Infinity;
    for (const r of this.#rooms.values()) {
      const before = r.size;
      this.#trim(r, this.#perRoom, cutoff);
      deleted += before - r.size;
    }
    return deleted;
  }

  #accounts = new Map<string, Account>();
  #bans = new Map<string, Ban>();

  account(key: string): Account | undefined {
    return this.#accounts.get(key);
  }
  putAccount(account: Account): void {
    this.#accounts.set(account.key, account);
  }
  removeAccount(key: string): boolean {
    return this.#accounts.delete(key);
  }
  accounts(): Account[] {
    return [...this.#accounts.values()].sort((a, b) => a.key.localeCompare(b.key));
  }
  bans(now: number): Ban[] {
    return [...this.#bans.values()].filter((b) => b.until === 0 || b.until > now);
  }
  /** Moves with every change of the bans. */
  version = 0;

  putBan(ban: Ban): void {
    this.version++;
    this.#bans.set(ban.target, ban);
  }
  removeBan(target: string): boolean {
    this.version++;
    return this.#bans.delete(target);
  }

  #topics = new Map<string, RoomTopic>();

  topic(room: string): RoomTopic | undefined {
    return this.#topics.get(room);
  }
  putTopic(topic: RoomTopic): void {
    if (topic.text === "") this.#topics.delete(topic.room);
    else this.#topics.set(topic.room, { ...topic });
  }

  close(): void {}
}
