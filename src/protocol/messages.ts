/**
 * Protocol messages as values, and their encoder. Each message kind is one
 * member of a discriminated union; {@linkcode encodeMessage} turns a value
 * into a complete frame. Decoding, by direction, is in decode.ts.
 *
 * @module
 */

import { FrameType, MAGIC } from "./frame.ts";
import {
  type HelloExtensions,
  type WelcomeExtensions,
  writeHelloExtensions,
  writeWelcomeExtensions,
} from "./extensions.ts";
import { MAX_CONVERSATIONS, MAX_MEMBERS_PER_FRAME } from "./limits.ts";
import { releaseScratch, WireWriter } from "./wire.ts";

/** Client to server: first frame of every connection. Its extensions are typed fields (extensions.ts). */
export interface Hello extends HelloExtensions {
  type: "hello";
  version: number;
  name: string;
  rooms: string[];
}

/** Bit flags of MESSAGE and SEND. */
export const MessageFlags = {
  /** A `/me` action: "* alice waves". */
  ACTION: 0x01,
  /** Replayed from history, not live (set by the server only). */
  HISTORY: 0x02,
} as const;

/** Client to server: a chat message to a room. */
export interface Send {
  type: "send";
  /** Client-chosen id, unique per sender; a resend with the same id is not delivered twice. */
  id: number;
  room: string;
  flags: number;
  text: string;
}

export interface Join {
  type: "join";
  room: string;
}

export interface Leave {
  type: "leave";
  room: string;
}

/** Asks for the member list of a room; answered with MEMBERS. */
export interface Who {
  type: "who";
  room: string;
}

/** A clean goodbye; the server closes after announcing the leave with this reason. */
export interface Bye {
  type: "bye";
  reason: string;
}

/**
 * Asks for stored messages of a room: those with `after < seq < before`
 * (before = 0 means no upper bound), at most `limit`; the newest ones when
 * `before` is set, the oldest ones otherwise. Answered by MESSAGE frames
 * flagged HISTORY, then one FETCHED.
 */
export interface Fetch {
  type: "fetch";
  room: string;
  after: number;
  before: number;
  limit: number;
}

/** Server to client: the end of a FETCH answer. */
export interface Fetched {
  type: "fetched";
  room: string;
  /** MESSAGE frames sent for this FETCH. */
  count: number;
  /** True when more messages match than were sent (a page limit was hit). */
  more: boolean;
  /** The room's latest sequence number when the answer was made. */
  lastSeq: number;
}

/**
 * Client to server: a direct message to one user. Answered with ACK: for a stored conversation (both names
 * registered) and a client listing the `dms` feature, with room `@peer` and the message's seq; otherwise with
 * room "" and seq 0.
 */
export interface Private {
  type: "private";
  id: number;
  to: string;
  flags: number;
  text: string;
}

/** Client to server: change my name. Answered by a PRESENCE "nick" event, or an error. */
export interface Nick {
  type: "nick";
  name: string;
}

/** Client to server: set an away message (empty: back). */
export interface Away {
  type: "away";
  text: string;
}

/** Client to server: register the current name with a password (when the server allows it). */
export interface Register {
  type: "register";
  password: string;
}

export type ModerationAction = "kick" | "ban" | "unban" | "mute" | "unmute";

/** Client to server, operators only: act on a user (by name) or, for ban/unban, on an address. */
export interface Moderate {
  type: "moderate";
  action: ModerationAction;
  target: string;
  /** For ban and mute: how long, in ms; 0 means until lifted. */
  durationMs: number;
  reason: string;
}

/**
 * Client to server: one page of the rooms the server holds, in name order: those whose name comes after
 * `after` ("": from the first), at most `limit` (0: as many as one page holds). Answered with ROOMS.
 */
export interface List {
  type: "list";
  after: string;
  limit: number;
}

/**
 * Client to server: asks for a room's topic (`set` false; `text` is ignored), or sets it (`set` true; an empty
 * or blank text clears it). Answered with TOPIC_IS.
 */
export interface Topic {
  type: "topic";
  room: string;
  set: boolean;
  text: string;
}

/** One room of a ROOMS page. */
export interface RoomEntry {
  room: string;
  /** Members, as ROOM counts them. */
  members: number;
  quiet: boolean;
  /** Its topic; empty when it has none. */
  topic: string;
}

/** Server to client: a page of rooms in name order, answering LIST; `more`: a LIST after the last one finds more. */
export interface Rooms {
  type: "rooms";
  more: boolean;
  rooms: RoomEntry[];
}

/**
 * Server to client: a room's topic, who set it and when (empty text, by "" and ts 0: none). The answer to
 * TOPIC, what a joiner learns, and what a room's members hear when it changes.
 */
export interface TopicIs {
  type: "topicIs";
  room: string;
  text: string;
  by: string;
  ts: number;
}

/** Server to client: information for the user (message of the day, results of commands). */
export interface Notice {
  type: "notice";
  /** What the notice is about: "motd", "registered", "moderation", ... */
  kind: string;
  text: string;
}

/**
 * Server to client: a direct message, delivered live to its recipient and echoed to its sender. A client
 * listing the `dms` feature gets a stored conversation's messages as MESSAGE in room `@peer` instead.
 */
export interface Direct {
  type: "direct";
  from: string;
  to: string;
  ts: number;
  flags: number;
  text: string;
}

export interface Ping {
  type: "ping";
  token: number;
}

export interface Pong {
  type: "pong";
  token: number;
}

/** Server to client: the handshake succeeded. MEMBERS frames for each room follow. */
export interface Welcome extends WelcomeExtensions {
  type: "welcome";
  version: number;
  /** The name as the server registered it. */
  name: string;
  /** How often the client should send PING when otherwise idle. */
  heartbeatMs: number;
  /** Silence after which the server drops the client. */
  timeoutMs: number;
  maxFrame: number;
  maxText: number;
  /** Canonical names of the rooms joined. */
  rooms: string[];
}

/** Server to client: a chat message as stored and sequenced. */
export interface ChatMessage {
  type: "message";
  room: string;
  seq: number;
  /** Server time, milliseconds since the Unix epoch. */
  ts: number;
  flags: number;
  from: string;
  text: string;
}

/** Server to client: a SEND was accepted as `seq` (or had been already, for a resend). */
export interface Ack {
  type: "ack";
  id: number;
  room: string;
  seq: number;
  ts: number;
}

/** join/leave a room; nick: `name` is now called `text`; away: `name` is away with message `text` ("" = back). */
export type PresenceEvent = "join" | "leave" | "nick" | "away";

export interface Presence {
  type: "presence";
  room: string;
  event: PresenceEvent;
  name: string;
  /** For leave: a reason code ("quit", "timeout", "left", ...); empty for join. */
  reason: string;
  /** Free text the user gave (a /quit message); may be empty. */
  text: string;
  ts: number;
}

/** Bit flags of MEMBERS (its third field, a plain `more` boolean before LISTING was added). */
export const MembersFlags = {
  /** Another part of the list follows. */
  MORE: 0x01,
  /** The client is not a member: the list answers its WHO for another room (feature `who-any`). */
  LISTING: 0x02,
} as const;

/** Bit flags of ROOM (its last field, a plain `quiet` boolean before LISTING was added). */
export const RoomFlags = {
  QUIET: 0x01,
  /** The client is not a member: the size answers its WHO for another room, a quiet one (feature `who-any`). */
  LISTING: 0x02,
} as const;

/** Server to client: part of a room's member list; `more` says another part follows. */
export interface Members {
  type: "members";
  room: string;
  more: boolean;
  /** Present (true) only when the list answers a WHO for a room the client is not in. */
  listing?: true;
  names: string[];
}

/**
 * Server to client: a room's size and whether it is quiet (too large for
 * presence: no join/leave events, and this count in place of the member list).
 */
export interface RoomInfo {
  type: "room";
  room: string;
  /** Members, including users in their grace period. */
  members: number;
  quiet: boolean;
  /** Present (true) only when the frame answers a WHO for a quiet room the client is not in. */
  listing?: true;
}

/** One stored conversation of the client's: who with, and where it stands. */
export interface ConversationEntry {
  /** The other person's registered name: the conversation is room `@peer` for this client. */
  peer: string;
  /** The conversation's highest sequence number. */
  lastSeq: number;
  /** Server time of its last message (0: unknown), milliseconds since the Unix epoch. */
  ts: number;
}

/**
 * Server to client (feature `dms`): the client's stored conversations, the most recent first, at most
 * MAX_CONVERSATIONS; sent after the welcome. A client FETCHes `@peer` after its own last seq of each.
 */
export interface Conversations {
  type: "conversations";
  conversations: ConversationEntry[];
}

/** Server to client: an error. `fatal` means the server closes the connection after it. */
export interface ErrorMessage {
  type: "error";
  fatal: boolean;
  code: string;
  /** The SEND id this error answers, or 0. */
  ref: number;
  message: string;
}

export type ClientMessage =
  | Hello
  | Send
  | Join
  | Leave
  | Who
  | Bye
  | Fetch
  | Private
  | Nick
  | Away
  | Register
  | Moderate
  | List
  | Topic
  | Ping
  | Pong;
export type ServerMessage =
  | Welcome
  | ChatMessage
  | Ack
  | Presence
  | Members
  | RoomInfo
  | ErrorMessage
  | Fetched
  | Direct
  | Notice
  | Rooms
  | TopicIs
  | Conversations
  | Ping
  | Pong;
export type Message = ClientMessage | ServerMessage;

/** MODERATE's action codes, from 1. */
export const MODERATION_ACTIONS: readonly ModerationAction[] = ["kick", "ban", "unban", "mute", "unmute"];

/** PRESENCE's event codes. */
export const PRESENCE_EVENTS: Readonly<Record<number, PresenceEvent>> = {
  1: "join",
  2: "leave",
  3: "nick",
  4: "away",
};
const PRESENCE_CODES: Record<PresenceEvent, number> = { join: 1, leave: 2, nick: 3, away: 4 };

/** Encodes a message as one complete frame (header included). */
export function encodeMessage(msg: Message): Uint8Array {
  try {
    return encodeFrame(msg);
  } catch (err) {
    // A value that does not fit its field left its writer unfinished, holding the shared scratch buffer.
    releaseScratch();
    throw err;
  }
}

function encodeFrame(msg: Message): Uint8Array {
  switch (msg.type) {
    case "hello": {
      const w = new WireWriter(FrameType.HELLO).bytes(MAGIC).u16(msg.version).str8(msg.name, "name");
      w.u8(msg.rooms.length);
      for (const r of msg.rooms) w.str8(r, "room");
      return writeHelloExtensions(w, msg).finish();
    }
    case "send":
      return new WireWriter(FrameType.SEND, 24 + msg.text.length * 3)
        .u64(msg.id).str8(msg.room, "room").u8(msg.flags).str32(msg.text, "text").finish();
    case "join":
      return new WireWriter(FrameType.JOIN).str8(msg.room, "room").finish();
    case "leave":
      return new WireWriter(FrameType.LEAVE).str8(msg.room, "room").finish();
    case "who":
      return new WireWriter(FrameType.WHO).str8(msg.room, "room").finish();
    case "bye":
      return new WireWriter(FrameType.BYE).str16(msg.reason, "reason").finish();
    case "fetch":
      return new WireWriter(FrameType.FETCH).str8(msg.room, "room").u64(msg.after).u64(msg.before).u16(
        msg.limit,
      )
        .finish();
    case "fetched":
      return new WireWriter(FrameType.FETCHED).str8(msg.room, "room").u16(msg.count).u8(msg.more ? 1 : 0)
        .u64(msg.lastSeq).finish();
    case "private":
      return new WireWriter(FrameType.PRIVATE, 24 + msg.text.length * 3)
        .u64(msg.id).str8(msg.to, "to").u8(msg.flags).str32(msg.text, "text").finish();
    case "nick":
      return new WireWriter(FrameType.NICK).str8(msg.name, "name").finish();
    case "away":
      return new WireWriter(FrameType.AWAY).str16(msg.text, "text").finish();
    case "register":
      return new WireWriter(FrameType.REGISTER).str16(msg.password, "password").finish();
    case "moderate":
      return new WireWriter(FrameType.MODERATE).u8(MODERATION_ACTIONS.indexOf(msg.action) + 1)
        .str8(msg.target, "target").u64(msg.durationMs).str16(msg.reason, "reason").finish();
    case "list":
      return new WireWriter(FrameType.LIST).str8(msg.after, "after").u16(msg.limit).finish();
    case "topic":
      return new WireWriter(FrameType.TOPIC).str8(msg.room, "room").u8(msg.set ? 1 : 0)
        .str16(msg.text, "text").finish();
    case "rooms": {
      const w = new WireWriter(FrameType.ROOMS, 8 + msg.rooms.length * 48).u8(msg.more ? 1 : 0)
        .u16(msg.rooms.length);
      for (const r of msg.rooms) {
        w.str8(r.room, "room").u32(r.members).u8(r.quiet ? 1 : 0).str16(r.topic, "topic");
      }
      return w.finish();
    }
    case "topicIs":
      return new WireWriter(FrameType.TOPIC_IS).str8(msg.room, "room").str16(msg.text, "text")
        .str8(msg.by, "by").u64(msg.ts).finish();
    case "notice":
      return new WireWriter(FrameType.NOTICE).str8(msg.kind, "kind").str16(msg.text, "text").finish();
    case "direct":
      return new WireWriter(FrameType.DIRECT, 64 + msg.text.length * 3)
        .str8(msg.from, "from").str8(msg.to, "to").u64(msg.ts).u8(msg.flags).str32(msg.text, "text").finish();
    case "ping":
      return new WireWriter(FrameType.PING, 4).u32(msg.token).finish();
    case "pong":
      return new WireWriter(FrameType.PONG, 4).u32(msg.token).finish();
    case "welcome": {
      const w = new WireWriter(FrameType.WELCOME).u16(msg.version).str8(msg.name, "name")
        .u32(msg.heartbeatMs).u32(msg.timeoutMs).u32(msg.maxFrame).u32(msg.maxText);
      w.u8(msg.rooms.length);
      for (const r of msg.rooms) w.str8(r, "room");
      return writeWelcomeExtensions(w, msg).finish();
    }
    case "message":
      return new WireWriter(FrameType.MESSAGE, 64 + msg.text.length * 3)
        .str8(msg.room, "room").u64(msg.seq).u64(msg.ts).u8(msg.flags)
        .str8(msg.from, "from").str32(msg.text, "text").finish();
    case "ack":
      return new WireWriter(FrameType.ACK).u64(msg.id).str8(msg.room, "room").u64(msg.seq).u64(msg.ts)
        .finish();
    case "presence":
      return new WireWriter(FrameType.PRESENCE)
        .str8(msg.room, "room").u8(PRESENCE_CODES[msg.event]).str8(msg.name, "name")
        .str8(msg.reason, "reason").str16(msg.text, "text").u64(msg.ts).finish();
    case "room":
      return new WireWriter(FrameType.ROOM).str8(msg.room, "room").u32(msg.members)
        .u8((msg.quiet ? RoomFlags.QUIET : 0) | (msg.listing ? RoomFlags.LISTING : 0)).finish();
    case "members": {
      if (msg.names.length > MAX_MEMBERS_PER_FRAME) {
        throw new RangeError(
          `Cannot encode MEMBERS: ${msg.names.length} names exceeds ${MAX_MEMBERS_PER_FRAME}`,
        );
      }
      const w = new WireWriter(FrameType.MEMBERS, 8 + msg.names.length * 12)
        .str8(msg.room, "room").u8(
          (msg.more ? MembersFlags.MORE : 0) | (msg.listing ? MembersFlags.LISTING : 0),
        )
        .u16(msg.names.length);
      for (const n of msg.names) w.str8(n, "name");
      return w.finish();
    }
    case "conversations": {
      const list = msg.conversations;
      if (list.length > MAX_CONVERSATIONS) {
        throw new RangeError(
          `Cannot encode CONVERSATIONS: ${list.length} entries exceeds ${MAX_CONVERSATIONS}`,
        );
      }
      const w = new WireWriter(FrameType.CONVERSATIONS, 4 + list.length * 32).u16(list.length);
      for (const c of list) w.str8(c.peer, "peer").u64(c.lastSeq).u64(c.ts);
      return w.finish();
    }
    case "error":
      return new WireWriter(FrameType.ERROR)
        .u8(msg.fatal ? 1 : 0).str8(msg.code, "code").u64(msg.ref).str16(msg.message, "message").finish();
    default: {
      const never: never = msg;
      throw new TypeError(`Cannot encode message: unknown type ${(never as Message).type}`);
    }
  }
}
