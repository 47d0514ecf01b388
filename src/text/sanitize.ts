/**
 * Makes untrusted text safe to print on a terminal. Everything that came
 * from the network passes through here before display, so no peer can move
 * the cursor, recolour, retitle or reorder another user's terminal.
 *
 * Control characters become visible placeholders instead of vanishing, so a
 * hostile message is shown for what it is: ESC prints as U+241B (␛), other
 * C0 controls as their U+2400 control pictures, C1 controls and bidi
 * overrides/isolates as U+FFFD.
 *
 * @module
 */

/**
 * The code points a terminal may act on, as a regular-expression class: C0
 * (except TAB, which {@linkcode sanitize} expands), DEL, C1, the bidi marks,
 * embeddings, overrides and isolates, and the line and paragraph separators.
 * src/text/json_line.ts escapes the same set in JSON output.
 */
export const TERMINAL_UNSAFE =
  "[\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]";

const UNSAFE = new RegExp(TERMINAL_UNSAFE, "g");

function placeholder(ch: string): string {
  const c = ch.charCodeAt(0);
  if (c < 0x20) return String.fromCharCode(0x2400 + c);
  if (c === 0x7f) return "\u2421";
  return "\ufffd";
}

export interface SanitizeOptions {
  /** Keep line feeds (for multi-line messages laid out by the caller). */
  keepNewlines?: boolean;
}

/** Returns `text` with every terminal control replaced by a visible, inert placeholder. */
export function sanitize(text: string, options: SanitizeOptions = {}): string {
  const out = text.replace(UNSAFE, (ch) => (ch === "\n" && options.keepNewlines ? ch : placeholder(ch)));
  return out.replaceAll("\t", "    ");
}
