/**
 * `chat tail`: follows one room and prints every message exactly once, in
 * order, from a cursor. The cursor (the last sequence printed) is saved per
 * server, room and name, so a restarted tail continues where it stopped.
 *
 * @module
 */

import { ChatClient, ClientError } from "../client/client.ts";
import { FileJournal, type Journal, journalKey, MemoryJournal } from "../client/journal.ts";
import { checkName, checkRoom, ErrorCode, nameKey } from "../protocol/mod.ts";
import { type CommandIo, CONFIG_SPEC, HELP_SPEC, parseCommand, VERSION_SPEC } from "./command.ts";
import { errorLine, formatLine } from "./lines.ts";
import { jsonLine } from "../text/json_line.ts";
import { checkedServers, formatOptions, UsageError } from "./options.ts";
import { authFailedHint, readClientSecrets } from "./secrets.ts";
import { stateDir } from "./paths.ts";
import { ALL_CONFIG_KEYS, TAIL_SPECS } from "./specs.ts";
import { clientTls } from "./tls.ts";

export const TAIL_HELP = `Usage: chat tail [options]

Follows a room and prints each message once, in order: after --since SEQ,
else after the cursor saved by the last run with the same name, else from
the room's recent history. Keeps following (and reconnecting) until SIGINT
or SIGTERM. With several servers in --host (a cluster's nodes) it moves on to
the next when one goes away; the cursor, saved per server list, holds on
every node. It connects as a transient session: its name need not be free,
and nobody sees it join or leave. With --json, each message is one JSON object per line:
{"type":"message","room","seq","ts","from","text","action","history"}.

Options:
${formatOptions([...TAIL_SPECS, CONFIG_SPEC, HELP_SPEC, VERSION_SPEC])}

Exit codes: 0 stopped by a signal, 1 connection failed or lost for good, 2 bad usage.`;

export interface TailIo extends CommandIo {
  stdout(line: string): void;
  stderr(line: string): void;
  stopSignal(): Promise<string>;
}

export async function tail(argv: string[], io: TailIo): Promise<number> {
  const cmd = await parseCommand("tail", argv, TAIL_SPECS, ALL_CONFIG_KEYS, io);
  if (cmd.help) {
    io.stdout(TAIL_HELP);
    return 0;
  }
  const o = cmd.options;
  const name = checkName((o.name as string | undefined) || "tail");
  if (!name.ok) throw new UsageError(`invalid --name: ${name.reason}`);
  const room = checkRoom(o.room as string);
  if (!room.ok) throw new UsageError(`invalid --room: ${room.reason}`);
  const servers = checkedServers(o);

  // The cursor lives in a journal of its own per room: a tail never sends, so it holds only sequences.
  let journal: Journal = new MemoryJournal();
  const dir = stateDir(io.env);
  if (dir) {
    try {
      journal = new FileJournal(
        `${dir}/tail/${journalKey(servers, `${nameKey(name.value)}@${room.value}`)}.jsonl`,
      );
    } catch (err) {
      io.stderr(`chat tail: warning: the cursor will not be saved: ${(err as Error).message}`);
    }
  }
  if (o.since !== undefined) {
    // An explicit cursor wins over the saved one, in either direction.
    journal.state.lastSeq = { [room.value]: o.since as number };
  }
  const json = o.json as boolean;
  // The fatal error last printed: a refused handshake must not print its reason twice.
  let shownFatal: string | null = null;
  const client = new ChatClient({
    servers,
    name: name.value,
    rooms: [room.value],
    timeoutMs: o.timeout as number,
    reconnectAttempts: o.reconnectAttempts as number,
    // Holds no name and makes no presence: followers of several rooms may share one name, unseen.
    transient: true,
    journal,
    ...(await readClientSecrets(o, io)),
    ...(await clientTls(o, io, (line) => io.stderr(`chat tail: ${line}`))),
  }, (e) => {
    if (e.type === "message" && e.room === room.value) {
      io.stdout(json ? jsonLine(e) : formatLine(e, Date.now())!);
    } else if (e.type === "error") {
      io.stderr(`chat tail: ${errorLine(e)}`);
      if (e.fatal) shownFatal = `${e.code}: ${e.message}`;
    } else if (
      e.type === "status" && (e.state === "reconnecting" || e.state === "disconnected") && e.reason !== "quit"
    ) {
      io.stderr(`chat tail: ${formatLine(e, Date.now())}`);
    }
  });
  const stopped = io.stopSignal();
  try {
    const signal = await Promise.race([client.start().then(() => null), stopped]);
    if (signal !== null) {
      await client.quit("");
      return 0;
    }
  } catch (err) {
    journal.close();
    if (!(err instanceof ClientError)) throw err;
    if (shownFatal !== `${err.code}: ${err.message}`) io.stderr(`chat tail: ${errorLine(err)}`);
    if (err.code === ErrorCode.AUTH_FAILED) io.stderr(`chat tail: ${authFailedHint(o, io.env)}`);
    return 1;
  }
  const lost = client.done.then((exit) => {
    if (exit.ok) return new Promise<number>(() => {});
    io.stderr(`chat tail: ${errorLine(exit)}`);
    return 1;
  });
  const code = await Promise.race([
    lost,
    stopped.then(async () => {
      await client.quit("");
      return 0;
    }),
  ]);
  journal.close();
  return code;
}
