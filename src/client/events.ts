/**
 * What a client reports to its front end (plain lines, JSON lines, the
 * terminal UI). These objects are also the JSON-lines contract: `--json`
 * prints each one as it is, one per line.
 *
 * @module
 */

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected";

export interface StatusEvent {
  type: "status";
  state: ConnectionState;
  /** host:port */
  server: string;
  /** For reconnecting: this attempt (1-based), the limit (0 = unlimited), and the wait before it. */
  attempt?: number;
  of?: number;
  delayMs?: number;
  /** Why the connection was lost or could not be made. */
  reason?: string;
}

export interface WelcomeEvent {
  type: "welcome";
  name: string;
  /** The current room: the first room joined. */
  room: string;
  rooms: string[];
  /** Who is online in `room`; empty when it is quiet. */
  online: string[];
  server: string;
  /** True when this welcome follows a reconnect. */
  reconnected: boolean;
  /** Only for a quiet `room`: its size, in place of the list. */
  members?: number;
  /** Only for a quiet `room`: true. */
  quiet?: true;
  /**
   * Added by `chat join`: true when the connection is encrypted (TLS, from
   * --tls, --ca or --tofu), false when it is plaintext.
   */
  tls?: boolean;
}

export interface MessageEvent {
  type: "message";
  room: string;
  seq: number;
  ts: number;
  from: string;
  text: string;
  action: boolean;
  history: boolean;
}

export interface PresenceEvent {
  type: "presence";
  /** Empty for events about a user rather than a room (an away notice after a direct message). */
  room: string;
  /** join/leave a room; nick: `name` is now called `text`; away: `name` is away with message `text` ("" = back). */
  event: "join" | "leave" | "nick" | "away";
  name: string;
  reason: string;
  text: string;
  ts: number;
}

/**
 * A direct message, received or (echoed) sent. One of a stored conversation (both names registered, on a
 * server that speaks `dms`) carries its `seq` in the conversation and whether it came from its history
 * (fetched: sent while this client was away, or older messages asked for); a live-only one has neither.
 */
export interface DirectEvent {
  type: "direct";
  from: string;
  to: string;
  ts: number;
  text: string;
  action: boolean;
  /** Only for a stored conversation: the message's number in it. */
  seq?: number;
  /** Only for a stored conversation: true when it came from the conversation's history. */
  history?: boolean;
}

/** Information from the server: the message of the day, results of /register and operator commands. */
export interface NoticeEvent {
  type: "notice";
  kind: string;
  text: string;
}

export interface MembersEvent {
  type: "members";
  room: string;
  /** Empty after joining a quiet room, or asking about a quiet room one is not in. */
  online: string[];
  /** Only for a quiet room: its size, in place of the list. */
  members?: number;
  /** Only for a quiet room: true. */
  quiet?: true;
  /** Only for a room the client is not in (the answer to /who ROOM): true. */
  listing?: true;
}

/** A room's topic: on joining it, when a member changes it, and in answer to /topic. Empty: none. */
export interface TopicEvent {
  type: "topic";
  room: string;
  text: string;
  /** Who set it ("" when there is none). */
  by: string;
  /** When it was set (0 when there is none). */
  ts: number;
}

/** One room in a rooms event. */
export interface ListedRoom {
  room: string;
  members: number;
  quiet: boolean;
  /** Empty when it has none. */
  topic: string;
}

/** Part of the answer to /list: rooms in name order; `more` says another rooms event follows. */
export interface RoomsEvent {
  type: "rooms";
  rooms: ListedRoom[];
  more: boolean;
  /** Only on the last part, when the client stopped before the end of a very long list: true. */
  truncated?: true;
}

/** A room of the client's went quiet (too large for presence) or loud again (a members event follows). */
export interface RoomEvent {
  type: "room";
  room: string;
  members: number;
  quiet: boolean;
}

export interface AckEvent {
  type: "ack";
  id: number;
  room: string;
  seq: number;
  ts: number;
}

export interface ErrorEvent {
  type: "error";
  code: string;
  message: string;
  fatal: boolean;
  /** The id of the message this error refers to, when it refers to one. */
  ref?: number;
}

export type ClientEvent =
  | StatusEvent
  | WelcomeEvent
  | MessageEvent
  | DirectEvent
  | NoticeEvent
  | PresenceEvent
  | MembersEvent
  | TopicEvent
  | RoomsEvent
  | RoomEvent
  | AckEvent
  | ErrorEvent;
