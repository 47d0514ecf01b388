/**
 * Why a connection ended. Every close carries exactly one of these; logs,
 * presence events and tests show it.
 *
 * @module
 */

export const CLOSE_REASONS = [
  /** The client said BYE (or /quit). */
  "quit",
  /** The peer closed the socket without BYE. */
  "disconnected",
  /** Nothing arrived within the timeout (including during the handshake). */
  "timeout",
  /** The peer sent bytes that are not a valid frame or message. */
  "bad_frame",
  /** A frame exceeded the size limit. */
  "too_large",
  /** The first bytes were not a HELLO: an HTTP request, typed text, noise. */
  "not_chat",
  /** The outbound queue overflowed: the peer does not read fast enough. */
  "slow_consumer",
  /** Handshake refused: the server is full. */
  "server_full",
  /** Handshake refused: the name is online already. */
  "name_taken",
  /** Handshake refused: the name or a room breaks the rules. */
  "invalid_name",
  /** Handshake refused: unknown protocol version. */
  "unsupported_version",
  /** A valid frame arrived in a state that does not allow it. */
  "unexpected_frame",
  /** The server is stopping. */
  "shutdown",
  /** Reading or writing the socket failed. */
  "io_error",
  /** The same user reconnected with its resume token; this older connection is replaced. */
  "replaced",
  /** Handshake refused: wrong or missing password. */
  "auth_failed",
  /** Handshake refused, or removed: the name or address is banned. */
  "banned",
  /** An operator kicked the user. */
  "kicked",
  /** The client kept sending over the rate limit. */
  "flood",
  /** Refused before the handshake: too many connections from one address. */
  "too_many_connections",
  /** Refused at the handshake: a plaintext client on a server that requires TLS. */
  "tls_required",
  /** Handshake refused: more rooms than a client may hold, or than the server holds. */
  "too_many_rooms",
  /** Handshake refused: the message log could not be read for the client's rooms. */
  "storage_error",
  /** A bug in the server while handling one of the client's frames (logged): only that client is dropped. */
  "internal",
] as const;

export type CloseReason = typeof CLOSE_REASONS[number];

/** Closes after which the user is likely to come back: their leave waits for the grace period. */
export const UNCLEAN_CLOSES: ReadonlySet<CloseReason> = new Set<CloseReason>([
  "disconnected",
  "io_error",
  "timeout",
  "slow_consumer",
  // Not the user's doing: their client reconnects, and finds its seats kept.
  "internal",
]);
