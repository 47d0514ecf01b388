/**
 * The effect runner: performs what the broker returns, in order. Messages
 * are encoded here, once each: a broadcast's frame is placed in the
 * {@linkcode FrameArena} and the same bytes queued on every member's
 * outbox; a message sent to many sessions in one batch (a heartbeat's
 * pings) is encoded once too. Log jobs go to the {@linkcode CommitQueue},
 * and what the log answers comes back here as the broker's input.
 *
 * Readers of the log wait: while a session's read is out, its connection
 * handles no further frames, so a client's frames are answered in order.
 *
 * @module
 */

import type { Broker } from "../chat/broker.ts";
import type { CloseReason } from "../chat/close.ts";
import { CommitQueue, type LogOutcome } from "../chat/commit.ts";
import { PipelinedQueue } from "../chat/pipeline.ts";
import type { ClaimEffect, Effect, SharedSession, UnshareEffect } from "../chat/effects.ts";
import type { MessageLog } from "../chat/ports.ts";
import type { Room } from "../chat/session.ts";
import { encodeMessage, type ServerMessage } from "../protocol/mod.ts";
import { FrameArena } from "./arena.ts";
import type { Logger } from "./log.ts";
import { type RunnerCounters, runnerCounters } from "./metrics.ts";
import type { Outbox } from "./outbox.ts";

/** What the runner needs of a connection: its outbox, and how to close it and hold its input. */
export interface Peer {
  readonly outbox: Outbox;
  /** True once the connection started closing: nothing more is queued on it. */
  readonly closing: boolean;
  /** Flushes what is queued, then closes, for `reason`. */
  close(reason: CloseReason): void;
  /** A read for this peer's session went to the log: hold its input. */
  hold(): void;
  /** The read was answered (and its effects performed): go on. */
  release(): void;
  /**
   * Bytes of this peer's messages the log has not answered yet went up (or
   * down, when negative): a peer with too many waits until they are stored.
   */
  charge(bytes: number): void;
}

/**
 * How long an outbox may stay over its budget before its peer is dropped as
 * a slow consumer: a reader that keeps up drains a burst far sooner; one that
 * does not has had time to show it.
 */
export const SLOW_CONSUMER_MS = 5000;

/** Bytes per chunk of a room's presence arena: a burst of about fifty joins. */
const PRESENCE_CHUNK = 2048;

/** Checks (ticks) without presence after which a room's presence arena is let go: about 1.7 s by default. */
const PRESENCE_IDLE_TICKS = 16;

/** What a stored message costs its sender's in-flight count besides its text: the frame around it. */
const MESSAGE_OVERHEAD = 64;

/**
 * The other nodes of a cluster, as the runner reaches them (src/cluster/bus.ts): name claims, the sessions
 * this node shares, and frames for sessions connected to another node.
 */
export interface ClusterLink {
  /** Claims a name for the whole cluster; resolves true when this session has it. */
  claim(e: ClaimEffect): Promise<boolean>;
  share(state: SharedSession): void;
  unshare(e: UnshareEffect): void;
  /** Delivers `msg` to session `sid` of node `node`. */
  forward(node: string, sid: number, msg: ServerMessage): void;
  /** Closes session `sid` of node `node` (after what was forwarded to it). */
  close(node: string, sid: number, reason: CloseReason): void;
}

export interface RunnerOptions {
  broker: Broker;
  log: MessageLog;
  logger: Logger;
  /** Hashes a /register password (slow, off the event loop); absent: registration effects are ignored. */
  hash?: (password: string) => Promise<string>;
  /** Starts a log batch later: setImmediate in the server, so one batch takes a whole burst of input. */
  schedule?: (run: () => void) => void;
}

export class Runner {
  readonly broker: Broker;
  readonly queue: CommitQueue | PipelinedQueue;
  /** Set on a node of a cluster. */
  cluster: ClusterLink | null = null;
  /** What /metrics reports of the runner's work: plain fields, bumped in place. */
  readonly counters: RunnerCounters = runnerCounters();
  #log: Logger;
  #hash?: (password: string) => Promise<string>;
  #peers = new Map<number, Peer>();
  // Broadcast frames are copied here once, end to end, so each member's outbox writes a burst as one shared view.
  #arena = new FrameArena();
  // Each room's member outboxes as a flat array, rebuilt when the membership's version moves:
  // a fan-out then walks one array instead of a Set and a map lookup per member.
  // Keyed by the room itself: a room forgotten when it empties takes its entry with it.
  #fanout = new WeakMap<Room, { version: number; ids: number[]; outboxes: Outbox[] }>();
  // Each room's presence frames, end to end in a small arena of its own, so a member's queued joins stay one run.
  // Kept while the room has presence, forgotten after PRESENCE_IDLE_TICKS without (outboxes keep what they
  // still need): a quiet room holds no chunk, and a busy one reuses its chunk instead of making one per tick.
  #presence = new Map<Room, { arena: FrameArena; used: number }>();
  #ticks = 0;
  // The last message a send effect encoded, and its frame: the same message to many sessions is encoded once.
  #lastMsg: ServerMessage | null = null;
  #lastBytes: Uint8Array | null = null;
  // Sessions whose outbox is over its budget, and since when.
  #overSince = new Map<number, number>();

  constructor(options: RunnerOptions) {
    this.broker = options.broker;
    this.#log = options.logger;
    this.#hash = options.hash;
    const deliver = (outcome: LogOutcome) => this.#logged(outcome);
    const schedule = options.schedule ?? ((run: () => void) => setImmediate(run));
    // A log that takes calls ahead of their answers gets reads while it commits.
    this.queue = options.log.pipelined
      ? new PipelinedQueue(options.log, deliver, schedule)
      : new CommitQueue(options.log, deliver, schedule);
  }

  /** `peer` carries session `id` from now on. */
  attach(id: number, peer: Peer): void {
    this.#peers.set(id, peer);
    peer.outbox.owner = id;
    peer.outbox.onOver = this.#wentOver;
  }

  /** An outbox went over its budget: how long it stays there decides whether its peer is a slow consumer. */
  #wentOver = (outbox: Outbox): void => {
    this.#overSince.set(outbox.owner, Date.now());
  };

  detach(id: number): void {
    this.#peers.delete(id);
    this.#overSince.delete(id);
  }

  /**
   * Periodic work: the broker's heartbeat, then the peers whose outbox has
   * stayed over its budget for {@linkcode SLOW_CONSUMER_MS} are dropped.
   */
  tick(now: number): void {
    if (++this.#ticks % PRESENCE_IDLE_TICKS === 0) {
      for (const [room, p] of this.#presence) {
        if (this.#ticks - p.used >= PRESENCE_IDLE_TICKS) this.#presence.delete(room);
      }
    }
    this.perform(this.broker.tick(now));
    for (const [id, since] of this.#overSince) {
      const peer = this.#peers.get(id);
      if (peer === undefined || !peer.outbox.over) this.#overSince.delete(id);
      else if (now - since >= SLOW_CONSUMER_MS) {
        this.#overSince.delete(id);
        const s = this.broker.session(id);
        if (s) this.perform(this.broker.drop(s, "slow_consumer", now));
      }
    }
  }

  get peers(): number {
    return this.#peers.size;
  }

  /** Performs effects now, in order. Overflowing outboxes are collected and dropped after the pass. */
  perform(effects: Effect[]): void {
    if (effects.length === 0) return;
    let slow: number[] | null = null;
    for (let i = 0; i < effects.length; i++) {
      const e = effects[i];
      switch (e.kind) {
        case "send": {
          const peer = this.#peers.get(e.to);
          if (peer === undefined) {
            this.#forward(e.to, e.msg);
            break;
          }
          if (peer.closing) break;
          // One line per session, as its disconnect has: the welcome is where it gets its name.
          if (e.msg.type === "welcome") {
            this.#log.info(`connect ${e.msg.name} (${this.broker.session(e.to)?.address})`);
          }
          const bytes = this.#encode(e.msg);
          if (!peer.outbox.enqueue(bytes)) {
            // A session being dropped still gets its final error frame, even over budget.
            if (e.final) peer.outbox.enqueueFinal(bytes);
            else {
              (slow ??= []).push(e.to);
              this.counters.dropped++;
            }
          }
          break;
        }
        case "broadcast": {
          const room = this.broker.room(e.room);
          if (room === undefined) break;
          const fan = this.#fanoutOf(room);
          // Nobody to tell (a room of one hearing its own join): nothing to encode or place.
          if (fan.ids.length === 0 || (fan.ids.length === 1 && fan.ids[0] === e.except)) break;
          // Presence may wait a moment for company (Outbox LAZY_MS), laid end to end in the room's own arena: a
          // loud room's burst of joins is then one run of bytes, one write per member rather than one per join.
          const lazy = e.msg.type === "presence";
          const placed = (lazy ? this.#presenceArena(room) : this.#arena).place(encodeMessage(e.msg));
          const { ids, outboxes } = fan;
          let refused = 0;
          for (let j = 0; j < ids.length; j++) {
            if (ids[j] !== e.except && !outboxes[j].enqueuePlaced(placed, lazy)) {
              (slow ??= []).push(ids[j]);
              refused++;
            }
          }
          // Counted per broadcast, not per member; a room message leaves nobody out (its sender gets it too).
          if (e.msg.type === "message") this.counters.deliveries += ids.length - refused;
          this.counters.dropped += refused;
          break;
        }
        case "close": {
          const peer = this.#peers.get(e.to);
          if (peer) peer.close(e.reason);
          else {
            const s = this.broker.session(e.to);
            if (s && s.remote !== "") {
              // Another node's session: that node closes it, and counts the close.
              this.cluster?.close(s.remote, s.remoteSid, e.reason);
              break;
            }
          }
          this.counters.closes[e.reason]++;
          break;
        }
        case "claim": {
          const cluster = this.cluster;
          const peer = this.#peers.get(e.to);
          if (!cluster || !peer) break;
          // The session's input waits for the claim, as for a read of the log.
          peer.hold();
          cluster.claim(e).then((ok) => ok, (err) => {
            this.#log.warn(`cluster: cannot claim "${e.name}": ${(err as Error).message}`);
            return false;
          }).then((ok) => {
            const s = this.broker.session(e.to);
            if (s) this.perform(this.broker.claimed(s, ok, Date.now()));
            peer.release();
          });
          break;
        }
        case "share":
          this.cluster?.share(e.state);
          break;
        case "unshare":
          this.cluster?.unshare(e);
          break;
        case "delay": {
          // The rest waits: a failed login is answered (and closed) only after its penalty.
          const rest = effects.slice(i + 1);
          setTimeout(() => this.perform(rest), e.ms);
          i = effects.length;
          break;
        }
        case "register": {
          const { to, password } = e;
          if (!this.#hash) break;
          this.#hash(password).then(
            (hash) => {
              const s = this.broker.session(to);
              if (s) this.perform(this.broker.registered(s, hash, Date.now()));
            },
            (err) => this.#log.warn(`register #${to}: ${(err as Error).message}`),
          );
          break;
        }
        case "read":
          this.#peers.get(e.to)?.hold();
          this.queue.push(e);
          break;
        case "append":
          this.#peers.get(e.from)?.charge(e.draft.text.length + MESSAGE_OVERHEAD);
          this.queue.push(e);
          break;
        case "probe":
          this.queue.push(e);
          break;
        default: {
          const never: never = e;
          throw new TypeError(`unknown effect ${(never as Effect).kind}`);
        }
      }
    }
    this.#lastMsg = null;
    this.#lastBytes = null;
    if (slow) {
      for (const id of slow) {
        const s = this.broker.session(id);
        if (s) this.perform(this.broker.drop(s, "slow_consumer", Date.now()));
      }
    }
  }

  /** A frame for a session with no connection here: one of another node's, reached through the cluster. */
  #forward(id: number, msg: ServerMessage): void {
    const s = this.broker.session(id);
    if (s && s.remote !== "") this.cluster?.forward(s.remote, s.remoteSid, msg);
  }

  /** Encodes `msg`, or reuses the frame of the message just encoded when it is the same value. */
  #encode(msg: ServerMessage): Uint8Array {
    if (msg === this.#lastMsg) return this.#lastBytes!;
    const bytes = encodeMessage(msg);
    this.#lastMsg = msg;
    this.#lastBytes = bytes;
    return bytes;
  }

  /** What the log answered, given to the broker; a read's session may go on afterwards. */
  #logged(outcome: LogOutcome): void {
    if (outcome.kind === "append" && outcome.result.kind === "failed") {
      this.#log.error(`store: ${outcome.result.error.message}; the message was refused`);
    }
    this.perform(this.broker.logged(outcome, Date.now()));
    if (outcome.kind === "read") this.#peers.get(outcome.job.to)?.release();
    else if (outcome.kind === "append") {
      this.#peers.get(outcome.job.from)?.charge(-(outcome.job.draft.text.length + MESSAGE_OVERHEAD));
    }
  }

  /** The arena of `room`'s presence frames. */
  #presenceArena(room: Room): FrameArena {
    let p = this.#presence.get(room);
    if (p === undefined) this.#presence.set(room, p = { arena: new FrameArena(PRESENCE_CHUNK), used: 0 });
    p.used = this.#ticks;
    return p.arena;
  }

  #fanoutOf(room: Room): { ids: number[]; outboxes: Outbox[] } {
    const members = room.members;
    let entry = this.#fanout.get(room);
    if (entry === undefined) this.#fanout.set(room, entry = { version: -1, ids: [], outboxes: [] });
    if (entry.version === members.version - 1 && members.added !== null) {
      // One member joined since: the list grows by it (the order a rebuild would give, the set's own).
      const peer = this.#peers.get(members.added.id);
      if (peer !== undefined) {
        entry.ids.push(members.added.id);
        entry.outboxes.push(peer.outbox);
      }
      entry.version = members.version;
    } else if (entry.version !== members.version) {
      // Rebuilt in place: a burst of joins moves the version at every join, and new arrays each time were
      // most of the garbage of the burst's fan-out.
      const { ids, outboxes } = entry;
      let n = 0;
      members.forEach((m) => {
        const peer = this.#peers.get(m.id);
        if (peer === undefined) return;
        ids[n] = m.id;
        outboxes[n++] = peer.outbox;
      });
      ids.length = n;
      outboxes.length = n;
      entry.version = members.version;
    }
    return entry;
  }
}
