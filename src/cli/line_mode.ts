/**
 * What the line modes (`chat join --plain` and `--json`, or a pipe) do with
 * each line of input: text goes to the current room or person, and lines
 * starting with "/" are the commands of the registry in
 * src/client/commands.ts, which parses them; this module only performs
 * them, on a narrow {@linkcode LinePort} so tests pass a small fake.
 *
 * A command that changes the current room takes effect for the very next
 * line, before the server has answered: the JOIN (or LEAVE) goes out on
 * the connection before that line's SEND, and the server handles one
 * connection's frames in order. So the room list (in line_view.ts) is the
 * front end's own, changed when the command is typed and corrected by what
 * the server says (a refused join).
 *
 * @module
 */

import {
  type Action,
  ALL_ROOMS,
  helpRows,
  notSupported,
  parseLine,
  type ServerFeature,
  type Target,
} from "../client/commands.ts";
import { splitText } from "../client/split.ts";
import { Feature } from "../protocol/extensions.ts";
import type { ConnectionState } from "../client/events.ts";
import { lastlog, lastlogHeading } from "../client/lastlog.ts";
import {
  describeIgnored,
  describeJoins,
  isIgnored,
  type Prefs,
  withIgnored,
  withJoins,
} from "../client/prefs.ts";
import { whoisText } from "../client/whois.ts";
import type { ModerationAction } from "../protocol/messages.ts";
import { nameKey } from "../protocol/names.ts";
import { DIRECT, dropRoom, type LineView } from "./line_view.ts";
import { formatLine } from "./lines.ts";

/** What line mode needs from ChatClient. Requests return false when there is no connection to send them on. */
export interface LinePort {
  readonly state: ConnectionState;
  send(text: string, options: { room: string; action?: boolean }): number;
  msg(to: string, text: string, options?: { action?: boolean }): number;
  join(room: string): boolean;
  leave(room: string): boolean;
  who(room: string): boolean;
  nick(name: string): boolean;
  away(text: string): boolean;
  history(room: string, before: number, limit: number): boolean;
  register(password: string): boolean;
  moderate(action: ModerationAction, target: string, durationMs: number, reason: string): boolean;
  reconnect(): void;
  oldestSeq(room: string): number | undefined;
  /** Members of `room` as the server last listed them (none in a quiet room). */
  members(room: string): readonly string[];
  /** Lists the server's rooms; false when not connected or a listing is under way. */
  list(): boolean;
  /** Asks for `room`'s topic, or (with `text`; "" clears it) sets it. */
  topic(room: string, text?: string): boolean;
  /** Whether the server announced `feature`. */
  supports(feature: ServerFeature): boolean;
  /** The longest message text the server accepts, in UTF-8 bytes: longer texts go in parts. */
  readonly maxText: number;
}

/** Where command output goes: both to stderr, so stdout carries only events. */
export interface LineOut {
  /** Output a command asked for (/help, /rooms). */
  info(text: string): void;
  /** What went wrong with a line. */
  error(text: string): void;
  /** Keeps changed preferences (/ignore, /joins) across restarts; throws an Error saying what failed. */
  savePrefs(p: Prefs): void;
}

/** The /help text of line mode: the registry's rows. */
export function lineHelp(): string {
  const rows = helpRows();
  const w = Math.max(...rows.map(([u]) => u.length)) + 2;
  return rows.map(([u, h]) => `  ${u.padEnd(w)}${h}`).join("\n");
}

/** The conversations line mode can make current, in /rooms order: the rooms, then the person talked to. */
function places(view: LineView): string[] {
  return view.current.startsWith(DIRECT) ? [...view.rooms, view.current] : [...view.rooms];
}

/** The place `target` names among `places`, or null. */
function resolve(target: Target, list: readonly string[]): string | null {
  switch (target.kind) {
    case "index":
      return list[target.index - 1] ?? null;
    case "peer":
      return `${DIRECT}${target.name}`;
    case "room":
      return list.includes(target.room) ? target.room : null;
  }
}

/**
 * Handles one input line. Returns a quit reason when the line asks to quit,
 * otherwise null.
 */
export function runLine(line: string, port: LinePort, view: LineView, out: LineOut): string | null {
  const parsed = parseLine(line.replace(/\r$/, ""));
  switch (parsed.kind) {
    case "empty":
      return null;
    case "text":
      say(parsed.text, false, port, view, out);
      return null;
    case "unknown":
      out.error(`unknown command /${parsed.name} (try /help)`);
      return null;
    case "invalid":
      out.error(parsed.error);
      return null;
    case "command":
      return perform(parsed.action, port, view, out);
  }
}

/** The room plain lines go to now, or null in a direct conversation or when in no room. */
function currentRoom(view: LineView): string | null {
  if (view.current.startsWith(DIRECT)) return null;
  return view.rooms.includes(view.current) ? view.current : view.rooms[0] ?? null;
}

/**
 * Sends `text` to the current room or person: as several messages, in order, when it is longer than the
 * server takes in one (split at lines, then words, then characters: client/split.ts).
 */
function say(text: string, action: boolean, port: LinePort, view: LineView, out: LineOut): void {
  if (view.current.startsWith(DIRECT)) {
    direct(view.current.slice(DIRECT.length), text, action, port);
    return;
  }
  const room = currentRoom(view);
  if (room === null) out.error("not in any room: /join ROOM first");
  else for (const part of splitText(text, port.maxText)) port.send(part, { room, action });
}

function direct(to: string, text: string, action: boolean, port: LinePort): void {
  for (const part of splitText(text, port.maxText)) port.msg(to, part, { action });
}

/** Reports a request that could not be sent for want of a connection. */
function sent(ok: boolean, command: string, out: LineOut): void {
  if (!ok) out.error(`/${command} needs a connection to the server; not sent`);
}

function perform(action: Action, port: LinePort, view: LineView, out: LineOut): string | null {
  switch (action.kind) {
    case "help":
      out.info(lineHelp());
      return null;
    case "who": {
      const room = action.room ?? currentRoom(view);
      if (room === null) {
        out.error(`/who: talking to ${view.current.slice(DIRECT.length)}; /who ROOM lists a room`);
      } else if (!view.rooms.includes(room) && !port.supports(Feature.WHO_ANY)) {
        out.error(`/who #${room}: ${notSupported("asking about a room you are not in")} (/join it first)`);
      } else sent(port.who(room), "who", out);
      return null;
    }
    case "join":
      if (view.rooms.includes(action.room)) {
        view.current = action.room;
      } else if (port.join(action.room)) {
        view.rooms.push(action.room);
        view.joining.push(action.room);
        view.current = action.room;
      } else {
        sent(false, "join", out);
      }
      return null;
    case "leave": {
      const target = action.target
        ? resolve(action.target, places(view))
        : view.current.startsWith(DIRECT)
        ? view.current
        : currentRoom(view);
      if (target === null) {
        out.error(`/leave: not in that room (joined: ${view.rooms.join(", ")})`);
      } else if (target.startsWith(DIRECT)) {
        // A conversation with a person is only local: back to the rooms.
        if (view.current === target) view.current = view.rooms[0] ?? "";
      } else if (port.leave(target)) {
        dropRoom(view, target);
      } else {
        sent(false, "leave", out);
      }
      return null;
    }
    case "rooms": {
      const here = view.current.startsWith(DIRECT) ? view.current : currentRoom(view);
      // Numbered as /switch N takes them; the current one starred.
      out.info(`rooms: ${places(view).map((r, i) => `${r === here ? "*" : ""}${i + 1}:${r}`).join(", ")}`);
      return null;
    }
    case "switch": {
      const target = resolve(action.target, places(view));
      if (target === null) out.error(`/switch: not in that room (joined: ${view.rooms.join(", ")})`);
      else view.current = target;
      return null;
    }
    case "me":
      say(action.text, true, port, view, out);
      return null;
    case "msg":
      direct(action.to, action.text, false, port);
      return null;
    case "query":
      view.current = `${DIRECT}${action.to}`;
      if (action.text) say(action.text, false, port, view, out);
      return null;
    case "nick":
      sent(port.nick(action.name), "nick", out);
      return null;
    case "away":
      sent(port.away(action.text), "away", out);
      return null;
    case "history": {
      // A stored conversation (its messages are numbered, so the client has seen a seq of it) pages like a room.
      const stored = view.current.startsWith(DIRECT) && port.oldestSeq(view.current) !== undefined;
      const room = currentRoom(view) ?? (stored ? view.current : null);
      if (room === null) {
        out.error("/history works in a room you are in, or a stored conversation (both names registered)");
      } else sent(port.history(room, port.oldestSeq(room) ?? 0, action.count), "history", out);
      return null;
    }
    case "register":
      sent(port.register(action.password), "register", out);
      return null;
    case "moderate":
      sent(port.moderate(action.action, action.target, action.durationMs, action.reason), action.action, out);
      return null;
    case "reconnect":
      // Waiting for the next attempt or given up: try now. A try under way or a connection: nothing to do.
      if (port.state === "disconnected" || port.state === "reconnecting") port.reconnect();
      else out.info(port.state === "connected" ? "already connected" : "already connecting");
      return null;
    case "clear":
      out.info("/clear: line mode has no window to clear");
      return null;
    case "quit":
      return action.reason;
    case "whois":
      out.info(whoisText(action.name, {
        me: view.me,
        rooms: view.rooms.map((room) => ({ room, members: port.members(room), quiet: view.quiet.has(room) })),
        away: (n) => (nameKey(n) === nameKey(view.me) ? view.myAway : view.away.get(nameKey(n)) ?? ""),
      }));
      return null;
    case "lastlog": {
      const where = view.current.startsWith(DIRECT) ? view.current : currentRoom(view) ?? "";
      const found = lastlog(view.scrollback.get(where) ?? [], action.text);
      const label = where.startsWith(DIRECT) ? where : `#${where}`;
      out.info(
        [lastlogHeading(action.text, label, found), ...found.shown.map((e) => `  ${formatLine(e, e.ts)}`)]
          .join("\n"),
      );
      return null;
    }
    case "ignore":
      if (action.name === undefined) out.info(describeIgnored(view.prefs));
      else if (nameKey(action.name) === nameKey(view.me)) out.error("/ignore: you cannot ignore yourself");
      else {
        keep(view, withIgnored(view.prefs, action.name, true), out);
        out.info(`ignoring ${action.name}: their messages and direct messages are not shown`);
      }
      return null;
    case "unignore":
      if (!isIgnored(view.prefs, action.name)) out.error(`/unignore: ${action.name} is not ignored`);
      else {
        keep(view, withIgnored(view.prefs, action.name, false), out);
        out.info(`no longer ignoring ${action.name}`);
      }
      return null;
    case "joins": {
      if (action.hide === undefined) {
        out.info(describeJoins(view.prefs));
        return null;
      }
      const room = action.room ?? currentRoom(view) ?? ALL_ROOMS;
      keep(view, withJoins(view.prefs, action.hide, room === ALL_ROOMS ? null : room), out);
      out.info(
        `join and leave lines are ${action.hide ? "hidden" : "shown"} ${
          room === ALL_ROOMS ? "in every room" : `in #${room}`
        }${action.hide ? " (--json still prints them)" : ""}`,
      );
      return null;
    }
    case "list":
      if (port.state === "connected" && !port.supports(Feature.LIST)) {
        out.error(`/list: ${notSupported("listing rooms")}`);
      } else if (port.state !== "connected") {
        sent(false, "list", out);
      } else if (!port.list()) out.error("/list: a listing is under way; wait for it to finish");
      return null;
    case "topic": {
      const room = currentRoom(view);
      if (port.state === "connected" && !port.supports(Feature.TOPIC)) {
        out.error(`/topic: ${notSupported("room topics")}`);
      } else if (room === null) {
        out.error("/topic works in a room (direct messages have no topic)");
      } else if (action.text === "" && !action.clear) {
        view.topicAsked.add(room);
        sent(port.topic(room), "topic", out);
      } else sent(port.topic(room, action.text), "topic", out);
      return null;
    }
    default: {
      const never: never = action;
      return never;
    }
  }
}

/** Takes the changed preferences, and keeps them on disk (a failure is said, the change holds for now). */
function keep(view: LineView, prefs: Prefs, out: LineOut): void {
  view.prefs = prefs;
  try {
    out.savePrefs(prefs);
  } catch (err) {
    out.error(`cannot keep this across restarts: ${(err as Error).message}`);
  }
}
