/**
 * Shared pieces of the durability tests (issue 4): temporary directories
 * that outlive one process (a server's data dir, a client's XDG homes reused
 * across restarts), a server started on a given port and data dir, `chat
 * tail` as a JSON-lines child, the check that a room's log is complete, and
 * the resident memory of a process.
 *
 * @module
 */

import { journalKey, replay } from "../../src/client/journal.ts";
import assert from "node:assert/strict";
import type { MessageEvent } from "../../src/client/events.ts";
import { WAIT_MS } from "./deadline.ts";
import { JsonClient } from "./json_client.ts";
import { ChatProcess, type ServerProcess, type SpawnOptions, startServer } from "./process.ts";

/** A temporary directory removed on dispose. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

export async function tempDir(prefix = "chat-e2e-dir-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/**
 * The environment that gives a client the XDG data and state dirs under
 * `dir`: pass it to every run of the same client so a restart finds its
 * journal (outbox, sequences, resume token) and cursor again.
 */
export function xdgHome(dir: string): Record<string, string> {
  return { XDG_DATA_HOME: `${dir}/data`, XDG_STATE_HOME: `${dir}/state` };
}

/**
 * `chat serve` on `port` (0: any) storing in `dataDir`, with `flags` added.
 * Without a per-client rate limit (CHAT_RATE_LIMIT=0, which a server without
 * rate limits ignores): these tests stream thousands of messages from one
 * client on purpose.
 */
export function serveOn(
  port: number,
  dataDir: string,
  flags: string[] = [],
  options: SpawnOptions = {},
): Promise<ServerProcess> {
  // The last --port wins over the --port 0 startServer passes.
  return startServer(["--data-dir", dataDir, ...flags, "--port", String(port)], {
    ...options,
    env: { CHAT_RATE_LIMIT: "0", ...options.env },
  });
}

/** Starts `chat tail --json` on `room` as `name`; its stdout is read like `chat join --json`'s. */
export function tailJson(
  port: number,
  name: string,
  flags: string[] = [],
  options: SpawnOptions = {},
): JsonClient {
  const proc = new ChatProcess(
    ["tail", "--json", "--host", "127.0.0.1", "--port", String(port), "--name", name, ...flags],
    { label: `tail ${name}`, ...options },
  );
  return new JsonClient(proc, `tail ${name}`);
}

/**
 * Asserts that `messages` are a room's log seen exactly once: sequence
 * numbers 1, 2, 3, ... with no gap and no repeat.
 */
export function assertCompleteLog(messages: readonly MessageEvent[], where: string, from = 1): void {
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].seq !== from + i) {
      const around = messages.slice(Math.max(0, i - 3), i + 3).map((m) => m.seq).join(", ");
      assert.fail(
        `${where}: message #${i} has seq ${messages[i].seq}, expected ${from + i} (around: ${around})`,
      );
    }
  }
}

/** Asserts that no two messages carry the same text, and returns the texts as a set. */
export function assertUniqueTexts(messages: readonly MessageEvent[], where: string): Set<string> {
  const seen = new Set<string>();
  for (const m of messages) {
    assert.ok(!seen.has(m.text), `${where}: ${JSON.stringify(m.text)} arrived twice (again at seq ${m.seq})`);
    seen.add(m.text);
  }
  return seen;
}

/**
 * Re-runs `check` every few milliseconds until it returns something other
 * than undefined: for state a child keeps only in a file, which announces no
 * change. Fails with `what` when `timeoutMs` passes first.
 */
export async function pollUntil<T>(
  check: () => T | undefined,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resident memory of process `pid` in bytes (Linux: VmRSS of /proc/PID/status). */
export function residentBytes(pid: number): number {
  // Through `cat`: Deno wants --allow-all to read another process's /proc files, and the test task has --allow-run.
  const out = new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdout: "piped", stderr: "null" })
    .outputSync();
  if (!out.success) throw new Error(`cannot read /proc/${pid}/status`);
  const status = new TextDecoder().decode(out.stdout);
  const m = status.match(/^VmRSS:\s+(\d+) kB$/m);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Samples a process's resident memory every `everyMs` until disposed; keeps the peak. */
export class RssSampler implements Disposable {
  readonly pid: number;
  peak = 0;
  samples = 0;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(pid: number, everyMs = 20) {
    this.pid = pid;
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    try {
      this.peak = Math.max(this.peak, residentBytes(this.pid));
      this.samples++;
    } catch {
      // The process is gone: nothing more to measure.
    }
  }

  [Symbol.dispose](): void {
    clearInterval(this.#timer);
  }
}

/** Mebibytes, for messages. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The cursor `chat tail --name NAME --room ROOM` saved on disk under `home`, if it has saved one yet. */
export function tailCursor(home: string, port: number, name: string, room: string): number | undefined {
  const path = `${home}/state/chat/tail/${
    journalKey([{ host: "127.0.0.1", port }], `${name}@${room}`)
  }.jsonl`;
  try {
    return replay(Deno.readTextFileSync(path)).lastSeq[room];
  } catch {
    return undefined;
  }
}
