/**
 * What the message area shows: entries (chat lines, actions, presence,
 * local notices, dividers) as values, and their layout into styled rows at
 * a given width. Entries keep the text as it came from the network; layout is the
 * one place it becomes screen text, and it passes every piece through
 * {@linkcode sanitize} there, so nothing unsanitised can reach the screen.
 *
 * @module
 */

import { mentionPattern } from "../client/mention.ts";
import { sanitize } from "../text/sanitize.ts";
import { clock } from "../client/clock.ts";
import { nameColour } from "../client/colour.ts";
import { Colours, type Span, type Style } from "./style.ts";
import { stringWidth } from "./width.ts";
import { spansWidth, wrapSpans } from "./wrap.ts";

/** Delivery of a message this client sent. */
export type Delivery = "pending" | "delivered" | "refused";

export interface ChatEntry {
  kind: "chat";
  ts: number;
  from: string;
  text: string;
  action: boolean;
  /** Sent by this client. */
  mine: boolean;
  /** Mentions this user's name (only for other people's messages). */
  mention: boolean;
  history: boolean;
  /** For messages this client sent: the id ChatClient.send() returned, and how delivery went. */
  id?: number;
  delivery?: Delivery;
  /** Why the server refused it. */
  error?: string;
  /** The message's number in its room, once known: what tells a copy of it from the server apart. */
  seq?: number;
  /** From the local transcript of an earlier session: shown dimmed, above the "end of earlier" divider. */
  earlier?: boolean;
}

export interface PresenceEntry {
  kind: "presence";
  ts: number;
  event: "join" | "leave";
  name: string;
  room: string;
  reason: string;
  text: string;
}

/** A line from the client itself: notices, command output, errors. */
export interface NoticeEntry {
  kind: "notice";
  ts: number;
  text: string;
  level: "info" | "error";
}

/** A full-width rule with a label: "-- earlier: Fri 2026-01-02 -----". */
export interface DividerEntry {
  kind: "divider";
  ts: number;
  text: string;
}

export type Entry = ChatEntry | PresenceEntry | NoticeEntry | DividerEntry;

/** Splits `text` into spans, with every mention of `me` in `style`. */
function highlight(text: string, me: string, base: Style | undefined, style: Style): Span[] {
  const out: Span[] = [];
  let at = 0;
  const withBase = (t: string): Span => (base ? { text: t, style: base } : { text: t });
  for (const m of text.matchAll(mentionPattern(me))) {
    if (m.index > at) out.push(withBase(text.slice(at, m.index)));
    out.push({ text: m[0], style });
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(withBase(text.slice(at)));
  return out;
}

const DIM: Style = { dim: true };
const MENTION: Style = { bold: true, reverse: true, fg: Colours.yellow };
const s = (text: string) => sanitize(text);
const block = (text: string) => sanitize(text, { keepNewlines: true });

/** The head (time, sender) and body of an entry, as spans. */
function parts(e: Exclude<Entry, DividerEntry>, me: string): { head: Span[]; body: Span[] } {
  const time: Span = { text: `${clock(e.ts)} `, style: DIM };
  switch (e.kind) {
    case "chat": {
      const who: Style = { fg: nameColour(e.from), bold: e.mine };
      const status: Span[] = e.delivery === "pending"
        ? [{ text: " (pending)", style: DIM }]
        : e.delivery === "refused"
        ? [{ text: ` (not delivered: ${s(e.error ?? "refused")})`, style: { fg: Colours.red, bold: true } }]
        : [];
      const textStyle: Style | undefined = e.delivery === "pending"
        ? DIM
        : e.action
        ? { italic: true }
        : undefined;
      const text = e.mention ? highlight(block(e.text), me, textStyle, MENTION) : [
        textStyle ? { text: block(e.text), style: textStyle } : { text: block(e.text) },
      ];
      const mark: Span[] = e.history ? [{ text: "(history) ", style: DIM }] : [];
      if (e.action) {
        return {
          head: [time, ...mark, { text: "* ", style: { fg: Colours.magenta, bold: true } }],
          body: [{ text: s(e.from), style: who }, { text: " " }, ...text, ...status],
        };
      }
      return {
        head: [time, ...mark, { text: "<", style: DIM }, { text: s(e.from), style: who }, {
          text: "> ",
          style: DIM,
        }],
        body: [...text, ...status],
      };
    }
    case "presence": {
      if (e.event === "join") {
        return {
          head: [time, { text: "--> ", style: { fg: Colours.green, bold: true } }],
          body: [
            { text: s(e.name), style: { fg: nameColour(e.name) } },
            { text: ` joined #${s(e.room)}`, style: DIM },
          ],
        };
      }
      const why = [e.reason, e.text].filter((x) => x !== "").map(s).join(": ");
      return {
        head: [time, { text: "<-- ", style: { fg: Colours.red, bold: true } }],
        body: [
          { text: s(e.name), style: { fg: nameColour(e.name) } },
          { text: ` left #${s(e.room)}${why ? ` (${why})` : ""}`, style: DIM },
        ],
      };
    }
    case "notice":
      return e.level === "error"
        ? {
          head: [time, { text: "!! ", style: { fg: Colours.red, bold: true } }],
          body: [{ text: block(e.text), style: { fg: Colours.red } }],
        }
        : {
          head: [time, { text: "-- ", style: { fg: Colours.cyan } }],
          body: [{ text: block(e.text), style: { fg: Colours.cyan } }],
        };
  }
}

/**
 * An earlier session's message, greyed out like WeeChat's backlog: it reads
 * as context, and nothing in it (a mention, a name's colour) calls for attention.
 */
function earlier(p: { head: Span[]; body: Span[] }): { head: Span[]; body: Span[] } {
  const grey = (spans: Span[]) => spans.map((x) => ({ text: x.text, style: DIM }));
  return { head: grey(p.head), body: grey(p.body) };
}

/**
 * Lays `e` out in rows of at most `width` columns. Continuation rows, and
 * the lines of a multi-line message, are indented to where the text starts,
 * so a message reads as one block; when the head is too wide for that, they
 * are indented past the time only.
 */
export function layoutEntry(e: Entry, width: number, me: string): Span[][] {
  if (e.kind === "divider") {
    const label = `-- ${s(e.text)} `;
    return [[{ text: label + "-".repeat(Math.max(0, width - stringWidth(label))), style: DIM }]];
  }
  const { head, body } = e.kind === "chat" && e.earlier ? earlier(parts(e, me)) : parts(e, me);
  const headWidth = spansWidth(head);
  const indent = headWidth <= Math.floor(width / 2) ? headWidth : Math.min(6, Math.floor(width / 2));
  if (indent === headWidth) {
    const rows = wrapSpans(body, width - indent);
    return rows.map((r, i) => [i === 0 ? head : [{ text: " ".repeat(indent) }], r].flat());
  }
  // Narrow terminal or long name: wrap head and body together, and indent the rows after the first.
  const rows = wrapSpans([...head, ...body], width - indent);
  return rows.map((r, i) => (i === 0 ? r : [{ text: " ".repeat(indent) }, ...r]));
}
