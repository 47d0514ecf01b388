/**
 * /whois from what a client already knows, for every front end: the rooms
 * it shares with a user (from the member lists it keeps) and their away
 * message (from presence). The server has no WHOIS frame yet, so rooms the
 * client is not in, and quiet rooms (whose member lists are not sent), are
 * out of sight; the answer says so. Pure.
 *
 * @module
 */

import { nameKey } from "../protocol/names.ts";
import { sanitize } from "../text/sanitize.ts";

/** What a front end knows, narrowed to what /whois reads. */
export interface Known {
  me: string;
  /** The rooms joined, each with its member list; a quiet room has none. */
  rooms: ReadonlyArray<{ room: string; members: readonly string[]; quiet?: boolean }>;
  /** The away message of `name`, or "" when here. */
  away(name: string): string;
}

/**
 * The /whois answer for `name`, one line: the names and away message in it
 * come from the network, so it is sanitised (a newline in an away message
 * shows as a placeholder instead of forging a line of its own).
 */
export function whoisText(name: string, known: Known): string {
  return sanitize(whoisLine(name, known));
}

function whoisLine(name: string, known: Known): string {
  const key = nameKey(name);
  const me = nameKey(known.me) === key;
  let shown = name;
  const shared: string[] = [];
  for (const r of known.rooms) {
    const m = r.members.find((n) => nameKey(n) === key);
    if (m === undefined) continue;
    shown = m;
    shared.push(`#${r.room}`);
  }
  const quiet = known.rooms.filter((r) => r.quiet).length;
  const unseen = quiet > 0
    ? ` (${quiet} quiet room${quiet === 1 ? "" : "s"} not counted: their members are not listed)`
    : "";
  const away = known.away(shown);
  const awayText = away ? `; away: ${away}` : "";
  if (shared.length === 0 && !me) {
    return `${name} is in none of your rooms${unseen}${awayText}; this server cannot tell more yet (no WHOIS)`;
  }
  return `${shown}${me ? " (you)" : ""}: in ${shared.join(", ") || "no room"}${unseen}${
    awayText || "; here"
  }`;
}
