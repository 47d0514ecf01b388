/**
 * The message log of a cluster: rooms shared by every node through NATS
 * JetStream (docs/CLUSTER.md has the design and its reasons).
 *
 * - One stream holds every room, a subject per room; each stream message is
 *   a record of consecutive messages of one room (record.ts).
 * - One node at a time is the sequencer, elected by a lease in a KV bucket.
 *   The other nodes send it their appends over NATS request/reply. It numbers
 *   each room's messages, dedupes resends by the receipts every node keeps,
 *   and publishes one record per room at a time with the room's last stream
 *   sequence as `Nats-Expected-Last-Subject-Sequence`: a second writer (a
 *   sequencer that lost its lease without knowing) is refused by JetStream.
 * - Every node consumes the whole stream in order (a durable consumer of its
 *   own, replicated like the stream; a record it loses in flight when its
 *   leader moves is read from the stream before the next one is taken) into
 *   its view (view.ts): the rooms' recent messages and the receipts. A
 *   message reaches the room's members on every node from there, the node
 *   that accepted it included. An append is answered once the sequencer has
 *   confirmed its record continues the room (the rule every view applies:
 *   the first record to number a seq wins), so "stored as N" is never said
 *   of a message that lost a race for N.
 *
 * @module
 */

import { connect, type NatsConnection, type Subscription } from "npm:@nats-io/transport-node@3.4.0";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  type JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
} from "npm:@nats-io/jetstream@3.4.0";
import { type KV, Kvm } from "npm:@nats-io/kv@3.4.0";
import {
  type AppendResult,
  conversationKeys,
  type ConversationTail,
  type Draft,
  type MessageLog,
  type Page,
  type PageQuery,
  type SenderRef,
  type SendReceipt,
  type StoredMessage,
  StoreError,
} from "../../chat/ports.ts";
import type { Retention } from "../retention.ts";
import { newStoreId } from "../retention.ts";
import { StreamFeed, type StreamRecord } from "./feed.ts";
import {
  decodeRecord,
  encodeRecord,
  MAX_RECORD_MESSAGES,
  type RecordEntry,
  roomToken,
  tokenRoom,
} from "./record.ts";
import { decodeRequest, decodeResults, encodeAppend, encodeResults } from "./requests.ts";
import { ClusterView, type RoomTail, type Verdict } from "./view.ts";

/** What the log needs to say about itself. */
export interface ClusterLogger {
  debug(line: string): void;
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

export interface ClusterOptions {
  /** NATS servers, `nats://HOST:PORT`. */
  servers: string[];
  /** Names the stream, buckets and subjects: nodes with the same NATS and name are one chat. */
  name: string;
  /** Copies JetStream keeps of each record (1, or 3 on a 3-server NATS cluster). */
  replicas: number;
  retention: Partial<Retention>;
  /** How far back a starting node reads the stream into its view (recent history and receipts). */
  replayMs: number;
  /** Memory for the view's recent messages (`chat serve --memory-store-mb`); older ones are read from the stream. */
  memoryBytes?: number;
  logger: ClusterLogger;
}

/** Default replay: a day of messages, enough for joins, resumes and resends after a restart. */
export const DEFAULT_REPLAY_MS = 24 * 3600 * 1000;

/** How long the sequencer's lease lasts unless renewed; renewed every third of it. */
const LEASE_MS = 3000;

/** How long an append waits for a sequencer before it fails (a leader change takes about LEASE_MS). */
const APPEND_DEADLINE_MS = 10_000;

/** The view's consumer: how long one pull waits, and the heartbeat by which a lost pull is noticed. */
const CONSUMER_EXPIRES_MS = 5000;
const CONSUMER_HEARTBEAT_MS = 1000;
/** Records one pull asks for: a burst of records comes in a few round trips, not one each. */
const CONSUMER_BATCH = 1000;
/**
 * How often a quiet view asks the stream how far it goes. A consumer without
 * acknowledgements may lose a record in flight when its leader moves to
 * another NATS server, and is never sent it again: a later record shows the
 * hole, and this check finds one at the end of the stream.
 */
const VIEW_CHECK_MS = 2000;
/** Wait before asking again for a record the view misses, while NATS does not answer. */
const VIEW_RETRY_MS = 500;

/** Receipts the sequencer keeps of its own records, until its view has them. */
const STORED_RECEIPTS = 100_000;

/** One request's wait for the sequencer's answer. */
const REQUEST_TIMEOUT_MS = 3000;

/**
 * How long a publisher waits for this node's view to decide on its record before it asks the stream
 * instead. The view normally has the record within a millisecond of the publish acknowledgement.
 */
const VERDICT_WAIT_MS = 250;

/** Verdicts of the view's most recent records, by stream sequence, kept for publishers that ask late. */
const VERDICTS_KEPT = 4096;

/** Bytes of drafts per request: well under NATS's default 1 MiB payload. */
const REQUEST_BYTES = 512 * 1024;

/** Bytes of messages per record, for the same reason. */
const RECORD_BYTES = 512 * 1024;

/** The answer a node that is not the sequencer (any more) gives: ask again. */
const NOT_SEQUENCER = new TextEncoder().encode("not the sequencer");

const NS_PER_MS = 1_000_000;

/** A draft waiting for its record, and everyone waiting for its result. */
interface Pending {
  draft: Draft;
  waiters: Array<(result: AppendResult) => void>;
  /** Past this time a failure to store it is final. */
  deadline: number;
}

function ident(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_");
}

function refKey(ref: SenderRef): string {
  return `${ref.key}\u0000${ref.id}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class JetStreamLog implements MessageLog {
  readonly durable = true;
  readonly id: string;
  readonly nodeId: string;
  readonly options: ClusterOptions;
  /** Messages accepted from the stream, in order, for the broker to deliver (set by whoever composes the node). */
  onDelivered: (messages: StoredMessage[]) => void = () => {};
  /** Told when the connection to NATS goes and comes back. */
  onStatus: (up: boolean) => void = () => {};
  #nc: NatsConnection;
  #js: JetStreamClient;
  #jsm: JetStreamManager;
  #view: ClusterView;
  #stream: string;
  #prefix: string;
  #lease: KV;
  #leaseRev = 0;
  #leaseAt = 0;
  #sequencing: Subscription | null = null;
  #closed = false;
  #up = true;
  #caughtUp: Promise<void>;
  // Sequencer state: drafts waiting per room, the room's record in flight, drafts by sender reference.
  #queues = new Map<string, Pending[]>();
  #inflight = new Set<string>();
  #pending = new Map<string, Pending>();
  // Where each room stands as this sequencer last stored or read it: its view may lag behind (a consumer that
  // JetStream is moving to another server), the sequencer must not.
  #tails = new Map<string, RoomTail>();
  // Receipts of what this sequencer stored, until its view has them too (it may lag behind).
  #stored = new Map<string, SendReceipt>();
  #timers: Array<ReturnType<typeof setInterval>> = [];
  // Conversations the stream held from before this node's view begins (found once, at start), by name key,
  // and where each stands, read when first listed (a record that comes later puts the room in the view).
  #older = new Map<string, Set<string>>();
  #olderTails = new Map<string, ConversationTail>();

  private constructor(
    options: ClusterOptions,
    parts: {
      nc: NatsConnection;
      js: JetStreamClient;
      jsm: JetStreamManager;
      lease: KV;
      id: string;
      caughtUp: Promise<void>;
      view: ClusterView;
    },
  ) {
    this.options = options;
    this.nodeId = newStoreId().slice(0, 12);
    this.#nc = parts.nc;
    this.#js = parts.js;
    this.#jsm = parts.jsm;
    this.#lease = parts.lease;
    this.id = parts.id;
    this.#caughtUp = parts.caughtUp;
    this.#view = parts.view;
    this.#stream = streamName(options.name);
    this.#prefix = `chat.${ident(options.name)}`;
  }

  /**
   * Connects, creates the stream and buckets the cluster needs (or opens
   * them), starts consuming the stream and campaigning for the sequencer's
   * lease. Resolves once the node's view has caught up with the stream.
   */
  static async open(
    options: ClusterOptions,
    view = new ClusterView(options.retention, options.memoryBytes),
  ): Promise<JetStreamLog> {
    const log = options.logger;
    const nc = await connect({
      servers: options.servers,
      name: `chat ${options.name}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Without it the client builds an Error (a stack trace) before every request, in case it times out: 6%
      // of a node's CPU under the chatty load (profile in BENCHMARKS.md). Our errors say what failed anyway.
      noAsyncTraces: true,
    });
    // The manager asks for the account's JetStream info first: on a cluster that has just started, a server
    // that has not learned of the metadata leader yet lets that time out. Asked again like the stream below.
    const jsm = await ready(() => jetstreamManager(nc), log);
    const js = jetstream(nc);
    const name = ident(options.name);
    const stream = streamName(options.name);
    const config = {
      name: stream,
      subjects: [`chat.${name}.m.>`],
      storage: "file" as const,
      num_replicas: options.replicas,
      duplicate_window: 120_000 * NS_PER_MS,
      allow_direct: true,
      max_age: (options.retention.maxAgeMs ?? 0) * NS_PER_MS,
      // A record holds one message or more: keeping as many records as messages keeps at least that many.
      max_msgs_per_subject: (options.retention.maxMessages ?? 0) > 0 ? options.retention.maxMessages! : -1,
      discard: "old" as const,
    };
    // A NATS cluster that has just started answers JetStream only once it has elected its leaders: keep asking.
    const info = await ready(async () => {
      try {
        return await jsm.streams.info(stream);
      } catch (err) {
        if (!/not found/i.test((err as Error).message)) throw err;
        await jsm.streams.add(config);
        return await jsm.streams.info(stream);
      }
    }, log);
    log.info(
      `cluster: stream ${stream} (subjects chat.${name}.m.>, ${info.config.num_replicas} replica(s), ` +
        `${info.state.messages} record(s); fsync: the server's default, every 2 minutes on nats-server 2.9)`,
    );
    const kvm = new Kvm(js);
    const lease = await ready(() =>
      kvm.create(`${stream}_lease`, {
        history: 1,
        ttl: LEASE_MS,
        replicas: options.replicas,
      }), log);
    const meta = await ready(
      () => kvm.create(`${stream}_meta`, { history: 1, replicas: options.replicas }),
      log,
    );
    // The log's id names the stream for clients' saved sequences: made once, by the first node, kept.
    let id = newStoreId();
    try {
      await meta.create("id", id);
    } catch {
      const entry = await meta.get("id");
      if (entry) id = entry.string();
    }
    log.info(`cluster: buckets ${stream}_lease (lease ${LEASE_MS} ms) and ${stream}_meta; store id ${id}`);
    let caught!: () => void;
    const caughtUp = new Promise<void>((r) => caught = r);
    const self = new JetStreamLog(options, { nc, js, jsm, lease, id, caughtUp, view });
    await self.#consume(caught);
    self.#watchStatus();
    self.#timers.push(setInterval(() => void self.#campaign(), LEASE_MS / 3));
    await caughtUp;
    void self.#campaign();
    log.info(`cluster: node ${self.nodeId} caught up with the stream`);
    try {
      await self.#findConversations();
    } catch (err) {
      log.warn(`cluster: cannot list the stream's older conversations: ${(err as Error).message}`);
    }
    return self;
  }

  /** The NATS connection, for the rest of the node's cluster state (users, presence). */
  get nats(): NatsConnection {
    return this.#nc;
  }

  /** The stream's name, which prefixes the cluster's buckets. */
  get streamName(): string {
    return this.#stream;
  }

  /** What the cluster's subjects start with: `chat.<name>`. */
  get subjects(): string {
    return this.#prefix;
  }

  /** True while the node is connected to NATS. */
  get up(): boolean {
    return this.#up;
  }

  /** True while this node holds the sequencer's lease. */
  get sequencer(): boolean {
    return this.#sequencing !== null;
  }

  // ---- MessageLog ----

  async append(drafts: readonly Draft[]): Promise<AppendResult[]> {
    if (drafts.length === 0) return [];
    const results: AppendResult[] = [];
    // Requests of bounded size, in order.
    let start = 0;
    while (start < drafts.length) {
      let end = start;
      let bytes = 0;
      while (end < drafts.length && (end === start || bytes + drafts[end].text.length * 3 < REQUEST_BYTES)) {
        bytes += drafts[end].text.length * 3 + 200;
        end++;
      }
      results.push(...await this.#appendChunk(drafts.slice(start, end)));
      start = end;
    }
    return results;
  }

  receipts(refs: readonly SenderRef[]): Array<SendReceipt | undefined> {
    return refs.map((r) => this.#view.receipt(r));
  }

  page(room: string, query: PageQuery): Page | Promise<Page> {
    const tail = this.#view.tail(room);
    // Under the per-room cap, a page starts no lower than the oldest message kept: one read from further back
    // must get the oldest kept on, not an empty page (which a reader behind would ask for again for ever).
    const cap = this.options.retention.maxMessages ?? 0;
    if (cap > 0 && tail) query = { ...query, after: Math.max(query.after, tail.seq - cap) };
    const held = this.#view.store.held(room);
    if (tail && covered(query, held, tail.seq)) {
      return this.#retained({ ...this.#view.store.page(room, query), lastSeq: tail.seq });
    }
    return this.#walk(room, query).then((p) => this.#retained(p));
  }

  /**
   * The page without the messages past the per-room cap (`--retention-messages`): a record is kept whole
   * in the stream until JetStream drops it, so the cap is applied to what is read as well.
   */
  #retained(page: Page): Page {
    const cap = this.options.retention.maxMessages ?? 0;
    if (cap <= 0 || page.messages.length === 0 || page.messages[0].seq > page.lastSeq - cap) return page;
    return { ...page, messages: page.messages.filter((m) => m.seq > page.lastSeq - cap) };
  }

  /**
   * The conversations of `key`: those of the view (a record consumed since the node started, or in its replay
   * window before), and those the stream held before that, whose last record is read once, when first listed.
   */
  conversations(key: string, limit: number): ConversationTail[] | Promise<ConversationTail[]> {
    const seen = this.#view.store.conversations(key, Number.MAX_SAFE_INTEGER);
    const inView = new Set(seen.map((c) => c.room));
    const older = [...this.#older.get(key) ?? []].filter((room) => !inView.has(room));
    const merged = () =>
      [...seen, ...older.flatMap((room) => this.#olderTails.get(room) ?? [])]
        .filter((c) => c.lastSeq > 0)
        .sort((a, b) => b.ts - a.ts || (a.room < b.room ? -1 : 1))
        .slice(0, limit);
    const unread = older.filter((room) => !this.#olderTails.has(room));
    if (unread.length === 0) return merged();
    return Promise.all(unread.map((room) => this.#olderTail(room))).then(merged);
  }

  /** Finds the conversations among the stream's subjects: those of rooms `@a+b` (record.ts roomToken). */
  async #findConversations(): Promise<void> {
    const prefix = `${this.#prefix}.m.`;
    const info = await this.#jsm.streams.info(this.#stream, { subjects_filter: `${prefix}*` });
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const room = tokenRoom(subject.slice(prefix.length));
      for (const key of conversationKeys(room) ?? []) {
        let mine = this.#older.get(key);
        if (!mine) this.#older.set(key, mine = new Set());
        mine.add(room);
      }
    }
  }

  /** Reads where an older conversation stands from its last record in the stream. */
  async #olderTail(room: string): Promise<void> {
    let m;
    try {
      m = await this.#jsm.direct.getMessage(this.#stream, {
        last_by_subj: `${this.#prefix}.m.${roomToken(room)}`,
      });
    } catch (err) {
      if (!(err as Error).message.includes("no message found") && (err as { code?: number }).code !== 404) {
        throw new StoreError("unavailable", `cannot read conversation ${room}: ${(err as Error).message}`);
      }
    }
    const r = m ? decodeRecord(m.data) : null;
    const last = r?.entries[r.entries.length - 1];
    this.#olderTails.set(room, {
      room,
      lastSeq: r && last ? r.first + r.entries.length - 1 : 0,
      ts: last?.message.ts ?? 0,
    });
  }

  prune(now: number): number {
    // JetStream applies retention to the stream (max_age, max_msgs_per_subject); the view follows.
    return this.#view.store.prune(now);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#sequencing?.unsubscribe();
    this.#sequencing = null;
    // This node's consumer goes with it (one left by a crash is deleted by the server after an hour).
    const done = this.#durable
      ? this.#jsm.consumers.delete(this.#stream, this.#durable).catch(() => {})
      : null;
    void Promise.resolve(done).then(() => this.#nc.drain()).catch(() => this.#nc.close());
  }

  // ---- appending ----

  async #appendChunk(drafts: Draft[]): Promise<AppendResult[]> {
    if (!this.#up) {
      // Refused at once: a client that keeps waiting gains nothing, one with other servers can move on.
      const error = new StoreError(
        "unavailable",
        "this server has lost its connection to the cluster (NATS); retry later, or on another server",
      );
      return drafts.map(() => ({ kind: "failed", error }));
    }
    const deadline = Date.now() + APPEND_DEADLINE_MS;
    let why = "no sequencer answered";
    while (!this.#closed && Date.now() < deadline) {
      if (this.sequencer && this.#holdsLease()) return await this.#sequence(drafts);
      try {
        const reply = await this.#nc.request(`${this.#prefix}.seq`, encodeAppend(drafts), {
          timeout: REQUEST_TIMEOUT_MS,
        });
        if (reply.data.byteLength === NOT_SEQUENCER.byteLength && reply.string() === "not the sequencer") {
          why = "the sequencer was changing";
        } else return decodeResults(reply.data, drafts);
      } catch (err) {
        why = (err as Error).message;
      }
      await sleep(100);
    }
    const error = new StoreError(
      "unavailable",
      `the cluster cannot store messages now (${why}); retry later`,
    );
    return drafts.map(() => ({ kind: "failed", error }));
  }

  /** As the sequencer: numbers and stores `drafts`, answering each once its record is accepted. */
  #sequence(drafts: readonly Draft[]): Promise<AppendResult[]> {
    return Promise.all(drafts.map((draft) =>
      new Promise<AppendResult>((resolve) => {
        const key = refKey(draft.sender);
        const known = this.#stored.get(key) ?? this.#view.receipt(draft.sender);
        if (known) return resolve({ kind: "duplicate", receipt: known });
        const waiting = this.#pending.get(key);
        if (waiting) {
          // The same message twice before it is stored: the second is a resend of the first.
          waiting.waiters.push((r) =>
            resolve(r.kind === "stored" ? { kind: "duplicate", receipt: receiptOf(r.message) } : r)
          );
          return;
        }
        const p: Pending = { draft, waiters: [resolve], deadline: Date.now() + APPEND_DEADLINE_MS };
        this.#pending.set(key, p);
        let q = this.#queues.get(draft.room);
        if (!q) this.#queues.set(draft.room, q = []);
        q.push(p);
        void this.#pump(draft.room);
      })
    ));
  }

  /** Publishes the next record of `room` if none is in flight. */
  async #pump(room: string): Promise<void> {
    if (this.#inflight.has(room)) return;
    const q = this.#queues.get(room);
    if (!q || q.length === 0) return;
    this.#inflight.add(room);
    try {
      const mine = this.#tails.get(room);
      const seen = this.#view.tail(room);
      let tail = mine && (!seen || mine.stream >= seen.stream) ? mine : seen;
      if (!tail) {
        tail = await this.#lastOf(room);
        this.#tails.set(room, tail);
      }
      let bytes = 0;
      let n = 0;
      while (
        n < q.length && n < MAX_RECORD_MESSAGES &&
        (n === 0 || bytes + q[n].draft.text.length * 3 < RECORD_BYTES)
      ) {
        bytes += q[n].draft.text.length * 3 + 100;
        n++;
      }
      const batch = q.splice(0, n);
      const entries: RecordEntry[] = batch.map((p, i) => ({
        message: {
          room,
          seq: tail!.seq + 1 + i,
          ts: p.draft.ts,
          flags: p.draft.flags,
          from: p.draft.from,
          text: p.draft.text,
        },
        sender: p.draft.sender,
      }));
      const verdict = await this.#publish(room, tail, entries);
      if (typeof verdict === "object" && "stream" in verdict) {
        this.#tails.set(room, { seq: tail.seq + entries.length, stream: verdict.stream });
        for (const [i, p] of batch.entries()) {
          this.#settle(p, { kind: "stored", message: entries[i].message });
        }
      } else {
        // Lost a race, or the outcome is unknown (a publish that timed out may have been stored all the same):
        // read what the room holds after the last record known, answer what is there, number the rest again.
        let caught: RoomTail;
        try {
          caught = await this.#catchUp(room, tail);
        } catch (err) {
          const error = verdict instanceof StoreError
            ? verdict
            : new StoreError("unavailable", (err as Error).message);
          for (const p of batch) this.#settle(p, { kind: "failed", error });
          return;
        }
        this.#tails.set(room, caught);
        const left: Pending[] = [];
        for (const p of batch) {
          const stored = this.#stored.get(refKey(p.draft.sender));
          if (stored) {
            const { ts, flags, from, text } = p.draft;
            this.#settle(p, {
              kind: "stored",
              message: { room, seq: stored.seq, ts: stored.ts ?? ts, flags, from, text },
            });
          } else left.push(p);
        }
        if (verdict instanceof StoreError && Date.now() > (batch[0].deadline ?? 0)) {
          for (const p of left) this.#settle(p, { kind: "failed", error: verdict });
        } else q.unshift(...left);
      }
    } catch (err) {
      const error = err instanceof StoreError
        ? err
        : new StoreError("unavailable", `cluster: ${(err as Error).message}`);
      for (const p of q.splice(0)) this.#settle(p, { kind: "failed", error });
    } finally {
      this.#inflight.delete(room);
    }
    if ((this.#queues.get(room)?.length ?? 0) > 0) void this.#pump(room);
  }

  /** Answers everyone waiting for `p`, and remembers where it was stored. */
  #settle(p: Pending, result: AppendResult): void {
    const key = refKey(p.draft.sender);
    this.#pending.delete(key);
    if (result.kind === "stored") {
      this.#stored.set(key, receiptOf(result.message));
      if (this.#stored.size > STORED_RECEIPTS) this.#stored.delete(this.#stored.keys().next().value!);
    }
    for (const w of p.waiters) w(result);
  }

  /**
   * Reads `room`'s records stored after `from` (in stream order, as every view takes them: the first record
   * numbered over another is refused), remembers their senders' receipts, and returns where the room stands.
   */
  async #catchUp(room: string, from: RoomTail): Promise<RoomTail> {
    const subject = `${this.#prefix}.m.${roomToken(room)}`;
    let tail = from;
    for (;;) {
      const m = await this.#jsm.direct.getMessage(this.#stream, {
        seq: tail.stream + 1,
        next_by_subj: subject,
      });
      if (!m) return tail;
      const r = decodeRecord(m.data);
      if (r.first > tail.seq) {
        for (const e of r.entries) {
          this.#stored.set(refKey(e.sender), receiptOf(e.message));
        }
        tail = { seq: r.first + r.entries.length - 1, stream: m.seq };
      } else tail = { seq: tail.seq, stream: m.seq };
    }
  }

  /**
   * Publishes one record and waits for this node's view to decide on it:
   * "accepted", "stale" (lost a race: renumber), or the error that stored nothing.
   */
  async #publish(
    room: string,
    tail: RoomTail,
    entries: RecordEntry[],
  ): Promise<{ stream: number } | "stale" | StoreError> {
    if (!this.#holdsLease()) {
      return new StoreError("unavailable", "this node lost the cluster's sequencer lease");
    }
    const first = entries[0].message.seq;
    const record = encodeRecord({ room, first, prev: tail.stream, entries });
    const subject = `${this.#prefix}.m.${roomToken(room)}`;
    let stream: number;
    try {
      const ack = await this.#js.publish(subject, record, {
        msgID: `${roomToken(room)}:${first}`,
        expect: { lastSubjectSequence: tail.stream },
        timeout: REQUEST_TIMEOUT_MS,
      });
      // A record with this room and first seq was stored already (an earlier attempt whose answer was lost):
      // what it holds is read back, not assumed.
      if (ack.duplicate) return "stale";
      stream = ack.seq;
    } catch (err) {
      // The room moved on (another writer): number again after its last record.
      if ((err as JetStreamApiError).code === 10071) return "stale";
      return new StoreError(
        "unavailable",
        `the cluster cannot store in ${room} now: ${(err as Error).message}`,
      );
    }
    // Accepted or stale is what every node's view decides, applying the same rule to the same records in
    // order: this node's view says it without another round trip (it usually has the record by now).
    const decided = await this.#verdictOf(stream);
    if (decided !== null) return decided === "accepted" ? { stream } : "stale";
    // The view is behind (or could not read the record): is this record the one that follows the expected
    // last on its subject? The first wins, so that is what the views will decide.
    try {
      const next = await this.#jsm.direct.getMessage(this.#stream, {
        seq: tail.stream + 1,
        next_by_subj: subject,
      });
      return next?.seq === stream ? { stream } : "stale";
    } catch (err) {
      return new StoreError(
        "unavailable",
        `the cluster cannot confirm a record of ${room}: ${(err as Error).message}`,
      );
    }
  }
  /** This node's view's verdict on the record at `stream`, waited for a moment; null when it has none. */
  async #verdictOf(stream: number): Promise<Verdict | null> {
    const known = this.#verdicts.get(stream);
    if (known !== undefined || this.#consumed >= stream) return known ?? null;
    await this.#seen(stream, VERDICT_WAIT_MS);
    return this.#verdicts.get(stream) ?? null;
  }
  #verdicts = new Map<number, Verdict>();

  /** Resolves true once the view has consumed the stream up to `stream`, false if it has not within `ms`. */
  #seen(stream: number, ms: number): Promise<boolean> {
    if (this.#consumed >= stream) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#seenWaiters.push({
        stream,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      });
    });
  }
  #consumed = 0;
  #seenWaiters: Array<{ stream: number; resolve: () => void }> = [];

  /** Where `room` stands in the stream itself: its last record, or nothing yet. */
  async #lastOf(room: string): Promise<RoomTail> {
    try {
      const m = await this.#jsm.direct.getMessage(this.#stream, {
        last_by_subj: `${this.#prefix}.m.${roomToken(room)}`,
      });
      if (!m) return { seq: 0, stream: 0 };
      const r = decodeRecord(m.data);
      return { seq: r.first + r.entries.length - 1, stream: m.seq };
    } catch (err) {
      if (notFound(err)) return { seq: 0, stream: 0 };
      throw err;
    }
  }

  // ---- the view ----

  async #consume(caught: () => void): Promise<void> {
    const start = await this.#firstSince(Date.now() - this.options.replayMs);
    // What lies before the replay window is skipped on purpose: the view stands just before `start`. (Counted
    // from 0, a node whose window held no record, after a day of silence, never saw itself caught up with
    // the stream, so it could never take the sequencer's lease.)
    this.#consumed = start - 1;
    // A durable consumer of this node's, replicated like the stream: when a NATS server dies it carries on
    // from another one (an ephemeral ordered consumer would have to be made again, which nats-server 2.9 may
    // refuse while its leaders move). Nothing to acknowledge: the view takes every record once, in order.
    // Left behind by a node that is gone, it is deleted by the server after an hour unused.
    const durable = `view_${this.nodeId}`;
    await this.#jsm.consumers.add(this.#stream, {
      durable_name: durable,
      filter_subject: `${this.#prefix}.m.>`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
      ack_policy: AckPolicy.None,
      num_replicas: this.options.replicas,
      inactive_threshold: 3600_000 * NS_PER_MS,
    });
    this.#durable = durable;
    const consumer = await this.#js.consumers.get(this.#stream, durable);
    const info = await consumer.info(true);
    const feed = new StreamFeed(start, {
      read: (from) =>
        this.#jsm.direct.getMessage(this.#stream, { seq: from, next_by_subj: `${this.#prefix}.m.>` })
          .then(
            (m) => m ? { seq: m.seq, data: m.data } : "none" as const,
            (err) => notFound(err) ? "none" : null,
          ),
      take: (record) => this.#take(record),
      missed: (seq) =>
        this.options.logger.warn(
          `cluster: record ${seq} missed by this node's consumer, read from the stream`,
        ),
      retryMs: VIEW_RETRY_MS,
      closed: () => this.#closed,
    });
    if (info.num_pending === 0) caught();
    let lastTaken = Date.now();
    this.#timers.push(setInterval(() => {
      if (this.#closed || !this.#up || feed.busy || Date.now() - lastTaken < VIEW_CHECK_MS) return;
      void this.#jsm.streams.info(this.#stream).then((i) => {
        if (i.state.last_seq > feed.consumed) feed.want(i.state.last_seq);
      }, () => {/* NATS away: asked again at the next check */});
    }, VIEW_CHECK_MS));
    // Short pull expiries and heartbeats: a pull lost with a NATS server is noticed, and made again, in seconds.
    const messages = await consumer.consume({
      max_messages: CONSUMER_BATCH,
      expires: CONSUMER_EXPIRES_MS,
      idle_heartbeat: CONSUMER_HEARTBEAT_MS,
      callback: (msg: JsMsg) => {
        lastTaken = Date.now();
        feed.push({ seq: msg.seq, data: msg.data });
        if (msg.info.pending === 0) caught();
      },
    });
    void messages.closed().then((err) => {
      if (!this.#closed) this.options.logger.error(`cluster: this node stopped reading the stream (${err})`);
    });
  }
  #durable = "";

  /** The first stream sequence stored at or after `since` (ms): a binary search over the stream's messages. */
  async #firstSince(since: number): Promise<number> {
    const state = (await this.#jsm.streams.info(this.#stream)).state;
    let lo = state.first_seq;
    let hi = state.last_seq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      // The next message at or after `mid` (a deleted one has none of its own).
      const m = await this.#jsm.direct.getMessage(this.#stream, {
        seq: mid,
        next_by_subj: `${this.#prefix}.m.>`,
      })
        .catch(() => null);
      if (!m) {
        hi = mid;
        continue;
      }
      if (m.time.getTime() >= since) hi = mid;
      else lo = m.seq + 1;
    }
    return Math.max(1, lo);
  }

  /** One record from the stream: into the view, its verdict to its publisher, its messages to the members. */
  #take({ seq: stream, data }: StreamRecord): void {
    try {
      const record = decodeRecord(data);
      const applied = this.#view.apply(record, stream);
      this.#verdicts.set(stream, applied.verdict);
      if (this.#verdicts.size > VERDICTS_KEPT) this.#verdicts.delete(this.#verdicts.keys().next().value!);
      if (applied.messages.length > 0) this.onDelivered(applied.messages);
    } catch (err) {
      this.options.logger.error(`cluster: record ${stream} unreadable, skipped: ${(err as Error).message}`);
    }
    this.#consumed = stream;
    if (this.#seenWaiters.length > 0) {
      const ready = this.#seenWaiters.filter((w) => w.stream <= stream);
      this.#seenWaiters = this.#seenWaiters.filter((w) => w.stream > stream);
      for (const w of ready) w.resolve();
    }
  }

  /** Reads a page of `room` from the stream, walking its records backwards from the last one. */
  async #walk(room: string, query: PageQuery): Promise<Page> {
    const last = await this.#lastOf(room);
    this.#view.learn(room, last);
    const upper = query.before > 0 ? Math.min(query.before, last.seq + 1) : last.seq + 1;
    const lower = query.after + 1;
    const want = Math.max(0, Math.min(query.limit, upper - lower));
    const from = query.before > 0 ? upper - want : lower;
    const to = from + want; // exclusive
    const found: StoredMessage[] = [];
    let at = last.stream;
    while (at > 0 && want > 0) {
      const m = await this.#jsm.direct.getMessage(this.#stream, { seq: at });
      if (!m) break;
      const r = decodeRecord(m.data);
      for (let i = r.entries.length - 1; i >= 0; i--) {
        const msg = r.entries[i].message;
        if (msg.seq >= from && msg.seq < to) found.push(msg);
      }
      if (r.first <= from) break;
      at = r.prev;
    }
    found.reverse();
    // Records consumed while the walk ran were delivered live to the room's members before this reader
    // became one: the page goes up to where the view stands now, so that nothing falls between the two.
    const now = this.#view.tail(room);
    if (now && now.seq > last.seq && (query.before <= 0 || query.before > last.seq + 1)) {
      const newer = this.#view.store.page(room, {
        after: last.seq,
        before: query.before,
        limit: now.seq - last.seq,
      });
      const all = [...found, ...newer.messages];
      // Newest below `before`: the last `limit`; oldest after `after`: the first `limit`.
      const page = query.before > 0
        ? all.slice(Math.max(0, all.length - query.limit))
        : all.slice(0, query.limit);
      return { messages: page, lastSeq: now.seq };
    }
    return { messages: found, lastSeq: last.seq };
  }

  // ---- the sequencer's lease ----

  #holdsLease(): boolean {
    // Renewed within the lease, with a margin for clocks and the renewal in flight.
    return this.#leaseRev > 0 && Date.now() - this.#leaseAt < LEASE_MS * 2 / 3;
  }

  async #campaign(): Promise<void> {
    if (this.#closed || !this.#up) return;
    await this.#caughtUp;
    try {
      if (this.#leaseRev > 0) {
        this.#leaseRev = await this.#lease.update("sequencer", this.nodeId, this.#leaseRev);
        this.#leaseAt = Date.now();
        return;
      }
      this.#leaseRev = await this.#lease.create("sequencer", this.nodeId);
      this.#leaseAt = Date.now();
      // Everything stored before the lease changed hands is in the view before this node numbers anything:
      // the receipts that recognise a resend are there. A view that cannot catch up gives the lease back.
      const info = await this.#jsm.streams.info(this.#stream);
      if (!await this.#seen(info.state.last_seq, READY_MS)) {
        this.#stepDown("its view did not catch up with the stream");
        return;
      }
      this.#sequencing = this.#nc.subscribe(`${this.#prefix}.seq`, {
        queue: "sequencer",
        callback: (err, msg) => {
          if (err) return;
          void this.#serve(msg.data).then((reply) => msg.respond(reply));
        },
      });
      this.options.logger.info(`cluster: node ${this.nodeId} is the sequencer`);
    } catch {
      if (this.#leaseRev > 0) this.#stepDown("its lease could not be renewed");
    }
  }

  #stepDown(why: string): void {
    this.#leaseRev = 0;
    this.#sequencing?.unsubscribe();
    this.#sequencing = null;
    this.options.logger.warn(`cluster: node ${this.nodeId} is no longer the sequencer (${why})`);
  }

  async #serve(data: Uint8Array): Promise<Uint8Array> {
    if (!this.#holdsLease()) return NOT_SEQUENCER;
    try {
      const req = decodeRequest(data);
      if (req.kind === "append") return encodeResults(await this.#sequence(req.drafts));
      return NOT_SEQUENCER;
    } catch (err) {
      this.options.logger.warn(`cluster: a bad request to the sequencer: ${(err as Error).message}`);
      return NOT_SEQUENCER;
    }
  }

  #watchStatus(): void {
    void (async () => {
      for await (const s of this.#nc.status()) {
        if (this.#closed) return;
        if (s.type === "disconnect" && this.#up) {
          this.#up = false;
          this.options.logger.error(
            "cluster: lost the connection to NATS; messages are refused until it is back",
          );
          if (this.#leaseRev > 0) this.#stepDown("NATS is unreachable");
          this.onStatus(false);
        } else if (s.type === "reconnect" && !this.#up) {
          this.#up = true;
          this.options.logger.info("cluster: connected to NATS again");
          this.onStatus(true);
        }
      }
    })();
  }
}

/** How long a starting node waits for JetStream to answer. */
const READY_MS = 30_000;

/** `fn`, asked again while JetStream is not ready yet (timeouts, no leader), for up to READY_MS. */
export async function ready<T>(fn: () => Promise<T>, log: ClusterLogger): Promise<T> {
  const deadline = Date.now() + READY_MS;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const message = (err as Error).message;
      if (Date.now() > deadline || !/timeout|leader|unavailable|no responders|not ready/i.test(message)) {
        throw err;
      }
      if (attempt === 1) log.info(`cluster: JetStream is not ready yet (${message}); waiting`);
      await sleep(500);
    }
  }
}

export function streamName(name: string): string {
  return `CHAT_${ident(name)}`;
}

function receiptOf(m: StoredMessage): SendReceipt {
  return { room: m.room, seq: m.seq, ts: m.ts };
}

/**
 * Whether this node's view holds every message `query` asks for: the view
 * holds the room's messages from `held.first` (0: none) to `last`.
 */
function covered(query: PageQuery, held: { first: number; last: number }, last: number): boolean {
  const upper = query.before > 0 ? Math.min(query.before, last + 1) : last + 1;
  const lower = query.after + 1;
  const want = Math.max(0, Math.min(query.limit, upper - lower));
  if (want === 0) return true;
  const from = query.before > 0 ? upper - want : lower;
  return held.first > 0 && held.first <= from && held.last === last;
}

/** True for a direct get's "no message found" (the stream holds none there), as opposed to NATS failing. */
function notFound(err: unknown): boolean {
  return (err as Error).message?.includes("no message found") || (err as { code?: number }).code === 404;
}
