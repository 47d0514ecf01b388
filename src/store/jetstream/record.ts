/**
 * The record a cluster stores in JetStream for one room: a batch of that
 * room's messages with consecutive sequence numbers, written by the
 * sequencer in one publish (one replicated write for many messages, the
 * cluster's group commit). Pure: bytes in, values out.
 *
 * A record also says where the room's previous record lies in the stream
 * (`prev`, the stream sequence the publish expected as the subject's last),
 * so history is read backwards record by record without an index.
 *
 * Layout (big-endian, the wire codec's field types): `length:u32 | version:u8
 * | room:str8 | first:u64 | prev:u64 | count:u16 | count × (ts:u64 | flags:u8 |
 * from:str8 | text:str32 | key:str8 | id:u64)`. `key` and `id` are the
 * sender's dedupe reference.
 *
 * @module
 */

import type { SenderRef, StoredMessage } from "../../chat/ports.ts";
import { hex, unhex } from "../../protocol/hex.ts";
import { WireReader, WireWriter } from "../../protocol/wire.ts";

/** The record layout this code writes; a reader refuses others rather than misread them. */
export const RECORD_VERSION = 1;

/** One stored message and the sender reference it was sent under. */
export interface RecordEntry {
  message: StoredMessage;
  sender: SenderRef;
}

export interface BatchRecord {
  room: string;
  /** Sequence number of the first message; the others follow one by one. */
  first: number;
  /** Stream sequence of the room's previous record (0: this is the room's first). */
  prev: number;
  entries: RecordEntry[];
}

/** Messages one record may hold: a u16 count, and a bound on one publish. */
export const MAX_RECORD_MESSAGES = 4096;

export function encodeRecord(r: BatchRecord): Uint8Array {
  if (r.entries.length === 0 || r.entries.length > MAX_RECORD_MESSAGES) {
    throw new RangeError(`Cannot encode a record of ${r.entries.length} messages`);
  }
  const w = new WireWriter(
    RECORD_VERSION,
    64 + r.entries.reduce((n, e) => n + 64 + e.message.text.length * 3, 0),
  );
  w.str8(r.room, "room").u64(r.first).u64(r.prev).u16(r.entries.length);
  for (const { message: m, sender } of r.entries) {
    w.u64(m.ts).u8(m.flags).str8(m.from, "from").str32(m.text, "text").str8(sender.key, "key").u64(sender.id);
  }
  return w.finish().slice();
}

/** Decodes a record; throws a ProtocolError when the bytes are not one this version wrote. */
export function decodeRecord(bytes: Uint8Array): BatchRecord {
  const r = new WireReader(bytes, "cluster record");
  r.u32("length");
  const version = r.u8("version");
  if (version !== RECORD_VERSION) throw new RangeError(`Cannot read a cluster record of version ${version}`);
  const room = r.str8("room");
  const first = r.u64("first");
  const prev = r.u64("prev");
  const count = r.u16("count");
  const entries: RecordEntry[] = [];
  for (let i = 0; i < count; i++) {
    const ts = r.u64("ts");
    const flags = r.u8("flags");
    const from = r.str8("from");
    const text = r.str32("text");
    const key = r.str8("key");
    const id = r.u64("id");
    entries.push({ message: { room, seq: first + i, ts, flags, from, text }, sender: { key, id } });
  }
  r.end();
  return { room, first, prev, entries };
}

/**
 * A room name as one NATS subject token: room names may hold characters a
 * subject may not (dots, wildcards, any letter of any script), so the token
 * is the name's UTF-8 in lowercase hex.
 */
export function roomToken(room: string): string {
  return hex(new TextEncoder().encode(room));
}

/** The room a subject token ({@linkcode roomToken}) names. */
export function tokenRoom(token: string): string {
  return new TextDecoder().decode(unhex(token));
}
