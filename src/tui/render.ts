/**
 * Rendering: {@linkcode renderFrame} turns the state into the rows of the
 * screen (message area, status line, input line) and where the cursor
 * goes; {@linkcode diffFrames} turns two frames into the bytes that change
 * the terminal from one to the other.
 *
 * Every row is written at an absolute position and the cursor is put back
 * on the input line after every update, so nothing that arrives can land in
 * the middle of what you are typing. When new messages push the message
 * area up, the diff scrolls just that region (a DECSTBM scroll region,
 * reset straight after) instead of rewriting every row.
 *
 * @module
 */

import { nameKey } from "../protocol/names.ts";
import { sanitize } from "../text/sanitize.ts";
import { Colours, renderSpans, type Span, type Style } from "./style.ts";
import {
  currentWindow,
  directPeer,
  entryRows,
  messageRows,
  onlineCount,
  type TuiState,
  type Window,
} from "./state.ts";
import { fitSpans, spansWidth } from "./wrap.ts";
import { graphemes, graphemeWidth, stringWidth } from "./width.ts";

export interface Frame {
  cols: number;
  rows: number;
  /** Each screen row as text with SGR sequences, at most `cols` columns wide. */
  lines: string[];
  /** Columns each line takes, to know whether it must be cleared to the end. */
  widths: number[];
  cursor: { row: number; col: number };
}

const STATUS: Style = { reverse: true };
const MARKER: Style = { fg: Colours.red, bold: true };

function markerRow(cols: number): Span[] {
  const label = "-- new messages ";
  return [{ text: (label + "-".repeat(Math.max(0, cols - label.length))).slice(0, cols), style: MARKER }];
}

/** The rows of the message area of `w`, bottom-aligned, `height` rows. */
function messageArea(state: TuiState, w: Window, height: number): Span[][] {
  if (height <= 0) return [];
  const need = height + w.scroll;
  const rows: Span[][] = [];
  for (let i = w.entries.length - 1; i >= 0 && rows.length < need; i--) {
    const er = entryRows(state, w.entries[i]);
    for (let j = er.length - 1; j >= 0; j--) rows.push(er[j]);
    if (w.marker === i) rows.push(markerRow(state.size.cols));
  }
  rows.reverse();
  const scroll = Math.min(w.scroll, Math.max(0, rows.length - height));
  const end = rows.length - scroll;
  const visible = rows.slice(Math.max(0, end - height), end);
  while (visible.length < height) visible.unshift([]);
  return visible;
}

function seconds(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))}s`;
}

/** The words for the connection state, and their colour. */
export function connectionLabel(state: TuiState, now: number): Span {
  const c = state.connection;
  switch (c.state) {
    case "connecting":
      return { text: "connecting...", style: { ...STATUS, bold: true, fg: Colours.yellow } };
    case "connected":
      return { text: "connected", style: { ...STATUS, bold: true, fg: Colours.green } };
    case "reconnecting": {
      const of = c.of > 0 ? ` of ${c.of}` : "";
      const when = c.retryAt > now ? `next try in ${seconds(c.retryAt - now)}` : "trying now";
      return {
        text: `reconnecting (attempt ${c.attempt}${of}, ${when})`,
        style: { ...STATUS, bold: true, fg: Colours.yellow },
      };
    }
    case "offline":
      return { text: "offline", style: { ...STATUS, bold: true, fg: Colours.red } };
  }
}

/** A window's name as shown: "#room" or "@person". */
export function windowName(w: Window): string {
  return directPeer(w) !== null ? sanitize(w.room) : `#${sanitize(w.room)}`;
}

/** What the status line says about the window shown. */
function windowInfo(state: TuiState, w: Window): string {
  const peer = directPeer(w);
  if (peer !== null) {
    const away = state.away.get(nameKey(peer));
    return `${windowName(w)} (${away ? `away: ${sanitize(away)}` : "direct"})`;
  }
  if (!w.joined) return `${windowName(w)} (left)`;
  // Offline, the last count is stale: who is online is unknown until the client is back.
  return state.connection.state === "connected" ? `${windowName(w)} (${onlineCount(w)})` : windowName(w);
}

/**
 * A room's topic in the status line: on one line, at most a third of the width (what is left of the line
 * is for the rooms with unread messages), cut with an ellipsis.
 */
function topicSpans(topic: string, cols: number): Span[] {
  const text = sanitize(topic);
  const max = Math.max(8, Math.floor(cols / 3));
  if (stringWidth(text) <= max) return [{ text, style: STATUS }];
  return [...fitSpans([{ text, style: STATUS }], max - 1), { text: "\u2026", style: STATUS }];
}

/** The status line: connection, my away message, window, its topic, activity elsewhere, scroll state, server. */
export function statusLine(state: TuiState, now: number): Span[] {
  const w = currentWindow(state);
  const sep: Span = { text: " | ", style: STATUS };
  const spans: Span[] = [{ text: " ", style: STATUS }, connectionLabel(state, now)];
  if (state.myAway !== "") {
    spans.push(sep, { text: `away: ${sanitize(state.myAway)}`, style: { ...STATUS, fg: Colours.yellow } });
  }
  if (state.notice && state.notice.until > now && state.connection.state === "connected") {
    spans.push(sep, { text: sanitize(state.notice.text), style: { ...STATUS, bold: true } });
  }
  spans.push(sep, { text: `${state.current + 1}:${windowInfo(state, w)}`, style: { ...STATUS, bold: true } });
  const topic = w.topic?.text ?? "";
  if (topic !== "" && directPeer(w) === null) spans.push(sep, ...topicSpans(topic, state.size.cols));
  const active = state.windows
    .map((x, i) => ({ x, i }))
    .filter(({ x, i }) => i !== state.current && x.unread > 0);
  if (active.length > 0) {
    spans.push(sep, { text: "unread: ", style: STATUS });
    active.forEach(({ x, i }, k) => {
      spans.push({
        text: `${k ? " " : ""}${i + 1}:${windowName(x)}(${x.unread}${x.mentions ? "!" : ""})`,
        style: x.mentions ? { ...STATUS, bold: true, fg: Colours.yellow } : STATUS,
      });
    });
  }
  if (w.scroll > 0) {
    spans.push(sep, {
      text: `-- more${w.below ? ` (${w.below} new)` : ""} --`,
      style: { ...STATUS, bold: true },
    });
  }
  // Last: on a narrow terminal what you can act on (rooms, unread) matters more than the address.
  spans.push(sep, { text: `${state.server}${state.tls ? " (TLS)" : ""}`, style: STATUS });
  return spans;
}

/** The input line's prompt. */
function prompt(state: TuiState): Span[] {
  const w = currentWindow(state);
  return [{ text: `[${windowName(w)}${w.joined ? "" : " (left)"}] `, style: { bold: true } }];
}

/**
 * The input line, scrolled horizontally by half a line at a time so the
 * cursor stays visible; line breaks show as a dim "↵".
 */
function inputLine(state: TuiState, cols: number): { spans: Span[]; col: number } {
  const head = prompt(state);
  const headWidth = Math.min(spansWidth(head), Math.max(0, cols - 8));
  const avail = Math.max(1, cols - headWidth);
  const { text, cursor } = state.editor;
  const cells: Array<{ g: string; w: number }> = [];
  let cursorCol = 0;
  let at = 0;
  for (const g of graphemes(text)) {
    if (at === cursor) cursorCol = cells.reduce((n, c) => n + c.w, 0);
    const shown = g === "\n" ? "\u21b5" : sanitize(g);
    cells.push({ g: shown, w: g === "\n" ? 1 : Math.max(graphemeWidth(shown), stringWidth(shown)) });
    at += g.length;
  }
  if (at <= cursor) cursorCol = cells.reduce((n, c) => n + c.w, 0);
  const step = Math.max(1, Math.floor(avail / 2));
  const start = cursorCol < avail ? 0 : (Math.floor((cursorCol - avail) / step) + 1) * step;
  const spans: Span[] = [];
  let col = 0;
  let used = 0;
  let firstCol = -1;
  for (const c of cells) {
    if (col >= start) {
      if (firstCol < 0) firstCol = col;
      if (used + c.w > avail) break;
      spans.push(c.g === "\u21b5" ? { text: c.g, style: { dim: true } } : { text: c.g });
      used += c.w;
    }
    col += c.w;
  }
  const offset = firstCol < 0 ? start : firstCol;
  return { spans: [...fitSpans(head, headWidth), ...spans], col: headWidth + cursorCol - offset };
}

/** Renders the whole screen for `state` at time `now`. */
export function renderFrame(state: TuiState, now: number): Frame {
  const { cols, rows } = state.size;
  const colour = state.colour;
  const out: Span[][] = [];
  out.push(...messageArea(state, currentWindow(state), messageRows(state)));
  if (rows >= 2) {
    const status = fitSpans(statusLine(state, now), cols);
    const pad = cols - spansWidth(status);
    if (pad > 0) status.push({ text: " ".repeat(pad), style: STATUS });
    out.push(status);
  }
  const input = inputLine(state, cols);
  out.push(input.spans);
  const lines: string[] = [];
  const widths: number[] = [];
  for (const row of out.slice(-rows)) {
    const fitted = fitSpans(row, cols);
    lines.push(renderSpans(fitted, colour));
    widths.push(spansWidth(fitted));
  }
  return { cols, rows, lines, widths, cursor: { row: lines.length - 1, col: Math.min(cols - 1, input.col) } };
}

const CSI = "\x1b[";

function writeRow(f: Frame, i: number): string {
  // Clear the rest of the row only when the text stops short: at the last column EL would erase the last cell.
  return `${CSI}${i + 1};1H${f.lines[i]}${f.widths[i] < f.cols ? `${CSI}K` : ""}`;
}

/**
 * How far the message area (rows 0..area-1) moved up between `prev` and
 * `next`: the smallest k such that the rows of `prev` from k on are the
 * first rows of `next`. 0 when there is no such shift worth scrolling for.
 */
function areaShift(prev: Frame, next: Frame, area: number): number {
  let changed = false;
  for (let i = 0; i < area && !changed; i++) changed = prev.lines[i] !== next.lines[i];
  if (!changed) return 0;
  for (let k = 1; k < area; k++) {
    let same = true;
    for (let i = 0; i + k < area; i++) {
      if (prev.lines[i + k] !== next.lines[i]) {
        same = false;
        break;
      }
    }
    // Scrolling pays off only if it saves rewriting some non-empty rows.
    if (same) return prev.lines.slice(k, area).some((l) => l !== "") ? k : 0;
  }
  return 0;
}

/**
 * The bytes that turn a screen showing `prev` into `next` (`prev` null: a
 * full repaint). Empty when nothing changed.
 */
export function diffFrames(prev: Frame | null, next: Frame): string {
  let out = "";
  const full = !prev || prev.cols !== next.cols || prev.rows !== next.rows;
  let before: Frame;
  if (full) {
    out += `${CSI}H${CSI}2J`;
    before = { ...next, lines: next.lines.map(() => ""), widths: next.lines.map(() => 0) };
  } else {
    before = prev;
    const area = Math.max(0, next.rows - 2);
    const k = area > 1 ? areaShift(prev, next, area) : 0;
    if (k > 0) {
      out += `${CSI}1;${area}r${CSI}${k}S${CSI}r`;
      const lines = [...prev.lines.slice(k, area), ...Array(k).fill(""), ...prev.lines.slice(area)];
      const widths = [...prev.widths.slice(k, area), ...Array(k).fill(0), ...prev.widths.slice(area)];
      before = { ...prev, lines, widths };
    }
  }
  for (let i = 0; i < next.lines.length; i++) {
    if (full ? next.lines[i] !== "" : before.lines[i] !== next.lines[i]) out += writeRow(next, i);
  }
  const moved = !prev || full || prev.cursor.row !== next.cursor.row || prev.cursor.col !== next.cursor.col;
  if (out === "" && !moved) return "";
  return `${CSI}?25l${out}${CSI}${next.cursor.row + 1};${next.cursor.col + 1}H${CSI}?25h`;
}
