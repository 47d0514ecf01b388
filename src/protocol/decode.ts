/**
 * Frames into messages, by direction. The server reads what a client may send
 * ({@linkcode decodeClientMessage}), a client what a server may send
 * ({@linkcode decodeServerMessage}); PING and PONG go both ways. A frame type
 * of the other direction is refused with UNEXPECTED_FRAME before its payload
 * is read, so neither end ever holds a message it has no use for; a type this
 * version does not know is refused with UNKNOWN_TYPE, which both ends skip.
 *
 * @module
 */

import { ErrorCode, ProtocolError } from "./errors.ts";
import { readHelloExtensions, readWelcomeExtensions } from "./extensions.ts";
import { type Frame, FRAME_NAMES, FrameType, MAGIC } from "./frame.ts";
import { MAX_CONVERSATIONS, MAX_HELLO_ROOMS } from "./limits.ts";
import {
  type ClientMessage,
  type ConversationEntry,
  MembersFlags,
  MODERATION_ACTIONS,
  type Ping,
  type Pong,
  PRESENCE_EVENTS,
  type RoomEntry,
  RoomFlags,
  type ServerMessage,
} from "./messages.ts";
import { WireReader } from "./wire.ts";

/**
 * Decodes one frame a client sent. Throws {@linkcode ProtocolError} with
 * BAD_FRAME for a malformed payload (extensions included), UNKNOWN_TYPE for an
 * unknown type and UNEXPECTED_FRAME for a server-to-client type.
 */
export function decodeClientMessage(frame: Frame): ClientMessage {
  const r = readerFor(frame);
  const msg = clientPayload(frame.type, r) ?? bothWays(frame.type, r);
  if (msg === undefined) throw wrongWay(frame.type, "server-to-client", "a client");
  if (msg.type !== "hello") r.end();
  return msg;
}

/**
 * Decodes one frame a server sent. Throws {@linkcode ProtocolError} with
 * BAD_FRAME for a malformed payload (extensions included), UNKNOWN_TYPE for an
 * unknown type and UNEXPECTED_FRAME for a client-to-server type.
 */
export function decodeServerMessage(frame: Frame): ServerMessage {
  const r = readerFor(frame);
  const msg = serverPayload(frame.type, r) ?? bothWays(frame.type, r);
  if (msg === undefined) throw wrongWay(frame.type, "client-to-server", "a server");
  if (msg.type !== "welcome") r.end();
  return msg;
}

function readerFor(frame: Frame): WireReader {
  const name = FRAME_NAMES[frame.type];
  if (name === undefined) {
    throw new ProtocolError(
      ErrorCode.UNKNOWN_TYPE,
      `Cannot decode frame: unknown type 0x${frame.type.toString(16).padStart(2, "0")}`,
    );
  }
  return new WireReader(frame.payload, name);
}

function wrongWay(type: number, kind: string, from: string): ProtocolError {
  return new ProtocolError(
    ErrorCode.UNEXPECTED_FRAME,
    `${FRAME_NAMES[type]} is a ${kind} frame: not allowed from ${from}`,
  );
}

/** PING and PONG, which both ends send; undefined for any other type. */
function bothWays(type: number, r: WireReader): Ping | Pong | undefined {
  switch (type) {
    case FrameType.PING:
      return { type: "ping", token: r.u32("token") };
    case FrameType.PONG:
      return { type: "pong", token: r.u32("token") };
    default:
      return undefined;
  }
}

/** A client-to-server payload; undefined when `type` is not one. */
function clientPayload(type: number, r: WireReader): ClientMessage | undefined {
  switch (type) {
    case FrameType.HELLO: {
      const magic = r.bytes(4, "magic");
      if (magic.some((b, i) => b !== MAGIC[i])) {
        throw new ProtocolError(ErrorCode.BAD_FRAME, 'Cannot decode HELLO: magic is not "CHAT"');
      }
      const version = r.u16("version");
      const name = r.str8("name");
      const rooms = readRooms(r);
      return { type: "hello", version, name, rooms, ...readHelloExtensions(r) };
    }
    case FrameType.SEND:
      return {
        type: "send",
        id: r.u64("id"),
        room: r.str8("room"),
        flags: r.u8("flags"),
        text: r.str32("text"),
      };
    case FrameType.JOIN:
      return { type: "join", room: r.str8("room") };
    case FrameType.LEAVE:
      return { type: "leave", room: r.str8("room") };
    case FrameType.WHO:
      return { type: "who", room: r.str8("room") };
    case FrameType.BYE:
      return { type: "bye", reason: r.str16("reason") };
    case FrameType.FETCH:
      return {
        type: "fetch",
        room: r.str8("room"),
        after: r.u64("after"),
        before: r.u64("before"),
        limit: r.u16("limit"),
      };
    case FrameType.PRIVATE:
      return {
        type: "private",
        id: r.u64("id"),
        to: r.str8("to"),
        flags: r.u8("flags"),
        text: r.str32("text"),
      };
    case FrameType.NICK:
      return { type: "nick", name: r.str8("name") };
    case FrameType.AWAY:
      return { type: "away", text: r.str16("text") };
    case FrameType.REGISTER:
      return { type: "register", password: r.str16("password") };
    case FrameType.MODERATE: {
      const code = r.u8("action");
      const action = MODERATION_ACTIONS[code - 1];
      if (action === undefined) {
        throw new ProtocolError(ErrorCode.BAD_FRAME, `Cannot decode MODERATE: unknown action ${code}`);
      }
      return {
        type: "moderate",
        action,
        target: r.str8("target"),
        durationMs: r.u64("durationMs"),
        reason: r.str16("reason"),
      };
    }
    case FrameType.LIST:
      return { type: "list", after: r.str8("after"), limit: r.u16("limit") };
    case FrameType.TOPIC:
      return { type: "topic", room: r.str8("room"), set: readFlag(r, "TOPIC", "set"), text: r.str16("text") };
    default:
      return undefined;
  }
}

/** A server-to-client payload; undefined when `type` is not one. */
function serverPayload(type: number, r: WireReader): ServerMessage | undefined {
  switch (type) {
    case FrameType.WELCOME: {
      const version = r.u16("version");
      const name = r.str8("name");
      const heartbeatMs = r.u32("heartbeatMs");
      const timeoutMs = r.u32("timeoutMs");
      const maxFrame = r.u32("maxFrame");
      const maxText = r.u32("maxText");
      const rooms = readRooms(r);
      return {
        type: "welcome",
        version,
        name,
        heartbeatMs,
        timeoutMs,
        maxFrame,
        maxText,
        rooms,
        ...readWelcomeExtensions(r),
      };
    }
    case FrameType.MESSAGE:
      return {
        type: "message",
        room: r.str8("room"),
        seq: r.u64("seq"),
        ts: r.u64("ts"),
        flags: r.u8("flags"),
        from: r.str8("from"),
        text: r.str32("text"),
      };
    case FrameType.ACK:
      return { type: "ack", id: r.u64("id"), room: r.str8("room"), seq: r.u64("seq"), ts: r.u64("ts") };
    case FrameType.PRESENCE: {
      const room = r.str8("room");
      const code = r.u8("event");
      const event = PRESENCE_EVENTS[code];
      if (event === undefined) {
        throw new ProtocolError(ErrorCode.BAD_FRAME, `Cannot decode PRESENCE: unknown event ${code}`);
      }
      return {
        type: "presence",
        room,
        event,
        name: r.str8("name"),
        reason: r.str8("reason"),
        text: r.str16("text"),
        ts: r.u64("ts"),
      };
    }
    case FrameType.MEMBERS: {
      const room = r.str8("room");
      // Once a boolean `more`, now bit flags; a bit this version does not define is malformed.
      const flags = readFlags(r, "MEMBERS", MembersFlags.MORE | MembersFlags.LISTING);
      const count = r.u16("count");
      // Each name takes at least its length byte: reject counts the payload cannot hold before looping.
      if (count > r.remaining) {
        throw new ProtocolError(
          ErrorCode.BAD_FRAME,
          `Cannot decode MEMBERS: count ${count} exceeds remaining ${r.remaining} bytes`,
        );
      }
      const names: string[] = [];
      for (let i = 0; i < count; i++) names.push(r.str8("name"));
      const more = (flags & MembersFlags.MORE) !== 0;
      return (flags & MembersFlags.LISTING) !== 0
        ? { type: "members", room, more, listing: true, names }
        : { type: "members", room, more, names };
    }
    case FrameType.ROOM: {
      const room = r.str8("room");
      const members = r.u32("members");
      // Once a boolean `quiet`, now bit flags; a bit this version does not define is malformed.
      const flags = readFlags(r, "ROOM", RoomFlags.QUIET | RoomFlags.LISTING);
      const quiet = (flags & RoomFlags.QUIET) !== 0;
      return (flags & RoomFlags.LISTING) !== 0
        ? { type: "room", room, members, quiet, listing: true }
        : { type: "room", room, members, quiet };
    }
    case FrameType.ROOMS: {
      const more = readFlag(r, "ROOMS", "more");
      const count = r.u16("count");
      // Each entry takes at least 8 bytes (two length prefixes, members, quiet): check before looping.
      if (count * ROOM_ENTRY_MIN > r.remaining) {
        throw new ProtocolError(
          ErrorCode.BAD_FRAME,
          `Cannot decode ROOMS: count ${count} exceeds what ${r.remaining} bytes can hold`,
        );
      }
      const rooms: RoomEntry[] = [];
      for (let i = 0; i < count; i++) {
        rooms.push({
          room: r.str8("room"),
          members: r.u32("members"),
          quiet: readFlag(r, "ROOMS", "quiet"),
          topic: r.str16("topic"),
        });
      }
      return { type: "rooms", more, rooms };
    }
    case FrameType.TOPIC_IS:
      return {
        type: "topicIs",
        room: r.str8("room"),
        text: r.str16("text"),
        by: r.str8("by"),
        ts: r.u64("ts"),
      };
    case FrameType.ERROR:
      return {
        type: "error",
        fatal: readFlag(r, "ERROR", "fatal"),
        code: r.str8("code"),
        ref: r.u64("ref"),
        message: r.str16("message"),
      };
    case FrameType.FETCHED: {
      const room = r.str8("room");
      const count = r.u16("count");
      return {
        type: "fetched",
        room,
        count,
        more: readFlag(r, "FETCHED", "more"),
        lastSeq: r.u64("lastSeq"),
      };
    }
    case FrameType.DIRECT:
      return {
        type: "direct",
        from: r.str8("from"),
        to: r.str8("to"),
        ts: r.u64("ts"),
        flags: r.u8("flags"),
        text: r.str32("text"),
      };
    case FrameType.NOTICE:
      return { type: "notice", kind: r.str8("kind"), text: r.str16("text") };
    case FrameType.CONVERSATIONS: {
      const count = r.u16("count");
      // Checked before the loop: the limit, and the bytes each entry takes at least.
      if (count > MAX_CONVERSATIONS || count * CONVERSATION_MIN > r.remaining) {
        throw new ProtocolError(
          ErrorCode.BAD_FRAME,
          `Cannot decode CONVERSATIONS: count ${count} exceeds the limit of ${MAX_CONVERSATIONS} or the ${r.remaining} bytes left`,
        );
      }
      const conversations: ConversationEntry[] = [];
      for (let i = 0; i < count; i++) {
        conversations.push({ peer: r.str8("peer"), lastSeq: r.u64("lastSeq"), ts: r.u64("ts") });
      }
      return { type: "conversations", conversations };
    }
    default:
      return undefined;
  }
}

/** The fewest bytes one ROOMS entry takes: an empty room name and topic, members and quiet. */
const ROOM_ENTRY_MIN = 1 + 4 + 1 + 2;

/** The fewest bytes one CONVERSATIONS entry takes: an empty name's length byte, lastSeq and ts. */
const CONVERSATION_MIN = 1 + 8 + 8;

function readRooms(r: WireReader): string[] {
  const count = r.u8("room count");
  if (count > MAX_HELLO_ROOMS) {
    throw new ProtocolError(
      ErrorCode.TOO_MANY_ROOMS,
      `Cannot decode frame: ${count} rooms exceeds limit ${MAX_HELLO_ROOMS}`,
    );
  }
  const rooms: string[] = [];
  for (let i = 0; i < count; i++) rooms.push(r.str8("room"));
  return rooms;
}

/** A u8 of bit flags: a bit outside `known` is malformed (a new bit is sent only to clients that know it). */
function readFlags(r: WireReader, frame: string, known: number): number {
  const v = r.u8("flags");
  if ((v & ~known) !== 0) {
    throw new ProtocolError(
      ErrorCode.BAD_FRAME,
      `Cannot decode ${frame}: flags 0x${
        v.toString(16).padStart(2, "0")
      } set a bit this version does not define`,
    );
  }
  return v;
}

/** A boolean u8: 0 or 1, anything else is malformed. */
function readFlag(r: WireReader, frame: string, field: string): boolean {
  const v = r.u8(field);
  if (v > 1) {
    throw new ProtocolError(ErrorCode.BAD_FRAME, `Cannot decode ${frame}: ${field} flag ${v} is not 0 or 1`);
  }
  return v === 1;
}
