/**
 * Where a client keeps what survives a restart: the journal (outbox,
 * sequence numbers, resume token) in the XDG state dir and the transcript in
 * the XDG data dir, per server and name.
 *
 * @module
 */

import type { MessageEvent } from "../client/events.ts";
import { FileJournal, type Journal, JournalBusyError, journalKey, MemoryJournal } from "../client/journal.ts";
import type { ServerAddress } from "../client/servers.ts";
import { transcriptDir, TranscriptWriter } from "../client/transcript.ts";
import { nameKey } from "../protocol/mod.ts";
import { dataDir, type Env, stateDir } from "./paths.ts";

export interface ClientStorage {
  journal: Journal;
  onMessage(m: MessageEvent): void;
  close(): void;
  /** Set when something could not be kept on disk: say it, but carry on in memory. */
  warning?: string;
}

/**
 * Opens the journal and transcript for `name` on `servers` (one server, or the nodes of a cluster: one journal
 * for the list). Never throws: disk trouble means memory.
 */
export function openClientStorage(env: Env, servers: readonly ServerAddress[], name: string): ClientStorage {
  const warnings: string[] = [];
  let journal: Journal = new MemoryJournal();
  const state = stateDir(env);
  if (state) {
    try {
      journal = new FileJournal(`${state}/journal/${journalKey(servers, nameKey(name))}.jsonl`);
    } catch (err) {
      warnings.push(
        err instanceof JournalBusyError
          ? `another chat client is using this name's journal (${err.message}); unsent messages will not survive a restart`
          : `cannot keep the outbox on disk: ${(err as Error).message}`,
      );
    }
  }
  const data = dataDir(env);
  let transcript: TranscriptWriter | null = data
    ? new TranscriptWriter(transcriptDir(data, servers), name)
    : null;
  return {
    journal,
    onMessage(m) {
      if (!transcript) return;
      try {
        transcript.add(m);
      } catch (err) {
        warnings.push(`transcript stopped: ${(err as Error).message}`);
        transcript = null;
      }
    },
    close() {
      journal.close();
      transcript?.close();
    },
    ...(warnings.length ? { warning: warnings.join("; ") } : {}),
  };
}
