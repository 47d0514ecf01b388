/**
 * Protocol limits. Every size check in the codec reads one of these, and
 * every one is checked before the bytes it guards are allocated or decoded.
 *
 * @module
 */

/** Bytes in the frame header: a u32 length followed by a u8 type. */
export const HEADER_SIZE = 5;

/** Default largest frame (type byte + payload): a whole frame fits one small buffer. */
export const DEFAULT_MAX_FRAME = 64 * 1024;

/** Hard ceiling on any configured frame size, so no setting lets a peer make us buffer 4 GiB. */
export const MAX_FRAME_CEILING = 16 * 1024 * 1024;

/** Default largest message text in UTF-8 bytes: a long paste, not a file transfer. */
export const DEFAULT_MAX_TEXT = 4 * 1024;

/** Longest name in Unicode code points: fits a status line and a nick column. */
export const MAX_NAME_CHARS = 32;

/** Longest room name in Unicode code points. */
export const MAX_ROOM_CHARS = 32;

/** Short strings (names, rooms, codes) carry a u8 length, so 255 bytes is the wire ceiling. */
export const MAX_SHORT_STRING = 255;

/** Longest password a server takes (REGISTER, and `chat user`: src/auth/passwords.ts holds the same bound). */
export const MAX_PASSWORD_BYTES = 1024;

/** Medium strings (error messages, reasons) carry a u16 length. */
export const MAX_MEDIUM_STRING = 65_535;

/** Rooms named in one hello: more is a client bug or an attack, not a use case. */
export const MAX_HELLO_ROOMS = 32;

/**
 * Names in one MEMBERS frame; longer lists are split into several frames. 400
 * names of at most 129 bytes (32 code points of up to 4 bytes, and a length
 * byte) fit the default 64 KiB frame; a smaller frame limit splits sooner.
 */
export const MAX_MEMBERS_PER_FRAME = 400;

/** Largest integer a u64 field may hold: JavaScript numbers are exact up to 2^53 - 1. */
export const MAX_U64_SAFE = Number.MAX_SAFE_INTEGER;

/** Most messages one FETCH may ask for: pages keep a catch-up within the outbox budget. */
export const MAX_FETCH = 500;

/**
 * Longest room topic in UTF-8 bytes: a line of a status bar, not a document (IRC servers commonly allow
 * 390, which leaves room for the rest of their 512-byte line).
 */
export const MAX_TOPIC_BYTES = 390;

/** Most rooms in one ROOMS page: a listing of the server's 10,000 rooms takes 20 round trips, not one frame. */
export const MAX_LIST_PAGE = 500;

/**
 * Conversations one CONVERSATIONS frame lists, the most recent first: 200 entries of at most 145 bytes
 * (a 128-byte name, its length byte, two u64) stay well within the default 64 KiB frame.
 */
export const MAX_CONVERSATIONS = 200;
