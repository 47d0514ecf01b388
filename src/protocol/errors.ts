/**
 * Error codes that cross the wire, and the one error class the codec throws.
 *
 * @module
 */

/**
 * Stable error codes. The string is what an ERROR frame carries and what tests
 * assert; the meaning of a code never changes once published.
 */
export const ErrorCode = {
  /** The bytes do not form a valid frame or payload. */
  BAD_FRAME: "BAD_FRAME",
  /** A frame or a message text exceeds its limit. */
  TOO_LARGE: "TOO_LARGE",
  /** Another online user holds this name (compared case-insensitively). */
  NAME_TAKEN: "NAME_TAKEN",
  /** The name breaks the name rules. */
  INVALID_NAME: "INVALID_NAME",
  /** The room name breaks the room rules. */
  INVALID_ROOM: "INVALID_ROOM",
  /** The server already holds its maximum number of clients. */
  SERVER_FULL: "SERVER_FULL",
  /** The hello names a protocol version this server does not speak. */
  UNSUPPORTED_VERSION: "UNSUPPORTED_VERSION",
  /** Nothing arrived from the peer within the timeout. */
  TIMEOUT: "TIMEOUT",
  /** The server is stopping. */
  SHUTTING_DOWN: "SHUTTING_DOWN",
  /** The peer did not read fast enough and its outbound queue overflowed. */
  SLOW_CONSUMER: "SLOW_CONSUMER",
  /** A frame arrived that is valid but not allowed in the current state. */
  UNEXPECTED_FRAME: "UNEXPECTED_FRAME",
  /** The frame type is unknown to this server; the frame was ignored. */
  UNKNOWN_TYPE: "UNKNOWN_TYPE",
  /** The client sent to or asked about a room it has not joined. */
  NOT_IN_ROOM: "NOT_IN_ROOM",
  /** The client asked to join more rooms than allowed. */
  TOO_MANY_ROOMS: "TOO_MANY_ROOMS",
  /** The message text is empty (invalid UTF-8 is a fatal BAD_FRAME instead). */
  INVALID_TEXT: "INVALID_TEXT",
  /** A direct message names a user who is not online. */
  NO_SUCH_USER: "NO_SUCH_USER",
  /** The password is missing or wrong (which one is not said). */
  AUTH_FAILED: "AUTH_FAILED",
  /** The name or address is banned; the message gives the reason and until when. */
  BANNED: "BANNED",
  /** An operator removed the client from the server. */
  KICKED: "KICKED",
  /** The client is muted: its messages are not accepted until the mute ends. */
  MUTED: "MUTED",
  /** Too many messages too fast: this one was dropped; sustained flooding disconnects. */
  RATE_LIMITED: "RATE_LIMITED",
  /** The request needs operator rights, or registration is disabled. */
  FORBIDDEN: "FORBIDDEN",
  /** Too many connections, or connections too fast, from one address. */
  TOO_MANY_CONNECTIONS: "TOO_MANY_CONNECTIONS",
  /** The server accepts TLS connections only (--require-tls) and this one is plaintext. */
  TLS_REQUIRED: "TLS_REQUIRED",
  /** The message could not be stored (disk full, I/O error): it was not delivered; retry later. */
  STORAGE_ERROR: "STORAGE_ERROR",
  /** The server failed internally; the request may be retried. */
  INTERNAL: "INTERNAL",
  /** A newer connection of the same user resumed this session: this one ends and must not reconnect on its own. */
  REPLACED: "REPLACED",
} as const;

/** One of the stable error codes. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** Every known code, for validation and docs. */
export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/**
 * The only error the codec throws. `code` is the wire code the server sends
 * back; `message` says what failed and why.
 */
export class ProtocolError extends Error {
  /** Stable code, see {@linkcode ErrorCode}. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
  }
}
