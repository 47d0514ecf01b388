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
 * connection's frames in order. So the room list here is the front end's
 * own, changed when the command is typed and corrected by what the server
 * says (a refused join).
 *
 * @module
 */

import { type Action, helpRows, JOIN_REFUSED, parseLine, type Target } from "../client/commands.ts";
import type { ClientEvent, ConnectionState } from "../client/events.ts";
import type { ModerationAction } from "../protocol/messages.ts";

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
}

/** Where command output goes: both to stderr, so stdout carries only events. */
export interface LineOut {
  /** Output a command asked for (/help, /rooms). */
  info(text: string): void;
  /** What went wrong with a line. */
  error(text: string): void;
}

/** The front end's own state: where plain lines go, and the rooms they may go to. */
export interface LineView {
  /** A room, or "@" and a person (after /query). */
  current: string;
  /** The rooms joined or being joined, in join order. */
  rooms: string[];
  /** Rooms asked for with /join and not yet confirmed, in the order asked (the server answers in order). */
  joining: string[];
}

const DIRECT = "@";

/** The view at start: in `rooms`, the first one current. */
export function lineView(rooms: readonly string[]): LineView {
  return { current: rooms[0] ?? "", rooms: [...rooms], joining: [] };
}

/**
 * Keeps the view in step with what the server says. Returns "joined" for
 * the member list that confirms a /join (plain mode says so in its own words).
 */
export function onEvent(view: LineView, e: ClientEvent): "joined" | null {
  switch (e.type) {
    case "welcome":
      view.rooms = [...e.rooms, ...view.joining.filter((r) => !e.rooms.includes(r))];
      if (!view.current.startsWith(DIRECT) && !view.rooms.includes(view.current)) {
        view.current = view.rooms[0];
      }
      return null;
    case "members": {
      // A quiet room's answer has its size instead of a list: a members event all the same.
      const i = view.joining.indexOf(e.room);
      if (i < 0) return null;
      view.joining.splice(i, 1);
      return "joined";
    }
    case "error": {
      if (e.ref !== undefined || !JOIN_REFUSED.has(e.code) || view.joining.length === 0) return null;
      drop(view, view.joining.shift()!);
      return null;
    }
    default:
      return null;
  }
}

/** Takes `room` out of the view; the current room moves to the first one left. */
function drop(view: LineView, room: string): void {
  view.rooms = view.rooms.filter((r) => r !== room);
  view.joining = view.joining.filter((r) => r !== room);
  if (view.current === room) view.current = view.rooms[0] ?? "";
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

function say(text: string, action: boolean, port: LinePort, view: LineView, out: LineOut): void {
  if (view.current.startsWith(DIRECT)) {
    port.msg(view.current.slice(DIRECT.length), text, { action });
    return;
  }
  const room = currentRoom(view);
  if (room === null) out.error("not in any room: /join ROOM first");
  else port.send(text, { room, action });
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
        drop(view, target);
      } else {
        sent(false, "leave", out);
      }
      return null;
    }
    case "rooms": {
      const here = view.current.startsWith(DIRECT) ? view.current : currentRoom(view);
      out.info(`rooms: ${places(view).map((r) => (r === here ? `*${r}` : r)).join(", ")}`);
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
      port.msg(action.to, action.text);
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
      const room = currentRoom(view);
      if (room === null) out.error("/history works in a room you are in (direct messages are not stored)");
      else sent(port.history(room, port.oldestSeq(room) ?? 0, action.count), "history", out);
      return null;
    }
    case "register":
      sent(port.register(action.password), "register", out);
      return null;
    case "moderate":
      sent(port.moderate(action.action, action.target, action.durationMs, action.reason), action.action, out);
      return null;
    case "reconnect":
      if (port.state === "disconnected") port.reconnect();
      else out.info(port.state === "connected" ? "already connected" : "already trying to reconnect");
      return null;
    case "clear":
      out.info("/clear: line mode has no window to clear");
      return null;
    case "quit":
      return action.reason;
    default: {
      const never: never = action;
      return never;
    }
  }
}
