/**
 * What nodes ask the cluster's sequencer, and what it answers, as bytes on
 * NATS request/reply: a batch of drafts to append (or sender references to
 * look up) in, one result per entry out. Pure: values to bytes and back.
 *
 * @module
 */

import {
  type AppendResult,
  type Draft,
  type SenderRef,
  type SendReceipt,
  StoreError,
} from "../../chat/ports.ts";
import { WireReader, WireWriter } from "../../protocol/wire.ts";

/** Request kinds, in the type byte. */
const APPEND = 1;
const RECEIPTS = 2;

/** Result kinds. */
const STORED = 0;
const DUPLICATE = 1;
const FAILED = 2;
const UNKNOWN = 3;

const STORE_ERROR_KINDS: ReadonlyArray<StoreError["kind"]> = [
  "full",
  "io",
  "corrupt",
  "open",
  "limit",
  "unavailable",
];

export function encodeAppend(drafts: readonly Draft[]): Uint8Array {
  const w = new WireWriter(APPEND, drafts.reduce((n, d) => n + 64 + d.text.length * 3, 8)).u32(drafts.length);
  for (const d of drafts) {
    w.str8(d.room, "room").u64(d.ts).u8(d.flags).str8(d.from, "from").str32(d.text, "text")
      .str8(d.sender.key, "key").u64(d.sender.id);
  }
  return w.finish().slice();
}

export function encodeReceipts(refs: readonly SenderRef[]): Uint8Array {
  const w = new WireWriter(RECEIPTS, refs.length * 48 + 8).u32(refs.length);
  for (const r of refs) w.str8(r.key, "key").u64(r.id);
  return w.finish().slice();
}

export type Request = { kind: "append"; drafts: Draft[] } | { kind: "receipts"; refs: SenderRef[] };

export function decodeRequest(bytes: Uint8Array): Request {
  const r = new WireReader(bytes, "sequencer request");
  r.u32("length");
  const type = r.u8("type");
  const count = r.u32("count");
  if (type === APPEND) {
    const drafts: Draft[] = [];
    for (let i = 0; i < count; i++) {
      const room = r.str8("room");
      const ts = r.u64("ts");
      const flags = r.u8("flags");
      const from = r.str8("from");
      const text = r.str32("text");
      const key = r.str8("key");
      const id = r.u64("id");
      drafts.push({ room, ts, flags, from, text, sender: { key, id } });
    }
    r.end();
    return { kind: "append", drafts };
  }
  if (type === RECEIPTS) {
    const refs: SenderRef[] = [];
    for (let i = 0; i < count; i++) refs.push({ key: r.str8("key"), id: r.u64("id") });
    r.end();
    return { kind: "receipts", refs };
  }
  throw new RangeError(`Cannot read a sequencer request of type ${type}`);
}

function writeReceipt(w: WireWriter, receipt: SendReceipt): void {
  w.str8(receipt.room, "room").u64(receipt.seq).u64(receipt.ts);
}

function readReceipt(r: WireReader): SendReceipt {
  return { room: r.str8("room"), seq: r.u64("seq"), ts: r.u64("ts") };
}

export function encodeResults(results: readonly AppendResult[]): Uint8Array {
  const w = new WireWriter(0, results.length * 64 + 8).u32(results.length);
  for (const res of results) {
    // A stored message is its draft plus its seq: the asking node has the draft.
    if (res.kind === "stored") w.u8(STORED).u64(res.message.seq);
    else if (res.kind === "duplicate") {
      w.u8(DUPLICATE);
      writeReceipt(w, res.receipt);
    } else {
      w.u8(FAILED).u8(Math.max(0, STORE_ERROR_KINDS.indexOf(res.error.kind))).str16(
        res.error.message.slice(0, 1000),
      );
    }
  }
  return w.finish().slice();
}

/** The results for `drafts`, in their order. */
export function decodeResults(bytes: Uint8Array, drafts: readonly Draft[]): AppendResult[] {
  const r = new WireReader(bytes, "sequencer results");
  r.u32("length");
  r.u8("type");
  const count = r.u32("count");
  if (count !== drafts.length) throw new RangeError(`${count} results for ${drafts.length} drafts`);
  const out: AppendResult[] = [];
  for (let i = 0; i < count; i++) {
    const kind = r.u8("kind");
    if (kind === STORED) {
      const { room, ts, flags, from, text } = drafts[i];
      out.push({ kind: "stored", message: { room, seq: r.u64("seq"), ts, flags, from, text } });
    } else if (kind === DUPLICATE) out.push({ kind: "duplicate", receipt: readReceipt(r) });
    else if (kind === FAILED) {
      const errKind = STORE_ERROR_KINDS[r.u8("error kind")] ?? "io";
      out.push({ kind: "failed", error: new StoreError(errKind, r.str16("message")) });
    } else throw new RangeError(`Cannot read a sequencer result of kind ${kind}`);
  }
  r.end();
  return out;
}

export function encodeReceiptResults(receipts: ReadonlyArray<SendReceipt | undefined>): Uint8Array {
  const w = new WireWriter(0, receipts.length * 48 + 8).u32(receipts.length);
  for (const receipt of receipts) {
    if (receipt) {
      w.u8(DUPLICATE);
      writeReceipt(w, receipt);
    } else w.u8(UNKNOWN);
  }
  return w.finish().slice();
}

export function decodeReceiptResults(bytes: Uint8Array): Array<SendReceipt | undefined> {
  const r = new WireReader(bytes, "sequencer receipts");
  r.u32("length");
  r.u8("type");
  const count = r.u32("count");
  const out: Array<SendReceipt | undefined> = [];
  for (let i = 0; i < count; i++) out.push(r.u8("kind") === DUPLICATE ? readReceipt(r) : undefined);
  r.end();
  return out;
}
