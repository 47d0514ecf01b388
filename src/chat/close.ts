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
] as const;

export type CloseReason = typeof CLOSE_REASONS[number];
