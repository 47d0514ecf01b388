/**
 * `chat history`: prints the local transcript of a server (what this
 * machine's clients have seen), filtered by room, text and time.
 *
 * @module
 */

import { serversLabel } from "../client/servers.ts";
import { conversationOwners, parseSince, readTranscript, transcriptDir } from "../client/transcript.ts";
import { checkName, checkRoom } from "../protocol/mod.ts";
import { type CommandIo, CONFIG_SPEC, HELP_SPEC, parseCommand, VERSION_SPEC } from "./command.ts";
import { formatLine } from "./lines.ts";
import { jsonLine } from "../text/json_line.ts";
import { checkedServers, formatOptions, UsageError } from "./options.ts";
import { dataDir } from "./paths.ts";
import { ALL_CONFIG_KEYS, HISTORY_SPECS } from "./specs.ts";

export const HISTORY_HELP = `Usage: chat history [options]

Prints the local transcript: the messages clients on this machine received
from a server, kept in $XDG_DATA_HOME/chat/transcripts. Oldest first.
Stored direct messages (between registered names) are kept too, as room
@NAME: \`--room @bob\` prints your conversation with bob. Direct messages that
are not stored (either name unregistered) are in no transcript.

Options:
${formatOptions([...HISTORY_SPECS, CONFIG_SPEC, HELP_SPEC, VERSION_SPEC])}

Exit codes: 0 printed (possibly nothing, when no message matched), 1 no
transcript of that server (or no message of that --room in it), 2 bad usage.`;

export interface HistoryIo extends CommandIo {
  stdout(line: string): void;
  stderr(line: string): void;
}

export async function history(argv: string[], io: HistoryIo): Promise<number> {
  const cmd = await parseCommand("history", argv, HISTORY_SPECS, ALL_CONFIG_KEYS, io);
  if (cmd.help) {
    io.stdout(HISTORY_HELP);
    return 0;
  }
  const o = cmd.options;
  const base = dataDir(io.env);
  if (!base) throw new UsageError("no data directory: set XDG_DATA_HOME or HOME");
  let room: string | undefined;
  let me: string | undefined;
  if (o.name !== undefined) {
    const n = checkName(o.name as string);
    if (!n.ok) throw new UsageError(`invalid --name: ${n.reason}`);
    me = n.value;
  }
  const servers = checkedServers(o);
  const dir = transcriptDir(`${base}`, servers);
  if (o.room !== undefined && (o.room as string).startsWith("@")) {
    // A stored conversation: "@" and the other person's name.
    const peer = checkName((o.room as string).slice(1));
    if (!peer.ok) throw new UsageError(`invalid --room: a conversation is @ and a name; ${peer.reason}`);
    room = `@${peer.value}`;
    if (me === undefined) {
      const owners = conversationOwners(dir, peer.value);
      if (owners.length > 1) {
        throw new UsageError(
          `several people on this machine talk with ${peer.value} (${owners.join(", ")}): choose with --name`,
        );
      }
      me = owners[0];
    }
  } else if (o.room !== undefined) {
    const r = checkRoom(o.room as string);
    if (!r.ok) throw new UsageError(`invalid --room: ${r.reason}`);
    room = r.value;
  }
  const now = Date.now();
  let since = -Infinity;
  if (o.since !== undefined) {
    const t = parseSince(o.since as string, now);
    if (t === null) {
      throw new UsageError(`--since must be a duration like 30m, 2h, 7d or an ISO date, got "${o.since}"`);
    }
    since = t;
  }
  const grep = (o.grep as string | undefined)?.toLowerCase();
  const server = serversLabel(servers);
  const missing = missingTranscript(dir, server, room, me);
  if (missing) {
    io.stderr(`chat history: ${missing}`);
    return 1;
  }
  const entries = readTranscript(dir, room, me)
    .filter((e) =>
      e.ts >= since &&
      (grep === undefined || e.text.toLowerCase().includes(grep) || e.from.toLowerCase() === grep)
    );
  const limit = o.limit as number;
  for (const e of limit > 0 ? entries.slice(-limit) : entries) {
    if (o.json) io.stdout(jsonLine({ type: "message", ...e, history: true }));
    else io.stdout(formatLine({ type: "message", ...e, history: false }, now)!);
  }
  return 0;
}

/**
 * Null when the transcript of `server` in `dir` holds messages (of `room`,
 * when given); otherwise what to say: a mistyped server or room must not look
 * like a transcript in which nothing matched.
 */
function missingTranscript(
  dir: string,
  server: string,
  room: string | undefined,
  me: string | undefined,
): string | null {
  if (readTranscript(dir, room, me).length > 0) return null;
  const rooms = [...new Set(readTranscript(dir, undefined, me).map((e) => e.room))].sort();
  if (room !== undefined && rooms.length > 0) {
    const what = room.startsWith("@")
      ? `no stored conversation with ${room.slice(1)}${me === undefined ? "" : ` of ${me}`}`
      : `no messages of #${room}`;
    return `${what} in the transcript of ${server} (rooms in it: ${
      rooms.map((r) => r.startsWith("@") ? r : `#${r}`).join(", ")
    })`;
  }
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  let known: string[] = [];
  try {
    // Directory names are HOST_PORT (see transcriptDir): shown as HOST:PORT.
    known = [...Deno.readDirSync(parent)].filter((e) => e.isDirectory).map((e) =>
      e.name.replace(/_(\d+)$/, ":$1")
    )
      .sort();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return `no transcript for ${server} in ${parent}: clients on this machine have received no message from it` +
    (known.length ? ` (transcripts exist for ${known.join(", ")}: choose one with --host and --port)` : "");
}
