/**
 * Name and room rules, shared by server and client so both refuse the same
 * input with the same words.
 *
 * A name is 1-32 Unicode code points after NFC normalisation, made of
 * letters, combining marks, digits and `_ - .`, starting with a letter,
 * digit or `_`. That excludes spaces, control, format (zero-width, bidi) and
 * private-use characters by construction. Rooms follow the same rules and are
 * folded to lower case.
 *
 * @module
 */

import { ErrorCode } from "./errors.ts";
import { MAX_NAME_CHARS, MAX_ROOM_CHARS } from "./limits.ts";

const ALLOWED = /^[\p{L}\p{N}_][\p{L}\p{M}\p{N}_.\-]*$/u;
// Invisible characters filed as letters or marks (U+034F, variation selectors, Hangul fillers):
// "alice\u034f" would render as "alice" yet be another user.
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;

/** Result of a name or room check. */
export type NameCheck =
  | { ok: true; value: string }
  | { ok: false; code: ErrorCode; reason: string };

function check(raw: string, what: "name" | "room", max: number): NameCheck {
  const code = what === "name" ? ErrorCode.INVALID_NAME : ErrorCode.INVALID_ROOM;
  const value = raw.normalize("NFC");
  const chars = [...value].length;
  if (chars === 0) return { ok: false, code, reason: `${what} is empty` };
  if (chars > max) return { ok: false, code, reason: `${what} has ${chars} characters, more than ${max}` };
  if (!ALLOWED.test(value) || INVISIBLE.test(value)) {
    return {
      ok: false,
      code,
      reason:
        `${what} may hold only letters, digits, '_', '-' and '.', and must start with a letter, digit or '_'`,
    };
  }
  return { ok: true, value };
}

/** Checks a user name; on success `value` is the NFC form to register. */
export function checkName(raw: string): NameCheck {
  return check(raw, "name", MAX_NAME_CHARS);
}

/** Checks a room name; on success `value` is the canonical (NFC, lower-case) room. */
export function checkRoom(raw: string): NameCheck {
  const r = check(raw, "room", MAX_ROOM_CHARS);
  return r.ok ? { ok: true, value: r.value.toLowerCase() } : r;
}

/** The key two names collide on: names differing only in case are the same user. */
export function nameKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

/** The room everyone joins when the client names none. */
export const DEFAULT_ROOM = "lobby";

/**
 * Look-alike letters folded to the Latin letter they imitate: enough of
 * Unicode's confusables (Cyrillic, Greek, digits) to stop "аlice" (Cyrillic
 * а) or "al1ce" posing as "alice". Not the full UTS #39 table.
 */
const CONFUSABLE: Record<string, string> = {
  "а": "a",
  "в": "b",
  "е": "e",
  "ё": "e",
  "к": "k",
  "м": "m",
  "н": "h",
  "о": "o",
  "р": "p",
  "с": "c",
  "т": "t",
  "у": "y",
  "х": "x",
  "ѕ": "s",
  "і": "l",
  "ї": "l",
  "ј": "j",
  "ԁ": "d",
  "ԛ": "q",
  "ԝ": "w",
  "һ": "h",
  "ɡ": "g",
  "α": "a",
  "β": "b",
  "ε": "e",
  "ι": "l",
  "κ": "k",
  "ν": "v",
  "ο": "o",
  "ρ": "p",
  "τ": "t",
  "υ": "u",
  "χ": "x",
  "0": "o",
  "1": "l",
  "i": "l",
  "|": "l",
  "5": "s",
  "ı": "l",
  "ℓ": "l",
  "_": "",
  "-": "",
  ".": "",
};

/**
 * The key two names are confusable on: NFKC, case-folded, look-alikes
 * folded, separators dropped. Two different names with one skeleton look
 * alike on screen.
 */
export function nameSkeleton(name: string): string {
  let out = "";
  for (const ch of name.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()) out += CONFUSABLE[ch] ?? ch;
  return out.replace(/rn/g, "m").replace(/vv/g, "w");
}
