/**
 * The bus between the nodes of a cluster, over NATS (docs/CLUSTER.md, "Names
 * and presence"): what makes one chat of several servers besides the shared
 * message log.
 *
 * - **Names** are claimed in a KV bucket, one key per look-alike skeleton of
 *   the name, with `create` (only if absent): of two nodes welcoming the same
 *   name, or two look-alikes, at the same moment, one gets it. A claim holds
 *   the hash of the session's resume token, so a user who resumes on another
 *   node proves the name is theirs and the claim moves with them.
 * - **Sessions** are shared in a second bucket, one key per session: its name,
 *   rooms and away message. Every node watches it and turns each change into
 *   the broker's inputs (remote joins, leaves, nick and away changes).
 * - **Nodes** say they are alive in a third bucket whose values expire; a node
 *   that stops is seen gone, its users are held for the grace period by every
 *   other node, and then their leave is announced and their claims freed.
 * - **Frames for a session on another node** (a direct message, a kick) go to
 *   that node on a core NATS subject of its own.
 *
 * @module
 */

import type { NatsConnection, Subscription } from "npm:@nats-io/transport-node@3.4.0";
import { type KV, type KvEntry, Kvm } from "npm:@nats-io/kv@3.4.0";
import type { CloseReason } from "../chat/close.ts";
import type { ClaimEffect, SharedSession, UnshareEffect } from "../chat/effects.ts";
import { hex, unhex } from "../protocol/hex.ts";
import {
  decodeServerMessage,
  encodeMessage,
  FrameDecoder,
  nameSkeletons,
  type ServerMessage,
} from "../protocol/mod.ts";

/** What the bus tells its node. */
export interface BusSink {
  upsert(node: string, shared: SharedSession): void;
  gone(node: string, sid: number, reason: string, text: string): void;
  nodeDown(node: string): void;
  /** A frame another node sends to this node's session `sid`. */
  deliver(sid: number, msg: ServerMessage): void;
  /** Another node asks this node to close its session `sid` (a kick, a ban). */
  close(sid: number, reason: CloseReason): void;
}

export interface BusOptions {
  nc: NatsConnection;
  /** Prefixes the buckets: the cluster's stream name. */
  prefix: string;
  /** Prefixes the subjects: `chat.<name>`. */
  subjects: string;
  nodeId: string;
  replicas: number;
  /** How long a gone node's users are held before their leave (the server's --grace). */
  graceMs: number;
  logger: { info(l: string): void; warn(l: string): void };
}

/** How long a session's leave (its reason) stays in the sessions bucket before its key is deleted. */
const GONE_KEPT_MS = 10_000;

/** A node says it is alive this often, and is gone when it has not for NODE_TTL_MS. */
const HEARTBEAT_MS = 1000;
const NODE_TTL_MS = 4000;
/** How long a node back on NATS keeps trying to share its sessions again. */
const RESHARE_MS = 30_000;

/** What a claim key holds. */
interface Claim {
  node: string;
  sid: number;
  key: string;
  /** SHA-256 (hex) of the session's resume token, and of the one before. */
  th: string;
  ph: string;
}

/** What a session key holds: the shared session without its tokens, or the reason it ended. */
type SessionValue = Omit<SharedSession, "token" | "prevToken"> | { gone: string; text: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function sha256(text: string): Promise<string> {
  if (text === "") return "";
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(unhex(text)))));
}

function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function parse<T>(e: { value: Uint8Array }): T | null {
  try {
    return JSON.parse(decoder.decode(e.value)) as T;
  } catch {
    return null;
  }
}

/** Frames to another node: `kind:u8 | sid:u64-as-text...`: a byte, the session id, then the frame or reason. */
const DELIVER = 1;
const CLOSE = 2;

export class ClusterBus {
  readonly nodeId: string;
  #o: BusOptions;
  #sink: BusSink;
  #claims: KV;
  #sessions: KV;
  #nodes: KV;
  #live = new Map<string, number>();
  #down = new Map<string, number>();
  /** Nodes gone for good whose sessions and claims were cleared: one seen again is back, not new. */
  #swept = new Set<string>();
  #sub: Subscription | null = null;
  #timers: Array<ReturnType<typeof setInterval>> = [];
  #closed = false;
  /** This node's sessions' claimed keys, by session id: released when the session ends. */
  #held = new Map<number, { key: string; forms: string[]; claim: Claim }>();
  /** What this node last shared of each of its sessions: shared again when the cluster may have lost it. */
  #shared = new Map<number, SessionValue>();
  /** False while NATS is unreachable; when it came back (or the bus opened), to tell other nodes' silence. */
  #connected = true;
  #connectedSince = Date.now();

  private constructor(o: BusOptions, sink: BusSink, claims: KV, sessions: KV, nodes: KV) {
    this.#o = o;
    this.nodeId = o.nodeId;
    this.#sink = sink;
    this.#claims = claims;
    this.#sessions = sessions;
    this.#nodes = nodes;
  }

  static async open(o: BusOptions, sink: BusSink): Promise<ClusterBus> {
    const kvm = new Kvm(o.nc);
    const [claims, sessions, nodes] = await Promise.all([
      kvm.create(`${o.prefix}_claims`, { history: 1, replicas: o.replicas }),
      kvm.create(`${o.prefix}_sessions`, { history: 1, replicas: o.replicas }),
      kvm.create(`${o.prefix}_nodes`, { history: 1, ttl: NODE_TTL_MS, replicas: o.replicas }),
    ]);
    const bus = new ClusterBus(o, sink, claims, sessions, nodes);
    await bus.#beat();
    await bus.#watchNodes();
    await bus.#watchSessions();
    bus.#sub = o.nc.subscribe(`${o.subjects}.n.${o.nodeId}`, {
      callback: (err, m) => {
        if (!err) bus.#receive(m.data);
      },
    });
    bus.#watchStatus();
    bus.#timers.push(setInterval(() => void bus.#beat(), HEARTBEAT_MS));
    bus.#timers.push(setInterval(() => void bus.#checkNodes(), HEARTBEAT_MS));
    o.logger.info(
      `cluster: buckets ${o.prefix}_claims, ${o.prefix}_sessions and ${o.prefix}_nodes (node heartbeat ${HEARTBEAT_MS} ms, gone after ${NODE_TTL_MS} ms): names and presence are shared`,
    );
    return bus;
  }

  // ---- this node's sessions ----

  async claim(e: ClaimEffect): Promise<boolean> {
    const forms = nameSkeletons(e.name);
    const th = await sha256(e.token);
    const resume = await sha256(e.resume);
    const value: Claim = { node: this.nodeId, sid: e.to, key: e.key, th, ph: resume };
    const taken: Array<{ form: string; revision: number }> = [];
    for (const form of forms) {
      const k = `c_${hex(encoder.encode(form))}`;
      const revision = await this.#take(k, value, e.key, resume);
      if (revision === null) {
        for (const t of taken) {
          await this.#claims.delete(`c_${hex(encoder.encode(t.form))}`, { previousSeq: t.revision }).catch(
            () => {},
          );
        }
        return false;
      }
      taken.push({ form, revision });
    }
    this.#held.set(e.to, { key: e.key, forms, claim: value });
    return true;
  }

  /** Takes claim key `k`: free, or held by the same user (resume) or by a node gone for good. The revision, or null. */
  async #take(k: string, value: Claim, key: string, resume: string): Promise<number | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await this.#claims.create(k, json(value));
      } catch { /* held: see by whom */ }
      const entry = await this.#claims.get(k);
      if (!entry || entry.operation !== "PUT") continue;
      const held = parse<Claim>(entry);
      const mine = held !== null && held.key === key &&
        ((resume !== "" && (resume === held.th || resume === held.ph)) ||
          held.node === this.nodeId && held.sid === value.sid);
      const abandoned = held === null || this.#goneForGood(held.node);
      if (!mine && !abandoned) return null;
      try {
        return await this.#claims.update(k, json(value), entry.revision);
      } catch { /* changed meanwhile: look again */ }
    }
    return null;
  }

  share(state: SharedSession): void {
    const { token: _t, prevToken: _p, ...visible } = state;
    this.#shared.set(state.sid, visible);
    void this.#sessions.put(`${this.nodeId}_${state.sid}`, json(visible)).catch((err) =>
      this.#o.logger.warn(`cluster: cannot share ${state.name}: ${(err as Error).message}`)
    );
    // A new name (a /nick): claimed for the cluster as well, and the old one freed.
    const held = this.#held.get(state.sid);
    if (held && held.key !== state.key) {
      void this.claim({
        kind: "claim",
        to: state.sid,
        name: state.name,
        key: state.key,
        token: state.token,
        resume: "",
      })
        .then(() => this.#release(held.forms, state.sid));
    }
  }

  unshare(e: UnshareEffect): void {
    const k = `${this.nodeId}_${e.sid}`;
    const held = this.#held.get(e.sid);
    this.#held.delete(e.sid);
    this.#shared.delete(e.sid);
    void (async () => {
      try {
        // The reason goes first, so every node announces the leave with it; the name is free at once; the key
        // goes a while later. The bucket keeps one value per key, so a delete right behind the put removes the
        // put from the stream, and a node whose watch lags behind may see only the delete and announce the
        // leave as "disconnected" (the likely cause of a leave seen so once in CI, 2026-12-07).
        await this.#sessions.put(k, json({ gone: e.reason, text: e.text }));
        if (held) await this.#release(held.forms, e.sid);
        Deno.unrefTimer(setTimeout(() => void this.#sessions.delete(k).catch(() => {}), GONE_KEPT_MS));
      } catch (err) {
        this.#o.logger.warn(`cluster: cannot share the leave of ${e.name}: ${(err as Error).message}`);
      }
    })();
  }

  /** Frees claim keys this node's session `sid` still holds (not those the claim moved on from). */
  async #release(forms: string[], sid: number): Promise<void> {
    for (const form of forms) {
      const k = `c_${hex(encoder.encode(form))}`;
      const entry = await this.#claims.get(k).catch(() => null);
      const held = entry && entry.operation === "PUT" ? parse<Claim>(entry) : null;
      if (held && held.node === this.nodeId && held.sid === sid) {
        await this.#claims.delete(k, { previousSeq: entry!.revision }).catch(() => {});
      }
    }
  }

  forward(node: string, sid: number, msg: ServerMessage): void {
    const frame = encodeMessage(msg);
    const out = new Uint8Array(9 + frame.byteLength);
    out[0] = DELIVER;
    new DataView(out.buffer).setFloat64(1, sid);
    out.set(frame, 9);
    this.#o.nc.publish(`${this.#o.subjects}.n.${node}`, out);
  }

  close(node: string, sid: number, reason: CloseReason): void {
    const text = encoder.encode(reason);
    const out = new Uint8Array(9 + text.byteLength);
    out[0] = CLOSE;
    new DataView(out.buffer).setFloat64(1, sid);
    out.set(text, 9);
    this.#o.nc.publish(`${this.#o.subjects}.n.${node}`, out);
  }

  #receive(data: Uint8Array): void {
    if (data.byteLength < 9) return;
    const sid = new DataView(data.buffer, data.byteOffset).getFloat64(1);
    const rest = data.subarray(9);
    if (data[0] === DELIVER) {
      try {
        const frames = new FrameDecoder().push(rest);
        for (const f of frames) this.#sink.deliver(sid, decodeServerMessage(f));
      } catch (err) {
        this.#o.logger.warn(`cluster: an unreadable frame from another node: ${(err as Error).message}`);
      }
    } else if (data[0] === CLOSE) this.#sink.close(sid, decoder.decode(rest) as CloseReason);
  }

  // ---- the other nodes ----

  async #watchSessions(): Promise<void> {
    let current!: () => void;
    const ready = new Promise<void>((r) => current = r);
    if ((await this.#sessions.status()).values === 0) current();
    const iter = await this.#sessions.watch();
    void (async () => {
      for await (const e of iter as AsyncIterable<KvEntry>) {
        if (!e.delta) current();
        const [node, sidText] = e.key.split("_");
        const sid = Number(sidText);
        if (node === this.nodeId) {
          // One of this node's live sessions removed by another node (which took this node for gone and swept
          // what it left): shared and claimed again.
          if (e.operation !== "PUT" && this.#shared.has(sid)) void this.#reshare([sid]);
          continue;
        }
        if (this.#down.has(node) && this.#goneForGood(node)) continue;
        if (e.operation !== "PUT") {
          this.#sink.gone(node, sid, "disconnected", "");
          continue;
        }
        const value = parse<SessionValue>(e);
        if (!value) continue;
        if ("gone" in value) this.#sink.gone(node, sid, value.gone, value.text);
        else this.#sink.upsert(node, { ...value, token: "", prevToken: "" });
      }
    })();
    await ready;
  }

  async #watchNodes(): Promise<void> {
    for await (const k of await this.#nodes.keys()) if (k !== this.nodeId) this.#live.set(k, Date.now());
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    await this.#nodes.put(this.nodeId, json({ at: Date.now() })).catch(() => {});
  }

  /**
   * Follows this node's own connection to NATS. Back after an outage, it says it is alive and shares its
   * sessions and claims again at once: the buckets may have lost them (a NATS server restarted, or another
   * node that took this one for gone swept them).
   */
  #watchStatus(): void {
    void (async () => {
      for await (const s of this.#o.nc.status()) {
        if (this.#closed) return;
        if (s.type === "disconnect") this.#connected = false;
        else if (s.type === "reconnect" && !this.#connected) {
          this.#connected = true;
          this.#connectedSince = Date.now();
          await this.#beat();
          // JetStream may take a moment longer than the connection to answer again (a restarted server).
          const deadline = Date.now() + RESHARE_MS;
          while (!await this.#reshare([...this.#shared.keys()], Date.now() < deadline)) {
            if (this.#closed || !this.#connected || Date.now() >= deadline) break;
            await new Promise((r) => setTimeout(r, HEARTBEAT_MS));
          }
        }
      }
    })();
  }

  /**
   * Shares sessions `sids` of this node again, and takes their names' claims again (kept if still this
   * node's). False when NATS refused; a failure is logged only when `quiet` is false (the last attempt).
   */
  async #reshare(sids: number[], quiet = false): Promise<boolean> {
    let ok = true;
    for (const sid of sids) {
      const value = this.#shared.get(sid);
      if (value === undefined || this.#closed) continue;
      try {
        await this.#sessions.put(`${this.nodeId}_${sid}`, json(value));
        const held = this.#held.get(sid);
        if (!held) continue;
        for (const form of held.forms) {
          const k = `c_${hex(encoder.encode(form))}`;
          if (await this.#take(k, held.claim, held.key, held.claim.ph) === null) {
            this.#o.logger.warn(
              `cluster: the name ${form} of session ${sid} was claimed on another node while this one was cut off`,
            );
          }
        }
      } catch (err) {
        ok = false;
        if (!quiet) {
          this.#o.logger.warn(`cluster: cannot share session ${sid} again: ${(err as Error).message}`);
        }
      }
    }
    return ok;
  }

  /** A node taken for gone is back: its sessions, as the bucket holds them, are its members again here. */
  async #reread(node: string): Promise<void> {
    try {
      for await (const k of await this.#sessions.keys()) {
        if (!k.startsWith(`${node}_`)) continue;
        const e = await this.#sessions.get(k);
        const value = e && e.operation === "PUT" ? parse<SessionValue>(e) : null;
        if (value && !("gone" in value)) this.#sink.upsert(node, { ...value, token: "", prevToken: "" });
      }
    } catch (err) {
      this.#o.logger.warn(`cluster: cannot read the sessions of node ${node}: ${(err as Error).message}`);
    }
  }

  /** Sees which nodes stopped saying they are alive (a bucket's expiry is not told to watchers: keys are listed). */
  async #checkNodes(): Promise<void> {
    if (this.#closed || !this.#connected) return;
    const now = Date.now();
    const seen = new Set<string>();
    try {
      for await (const k of await this.#nodes.keys()) seen.add(k);
    } catch {
      return; // NATS unreachable: nothing can be concluded
    }
    for (const k of seen) {
      if (k === this.nodeId) continue;
      this.#live.set(k, now);
      if (this.#down.delete(k) || this.#swept.delete(k)) {
        this.#o.logger.info(`cluster: node ${k} is back`);
        void this.#reread(k);
      }
    }
    // Back from an outage of its own, this node cannot tell who stopped: every node gets a full time to say
    // it is alive again (their keys may have expired while NATS was down), as at a node's start.
    if (now - this.#connectedSince < NODE_TTL_MS) return;
    for (const k of [...this.#live.keys()]) {
      if (seen.has(k)) continue;
      this.#live.delete(k);
      this.#down.set(k, now);
      this.#o.logger.warn(`cluster: node ${k} is gone; its users are held for ${this.#o.graceMs} ms`);
      this.#sink.nodeDown(k);
    }
    // Long gone: what the node left in the buckets is cleared by the node with the smallest id.
    for (const [k, since] of [...this.#down]) {
      if (now - since < this.#o.graceMs + NODE_TTL_MS) continue;
      if ([...this.#live.keys(), this.nodeId].sort()[0] === this.nodeId) void this.#sweep(k);
    }
  }

  #goneForGood(node: string): boolean {
    const since = this.#down.get(node);
    return since !== undefined && Date.now() - since >= this.#o.graceMs;
  }

  async #sweep(node: string): Promise<void> {
    try {
      for await (const k of await this.#sessions.keys()) {
        if (k.startsWith(`${node}_`)) await this.#sessions.delete(k);
      }
      for await (const k of await this.#claims.keys()) {
        const entry = await this.#claims.get(k);
        const held = entry && entry.operation === "PUT" ? parse<Claim>(entry) : null;
        if (held?.node === node) await this.#claims.delete(k, { previousSeq: entry!.revision });
      }
      this.#down.delete(node);
      this.#swept.add(node);
      this.#o.logger.info(`cluster: cleared the sessions and names node ${node} left`);
    } catch { /* next time */ }
  }

  /** Leaves the cluster's buckets alone but says this node is going: called at a clean shutdown. */
  async stop(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#sub?.unsubscribe();
    // Going away cleanly: the other nodes see it at once and hold this node's users for the grace period.
    await this.#nodes.delete(this.nodeId).catch(() => {});
  }
}
