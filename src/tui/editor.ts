/**
 * The input line editor: text plus a cursor, and the readline-style
 * editing keys. Pure: every operation returns a new state, so tests send
 * keys and compare text. The cursor is a UTF-16 offset that always sits on
 * a grapheme-cluster boundary, so one key press moves over or deletes one
 * visible character, whatever it is made of.
 *
 * @module
 */

import type { Key } from "./keys.ts";
import { graphemes } from "./width.ts";

export interface EditorState {
  readonly text: string;
  /** UTF-16 offset into `text`, on a grapheme boundary. */
  readonly cursor: number;
  /** The last text cut with Ctrl-U/K/W, for Ctrl-Y. */
  readonly killed: string;
}

export const EMPTY_EDITOR: EditorState = { text: "", cursor: 0, killed: "" };

/** An editor holding `text` with the cursor at its end. */
export function editorWith(text: string): EditorState {
  return { text, cursor: text.length, killed: "" };
}

/** Offsets of every grapheme boundary in `text`, from 0 to text.length. */
function boundaries(text: string): number[] {
  const out = [0];
  let at = 0;
  for (const g of graphemes(text)) {
    at += g.length;
    out.push(at);
  }
  return out;
}

function prevBoundary(text: string, cursor: number): number {
  const b = boundaries(text);
  for (let i = b.length - 1; i >= 0; i--) if (b[i] < cursor) return b[i];
  return 0;
}

function nextBoundary(text: string, cursor: number): number {
  for (const at of boundaries(text)) if (at > cursor) return at;
  return text.length;
}

const WORD = /[\p{L}\p{N}\p{M}_]/u;
const SPACE = /\s/u;

/** Start of the word before `cursor` (Alt-b): skip non-word characters, then word characters. */
function wordLeft(text: string, cursor: number, isWord: (g: string) => boolean): number {
  const gs = graphemes(text.slice(0, cursor));
  let i = gs.length;
  while (i > 0 && !isWord(gs[i - 1])) i--;
  while (i > 0 && isWord(gs[i - 1])) i--;
  return gs.slice(0, i).join("").length;
}

/** End of the word after `cursor` (Alt-f). */
function wordRight(text: string, cursor: number, isWord: (g: string) => boolean): number {
  const gs = graphemes(text.slice(cursor));
  let i = 0;
  while (i < gs.length && !isWord(gs[i])) i++;
  while (i < gs.length && isWord(gs[i])) i++;
  return cursor + gs.slice(0, i).join("").length;
}

const isWordChar = (g: string) => WORD.test(g);
const isNotSpace = (g: string) => !SPACE.test(g);

/** Inserts `text` at the cursor; the cursor ends after it (snapped to a boundary if it merged). */
export function insert(s: EditorState, text: string): EditorState {
  const next = s.text.slice(0, s.cursor) + text + s.text.slice(s.cursor);
  let cursor = s.cursor + text.length;
  // A combining mark typed after a letter joins its grapheme: keep the cursor on a boundary.
  const b = boundaries(next);
  if (!b.includes(cursor)) cursor = b.find((x) => x > cursor) ?? next.length;
  return { ...s, text: next, cursor };
}

function cut(s: EditorState, from: number, to: number, keep: boolean): EditorState {
  if (from === to) return s;
  const killed = keep ? s.text.slice(from, to) : s.killed;
  return { text: s.text.slice(0, from) + s.text.slice(to), cursor: from, killed };
}

function move(s: EditorState, cursor: number): EditorState {
  return cursor === s.cursor ? s : { ...s, cursor };
}

/**
 * Applies one editing key. Returns the new state, or null when `key` is not
 * an editing key (Enter, Tab, Up/Down, PgUp, Ctrl-C, ... are the caller's).
 */
export function editKey(s: EditorState, key: Key): EditorState | null {
  if (key.kind === "text") return insert(s, key.text);
  if (key.kind === "paste") return insert(s, key.text);
  const { name, ctrl, alt } = key;
  if (ctrl && !alt) {
    switch (name) {
      case "a":
        return move(s, 0);
      case "e":
        return move(s, s.text.length);
      case "b":
        return move(s, prevBoundary(s.text, s.cursor));
      case "f":
        return move(s, nextBoundary(s.text, s.cursor));
      case "u":
        return cut(s, 0, s.cursor, true);
      case "k":
        return cut(s, s.cursor, s.text.length, true);
      case "w":
        return cut(s, wordLeft(s.text, s.cursor, isNotSpace), s.cursor, true);
      case "y":
        return s.killed ? insert(s, s.killed) : s;
      case "left":
        return move(s, wordLeft(s.text, s.cursor, isWordChar));
      case "right":
        return move(s, wordRight(s.text, s.cursor, isWordChar));
      case "delete":
        return cut(s, s.cursor, wordRight(s.text, s.cursor, isWordChar), true);
    }
    return null;
  }
  if (alt && !ctrl) {
    switch (name) {
      case "b":
      case "left":
        return move(s, wordLeft(s.text, s.cursor, isWordChar));
      case "f":
      case "right":
        return move(s, wordRight(s.text, s.cursor, isWordChar));
      case "d":
        return cut(s, s.cursor, wordRight(s.text, s.cursor, isWordChar), true);
      case "backspace":
        return cut(s, wordLeft(s.text, s.cursor, isWordChar), s.cursor, true);
      case "enter":
        return insert(s, "\n");
    }
    return null;
  }
  if (ctrl || alt) return null;
  switch (name) {
    case "left":
      return move(s, prevBoundary(s.text, s.cursor));
    case "right":
      return move(s, nextBoundary(s.text, s.cursor));
    case "home":
      return move(s, 0);
    case "end":
      return move(s, s.text.length);
    case "backspace":
      return cut(s, prevBoundary(s.text, s.cursor), s.cursor, false);
    case "delete":
      return cut(s, s.cursor, nextBoundary(s.text, s.cursor), false);
  }
  return null;
}

/**
 * Cleans pasted or typed text for the input line: CR LF and CR become LF,
 * tabs become spaces, and every other control character (an escape
 * sequence inside a paste, say) is dropped.
 */
export function cleanInput(text: string): string {
  // deno-lint-ignore no-control-regex -- removing control characters is the point.
  return text.replace(/\r\n?/g, "\n").replaceAll("\t", "    ").replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, "");
}
