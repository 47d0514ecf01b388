/**
 * Test tools for the terminal client: a fake ChatClient that records what
 * it was asked, a tester that sends keys and events to the pure view and
 * reads the screen back as text, and a tiny terminal emulator that applies
 * the bytes {@linkcode diffFrames} writes, to check them against a full
 * render.
 *
 * @module
 */

import type { ClientEvent } from "../../src/client/events.ts";
import type { Terminal } from "../../src/tui/terminal.ts";
import { WAIT_MS } from "./deadline.ts";
import { KeyDecoder } from "../../src/tui/keys.ts";
import { diffFrames, type Frame, renderFrame } from "../../src/tui/render.ts";
import { type ClientPort, createState, type StateOptions, type TuiState } from "../../src/tui/state.ts";
import { graphemes, graphemeWidth } from "../../src/tui/width.ts";
import { ALT_KEYS, onEvent, onKey, type Outcome } from "../../src/tui/view.ts";

/** A ChatClient stand-in: ids count up from 1, every call is recorded. */
export class FakeClient implements ClientPort {
  calls: string[] = [];
  sent: Array<{ id: number; text: string; room: string; action: boolean }> = [];
  /** What oldestSeq() answers, per room. */
  oldest = new Map<string, number>();
  /** The features the server announced: none, like a server from before them, unless a test adds some. */
  features = new Set<string>();
  maxText = 4096;
  #id = 0;
  send(text: string, options: { room: string; action?: boolean }): number {
    const id = ++this.#id;
    this.sent.push({ id, text, room: options.room, action: options.action ?? false });
    this.calls.push(`send ${options.room}${options.action ? " action" : ""}: ${text}`);
    return id;
  }
  msg(to: string, text: string, options: { action?: boolean } = {}): number {
    const id = ++this.#id;
    this.sent.push({ id, text, room: `@${to}`, action: options.action ?? false });
    this.calls.push(`msg ${to}${options.action ? " action" : ""}: ${text}`);
    return id;
  }
  nick(name: string): void {
    this.calls.push(`nick ${name}`);
  }
  away(text: string): void {
    this.calls.push(`away ${text}`);
  }
  history(room: string, before: number, limit: number): void {
    this.calls.push(`history ${room} before ${before} limit ${limit}`);
  }
  oldestSeq(room: string): number | undefined {
    return this.oldest.get(room);
  }
  reconnect(): void {
    this.calls.push("reconnect");
  }
  join(room: string): void {
    this.calls.push(`join ${room}`);
  }
  leave(room: string): void {
    this.calls.push(`leave ${room}`);
  }
  who(room: string): void {
    this.calls.push(`who ${room}`);
  }
  register(password: string): void {
    this.calls.push(`register ${password}`);
  }
  moderate(action: string, target: string, durationMs: number, reason: string): void {
    this.calls.push(`${action} ${target} ${durationMs} ${reason}`.trimEnd());
  }
  list(): boolean {
    this.calls.push("list");
    return true;
  }
  topic(room: string, text?: string): void {
    this.calls.push(text === undefined ? `topic ${room}` : `topic ${room} = ${text}`);
  }
  supports(feature: string): boolean {
    return this.features.has(feature);
  }
}

// deno-lint-ignore no-control-regex -- stripping SGR sequences is the point.
const SGR = /\x1b\[[0-9;]*m/g;

/** `text` without SGR sequences. */
export function stripSgr(text: string): string {
  return text.replace(SGR, "");
}

export const T0 = new Date(2026, 0, 2, 9, 30, 0).getTime();

/** The pure client with a fake ChatClient, driven by keys (as raw terminal input) and events. */
export class Tester {
  readonly state: TuiState;
  readonly client = new FakeClient();
  // The decoder as the app sets it up: only the Alt keys the client binds.
  readonly decoder = new KeyDecoder({ altKeys: ALT_KEYS });
  now = T0;
  outcomes: Outcome[] = [];
  /** The last sequence number message() used, per room: each message gets the next one unless given. */
  seqs = new Map<string, number>();

  constructor(options: Partial<StateOptions> = {}) {
    this.state = createState({
      me: "alice",
      server: "127.0.0.1:3000",
      rooms: ["lobby"],
      colour: false,
      size: { cols: 40, rows: 8 },
      ...options,
    });
  }

  /** Types raw terminal input ("\r" is Enter, "\x1b[D" Left, ...). */
  type(input: string): this {
    for (const key of this.decoder.push(new TextEncoder().encode(input))) {
      this.outcomes.push(onKey(this.state, key, this.client, this.now));
    }
    for (const key of this.decoder.flush()) this.outcomes.push(onKey(this.state, key, this.client, this.now));
    return this;
  }

  event(e: ClientEvent): this {
    this.outcomes.push(onEvent(this.state, e, this.now, this.client));
    return this;
  }

  /** A presence event in `room`: `name` joined, left (`reason`), went away or changed name (`text`). */
  presence(
    room: string,
    event: "join" | "leave" | "away" | "nick",
    name: string,
    extra: { reason?: string; text?: string } = {},
  ): this {
    return this.event({
      type: "presence",
      room,
      event,
      name,
      reason: extra.reason ?? "",
      text: extra.text ?? "",
      ts: this.now,
    });
  }

  /** The standard start: connected to #lobby with `online` there. */
  welcome(online: string[] = ["alice", "bob"]): this {
    return this.event({ type: "status", state: "connected", server: this.state.server })
      .event({
        type: "welcome",
        name: this.state.me,
        room: this.state.windows[0].room,
        rooms: this.state.windows.map((w) => w.room),
        online,
        server: this.state.server,
        reconnected: false,
      });
  }

  /** A message in `room`, numbered after the last one there (the server numbers each room 1, 2, 3, ...). */
  message(
    from: string,
    text: string,
    room = "lobby",
    extra: Partial<ClientEvent & { type: "message" }> = {},
  ): this {
    const seq = extra.seq ?? (this.seqs.get(room) ?? 0) + 1;
    this.seqs.set(room, Math.max(seq, this.seqs.get(room) ?? 0));
    return this.event({
      type: "message",
      room,
      seq,
      ts: this.now,
      from,
      text,
      action: false,
      history: false,
      ...extra,
    });
  }

  frame(): Frame {
    return renderFrame(this.state, this.now);
  }

  /** The screen as plain text rows, trailing spaces removed. */
  screen(): string[] {
    return this.frame().lines.map((l) => stripSgr(l).trimEnd());
  }

  /** The input line as shown. */
  inputLine(): string {
    const s = this.screen();
    return s[s.length - 1];
  }

  statusLine(): string {
    const s = this.screen();
    return s[s.length - 2];
  }
}

/**
 * A minimal terminal: understands what diffFrames writes (CUP, EL, ED 2,
 * DECSTBM, SU, SGR, cursor show/hide, BEL) and nothing else, and fails on
 * anything it does not understand, so stray bytes are caught.
 */
export class MiniTerminal {
  cells: string[][];
  cursor = { row: 0, col: 0 };
  #top = 0;
  #bottom: number;
  bells = 0;

  constructor(readonly cols: number, readonly rows: number) {
    this.cells = Array.from({ length: rows }, () => Array(cols).fill(" "));
    this.#bottom = rows - 1;
  }

  write(bytes: string): void {
    let i = 0;
    while (i < bytes.length) {
      if (bytes[i] === "\x07") {
        this.bells++;
        i++;
        continue;
      }
      if (bytes[i] === "\x1b") {
        // deno-lint-ignore no-control-regex -- parsing escape sequences.
        const m = bytes.slice(i).match(/^\x1b\[(\??)([0-9;]*)([A-Za-z])/);
        if (!m) {
          throw new Error(`MiniTerminal: unknown sequence at ${JSON.stringify(bytes.slice(i, i + 10))}`);
        }
        this.#csi(m[1], m[2], m[3]);
        i += m[0].length;
        continue;
      }
      if (bytes.charCodeAt(i) < 0x20) {
        throw new Error(`MiniTerminal: control 0x${bytes.charCodeAt(i).toString(16)}`);
      }
      // One grapheme at a time, from here.
      const g = graphemes(bytes.slice(i, i + 16))[0];
      this.#put(g);
      i += g.length;
    }
  }

  #put(g: string): void {
    const w = graphemeWidth(g);
    if (this.cursor.col + w > this.cols) return;
    this.cells[this.cursor.row][this.cursor.col] = g;
    if (w === 2) this.cells[this.cursor.row][this.cursor.col + 1] = "";
    this.cursor.col += w;
  }

  #csi(priv: string, params: string, final: string): void {
    const n = params.split(";").map((p) => (p === "" ? undefined : Number(p)));
    if (priv === "?") {
      if (params === "25" && (final === "h" || final === "l")) return;
      throw new Error(`MiniTerminal: unknown private mode ${params}${final}`);
    }
    switch (final) {
      case "m":
        return;
      case "H":
        this.cursor = { row: (n[0] ?? 1) - 1, col: (n[1] ?? 1) - 1 };
        return;
      case "K":
        for (let c = this.cursor.col; c < this.cols; c++) this.cells[this.cursor.row][c] = " ";
        return;
      case "J":
        if (n[0] !== 2) throw new Error(`MiniTerminal: ED ${params}`);
        this.cells = Array.from({ length: this.rows }, () => Array(this.cols).fill(" "));
        return;
      case "r":
        this.#top = (n[0] ?? 1) - 1;
        this.#bottom = (n[1] ?? this.rows) - 1;
        this.cursor = { row: 0, col: 0 };
        return;
      case "S": {
        const k = n[0] ?? 1;
        for (let j = 0; j < k; j++) {
          this.cells.splice(this.#top, 1);
          this.cells.splice(this.#bottom, 0, Array(this.cols).fill(" "));
        }
        return;
      }
    }
    throw new Error(`MiniTerminal: unknown CSI ${params}${final}`);
  }

  /** The screen as text rows, trailing spaces removed. */
  text(): string[] {
    return this.cells.map((r) => r.join("").trimEnd());
  }
}

/** Applies frames one after another through diffFrames, as the app does. */
export class Screen {
  readonly term: MiniTerminal;
  #prev: Frame | null = null;
  written: string[] = [];

  constructor(cols: number, rows: number) {
    this.term = new MiniTerminal(cols, rows);
  }

  show(frame: Frame): string {
    const bytes = diffFrames(this.#prev, frame);
    this.written.push(bytes);
    this.term.write(bytes);
    this.#prev = frame;
    return bytes;
  }
}

/** A terminal whose keyboard the test types on and whose screen it reads through a MiniTerminal. */
export class FakeTerminal implements Terminal {
  readonly screen: MiniTerminal;
  entered = 0;
  restored = 0;
  answers: string[] = [];
  #chunks: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #closed = false;

  constructor(readonly cols = 60, readonly rows = 10) {
    this.screen = new MiniTerminal(cols, rows);
  }

  size() {
    return { cols: this.cols, rows: this.rows };
  }
  write(text: string): void {
    // The enter/restore sequences are not the MiniTerminal's business; the frames are.
    if (this.entered > this.restored) this.screen.write(text);
  }
  async *input(): AsyncIterable<Uint8Array> {
    for (;;) {
      while (this.#chunks.length > 0) yield this.#chunks.shift()!;
      if (this.#closed) return;
      await new Promise<void>((r) => this.#wake = r);
    }
  }
  onResize(): () => void {
    return () => {};
  }
  enter(): void {
    this.entered++;
  }
  restore(): void {
    if (this.entered > this.restored) this.restored++;
  }
  suspend(): void {}
  promptLine(): Promise<string | null> {
    return Promise.resolve(this.answers.shift() ?? null);
  }

  type(text: string): void {
    this.#chunks.push(new TextEncoder().encode(text));
    this.#wake?.();
  }

  /** Waits until some screen row matches `pattern`. */
  async waitRow(pattern: RegExp): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!this.screen.text().some((r) => pattern.test(r))) {
      if (Date.now() > deadline) {
        throw new Error(`no row matches ${pattern}:\n${this.screen.text().join("\n")}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
