/**
 * Plain-text rendering of client events: one readable, timestamped line per
 * event, with everything from the network sanitised. Pure.
 *
 * @module
 */

import type { ClientEvent } from "../client/events.ts";
import { sanitize } from "../text/sanitize.ts";

function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

const s = (text: string) => sanitize(text);

/** What a quiet room leaves out, said once per line that mentions one. */
const QUIET = "a quiet room, joins and leaves are not shown";

/** The member list of a welcome or members event, or the size of a quiet room. */
function who(e: { online: string[]; members?: number; quiet?: true }): string {
  return e.quiet
    ? `${e.members} members (${QUIET})`
    : `online (${e.online.length}): ${e.online.map(s).join(", ")}`;
}

/** The line that says a /join was confirmed, in place of the member list's own line. */
export function joinedLine(
  e: { room: string; online: string[]; members?: number; quiet?: true },
  now: number,
): string {
  return `${clock(now)} #${s(e.room)} -- you joined #${s(e.room)}; ${who(e)}`;
}

/**
 * The line for `e`, or null for events plain mode does not show (acks,
 * "connected", which the welcome line covers). Errors are rendered too, but
 * the caller sends them to stderr.
 */
export function formatLine(e: ClientEvent, now: number): string | null {
  switch (e.type) {
    case "message": {
      // A stored conversation's room ("@bob", in `chat history`) is no channel: no "#".
      const where = e.room.startsWith("@") ? s(e.room) : `#${s(e.room)}`;
      const head = `${clock(e.ts)} ${where}${e.history ? " (history)" : ""}`;
      return e.action ? `${head} * ${s(e.from)} ${s(e.text)}` : `${head} <${s(e.from)}> ${s(e.text)}`;
    }
    case "presence": {
      const where = e.room ? `#${s(e.room)} ` : "";
      if (e.event === "nick") {
        return `${clock(e.ts || now)} ${where}-- ${s(e.name)} is now known as ${s(e.text)}`;
      }
      if (e.event === "away") {
        return `${clock(e.ts || now)} ${where}-- ${s(e.name)} ${
          e.text ? `is away: ${s(e.text)}` : "is back"
        }`;
      }
      if (e.event === "join") return `${clock(e.ts)} #${s(e.room)} -- ${s(e.name)} joined`;
      const why = [e.reason, e.text].filter((x) => x !== "").map(s).join(": ");
      return `${clock(e.ts)} #${s(e.room)} -- ${s(e.name)} left${why ? ` (${why})` : ""}`;
    }
    case "notice":
      return `${clock(now)} -- ${e.kind === "motd" ? "message of the day" : s(e.kind)}: ${s(e.text)}`;
    case "direct": {
      const head = `${clock(e.ts)} [${s(e.from)} -> ${s(e.to)}]${e.history ? " (history)" : ""}`;
      return e.action ? `${head} * ${s(e.from)} ${s(e.text)}` : `${head} ${s(e.text)}`;
    }
    case "welcome":
      return `${clock(now)} -- ${e.reconnected ? "reconnected" : "connected"} to ${e.server}${
        e.tls ? " over TLS" : ""
      } as ${s(e.name)} in #${s(e.room)}; ${who(e)}`;
    case "members":
      return e.listing
        ? `${clock(now)} #${s(e.room)} -- (you are not in it) ${who(e)}`
        : `${clock(now)} #${s(e.room)} -- ${who(e)}`;
    case "topic":
      return e.text === ""
        ? `${clock(now)} #${s(e.room)} -- no topic`
        : `${clock(now)} #${s(e.room)} -- topic: ${s(e.text)}${e.by ? ` (set by ${s(e.by)})` : ""}`;
    case "rooms":
      // One line per room, "#lobby 3 online: topic", and a line at the end of the list.
      if (e.rooms.length === 0 && e.more) return null;
      return [
        ...e.rooms.map((r) =>
          `${clock(now)} -- #${s(r.room)} ${r.quiet ? `${r.members} members, quiet` : `${r.members} online`}${
            r.topic ? `: ${s(r.topic)}` : ""
          }`
        ),
        ...(e.more
          ? []
          : [`${clock(now)} -- end of the room list${e.truncated ? " (cut short: more rooms exist)" : ""}`]),
      ].join("\n");
    case "room":
      return e.quiet
        ? `${clock(now)} #${s(e.room)} -- ${e.members} members: ${QUIET}`
        : `${clock(now)} #${s(e.room)} -- ${e.members} members: joins and leaves are shown again`;
    case "status":
      switch (e.state) {
        case "connecting":
          return `${clock(now)} -- connecting to ${e.server}`;
        case "connected":
          return null;
        case "reconnecting":
          return `${clock(now)} -- reconnecting to ${e.server} (attempt ${e.attempt}${
            e.of ? ` of ${e.of}` : ""
          } in ${((e.delayMs ?? 0) / 1000).toFixed(1)} s)${e.reason ? `: ${s(e.reason)}` : ""}`;
        case "disconnected":
          return `${clock(now)} -- disconnected from ${e.server}${e.reason ? `: ${s(e.reason)}` : ""}`;
      }
      return null;
    case "ack":
      return null;
    case "error":
      return errorLine(e);
  }
}

/**
 * "CODE: message" for an error a server sent, or a client error that quotes
 * one: both parts come from the network (a hostile server picks its own
 * code), so both are sanitised, newlines included, and the line is one line.
 * Every command prints errors through here.
 */
export function errorLine(e: { code?: string; message?: string }): string {
  return `${s(e.code ?? "ERROR")}: ${s(e.message ?? "")}`;
}
