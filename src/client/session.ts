/**
 * What a client does with each server frame, without a socket: the pure core
 * of {@linkcode ChatClient}, and of any other front end with its own
 * transport (a browser over WebSocket). Frames go in; events to show,
 * journal entries to keep and frames to send come out, in that order.
 *
 * It holds what outlives a connection (name, rooms, the outbox of messages
 * not yet acknowledged, each room's sequencer, the resume token and store id,
 * member lists, acknowledged messages whose echo is still due) and what
 * belongs to one connection (the WELCOME, member lists being assembled, the
 * FETCHes in flight and what each is for, the messages not yet sent on it).
 * Messages go out at the pace the server announced (see pacer.ts), so a long
 * paste is neither refused nor taken for a flood. No sockets, timers, clock
 * or Deno APIs: time is passed in, the shell performs what a
 * {@linkcode Step} asks (and calls {@linkcode ClientSession.tick} at
 * `wakeAt`), and owns the heartbeat and the reconnect backoff.
 *
 * @example A connection, seen from the shell
 * ```ts
 * const session = new ClientSession({ server: "h:3000", name: "alice", rooms: ["lobby"], now: Date.now() });
 * write(session.hello());
 * for (const frame of framesFromServer) perform(session.receive(frame, Date.now())); // events, journal, send
 * session.lost(); // then write(session.hello()) on the next connection
 * ```
 *
 * @module
 */

import {
  type ChatMessage,
  type ClientMessage,
  type ConversationEntry,
  DEFAULT_MAX_TEXT,
  ErrorCode,
  FEATURES,
  type Hello,
  hex,
  MAX_FETCH,
  MessageFlags,
  nameKey,
  PROTOCOL_VERSION,
  type RateLimit,
  type RoomEntry,
  type ServerMessage,
  unhex,
  type Welcome,
} from "../protocol/mod.ts";
import type { ClientEvent, DirectEvent, MessageEvent } from "./events.ts";
import type { JournalEntry, JournalState, PendingSend } from "./journal_state.ts";
import { Pacer } from "./pacer.ts";
import { RoomSequencer } from "./sequencer.ts";

/** Messages fetched per room after the server's store was reset: what a fresh join would show. */
export const RESET_PAGE = 50;

/** Rooms one /list shows at most: the server's default room limit; past it the list says it stopped. */
export const LIST_MAX = 10_000;

/** Conversations caught up at once after a connect (each may take several FETCH pages). */
export const CATCH_UP_AT_ONCE = 4;

/**
 * A direct message is kept in the outbox with its recipient in `room` behind this prefix; a stored
 * conversation is room "@" and the other person's name too (feature `dms`), sequenced like a room.
 */
export const DIRECT_PREFIX = "@";

/** True for a conversation's room ("@peer"): room names cannot start with "@". */
export function isConversation(room: string): boolean {
  return room.startsWith(DIRECT_PREFIX);
}

/** What the shell must do after an input, in this order: show the events, keep the entries, send. */
export interface Step {
  /** To pass on to the front end, in order. */
  events: ClientEvent[];
  /** To record in the journal, after the events (a cursor moves only past what was shown). */
  journal: JournalEntry[];
  /** To write, in order, after the journal (a message is on disk before it is on the wire). */
  send: ClientMessage[];
  /** Messages wait for the server's rate: call {@linkcode ClientSession.tick} at this time (epoch ms). */
  wakeAt: number | null;
  /** True when this input completed the handshake (the first room's members arrived). */
  welcomed: boolean;
  /** Set when the server said it closes this connection: why, for the shell's reconnect or exit. */
  fatal: { code: string; message: string } | null;
  /** The token of a PONG that arrived: the server has answered everything sent before its PING. */
  pong: number | null;
}

export interface SessionOptions {
  /** host:port, as the events name it, until {@linkcode ClientSession.hello} names another. */
  server: string;
  name: string;
  /** Rooms in join order; the first is the current room. */
  rooms: readonly string[];
  /** What the journal kept from an earlier run: the outbox, the sequences, the token and store. */
  saved?: JournalState;
  /** Sent in every HELLO: the account password, or the server password. */
  password?: string;
  /** Sent in every HELLO: the operator token. */
  adminToken?: string;
  /** A transient session (HELLO TRANSIENT): holds no name, makes no presence (chat send, chat tail). */
  transient?: boolean;
  /** The clock at start: message ids start from it, so a restarted client does not reuse recent ids. */
  now: number;
  /**
   * A transient session's ids start here instead ({@linkcode transientIdStart}): several run at once under
   * one name (parallel `chat send`s), and ids drawn from the clock would meet when two start in the same
   * millisecond, the second message then taken for a resend of the first.
   */
  idStart?: number;
}

/** Transient sessions draw their ids from [2^52, 2^53): above every clock-drawn id until the year 2112. */
const TRANSIENT_IDS_FROM = 2 ** 52;
/** Room left above the start to count up: no session sends 2^32 messages. */
const TRANSIENT_IDS_SPAN = 2 ** 52 - 2 ** 32;

/**
 * Where a transient session's ids start, from a random number in [0, 1):
 * two sessions sending n messages each meet with a chance of about n/2^51.
 */
export function transientIdStart(random: number): number {
  return TRANSIENT_IDS_FROM + Math.floor(random * TRANSIENT_IDS_SPAN);
}

/** What belongs to one connection and is forgotten with it. */
interface Connection {
  welcome: { name: string; rooms: string[] } | null;
  /** A CONVERSATIONS list that came before the handshake was done: caught up once it is. */
  conversations: ConversationEntry[] | null;
  /** Member lists arriving in several MEMBERS frames. */
  members: Map<string, string[]>;
  /** Likewise, lists of rooms the client is not in (the answer to WHO, flagged LISTING). */
  listings: Map<string, string[]>;
  /** The optional features the server announced in WELCOME. */
  features: ReadonlySet<string>;
  /** A /list under way: the rooms passed on so far (the session asks for the next page itself). */
  listing: { rooms: number } | null;
  /** Rooms whose join was answered (MEMBERS or a quiet ROOM) on this connection: a later ROOM is news. */
  answered: Set<string>;
}

function newConnection(): Connection {
  return {
    welcome: null,
    conversations: null,
    members: new Map(),
    listings: new Map(),
    features: new Set(),
    listing: null,
    answered: new Set(),
  };
}

function emptyStep(): Step {
  return { events: [], journal: [], send: [], wakeAt: null, welcomed: false, fatal: null, pong: null };
}

export class ClientSession {
  #server: string;
  #name: string;
  #rooms: string[];
  #password: string | undefined;
  #adminToken: string | undefined;
  #transient: boolean;
  #pending = new Map<number, PendingSend>();
  #failed = 0;
  #nextId: number;
  #sequencers = new Map<string, RoomSequencer<ChatMessage>>();
  #token: Uint8Array | null = null;
  #storeId: string | null = null;
  #oldest = new Map<string, number>();
  #storeReset = false;
  // FETCHes in flight per room, in the order sent (the server answers in order): a gap fill for the
  // sequencer, or a page of older history for the scrollback, which bypasses it.
  #fetches = new Map<string, Array<"gap" | "page">>();
  /**
   * Rooms joined on this connection whose join answer (its history, closed by a FETCHED that answers no
   * FETCH of ours) has not come yet; a page of older history asked meanwhile waits in `#deferred` (its
   * limit), or the join's FETCHED would be taken for the page's.
   */
  #joining = new Set<string>();
  #deferred = new Map<string, number>();
  // Acknowledged messages whose own copy has not come back yet: room -> highest such seq.
  #echoes = new Map<string, number>();
  #members = new Map<string, string[]>();
  #conn: Connection = newConnection();
  #maxText = DEFAULT_MAX_TEXT;
  #ready = false;
  #welcomedBefore = false;
  #pacer = new Pacer();
  // Outbox ids not yet sent on this connection, oldest first: they go out as the pacer allows.
  #unsent: number[] = [];
  // Conversations still to catch up on this connection, and those whose catch-up FETCH is out.
  #behind: string[] = [];
  #catchingUp = new Set<string>();

  constructor(o: SessionOptions) {
    this.#server = o.server;
    this.#name = o.name;
    this.#rooms = [...o.rooms];
    this.#password = o.password;
    this.#adminToken = o.adminToken;
    this.#transient = o.transient ?? false;
    this.#nextId = o.idStart ?? o.now * 1000;
    const saved = o.saved;
    if (!saved) return;
    for (const p of saved.outbox) {
      this.#pending.set(p.id, p);
      this.#nextId = Math.max(this.#nextId, p.id + 1);
    }
    if (saved.token) this.#token = unhex(saved.token);
    this.#storeId = saved.storeId;
    for (const [room, seq] of Object.entries(saved.lastSeq)) {
      this.#sequencers.set(room, new RoomSequencer(seq));
    }
  }

  /** My name as the server knows it. */
  get name(): string {
    return this.#name;
  }

  /** The server of this connection (the last one, between connections), as events name it. */
  get server(): string {
    return this.#server;
  }

  /** Rooms in join order; the first is the current room. */
  get rooms(): string[] {
    return this.#rooms;
  }

  /** True from the end of the handshake until the connection is lost: requests may be sent. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The messages sent and not yet acknowledged, oldest first. */
  get outbox(): readonly PendingSend[] {
    return [...this.#pending.values()];
  }

  /** Messages sent and not yet acknowledged. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Messages the server refused (errors with a ref). */
  get failed(): number {
    return this.#failed;
  }

  /** True when nothing is pending and the own copy of every acknowledged message has come back. */
  get settled(): boolean {
    return this.#pending.size === 0 && this.#echoes.size === 0;
  }

  /** Members of `room` as last reported by the server. */
  members(room: string): readonly string[] {
    return this.#members.get(room) ?? [];
  }

  /** The lowest sequence passed on in `room` since start, or undefined: where older history begins. */
  oldestSeq(room: string): number | undefined {
    return this.#oldest.get(room);
  }

  /** A fresh message id. */
  newId(): number {
    return this.#nextId++;
  }

  /**
   * Starts a connection (to `server`, when it is another than the last: a
   * client with several servers moves between the nodes of a cluster):
   * forgets what belonged to the last one and returns the HELLO to send
   * first (with the resume token, and SINCE for the rooms whose messages we
   * have, which resume exactly on any node of the cluster).
   */
  hello(server: string = this.#server): Hello {
    this.#server = server;
    this.#ready = false;
    this.#conn = newConnection();
    return {
      type: "hello",
      version: PROTOCOL_VERSION,
      name: this.#name,
      rooms: this.#rooms,
      ...this.#helloExtensions(),
    };
  }

  /** The connection ended: nothing more may be sent on it. */
  lost(): void {
    this.#ready = false;
    this.#unsent = [];
  }

  /** The optional features the server of this connection announced (none before its WELCOME). */
  get features(): ReadonlySet<string> {
    return this.#conn.features;
  }

  /** The longest message text the server accepts, in UTF-8 bytes: from the last WELCOME, else the default. */
  get maxText(): number {
    return this.#maxText;
  }

  /**
   * Asks for the server's rooms (LIST), page after page until the last or
   * {@linkcode LIST_MAX} rooms; null when not connected or a listing is
   * under way on this connection.
   */
  list(): Step | null {
    if (!this.#ready || this.#conn.listing) return null;
    const step = emptyStep();
    this.#conn.listing = { rooms: 0 };
    this.#write(step, { type: "list", after: "", limit: 0 });
    return step;
  }

  /** Asks for `room`'s topic (`text` undefined) or sets it; null when not connected. */
  topic(room: string, text?: string): Step | null {
    if (!this.#ready) return null;
    const step = emptyStep();
    this.#write(step, { type: "topic", room, set: text !== undefined, text: text ?? "" });
    return step;
  }

  /** The message rate the server announced for this client, or null. */
  get rateLimit(): RateLimit | null {
    return this.#pacer.rate;
  }

  /** Messages in the outbox not yet sent on this connection (waiting for the server's rate, or offline). */
  get unsent(): number {
    return this.#ready ? this.#unsent.length : this.#pending.size;
  }

  /**
   * Keeps `p` in the outbox until acknowledged (through every reconnect) and
   * sends it as soon as connected and the server's rate allows. The journal
   * entry comes before the frame.
   */
  queue(p: PendingSend, now: number): Step {
    const step = emptyStep();
    step.journal.push({ op: "send", p });
    this.#pending.set(p.id, p);
    if (this.#ready) {
      this.#unsent.push(p.id);
      this.#flush(step, now);
    }
    return step;
  }

  /** Sends what the server's rate allows by `now` (at the `wakeAt` a step asked for). */
  tick(now: number): Step {
    const step = emptyStep();
    this.#flush(step, now);
    return step;
  }

  /**
   * Asks for up to `limit` stored messages of `room` older than `before`
   * (for the scrollback); null when not connected.
   */
  fetchOlder(room: string, before: number, limit: number): Step | null {
    if (!this.#ready) return null;
    const step = emptyStep();
    if (this.#joining.has(room)) {
      // Asked once the join's history is in, before the oldest of it (which `before` could not know yet).
      this.#deferred.set(room, Math.min(limit, MAX_FETCH));
      return step;
    }
    this.#write(step, { type: "fetch", room, after: 0, before, limit: Math.min(limit, MAX_FETCH) });
    this.#fetchQueue(room).push("page");
    return step;
  }

  /** Applies one frame from the server, arrived at `now`. */
  receive(m: ServerMessage, now: number): Step {
    const step = emptyStep();
    switch (m.type) {
      case "welcome":
        this.#welcome(m, step, now);
        break;
      case "members": {
        if (m.listing) {
          this.#listing(step, m.room, m.names, m.more);
          break;
        }
        const acc = this.#conn.members.get(m.room) ?? [];
        acc.push(...m.names);
        if (m.more) {
          this.#conn.members.set(m.room, acc);
          break;
        }
        this.#conn.members.delete(m.room);
        this.#listed(step, m.room, acc, now);
        break;
      }
      case "room":
        if (m.listing) {
          // A quiet room the client is not in: its size answers the WHO.
          step.events.push({
            type: "members",
            room: m.room,
            online: [],
            members: m.members,
            quiet: true,
            listing: true,
          });
        } else if (m.quiet && !this.#conn.answered.has(m.room)) {
          // A quiet room answers a join with its size: no list to wait for.
          this.#listed(step, m.room, [], now, m.members);
        } else {
          // The list we hold goes stale from now on (quiet), or a fresh one follows (loud again).
          if (m.quiet) this.#members.set(m.room, []);
          step.events.push({ type: "room", room: m.room, members: m.members, quiet: m.quiet });
        }
        break;
      case "message":
        if ((m.flags & MessageFlags.HISTORY) !== 0 && this.#fetches.get(m.room)?.[0] === "page") {
          // Older than anything passed on: it goes to the scrollback, not through the sequencer.
          this.#step(step, m.room, { deliver: [m] }, false);
        } else {
          this.#step(step, m.room, this.#sequencer(m.room).receive(m));
        }
        break;
      case "fetched":
        if (this.#fetches.get(m.room)?.shift() !== "page") {
          const seq = this.#sequencer(m.room);
          const wasBased = seq.based;
          this.#step(step, m.room, seq.fetched(m));
          if (!wasBased && seq.based) step.journal.push({ op: "seq", room: m.room, seq: seq.last });
          if (!seq.fetching && this.#catchingUp.delete(m.room)) this.#catchUpNext(step);
          if (this.#joining.delete(m.room)) this.#askDeferred(step, m.room);
        }
        break;
      case "notice":
        step.events.push({ type: "notice", kind: m.kind, text: m.text });
        break;
      case "direct":
        step.events.push({
          type: "direct",
          from: m.from,
          to: m.to,
          ts: m.ts,
          text: m.text,
          action: (m.flags & MessageFlags.ACTION) !== 0,
        });
        break;
      case "ack":
        if (this.#pending.delete(m.id)) {
          step.journal.push({ op: "ack", id: m.id });
          if (m.seq > 0 && this.#rooms.includes(m.room) && this.#sequencer(m.room).last < m.seq) {
            this.#echoes.set(m.room, Math.max(this.#echoes.get(m.room) ?? 0, m.seq));
          }
          step.events.push({ type: "ack", id: m.id, room: m.room, seq: m.seq, ts: m.ts });
        }
        break;
      case "presence":
        if (m.event === "leave" && m.name === this.#name && m.reason === "left") {
          this.#rooms = this.#rooms.filter((r) => r !== m.room);
          this.#members.delete(m.room);
          this.#conn.answered.delete(m.room);
        } else if (m.event === "nick" && m.name === this.#name) {
          this.#name = m.text;
        }
        this.#trackMembers(m);
        step.events.push({ ...m });
        break;
      case "error":
        if (m.ref && m.code === ErrorCode.RATE_LIMITED && this.#pending.has(m.ref) && !m.fatal) {
          // Not refused for good: it goes back in line, in the outbox's order, and is sent again when the
          // server's bucket has room. Nothing to tell the user: the message is not lost, only later.
          this.#pacer.refused(now);
          if (this.#ready) {
            this.#requeue(m.ref);
            this.#flush(step, now);
          }
          break;
        }
        if (m.ref && this.#pending.delete(m.ref)) {
          step.journal.push({ op: "ack", id: m.ref });
          this.#failed++;
        }
        step.events.push({
          type: "error",
          code: m.code,
          message: m.message,
          fatal: m.fatal,
          ...(m.ref ? { ref: m.ref } : {}),
        });
        if (m.fatal) step.fatal = { code: m.code, message: m.message };
        // A refused LIST (too fast) ends the listing: /list may be asked again.
        if (!m.ref && m.code === ErrorCode.RATE_LIMITED) this.#conn.listing = null;
        break;
      case "rooms":
        this.#roomsPage(step, m.rooms, m.more);
        break;
      case "topicIs":
        step.events.push({ type: "topic", room: m.room, text: m.text, by: m.by, ts: m.ts });
        break;
      case "ping":
        // Answer even mid-handshake: the server's clock runs from connect.
        step.send.push({ type: "pong", token: m.token });
        break;
      case "pong":
        step.pong = m.token;
        break;
      case "conversations":
        if (this.#ready) this.#catchUp(step, m.conversations);
        else this.#conn.conversations = m.conversations;
        break;
      default: {
        const never: never = m;
        void never;
      }
    }
    return step;
  }

  #welcome(m: Welcome, step: Step, now: number): void {
    // A new connection: nothing is in flight on it.
    this.#fetches.clear();
    this.#joining.clear();
    this.#deferred.clear();
    this.#conn.features = new Set(m.features ?? []);
    this.#maxText = m.maxText;
    this.#catchingUp.clear();
    this.#behind = [];
    this.#pacer.announce(m.rateLimit ?? null, now);
    this.#conn.welcome = { name: m.name, rooms: m.rooms };
    this.#name = m.name;
    this.#rooms = [...m.rooms];
    const token = m.resumeToken ?? null;
    const store = m.storeId ? hex(m.storeId) : null;
    if (store !== this.#storeId && this.#storeId !== null) {
      // The server's messages were reset: our sequence numbers mean nothing there any more. Our HELLO
      // named them in SINCE, so the server sent no history: fetch the newest page of each room instead.
      this.#sequencers.clear();
      this.#storeReset = true;
    }
    this.#storeId = store;
    this.#token = token;
    if (token) step.journal.push({ op: "token", token: hex(token), storeId: store });
  }

  /** A room's member list (or a quiet room's size) arrived: for the first room, the handshake is done. */
  #listed(step: Step, room: string, online: string[], now: number, size?: number): void {
    this.#conn.answered.add(room);
    this.#members.set(room, online);
    if (!this.#rooms.includes(room)) this.#rooms.push(room);
    const quiet = size === undefined ? {} : { members: size, quiet: true as const };
    const welcome = this.#conn.welcome;
    if (welcome && room === welcome.rooms[0] && !this.#ready) {
      this.#welcomed(step, now);
      step.events.push({
        type: "welcome",
        name: welcome.name,
        room,
        rooms: welcome.rooms,
        online,
        server: this.#server,
        reconnected: this.#welcomedBefore,
        ...quiet,
      });
      this.#welcomedBefore = true;
    } else {
      step.events.push({ type: "members", room, online, ...quiet });
    }
  }

  /** A part of the member list of a room the client is not in; the last part is passed on. */
  #listing(step: Step, room: string, names: string[], more: boolean): void {
    const acc = this.#conn.listings.get(room) ?? [];
    acc.push(...names);
    if (more) {
      this.#conn.listings.set(room, acc);
      return;
    }
    this.#conn.listings.delete(room);
    step.events.push({ type: "members", room, online: acc, listing: true });
  }

  /** A page of /list: passed on, and the next page asked for while there is one and room for it. */
  #roomsPage(step: Step, rooms: RoomEntry[], more: boolean): void {
    const listing = this.#conn.listing;
    const total = (listing?.rooms ?? 0) + rooms.length;
    const next = listing !== null && more && total < LIST_MAX && rooms.length > 0;
    step.events.push({
      type: "rooms",
      rooms: rooms.map((r) => ({ room: r.room, members: r.members, quiet: r.quiet, topic: r.topic })),
      more: next,
      ...(more && !next ? { truncated: true as const } : {}),
    });
    if (next && listing) {
      listing.rooms = total;
      this.#write(step, { type: "list", after: rooms[rooms.length - 1].room, limit: 0 });
    } else this.#conn.listing = null;
  }

  /** Connected: catch up every room seen before, then resend what was never acknowledged, in order. */
  #welcomed(step: Step, now: number): void {
    this.#ready = true;
    step.welcomed = true;
    step.events.push({ type: "status", state: "connected", server: this.#server });
    for (const [room, seq] of this.#sequencers) {
      if (this.#rooms.includes(room)) this.#step(step, room, seq.resume());
    }
    if (this.#storeReset) {
      this.#storeReset = false;
      for (const room of this.#rooms) {
        this.#write(step, {
          type: "fetch",
          room,
          after: 0,
          before: Number.MAX_SAFE_INTEGER,
          limit: RESET_PAGE,
        });
        this.#fetchQueue(room).push("gap");
      }
    }
    if (this.#conn.conversations) this.#catchUp(step, this.#conn.conversations);
    this.#conn.conversations = null;
    this.#unsent = [...this.#pending.keys()];
    this.#flush(step, now);
  }

  /**
   * Offline delivery: fetches what each stored conversation holds beyond what this client has seen. One
   * never seen here starts from its newest page, as a room joined for the first time would.
   */
  #catchUp(step: Step, list: readonly ConversationEntry[]): void {
    this.#behind = [];
    for (const c of list) {
      const room = DIRECT_PREFIX + c.peer;
      const seq = this.#sequencers.get(room);
      if (seq?.based && seq.last >= c.lastSeq) continue;
      if (!seq?.based) this.#sequencers.set(room, new RoomSequencer(Math.max(0, c.lastSeq - RESET_PAGE)));
      this.#behind.push(room);
    }
    this.#catchUpNext(step);
  }

  /**
   * Starts the next catch-up FETCHes, {@linkcode CATCH_UP_AT_ONCE} conversations at a time: a client back
   * after a long absence may be behind in 200 of them, and all their pages at once could overflow the
   * outbound queue the server keeps for it (and get it dropped as a slow consumer).
   */
  #catchUpNext(step: Step): void {
    while (this.#catchingUp.size < CATCH_UP_AT_ONCE && this.#behind.length > 0) {
      const room = this.#behind.shift()!;
      const seq = this.#sequencer(room);
      // A gap found meanwhile (a live message) is being fetched already: nothing else to ask.
      if (seq.fetching) continue;
      this.#catchingUp.add(room);
      this.#step(step, room, seq.resume());
    }
  }

  /** Sends unsent messages, oldest first, while the pacer allows; asks to be woken for the rest. */
  #flush(step: Step, now: number): void {
    if (!this.#ready) return;
    let sent = 0;
    while (sent < this.#unsent.length) {
      const p = this.#pending.get(this.#unsent[sent]);
      if (p) {
        if (!this.#pacer.take(now)) {
          step.wakeAt = this.#pacer.nextAt(now);
          break;
        }
        step.send.push(sendFrame(p));
      }
      sent++;
    }
    this.#unsent.splice(0, sent);
  }

  /** Puts `id` back among the unsent, in the outbox's order (ids grow with the order of sending). */
  #requeue(id: number): void {
    let i = this.#unsent.length;
    while (i > 0 && this.#unsent[i - 1] > id) i--;
    if (this.#unsent[i - 1] !== id) this.#unsent.splice(i, 0, id);
  }

  /** Sends `msg` if connected; requests made while not connected are not kept. */
  #write(step: Step, msg: ClientMessage): boolean {
    if (!this.#ready) return false;
    step.send.push(msg);
    return true;
  }

  /**
   * Tells the session that a JOIN of `room` was sent on this connection: its answer ends with a FETCHED
   * that answers none of this session's FETCHes, so older pages wait for it (see {@linkcode fetchOlder}).
   */
  joining(room: string): void {
    if (this.#ready) this.#joining.add(room);
  }

  /** The page of older history asked while `room`'s join was unanswered: asked now, before what it brought. */
  #askDeferred(step: Step, room: string): void {
    const limit = this.#deferred.get(room);
    if (limit === undefined) return;
    this.#deferred.delete(room);
    const before = this.#oldest.get(room) ?? 0;
    if (before === 1) return; // the join brought the room's first message: there is nothing older
    this.#write(step, { type: "fetch", room, after: 0, before, limit });
    this.#fetchQueue(room).push("page");
  }

  #fetchQueue(room: string): Array<"gap" | "page"> {
    let q = this.#fetches.get(room);
    if (!q) this.#fetches.set(room, q = []);
    return q;
  }

  #sequencer(room: string): RoomSequencer<ChatMessage> {
    let s = this.#sequencers.get(room);
    if (!s) this.#sequencers.set(room, s = new RoomSequencer());
    return s;
  }

  /**
   * Passes on what the sequencer released, records progress, and sends the
   * FETCH it asked for. `live` is false for pages of older history: they do
   * not move the room's progress.
   */
  #step(step: Step, room: string, s: { deliver: ChatMessage[]; fetchAfter?: number }, live = true): void {
    for (const m of s.deliver) {
      if (!(this.#oldest.get(room)! <= m.seq)) this.#oldest.set(room, m.seq);
      step.events.push(
        isConversation(room) ? this.#direct(m) : {
          type: "message",
          room: m.room,
          seq: m.seq,
          ts: m.ts,
          from: m.from,
          text: m.text,
          action: (m.flags & MessageFlags.ACTION) !== 0,
          history: (m.flags & MessageFlags.HISTORY) !== 0,
        } satisfies MessageEvent,
      );
    }
    if (s.deliver.length && live) {
      const last = s.deliver[s.deliver.length - 1].seq;
      step.journal.push({ op: "seq", room, seq: last });
      const echo = this.#echoes.get(room);
      if (echo !== undefined && echo <= last) this.#echoes.delete(room);
    }
    if (s.fetchAfter !== undefined) {
      if (this.#write(step, { type: "fetch", room, after: s.fetchAfter, before: 0, limit: MAX_FETCH })) {
        this.#fetchQueue(room).push("gap");
      }
    }
  }

  /** A stored direct message (MESSAGE in room "@peer") as the event front ends know: `direct`, with its seq. */
  #direct(m: ChatMessage): DirectEvent {
    const peer = m.room.slice(DIRECT_PREFIX.length);
    const mine = nameKey(m.from) === nameKey(this.#name);
    return {
      type: "direct",
      from: m.from,
      to: mine ? peer : this.#name,
      ts: m.ts,
      text: m.text,
      action: (m.flags & MessageFlags.ACTION) !== 0,
      seq: m.seq,
      history: (m.flags & MessageFlags.HISTORY) !== 0,
    };
  }

  /** Keeps member lists current from presence, so completion and counts need no extra WHO. */
  #trackMembers(m: { room: string; event: string; name: string; text: string }): void {
    const list = this.#members.get(m.room);
    if (!list) return;
    if (m.event === "join" && !list.includes(m.name)) list.push(m.name);
    else if (m.event === "leave") this.#members.set(m.room, list.filter((n) => n !== m.name));
    else if (m.event === "nick") this.#members.set(m.room, list.map((n) => (n === m.name ? m.text : n)));
  }

  #helloExtensions(): HelloFields {
    // The features this client understands: the server sends their frames and flags only to those that list them.
    const exts: HelloFields = { features: [...FEATURES] };
    if (this.#transient) exts.transient = true;
    if (this.#password !== undefined) exts.password = this.#password;
    if (this.#adminToken !== undefined) exts.adminToken = this.#adminToken;
    if (this.#token) exts.resumeToken = this.#token;
    // Rooms we already have messages of: no recent history for them, we FETCH exactly what we missed.
    const since = [...this.#sequencers].filter(([room, s]) => s.based && this.#rooms.includes(room));
    if (since.length > 0) exts.since = new Map(since.map(([room, s]) => [room, s.last]));
    return exts;
  }
}

/**
 * A stored direct message as the message of its conversation, room "@peer" as `me` sees it: what the local
 * transcript keeps. Null for a live-only one (no seq).
 */
export function conversationMessage(e: DirectEvent, me: string): MessageEvent | null {
  if (e.seq === undefined) return null;
  const peer = nameKey(e.from) === nameKey(me) ? e.to : e.from;
  return {
    type: "message",
    room: DIRECT_PREFIX + peer,
    seq: e.seq,
    ts: e.ts,
    from: e.from,
    text: e.text,
    action: e.action,
    history: e.history === true,
  };
}

/** The HELLO extensions a client session sends. */
type HelloFields = Pick<
  Hello,
  "password" | "adminToken" | "resumeToken" | "since" | "transient" | "features"
>;

/** The frame that sends a pending message: SEND to a room, PRIVATE to "@name". */
export function sendFrame(p: PendingSend): ClientMessage {
  if (p.room.startsWith(DIRECT_PREFIX)) {
    return {
      type: "private",
      id: p.id,
      to: p.room.slice(DIRECT_PREFIX.length),
      flags: p.flags,
      text: p.text,
    };
  }
  return { type: "send", ...p };
}
