/**
 * The browser client's connection: one WebSocket to `/ws` (subprotocol
 * `chat.v1`, one protocol frame per binary message), driven by the pure
 * {@linkcode ClientSession}. This is the only code of the page that touches
 * the socket and the timers of the connection: it performs what each
 * session step asks (events to the page, journal entries to storage, frames
 * to the socket, in that order), sends the heartbeat, notices a silent
 * server, and reconnects with the terminal client's backoff.
 *
 * The frames are the protocol's own bytes, length and type included, so the
 * codec of src/protocol/ reads and writes them unchanged; received bytes go
 * through a {@linkcode FrameDecoder}, which also copes with a frame split
 * over two messages.
 *
 * @module
 */

import { QUICK_ATTEMPTS, reconnectDelay } from "../client/backoff.ts";
import type { JournalEntry } from "../client/journal_state.ts";
import type { ClientSession, Step } from "../client/session.ts";
import type { StatusEvent } from "../client/events.ts";
import { decodeServerMessage } from "../protocol/decode.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { FrameDecoder } from "../protocol/frame.ts";
import { MAX_FRAME_CEILING } from "../protocol/limits.ts";
import { type ClientMessage, encodeMessage } from "../protocol/messages.ts";

/** The WebSocket subprotocol of the chat protocol v1. */
export const SUBPROTOCOL = "chat.v1";

/** Silence allowed before the first WELCOME (which then says the server's timeout): it may read history. */
export const HANDSHAKE_TIMEOUT_MS = 15_000;

/** Refusals that another try would only meet again: the page stops and says why. */
export const FINAL_CODES: ReadonlySet<string> = new Set([
  ErrorCode.KICKED,
  ErrorCode.BANNED,
  ErrorCode.AUTH_FAILED,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INVALID_NAME,
  // Another tab (or device) resumed this session: taking it back would start a tug of war.
  ErrorCode.REPLACED,
]);

export interface LinkHooks {
  /** The events of a step, then its journal entries; called before the step's frames are sent. */
  step(step: Step): void;
  journal(entries: readonly JournalEntry[]): void;
  status(e: StatusEvent): void;
  /** A room's join (or catch-up) was answered: older pages may now be asked for (see {@linkcode Link.settled}). */
  settled(room: string): void;
  /** The server refused for good (a code of {@linkcode FINAL_CODES}, or any refusal of a first sign-in). */
  stopped(code: string, message: string, everWelcomed: boolean): void;
}

export class Link {
  readonly url: string;
  readonly session: ClientSession;
  readonly #hooks: LinkHooks;
  #ws: WebSocket | null = null;
  #decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #pace: ReturnType<typeof setTimeout> | undefined;
  #paceAt = 0;
  #beat: ReturnType<typeof setInterval> | undefined;
  #lastHeard = 0;
  #lastSent = 0;
  #heartbeatMs = 0;
  #timeoutMs = HANDSHAKE_TIMEOUT_MS;
  #welcomed = false;
  #everWelcomed = false;
  #stopped = false;
  #fatal: { code: string; message: string } | null = null;
  /** Rooms whose join (or catch-up) has been answered on this connection: see {@linkcode settled}. */
  #settled = new Set<string>();

  constructor(url: string, session: ClientSession, hooks: LinkHooks) {
    this.url = url;
    this.session = session;
    this.#hooks = hooks;
  }

  /** How long the server may stay silent before the connection counts as lost: its WELCOME says. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** True while welcomed on an open socket: requests can be sent. */
  get ready(): boolean {
    return this.#welcomed && this.session.ready;
  }

  /** Opens the first connection. */
  start(): void {
    this.#stopped = false;
    this.#status({ type: "status", state: "connecting", server: this.session.server });
    this.#open();
  }

  /** Sends a request (JOIN, WHO, NICK, ...); false when not connected, so the page can say so. */
  send(msg: ClientMessage): boolean {
    if (!this.ready) return false;
    if (msg.type === "join") this.#settled.delete(msg.room);
    this.#write(msg);
    return true;
  }

  /**
   * True once a FETCHED for `room` arrived on this connection: the recent
   * history of its join (or the catch-up after a resume) is in. Only then may
   * older pages be asked for: the session pairs FETCHED answers with the
   * FETCHes it sent, and a join's FETCHED answers none of them.
   */
  settled(room: string): boolean {
    return this.ready && this.#settled.has(room);
  }

  /** Performs a step the page got from the session itself (a queued message, a page of history). */
  perform(step: Step): void {
    this.#hooks.step(step);
    if (step.journal.length > 0) this.#hooks.journal(step.journal);
    for (const m of step.send) this.#write(m);
    if (step.wakeAt !== null) this.#wakeAt(step.wakeAt);
    if (step.fatal) this.#fatal = step.fatal;
  }

  /** Tries again now (after giving up, or to skip the wait). */
  reconnect(): void {
    if (this.#ws) return;
    clearTimeout(this.#retry);
    this.#stopped = false;
    this.#status({ type: "status", state: "connecting", server: this.session.server });
    this.#open();
  }

  /** Says goodbye (with `reason`) and closes for good. */
  stop(reason = ""): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    if (this.#ws && this.ready) this.#write({ type: "bye", reason });
    this.#teardown();
    this.#status({ type: "status", state: "disconnected", server: this.session.server, reason: "quit" });
  }

  #open(): void {
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, SUBPROTOCOL);
    } catch (err) {
      this.#lost(`cannot open ${this.url}: ${(err as Error).message}`, true);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.#ws = ws;
    this.#decoder = new FrameDecoder({ maxFrame: MAX_FRAME_CEILING });
    this.#welcomed = false;
    this.#fatal = null;
    this.#settled.clear();
    this.#timeoutMs = HANDSHAKE_TIMEOUT_MS;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.#lastHeard = Date.now();
      this.#write(this.session.hello());
      clearInterval(this.#beat);
      this.#beat = setInterval(() => this.#heartbeat(), 250);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.#ws !== ws || !(ev.data instanceof ArrayBuffer)) return;
      this.#lastHeard = Date.now();
      try {
        for (const frame of this.#decoder.push(new Uint8Array(ev.data))) this.#frame(frame);
      } catch (err) {
        // Malformed bytes: the stream cannot be trusted any more; a new connection resumes exactly.
        this.#fatal = null;
        ws.close(4000, "malformed frame");
        this.#closed(ws, `the server sent a malformed frame (${(err as Error).message})`, false);
      }
    };
    ws.onclose = (ev: CloseEvent) => {
      const why = this.#fatal
        ? `${this.#fatal.code}: ${this.#fatal.message}`
        : opened
        ? `the server closed the connection${ev.reason ? ` (${ev.reason})` : ""}`
        : "cannot reach the server";
      this.#closed(ws, why, !opened);
    };
  }

  #frame(frame: { type: number; payload: Uint8Array }): void {
    let m;
    try {
      m = decodeServerMessage(frame);
    } catch (err) {
      if ((err as { code?: string }).code === ErrorCode.UNKNOWN_TYPE) return; // a later version's frame
      throw err;
    }
    if (m.type === "welcome") {
      this.#heartbeatMs = m.heartbeatMs;
      this.#timeoutMs = m.timeoutMs;
    } else if (m.type === "fetched") {
      this.#settled.add(m.room);
    }
    const step = this.session.receive(m, Date.now());
    if (step.welcomed) {
      this.#welcomed = true;
      this.#everWelcomed = true;
      this.#attempt = 0;
    }
    this.perform(step);
    if (m.type === "fetched") this.#hooks.settled(m.room);
  }

  #write(msg: ClientMessage): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    this.#lastSent = Date.now();
    ws.send(encodeMessage(msg) as Uint8Array<ArrayBuffer>);
  }

  /** Calls the session's tick() at `at`: one timer, for the earliest time asked. */
  #wakeAt(at: number): void {
    if (this.#pace !== undefined && this.#paceAt <= at) return;
    clearTimeout(this.#pace);
    this.#paceAt = at;
    this.#pace = setTimeout(() => {
      this.#pace = undefined;
      this.perform(this.session.tick(Date.now()));
    }, Math.max(0, at - Date.now()));
  }

  /** Pings when we have been quiet, and gives up on a server silent past its timeout. */
  #heartbeat(): void {
    const now = Date.now();
    if (now - this.#lastHeard > this.#timeoutMs) {
      const ws = this.#ws;
      if (ws) {
        ws.close(4001, "server silent");
        this.#closed(ws, `the server was silent for ${this.#timeoutMs} ms`, false);
      }
      return;
    }
    if (this.#welcomed && this.#heartbeatMs > 0 && now - this.#lastSent >= this.#heartbeatMs) {
      this.#write({ type: "ping", token: now >>> 0 });
    }
  }

  /** The socket `ws` ended: stop, or try again after the backoff. */
  #closed(ws: WebSocket, why: string, refused: boolean): void {
    if (this.#ws !== ws) return;
    const fatal = this.#fatal;
    this.#teardown();
    if (this.#stopped) return;
    if (fatal && (FINAL_CODES.has(fatal.code) || !this.#everWelcomed)) {
      this.#stopped = true;
      this.#status({ type: "status", state: "disconnected", server: this.session.server, reason: why });
      this.#hooks.stopped(fatal.code, fatal.message, this.#everWelcomed);
      return;
    }
    this.#lost(why, refused);
  }

  #lost(why: string, refused: boolean): void {
    this.#attempt++;
    const delayMs = reconnectDelay(this.#attempt, { quick: QUICK_ATTEMPTS }, refused);
    this.#status({
      type: "status",
      state: "reconnecting",
      server: this.session.server,
      attempt: this.#attempt,
      of: 0,
      delayMs,
      reason: why,
    });
    this.#retry = setTimeout(() => this.#open(), delayMs);
  }

  #teardown(): void {
    clearInterval(this.#beat);
    clearTimeout(this.#pace);
    this.#beat = undefined;
    this.#pace = undefined;
    this.session.lost();
    this.#welcomed = false;
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
    }
  }

  #status(e: StatusEvent): void {
    this.#hooks.status(e);
  }
}
