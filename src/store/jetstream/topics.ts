/**
 * Room topics shared by every node of a cluster: a NATS KV bucket (a key per
 * room), watched into memory so that joins and listings read topics at once.
 * A topic set on this node is this node's at once (its broker tells its own
 * members then), and the bucket's right after; a topic set on another node
 * reaches this one through the watcher, and {@linkcode KvRoomSettings.onChange}
 * lets the broker tell this node's members.
 *
 * {@linkcode TopicReplica} decides what to announce, without NATS: the
 * bucket's order is the truth, and while this node's own writes of a room
 * are on their way back, what arrives for that room is not announced (it is
 * older than what this node's members were just told); once the last one is
 * back, whatever the bucket holds then is announced if it differs from what
 * they last heard. So two nodes setting a topic at once end up agreeing,
 * without a topic flapping back and forth on either.
 *
 * @module
 */

import type { KV } from "npm:@nats-io/kv@3.4.0";
import type { RoomSettings, RoomTopic } from "../../chat/ports.ts";
import { keyOf, watchBucket } from "./watch.ts";

function same(a: RoomTopic | undefined, b: RoomTopic | undefined): boolean {
  return a?.text === b?.text && a?.by === b?.by && a?.ts === b?.ts;
}

/** One node's view of the shared topics, and what its members last heard of each room. Pure. */
export class TopicReplica {
  /** The topic as this node reads it: its own latest write, or the bucket's latest entry. */
  #current = new Map<string, RoomTopic>();
  /** What this node's members were last told. */
  #announced = new Map<string, RoomTopic>();
  /** The bucket's latest entry per room, as seen by the watcher. */
  #latest = new Map<string, RoomTopic>();
  /** This node's writes not yet seen back, per room, as the JSON it wrote. */
  #pending = new Map<string, string[]>();

  /** The topic of `room` (with an empty text when it was cleared), or undefined. */
  get(room: string): RoomTopic | undefined {
    return this.#current.get(room);
  }

  /** This node sets a topic (and its broker tells its members): returns the JSON to write to the bucket. */
  put(topic: RoomTopic): string {
    const t = { room: topic.room, text: topic.text, by: topic.by, ts: topic.ts };
    const json = JSON.stringify(t);
    this.#current.set(t.room, t);
    this.#announced.set(t.room, t);
    const mine = this.#pending.get(t.room) ?? [];
    mine.push(json);
    this.#pending.set(t.room, mine);
    return json;
  }

  /** The watcher saw `topic` (stored as `json`) in the bucket: the topic to announce here, or null. */
  seen(topic: RoomTopic, json: string): RoomTopic | null {
    this.#latest.set(topic.room, topic);
    this.#back(topic.room, json);
    return this.#settle(topic.room);
  }

  /** A write of this node failed: it will not come back. Returns the topic to announce instead, or null. */
  failed(room: string, json: string): RoomTopic | null {
    this.#back(room, json);
    return this.#settle(room);
  }

  /** This node's write `json` of `room` is no longer on its way (it came back, or failed). */
  #back(room: string, json: string): void {
    const mine = this.#pending.get(room);
    const i = mine?.indexOf(json) ?? -1;
    if (mine && i >= 0) mine.splice(i, 1);
  }

  /** With none of this node's writes of `room` on their way, the bucket's latest is the topic. */
  #settle(room: string): RoomTopic | null {
    if ((this.#pending.get(room)?.length ?? 0) > 0) return null;
    this.#pending.delete(room);
    const latest = this.#latest.get(room);
    if (!latest) return null;
    this.#current.set(room, latest);
    if (same(latest, this.#announced.get(room))) return null;
    this.#announced.set(room, latest);
    return latest;
  }
}

/** Topics of a cluster: a KV bucket, a replica of it in memory, and the broker told of others' changes. */
export class KvRoomSettings implements RoomSettings {
  /** Called with a topic another node set (or the bucket's final word after a race): tell this node's members. */
  onChange: (topic: RoomTopic) => void = () => {};
  #replica = new TopicReplica();
  #kv: KV;
  #warn: (line: string) => void;

  private constructor(kv: KV, warn: (line: string) => void) {
    this.#kv = kv;
    this.#warn = warn;
  }

  /** Opens the bucket and resolves once its current topics are in memory. */
  static async open(kv: KV, warn: (line: string) => void): Promise<KvRoomSettings> {
    const settings = new KvRoomSettings(kv, warn);
    await watchBucket(kv, {
      put: (value, json) => {
        const changed = settings.#replica.seen(value as RoomTopic, json);
        if (changed) settings.onChange(changed);
      },
      // Topics are cleared with an empty text, never deleted: a deletion is an operator's purge.
      del: () => {},
      warn,
    });
    return settings;
  }

  topic(room: string): RoomTopic | undefined {
    const t = this.#replica.get(room);
    return t && t.text !== "" ? t : undefined;
  }

  /** Kept with an empty text when cleared: the other nodes learn who cleared it, and when. */
  putTopic(topic: RoomTopic): void {
    const json = this.#replica.put(topic);
    this.#kv.put(keyOf(topic.room), json).catch((err) => {
      this.#warn(`cluster: cannot share the topic of ${topic.room}: ${(err as Error).message}`);
      const instead = this.#replica.failed(topic.room, json);
      if (instead) this.onChange(instead);
    });
  }
}
