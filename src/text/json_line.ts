/**
 * One JSON line for the `--json` outputs: `JSON.stringify`, with every code
 * point a terminal acts on written as a `\uXXXX` escape. JSON.stringify
 * already escapes C0 controls but leaves DEL, C1 controls (U+009B is a
 * one-byte CSI), bidi controls and U+2028/U+2029 raw, so a script that
 * prints a field, or a person who cats the output, would hand the terminal
 * whatever a peer sent. The escaped line parses to the same value.
 *
 * @module
 */

import { TERMINAL_UNSAFE } from "./sanitize.ts";

const UNSAFE = new RegExp(TERMINAL_UNSAFE, "g");

function escape(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * `value` as one line of JSON (no line break in it), with no C0, DEL, C1 or
 * bidi control, nor line or paragraph separator, left raw.
 *
 * Outside strings JSON.stringify writes only ASCII punctuation, digits and
 * letters, so every such code point it leaves sits inside a string, where a
 * `\u` escape means the same character.
 */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, escape);
}
