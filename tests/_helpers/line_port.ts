/**
 * A ChatClient stand-in for line mode: records every request the way
 * tests/_helpers/tui.ts's FakeClient does (the same words, so one test can
 * compare the two front ends), and collects what line mode prints.
 *
 * @module
 */

import type { ConnectionState } from "../../src/client/events.ts";
import type { Prefs } from "../../src/client/prefs.ts";
import { type LineOut, runLine } from "../../src/cli/line_mode.ts";
import { type LineView, lineView } from "../../src/cli/line_view.ts";

export class FakeLinePort {
  calls: string[] = [];
  state: ConnectionState = "connected";
  oldest = new Map<string, number>();
  /** The features the server announced: none, like a server from before them, unless a test adds some. */
  features = new Set<string>();
  maxText = 4096;
  #id = 0;

  #request(call: string): boolean {
    if (this.state !== "connected") return false;
    this.calls.push(call);
    return true;
  }
  send(text: string, options: { room: string; action?: boolean }): number {
    this.calls.push(`send ${options.room}${options.action ? " action" : ""}: ${text}`);
    return ++this.#id;
  }
  msg(to: string, text: string, options: { action?: boolean } = {}): number {
    this.calls.push(`msg ${to}${options.action ? " action" : ""}: ${text}`);
    return ++this.#id;
  }
  join(room: string): boolean {
    return this.#request(`join ${room}`);
  }
  leave(room: string): boolean {
    return this.#request(`leave ${room}`);
  }
  who(room: string): boolean {
    return this.#request(`who ${room}`);
  }
  nick(name: string): boolean {
    return this.#request(`nick ${name}`);
  }
  away(text: string): boolean {
    return this.#request(`away ${text}`);
  }
  history(room: string, before: number, limit: number): boolean {
    return this.#request(`history ${room} before ${before} limit ${limit}`);
  }
  register(password: string): boolean {
    return this.#request(`register ${password}`);
  }
  moderate(action: string, target: string, durationMs: number, reason: string): boolean {
    return this.#request(`${action} ${target} ${durationMs} ${reason}`.trimEnd());
  }
  reconnect(): void {
    this.calls.push("reconnect");
  }
  oldestSeq(room: string): number | undefined {
    return this.oldest.get(room);
  }
  list(): boolean {
    return this.#request("list");
  }
  topic(room: string, text?: string): boolean {
    return this.#request(text === undefined ? `topic ${room}` : `topic ${room} = ${text}`);
  }
  supports(feature: string): boolean {
    return this.features.has(feature);
  }
  /** What members() answers, per room. */
  lists = new Map<string, string[]>();
  members(room: string): readonly string[] {
    return this.lists.get(room) ?? [];
  }
}

/** Line mode on a fake client: type lines, read what it asked and printed. */
export class LineTester {
  readonly port: FakeLinePort;
  readonly view: LineView;
  info: string[] = [];
  errors: string[] = [];
  quit: string | null = null;
  /** Every preference set saved, in order. */
  saved: Prefs[] = [];
  readonly out: LineOut = {
    info: (text) => this.info.push(text),
    error: (text) => this.errors.push(text),
    savePrefs: (p) => this.saved.push(p),
  };

  constructor(rooms: string[] = ["lobby"]) {
    this.port = new FakeLinePort();
    this.view = lineView(rooms, "alice");
  }

  /** Feeds each line as stdin would. */
  lines(...lines: string[]): this {
    for (const line of lines) {
      const r = runLine(line, this.port, this.view, this.out);
      if (r !== null) this.quit = r;
    }
    return this;
  }
}
