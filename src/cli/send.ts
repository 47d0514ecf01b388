/**
 * `chat send`: sends one message and exits 0 only once the server has
 * acknowledged it (so it is stored), for scripts and cron jobs.
 *
 * @module
 */

import { ChatClient, ClientError } from "../client/client.ts";
import type { ClientEvent } from "../client/events.ts";
import { checkName, checkRoom, ErrorCode } from "../protocol/mod.ts";
import { type CommandIo, CONFIG_SPEC, HELP_SPEC, parseCommand, VERSION_SPEC } from "./command.ts";
import { checkedServers, formatOptions, UsageError } from "./options.ts";
import { authFailedHint, readClientSecrets } from "./secrets.ts";
import { ALL_CONFIG_KEYS, SEND_SPECS } from "./specs.ts";
import { clientTls } from "./tls.ts";
import { splitText } from "../client/split.ts";
import { jsonLine } from "../text/json_line.ts";
import { errorLine } from "./lines.ts";

export const SEND_HELP = `Usage: chat send [options] TEXT...

Sends TEXT (the arguments joined by spaces, or stdin when TEXT is "-") as
one message and exits once the server has acknowledged it. Prints the
acknowledgement as JSON on stdout: {"type":"ack","id",...,"room","seq","ts"}.
A TEXT longer than the server takes in one message (its --max-text) is sent
as several, in order, split between lines, else between words, else between
characters; one acknowledgement line is printed for each.
Everything happens within --timeout: while the server cannot be reached (not
started yet, restarting), it tries again with a growing delay until then.
With several servers in --host (a cluster's nodes), it tries them in order,
each with its share of --timeout to answer, and moves on to the next if the
one it sent through goes away before acknowledging. It connects as a
transient session: its name need not be free (several sends may use one at
once), and nobody sees it join or leave.

Options:
${formatOptions([...SEND_SPECS, CONFIG_SPEC, HELP_SPEC, VERSION_SPEC])}

Exit codes: 0 acknowledged (stored by the server), 1 not acknowledged
(refused, no connection within --timeout, timeout), 2 bad usage.`;

export interface SendIo extends CommandIo {
  stdout(line: string): void;
  stderr(line: string): void;
  readStdin(): Promise<string>;
}

export async function send(argv: string[], io: SendIo): Promise<number> {
  const cmd = await parseCommand("send", argv, SEND_SPECS, ALL_CONFIG_KEYS, io, true);
  if (cmd.help) {
    io.stdout(SEND_HELP);
    return 0;
  }
  const o = cmd.options;
  let text = cmd.positionals.join(" ");
  if (cmd.positionals.length === 1 && cmd.positionals[0] === "-") {
    text = (await io.readStdin()).replace(/\n$/, "");
  }
  if (text.trim() === "") throw new UsageError("nothing to send: give TEXT, or - to read it from stdin");
  const name = checkName((o.name as string | undefined) || "send");
  if (!name.ok) throw new UsageError(`invalid --name: ${name.reason}`);
  const room = checkRoom(o.room as string);
  if (!room.ok) throw new UsageError(`invalid --room: ${room.reason}`);
  const servers = checkedServers(o);
  const timeoutMs = o.timeout as number;
  const secrets = await readClientSecrets(o, io);
  const tls = await clientTls(o, io, (line) => io.stderr(`chat send: ${line}`));
  // One deadline for everything after the password prompt: connecting (tried again while the server cannot
  // be reached), sending, the ACK.
  const deadline = Date.now() + timeoutMs;

  // The answer to each part sent, by id.
  const answers = new Map<number, ClientEvent>();
  const client = new ChatClient({
    servers,
    name: name.value,
    rooms: [room.value],
    timeoutMs,
    // Each server gets its share of the deadline: a hung first one must leave time for the next.
    ...(servers.length > 1 ? { attemptTimeoutMs: Math.floor(timeoutMs / servers.length) } : {}),
    // No count: the deadline ends it. The quick pace throughout: a script waits for its deadline, not a person.
    reconnectAttempts: 0,
    pace: { quick: 0 },
    giveUpAt: deadline,
    // Holds no name and makes no presence: parallel sends under one name, and no joined/left lines around each.
    transient: true,
    ...secrets,
    ...tls,
  }, (e) => {
    if (e.type === "ack") answers.set(e.id, e);
    else if (e.type === "error" && e.ref !== undefined) answers.set(e.ref, e);
  });
  try {
    await client.start({ retryUntil: deadline });
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    io.stderr(`chat send: ${errorLine(err)}`);
    if (err.code === ErrorCode.AUTH_FAILED) io.stderr(`chat send: ${authFailedHint(o, io.env)}`);
    return 1;
  }
  // Parts of at most what the server takes, sent in order (the client keeps them in order through reconnects).
  const ids = splitText(text, client.maxText).map((part) =>
    client.send(part, { room: room.value, action: o.action as boolean })
  );
  const acked = await client.waitAcked(deadline - Date.now(), { fixed: true });
  await client.quit("");
  const results = ids.map((id) => answers.get(id));
  for (const r of results) if (r?.type === "ack") io.stdout(jsonLine(r));
  if (acked && results.every((r) => r?.type === "ack")) return 0;
  const refused = results.find((r) => r?.type === "error");
  if (refused) io.stderr(`chat send: ${errorLine(refused)}`);
  else io.stderr(`chat send: not acknowledged within ${timeoutMs} ms`);
  return 1;
}
