/**
 * The extension blocks that end HELLO and WELCOME (`tag:u8 | len:u16 |
 * value`), read into typed fields and written back. This is the one place
 * that knows each tag's value layout: the server, the client and the tests
 * see `hello.since` or `welcome.rateLimit`, never raw blocks.
 *
 * Tags a frame kind does not define stay raw in `extensions`, in wire order:
 * receivers skip them, and a frame re-encodes byte for byte when its known
 * blocks came first, in the order the writers below use.
 *
 * @module
 */

import { utf8Length, WireReader, type WireWriter } from "./wire.ts";

/** An extension block whose tag this version does not define for the frame it came in. */
export interface Extension {
  tag: number;
  value: Uint8Array;
}

/** Extension tags of HELLO and WELCOME. */
export const ExtensionTag = {
  /** HELLO and WELCOME: the secret resume token (16 bytes) that lets a reconnecting client take its name back. */
  RESUME_TOKEN: 0x01,
  /** HELLO: rooms the client already has messages of: `count:u8 | (room:str8 | seq:u64)*`. No recent history is sent for them; the client catches up with FETCH. */
  SINCE: 0x02,
  /** WELCOME: 16 bytes naming the server's message store. Sequence numbers only compare within one store: a
   * client whose saved sequences came from another store (the server's data was reset) must forget them. */
  STORE_ID: 0x03,
  /** HELLO: a password, UTF-8: the account's password for a registered name, else the server password. */
  PASSWORD: 0x04,
  /** HELLO: the operator token (`chat serve --admin-token-file`), UTF-8. */
  ADMIN_TOKEN: 0x05,
  /** WELCOME: the server's per-client message rate limit, `perSecond:u32 | burst:u32`. Absent: none announced. */
  RATE_LIMIT: 0x06,
  /**
   * HELLO, empty: a transient session (`chat send`, `chat tail`): it does not hold its name (several may share
   * one), is not listed as a member, and its coming and going is not announced.
   */
  TRANSIENT: 0x07,
  /**
   * HELLO and WELCOME: `count:u8 | name:str8*`, the optional features a side speaks (see
   * {@linkcode Feature}). In WELCOME the server's: a client uses a feature's frames only when it is listed.
   * In HELLO the client's: the server sends a feature's unasked frames and flags only to clients that list
   * it, so an older client never reads a frame or bit it does not know.
   */
  FEATURES: 0x08,
} as const;

/**
 * Optional features, by the names FEATURES carries. `list`: LIST and ROOMS. `topic`: TOPIC and TOPIC_IS
 * (sent on join and on change to clients that list it). `who-any`: WHO for a room the client is not in,
 * answered with MEMBERS or ROOM flagged LISTING. `dms`: stored direct messages (conversations between
 * registered names delivered as MESSAGE in room `@peer`, with sequence numbers; CONVERSATIONS after the
 * welcome; FETCH of `@peer`).
 */
export const Feature = {
  LIST: "list",
  TOPIC: "topic",
  WHO_ANY: "who-any",
  DMS: "dms",
} as const;

/** One of the feature names this version defines; FEATURES may carry others, which receivers ignore. */
export type Feature = typeof Feature[keyof typeof Feature];

/** Every feature this version defines, in the order `chat` lists them. */
export const FEATURES: readonly Feature[] = Object.values(Feature);

/** A per-client message rate limit: `perSecond` sustained, `burst` at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * HELLO's extensions. A field is present only when its block was (a later
 * block of the same tag replaces an earlier one).
 */
export interface HelloExtensions {
  /** RESUME_TOKEN: the token of the session this client wants to take over. */
  resumeToken?: Uint8Array;
  /**
   * SINCE: rooms (as the client names them, not yet canonical) whose messages
   * the client has up to the given sequence number.
   */
  since?: Map<string, number>;
  /** PASSWORD: the account's password for a registered name, else the server password. */
  password?: string;
  /** ADMIN_TOKEN: the operator token. */
  adminToken?: string;
  /** TRANSIENT: a session that holds no name and makes no presence (present: true; its value is empty). */
  transient?: boolean;
  /** FEATURES: the optional features the client speaks, in wire order (unknown names included). */
  features?: string[];
  /** Blocks of tags HELLO does not define, in wire order: skipped by the server. */
  extensions?: Extension[];
}

/** WELCOME's extensions; as for {@linkcode HelloExtensions}, a field is present only when its block was. */
export interface WelcomeExtensions {
  /** RESUME_TOKEN: the new session's token, for the client's next HELLO. */
  resumeToken?: Uint8Array;
  /** STORE_ID: which message store the sequence numbers come from. */
  storeId?: Uint8Array;
  /** RATE_LIMIT: the message rate the server allows this client; absent when none is announced. */
  rateLimit?: RateLimit;
  /** FEATURES: the optional features the server speaks, in wire order (unknown names included). */
  features?: string[];
  /** Blocks of tags WELCOME does not define, in wire order: skipped by the client. */
  extensions?: Extension[];
}

const HELLO_TAGS: ReadonlySet<number> = new Set([
  ExtensionTag.RESUME_TOKEN,
  ExtensionTag.SINCE,
  ExtensionTag.PASSWORD,
  ExtensionTag.ADMIN_TOKEN,
  ExtensionTag.TRANSIENT,
  ExtensionTag.FEATURES,
]);

const WELCOME_TAGS: ReadonlySet<number> = new Set([
  ExtensionTag.RESUME_TOKEN,
  ExtensionTag.STORE_ID,
  ExtensionTag.RATE_LIMIT,
  ExtensionTag.FEATURES,
]);

/** Bytes of a RATE_LIMIT value: two u32. */
const RATE_LIMIT_BYTES = 8;

const utf8 = new TextEncoder();

/** Reads HELLO's extension blocks, to the end of the payload. */
export function readHelloExtensions(r: WireReader): HelloExtensions {
  const out: HelloExtensions = {};
  while (r.remaining > 0) {
    const { tag, value } = readBlock(r);
    switch (tag) {
      case ExtensionTag.RESUME_TOKEN:
        // Copied: the payload view dies with the next decoder push.
        out.resumeToken = value.slice();
        break;
      case ExtensionTag.SINCE:
        out.since = readSince(value);
        break;
      case ExtensionTag.PASSWORD:
        out.password = new WireReader(value, "HELLO PASSWORD extension").rest("password");
        break;
      case ExtensionTag.ADMIN_TOKEN:
        out.adminToken = new WireReader(value, "HELLO ADMIN_TOKEN extension").rest("token");
        break;
      case ExtensionTag.TRANSIENT:
        new WireReader(value, "HELLO TRANSIENT extension").end();
        out.transient = true;
        break;
      case ExtensionTag.FEATURES:
        out.features = readFeatures(value, "HELLO");
        break;
      default:
        (out.extensions ??= []).push({ tag, value: value.slice() });
    }
  }
  return out;
}

/** Reads WELCOME's extension blocks, to the end of the payload. */
export function readWelcomeExtensions(r: WireReader): WelcomeExtensions {
  const out: WelcomeExtensions = {};
  while (r.remaining > 0) {
    const { tag, value } = readBlock(r);
    switch (tag) {
      case ExtensionTag.RESUME_TOKEN:
        out.resumeToken = value.slice();
        break;
      case ExtensionTag.STORE_ID:
        out.storeId = value.slice();
        break;
      case ExtensionTag.RATE_LIMIT: {
        const v = new WireReader(value, "WELCOME RATE_LIMIT extension");
        out.rateLimit = { perSecond: v.u32("perSecond"), burst: v.u32("burst") };
        v.end();
        break;
      }
      case ExtensionTag.FEATURES:
        out.features = readFeatures(value, "WELCOME");
        break;
      default:
        (out.extensions ??= []).push({ tag, value: value.slice() });
    }
  }
  return out;
}

/**
 * Writes HELLO's extension blocks: the known ones in the order `chat join`
 * has always sent them (so its HELLO stays the same bytes), then the others.
 */
export function writeHelloExtensions(w: WireWriter, h: HelloExtensions): WireWriter {
  if (h.password !== undefined) writeBlock(w, ExtensionTag.PASSWORD, utf8.encode(h.password));
  if (h.adminToken !== undefined) writeBlock(w, ExtensionTag.ADMIN_TOKEN, utf8.encode(h.adminToken));
  if (h.resumeToken !== undefined) writeBlock(w, ExtensionTag.RESUME_TOKEN, h.resumeToken);
  if (h.since !== undefined) {
    let len = 1;
    for (const room of h.since.keys()) len += 1 + utf8Length(room) + 8;
    w.u8(ExtensionTag.SINCE).u16(len).u8(h.since.size);
    for (const [room, seq] of h.since) w.str8(room, "SINCE room").u64(seq);
  }
  if (h.transient) writeBlock(w, ExtensionTag.TRANSIENT, new Uint8Array(0));
  if (h.features !== undefined) writeFeatures(w, h.features);
  return writeOthers(w, "HELLO", HELLO_TAGS, h.extensions);
}

/** Writes WELCOME's extension blocks: the known ones in tag order, then the others. */
export function writeWelcomeExtensions(w: WireWriter, x: WelcomeExtensions): WireWriter {
  if (x.resumeToken !== undefined) writeBlock(w, ExtensionTag.RESUME_TOKEN, x.resumeToken);
  if (x.storeId !== undefined) writeBlock(w, ExtensionTag.STORE_ID, x.storeId);
  if (x.rateLimit !== undefined) {
    w.u8(ExtensionTag.RATE_LIMIT).u16(RATE_LIMIT_BYTES).u32(x.rateLimit.perSecond).u32(x.rateLimit.burst);
  }
  if (x.features !== undefined) writeFeatures(w, x.features);
  return writeOthers(w, "WELCOME", WELCOME_TAGS, x.extensions);
}

function readBlock(r: WireReader): Extension {
  const tag = r.u8("extension tag");
  const len = r.u16("extension length");
  return { tag, value: r.bytes(len, "extension value") };
}

function readSince(value: Uint8Array): Map<string, number> {
  const r = new WireReader(value, "HELLO SINCE extension");
  const since = new Map<string, number>();
  const count = r.u8("count");
  for (let i = 0; i < count; i++) {
    const room = r.str8("room");
    since.set(room, r.u64("seq"));
  }
  r.end();
  return since;
}

function readFeatures(value: Uint8Array, frame: string): string[] {
  const r = new WireReader(value, `${frame} FEATURES extension`);
  const count = r.u8("count");
  const features: string[] = [];
  for (let i = 0; i < count; i++) features.push(r.str8("feature"));
  r.end();
  return features;
}

function writeFeatures(w: WireWriter, features: readonly string[]): void {
  let len = 1;
  for (const f of features) len += 1 + utf8Length(f);
  w.u8(ExtensionTag.FEATURES).u16(len).u8(features.length);
  for (const f of features) w.str8(f, "feature");
}

function writeBlock(w: WireWriter, tag: number, value: Uint8Array): void {
  w.u8(tag).u16(value.byteLength).bytes(value);
}

function writeOthers(
  w: WireWriter,
  frame: string,
  known: ReadonlySet<number>,
  others: readonly Extension[] | undefined,
): WireWriter {
  for (const e of others ?? []) {
    // A known tag here would be sent beside (or instead of) its typed field: a bug in the caller.
    if (known.has(e.tag)) {
      const name = Object.entries(ExtensionTag).find(([, t]) => t === e.tag)![0];
      throw new TypeError(
        `Cannot encode ${frame}: extension ${name} belongs in its typed field, not in extensions`,
      );
    }
    writeBlock(w, e.tag, e.value);
  }
  return w;
}
