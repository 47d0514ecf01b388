/**
 * A `chat join --json` child driven by a test: stdin lines in, client
 * events (src/client/events.ts) out, with waits that have deadlines.
 *
 * @module
 */

import type { ClientEvent, MessageEvent } from "../../src/client/events.ts";
import { WAIT_MS, waitFor } from "./deadline.ts";
import { ChatProcess, type SpawnOptions } from "./process.ts";

type EventOf<K extends ClientEvent["type"]> = Extract<ClientEvent, { type: K }>;

export class JsonClient implements AsyncDisposable {
  readonly name: string;
  readonly proc: ChatProcess;
  #events: ClientEvent[] = [];
  #cursor = 0;

  constructor(proc: ChatProcess, name: string) {
    this.proc = proc;
    this.name = name;
  }

  /**
   * Every event printed so far. Fails if a stdout line is not a JSON object
   * with a `type`: --json promises nothing else on stdout.
   */
  events(): readonly ClientEvent[] {
    const lines = this.proc.stdout.lines;
    while (this.#events.length < lines.length) {
      const line = lines[this.#events.length];
      let e: unknown;
      try {
        e = JSON.parse(line);
      } catch {
        throw new Error(`${this.name}: stdout line is not JSON: ${JSON.stringify(line)}`);
      }
      if (typeof e !== "object" || e === null || typeof (e as ClientEvent).type !== "string") {
        throw new Error(`${this.name}: stdout line is not an event object: ${line}`);
      }
      this.#events.push(e as ClientEvent);
    }
    return this.#events;
  }

  /** Events of one type so far. */
  all<K extends ClientEvent["type"]>(type: K): EventOf<K>[] {
    return this.events().filter((e): e is EventOf<K> => e.type === type);
  }

  /** Chat messages so far. */
  messages(): MessageEvent[] {
    return this.all("message");
  }

  /**
   * Waits for the next event of `type` matching `match` after the one the
   * previous call returned, so successive calls also check order.
   */
  async next<K extends ClientEvent["type"]>(
    type: K,
    match: (e: EventOf<K>) => boolean = () => true,
    timeoutMs = WAIT_MS,
  ): Promise<EventOf<K>> {
    const index = await waitFor(
      this.proc.stdout,
      () => {
        const events = this.events();
        for (let i = this.#cursor; i < events.length; i++) {
          const e = events[i];
          if (e.type === type && match(e as EventOf<K>)) return i;
        }
        return undefined;
      },
      `a ${type} event matching ${match} on ${this.name}`,
      timeoutMs,
    );
    this.#cursor = index + 1;
    return this.#events[index] as EventOf<K>;
  }

  /** Waits until `check(events)` returns a value, and returns it. */
  until<T>(
    check: (events: readonly ClientEvent[]) => T | undefined,
    what: string,
    timeoutMs = WAIT_MS,
  ): Promise<T> {
    return waitFor(this.proc.stdout, () => check(this.events()), `${what} on ${this.name}`, timeoutMs);
  }

  /** Waits until `n` chat messages have arrived and returns them. */
  waitMessages(n: number, timeoutMs = WAIT_MS): Promise<MessageEvent[]> {
    return this.until(
      (events) => {
        const got = events.filter((e): e is MessageEvent => e.type === "message");
        return got.length >= n ? got : undefined;
      },
      `${n} messages`,
      timeoutMs,
    );
  }

  /** Sends one stdin line: a message, or a /command. */
  say(line: string): Promise<void> {
    return this.proc.writeLine(line);
  }

  describe(): string {
    return this.proc.describe();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.proc[Symbol.asyncDispose]();
  }
}

export interface JoinOptions extends SpawnOptions {
  /** Extra `chat join` flags. */
  flags?: string[];
  /** Wait for the welcome event before returning (default true). */
  welcome?: boolean;
}

/**
 * Starts `chat join --json --name NAME --port PORT` (or `--host HOSTS`, a
 * list of `HOST:PORT`) with stdin held open, and (by default) waits until the
 * server has welcomed it.
 */
export async function joinJson(
  port: number | string,
  name: string,
  options: JoinOptions = {},
): Promise<JsonClient> {
  const { flags = [], welcome = true, ...spawn } = options;
  const where = typeof port === "string" ? ["--host", port] : ["--host", "127.0.0.1", "--port", String(port)];
  const proc = new ChatProcess(["join", "--json", ...where, "--name", name, ...flags], {
    label: name,
    ...spawn,
  });
  const client = new JsonClient(proc, name);
  if (!welcome) return client;
  try {
    await client.next("welcome");
    return client;
  } catch (err) {
    await proc[Symbol.asyncDispose]();
    throw err;
  }
}
