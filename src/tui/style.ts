/**
 * Styled text: a row on screen is a list of spans, each a piece of
 * (already sanitised) text with a style. Styles become SGR escape sequences
 * only at the very end, in {@linkcode renderSpans}, which is also where
 * colour is dropped for NO_COLOR / --no-color (bold, dim and reverse stay:
 * they are not colour, and the status line and mentions rely on them).
 *
 * @module
 */

import type { Colour } from "../client/colour.ts";

export interface Style {
  fg?: Colour;
  /** Background, as the foreground code (drawn with +10). */
  bg?: Colour;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  reverse?: boolean;
}

export interface Span {
  text: string;
  style?: Style;
}

export const Colours = {
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  white: 37,
  gray: 90,
} as const;

function sgr(style: Style, colour: boolean): string {
  const codes: number[] = [];
  if (style.bold) codes.push(1);
  if (style.dim) codes.push(2);
  if (style.italic) codes.push(3);
  if (style.underline) codes.push(4);
  if (style.reverse) codes.push(7);
  if (colour && style.fg !== undefined) codes.push(style.fg);
  if (colour && style.bg !== undefined) codes.push(style.bg + 10);
  return codes.length ? `\x1b[${codes.join(";")}m` : "";
}

/** Turns spans into one string of text and SGR sequences; every styled run ends with a reset. */
export function renderSpans(spans: readonly Span[], colour: boolean): string {
  let out = "";
  for (const s of spans) {
    if (s.text === "") continue;
    const on = s.style ? sgr(s.style, colour) : "";
    out += on ? `${on}${s.text}\x1b[0m` : s.text;
  }
  return out;
}

/** The text of `spans` without styles. */
export function plainText(spans: readonly Span[]): string {
  return spans.map((s) => s.text).join("");
}
