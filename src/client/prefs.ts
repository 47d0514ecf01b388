/**
 * What a user chose to see, kept across restarts and the same in every
 * front end: the people ignored (their room messages and direct messages are
 * not shown) and where join and leave lines are hidden. Pure values and
 * their JSON form; a front end's shell reads and writes the file.
 *
 * @module
 */

import { nameKey } from "../protocol/names.ts";

export interface Prefs {
  /** Names whose messages are not shown, as the user typed them. */
  readonly ignored: readonly string[];
  /** Whether join and leave lines are hidden: everywhere, and per room (which wins). */
  readonly joins: { readonly hidden: boolean; readonly rooms: Readonly<Record<string, boolean>> };
}

export const DEFAULT_PREFS: Prefs = { ignored: [], joins: { hidden: false, rooms: {} } };

/** Most names one list holds: a guard against a file grown by a script, not a limit anyone should reach. */
export const MAX_IGNORED = 1000;

/** The JSON kept on disk. */
export function formatPrefs(p: Prefs): string {
  return JSON.stringify({ version: 1, ignored: p.ignored, joins: p.joins }, null, 2) + "\n";
}

/** Reads what {@linkcode formatPrefs} wrote; throws a SyntaxError naming what is wrong. */
export function parsePrefs(text: string): Prefs {
  const raw = JSON.parse(text) as unknown;
  if (typeof raw !== "object" || raw === null) throw new SyntaxError("not a JSON object");
  const o = raw as Record<string, unknown>;
  const ignored = Array.isArray(o.ignored) ? o.ignored.filter((n): n is string => typeof n === "string") : [];
  const j = (typeof o.joins === "object" && o.joins !== null ? o.joins : {}) as Record<string, unknown>;
  const rooms: Record<string, boolean> = {};
  if (typeof j.rooms === "object" && j.rooms !== null) {
    for (const [room, hidden] of Object.entries(j.rooms)) {
      if (typeof hidden === "boolean") rooms[room] = hidden;
    }
  }
  return { ignored: ignored.slice(0, MAX_IGNORED), joins: { hidden: j.hidden === true, rooms } };
}

/** True when messages from `name` are not shown (names compare as the server compares them). */
export function isIgnored(p: Prefs, name: string): boolean {
  const key = nameKey(name);
  return p.ignored.some((n) => nameKey(n) === key);
}

/** `p` with `name` ignored (`on`) or not. */
export function withIgnored(p: Prefs, name: string, on: boolean): Prefs {
  const rest = p.ignored.filter((n) => nameKey(n) !== nameKey(name));
  return { ...p, ignored: on ? [...rest, name].slice(-MAX_IGNORED) : rest };
}

/** True when join and leave lines of `room` are hidden. */
export function joinsHidden(p: Prefs, room: string): boolean {
  return p.joins.rooms[room] ?? p.joins.hidden;
}

/** `p` with join and leave lines hidden or shown in `room`, or in every room (which forgets the per-room choices). */
export function withJoins(p: Prefs, hidden: boolean, room: string | null): Prefs {
  if (room === null) return { ...p, joins: { hidden, rooms: {} } };
  return { ...p, joins: { ...p.joins, rooms: { ...p.joins.rooms, [room]: hidden } } };
}

/** Where join and leave lines are hidden, in a sentence. */
export function describeJoins(p: Prefs): string {
  const rooms = Object.entries(p.joins.rooms).filter(([, hidden]) => hidden !== p.joins.hidden).map(([r]) =>
    `#${r}`
  );
  const except = rooms.length ? ` except in ${rooms.join(", ")}` : "";
  return `join and leave lines are ${p.joins.hidden ? "hidden" : "shown"} in every room${except}`;
}

/** Who is ignored, in a sentence. */
export function describeIgnored(p: Prefs): string {
  return p.ignored.length === 0
    ? "nobody is ignored (/ignore NAME hides someone's messages)"
    : `ignored: ${p.ignored.join(", ")} (/unignore NAME shows them again)`;
}

/** Where a front end keeps the preferences: a file, or memory in tests and without a state dir. */
export interface PrefsStore {
  /** The saved preferences, or the defaults; `warning` says why the file could not be read. */
  load(): { prefs: Prefs; warning?: string };
  /** Saves `p`; throws an Error saying what failed. */
  save(p: Prefs): void;
}
