/**
 * The interactive client: wires a {@linkcode ChatClient}, a
 * {@linkcode Terminal} and the history file to the pure view. Keys and
 * client events go into the state, and after each batch the screen is
 * re-rendered and only the difference is written.
 *
 * @module
 */

import { ChatClient, ClientError, type ClientOptions } from "../client/client.ts";
import type { ClientEvent, MessageEvent } from "../client/events.ts";
import { FileJournal, type Journal } from "../client/journal.ts";
import type { PrefsStore } from "../client/prefs.ts";
import { type ServerAddress, serverLabel } from "../client/servers.ts";
import type { TranscriptEntry } from "../client/transcript.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { checkName } from "../protocol/names.ts";
import { sanitize } from "../text/sanitize.ts";
import { backlogEntries } from "./backlog.ts";
import { showRestored } from "./commands.ts";
import { historyLine, MAX_HISTORY, parseHistory } from "./history.ts";
import { type Key, KeyDecoder } from "./keys.ts";
import { diffFrames, type Frame, renderFrame } from "./render.ts";
import { createState, DIRECT_PREFIX, directWindow, notify, type TuiState } from "./state.ts";
import type { Terminal } from "./terminal.ts";
import { ALT_KEYS, onEvent, onKey, type Outcome, resize, showEarlier } from "./view.ts";

/** What survives a restart, for one name on one server: the journal, and the transcript writer. */
export interface TuiStorage {
  journal: Journal;
  /** Called for every room message passed on (appends it to the transcript). */
  onMessage(m: MessageEvent): void;
  close(): void;
  /** Set when something could not be kept on disk: said as a notice, and the client carries on. */
  warning?: string;
}

export interface TuiOptions {
  /** Where to connect: one server, or a cluster's nodes in order of preference (see ChatClient). */
  servers: readonly ServerAddress[];
  /** Asked for on the terminal when missing. */
  name?: string;
  rooms: string[];
  timeoutMs: number;
  reconnectAttempts: number;
  colour: boolean;
  /** Where input history is kept; none keeps it in memory only. */
  historyPath?: string;
  /** Opens the storage of `name` (once the name is known); none keeps everything in memory. */
  storage?: (name: string) => TuiStorage;
  /** Where `name`'s preferences (/ignore, /joins) are kept; none keeps them in memory only. */
  prefs?: (name: string) => PrefsStore;
  /**
   * The local transcript of `room` on this server, oldest first (a stored conversation "@peer" is `me`'s);
   * none shows no earlier messages.
   */
  transcript?: (room: string, me: string) => readonly TranscriptEntry[];
  /** Opens the connection (TLS with --tls); none: plain TCP. */
  connect?: ClientOptions["connect"];
  /** True when `connect` opens TLS connections: the status line says so. */
  tls?: boolean;
  /** Registers where lines from `connect` go (a certificate pinned on first use): the current window. */
  onNotice?: (show: (line: string) => void) => void;
  /** Sent in the HELLO: account or server password, and operator token. */
  password?: string;
  adminToken?: string;
  /** Asks for the password without echo (after AUTH_FAILED); null when it cannot or the user gives up. */
  askPassword?: () => Promise<string | null>;
}

export interface TuiIo {
  stderr(line: string): void;
  /** Resolves with the signal name on SIGINT/SIGTERM. */
  stopSignal(): Promise<string>;
}

/** How long a lone ESC waits for the rest of a sequence before it counts as the Escape key. */
const ESC_WAIT_MS = 40;
/** Events are painted at most this often; keys are painted at once. */
const EVENT_PAINT_MS = 10;

async function loadHistory(path: string | undefined): Promise<string[]> {
  if (!path) return [];
  try {
    return parseHistory(await Deno.readTextFile(path));
  } catch {
    return [];
  }
}

/** Appends lines to the history file, in order, compacting it when it has grown well past the limit. */
function historyWriter(path: string | undefined, onError: (message: string) => void) {
  let chain = Promise.resolve();
  let failed = false;
  let appended = 0;
  return {
    save(line: string, all: readonly string[]): void {
      if (!path || failed) return;
      chain = chain.then(async () => {
        const dir = path.slice(0, path.lastIndexOf("/"));
        if (dir) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
        if (++appended > MAX_HISTORY) {
          appended = 0;
          await Deno.writeTextFile(path, all.map(historyLine).join(""), { mode: 0o600 });
        } else {
          await Deno.writeTextFile(path, historyLine(line), { append: true, create: true, mode: 0o600 });
        }
      }).catch((err) => {
        failed = true;
        onError(`cannot save input history to ${path}: ${(err as Error).message}`);
      });
    },
    /** Resolves once every line saved so far is on disk (or failed). */
    flushed(): Promise<void> {
      return chain;
    },
  };
}

/**
 * Wraps an event handler so that an exception thrown in it goes to
 * `onFault` instead of up into ChatClient's read loop, where it would become
 * an unhandled rejection that leaves the terminal in raw mode.
 */
export function guarded<E extends { type: string }>(
  handle: (e: E) => void,
  onFault: (err: Error) => void,
): (e: E) => void {
  return (e) => {
    try {
      handle(e);
    } catch (err) {
      onFault(
        new Error(`while handling a "${e.type}" event: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        }),
      );
    }
  };
}

/** Asks for a name until the server's rules accept it; null at end of input. */
async function askName(term: Terminal, io: TuiIo): Promise<string | null> {
  for (;;) {
    const raw = await term.promptLine("Your name: ");
    if (raw === null) return null;
    const name = checkName(raw.trim());
    if (name.ok) return name.value;
    io.stderr(`chat join: invalid name: ${name.reason}`);
  }
}

/** Conversation windows opened again on start: the most recent ones, not every one of a year. */
export const RESTORED_CONVERSATIONS = 20;

/**
 * Fills the new state's windows with the transcript of earlier sessions, and opens again (after the rooms)
 * the windows of the stored conversations the journal knows, the most recent first, each with its
 * transcript; returns what went wrong, if anything.
 */
function loadEarlier(state: TuiState, o: TuiOptions, journal: Journal | null): string | null {
  const read = o.transcript;
  if (!read) return null;
  try {
    const peers = Object.keys(journal?.state.lastSeq ?? {}).filter((r) => r.startsWith(DIRECT_PREFIX))
      .map((room) => ({ room, earlier: read(room, state.me) }))
      .filter((c) => c.earlier.length > 0)
      .sort((a, b) => b.earlier[b.earlier.length - 1].ts - a.earlier[a.earlier.length - 1].ts)
      .slice(0, RESTORED_CONVERSATIONS);
    for (const w of state.windows) showEarlier(state, w, backlogEntries(read(w.room, state.me), state.me));
    for (const { room, earlier } of peers) {
      const w = directWindow(state, room.slice(DIRECT_PREFIX.length));
      showEarlier(state, w, backlogEntries(earlier, state.me));
    }
    return null;
  } catch (err) {
    return `cannot read the transcript: ${(err as Error).message}`;
  }
}

/**
 * Runs the interactive client until the user quits; returns the exit code.
 * A bug (an exception in event or key handling, or in painting) restores the
 * terminal, says goodbye to the server and rejects, so main reports it as an
 * internal error.
 */
export async function runTui(o: TuiOptions, io: TuiIo, term: Terminal): Promise<number> {
  // The first server is tried first; the status line follows the client to whichever it reaches.
  const server = serverLabel(o.servers[0]);
  const history = await loadHistory(o.historyPath);
  const prompted = o.name === undefined || o.name === "";
  let name = o.name ?? "";
  let state!: TuiState;
  let client!: ChatClient;
  let storage: TuiStorage | null = null;
  let prefs: PrefsStore | null = null;
  let paint: (() => void) | null = null;
  let bells = 0;
  const handle = (out: Outcome) => {
    if (out.bell) bells++;
  };
  let finish!: (r: { reason: string; code: number }) => void;
  let fail!: (err: unknown) => void;
  const finished = new Promise<{ reason: string; code: number }>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // Nobody awaits it if the client never starts; a fault before then is thrown after start() instead.
  finished.catch(() => {});
  // The first fault wins and ends the run.
  let fault: Error | null = null;
  const onFault = (err: Error) => {
    if (fault) return;
    fault = err;
    paint = null;
    fail(err);
  };
  const safely = (f: () => void) => () => {
    try {
      f();
    } catch (err) {
      onFault(err instanceof Error ? err : new Error(String(err)));
    }
  };
  let scheduled: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    if (scheduled === undefined && paint) {
      scheduled = setTimeout(
        safely(() => {
          scheduled = undefined;
          paint?.();
        }),
        EVENT_PAINT_MS,
      );
    }
  };
  const emit = guarded((e: ClientEvent) => {
    handle(onEvent(state, e, Date.now(), client));
    schedule();
  }, onFault);
  // The transcript is written from ChatClient's read loop too: the same guard.
  const record = guarded((m: MessageEvent) => storage?.onMessage(m), onFault);

  o.onNotice?.((line) => {
    notify(state, line, Date.now());
    schedule();
  });
  let password = o.password;
  // Connect before taking over the screen, so a refusal is an ordinary error message.
  for (;;) {
    if (prompted && name === "") {
      const asked = await askName(term, io);
      if (asked === null) return 1;
      name = asked;
    }
    storage = o.storage?.(name) ?? null;
    prefs = o.prefs?.(name) ?? null;
    const loaded = prefs?.load();
    const now = Date.now();
    state = createState({
      me: name,
      server,
      // The status line ends with the server: "(TLS)" there says the connection is encrypted.
      tls: o.tls ?? false,
      rooms: o.rooms,
      colour: o.colour,
      size: term.size(),
      history,
      ...(loaded ? { prefs: loaded.prefs } : {}),
    });
    const unreadable = loadEarlier(state, o, storage?.journal ?? null);
    client = new ChatClient({
      servers: o.servers,
      name,
      rooms: o.rooms,
      timeoutMs: o.timeoutMs,
      reconnectAttempts: o.reconnectAttempts,
      ...(storage ? { journal: storage.journal, onMessage: record } : {}),
      ...(o.connect ? { connect: o.connect } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(o.adminToken !== undefined ? { adminToken: o.adminToken } : {}),
    }, emit);
    for (const warning of [storage?.warning, unreadable, loaded?.warning]) {
      if (warning) notify(state, `warning: ${warning}`, now, "error");
    }
    showRestored(state, client.outbox, now);
    try {
      await client.start();
    } catch (err) {
      storage?.close();
      if (!(err instanceof ClientError)) throw err;
      // The server wrote part of this message: the terminal gets it sanitised like everything else.
      io.stderr(`chat join: ${sanitize(err.code)}: ${sanitize(err.message)}`);
      if (prompted && (err.code === ErrorCode.NAME_TAKEN || err.code === ErrorCode.INVALID_NAME)) {
        name = "";
        continue;
      }
      if (err.code === ErrorCode.AUTH_FAILED && o.askPassword) {
        // A registered name, or a server password: ask (no echo) and try again; an empty answer gives up.
        const answer = await o.askPassword();
        if (answer) {
          password = answer;
          continue;
        }
      }
      return 1;
    }
    if (fault) {
      await client.quit("");
      storage?.close();
      throw fault;
    }
    break;
  }

  const historyFile = historyWriter(o.historyPath, (message) => {
    notify(state, message, Date.now(), "error");
    schedule();
  });
  let prev: Frame | null = null;
  paint = () => {
    clearTimeout(scheduled);
    scheduled = undefined;
    const frame = renderFrame(state, Date.now());
    const bytes = diffFrames(prev, frame);
    const bell = bells > 0 ? "\x07" : "";
    bells = 0;
    if (bytes !== "" || bell !== "") term.write(bell + bytes);
    prev = frame;
  };

  const stopResize = term.onResize(safely(() => {
    resize(state, term.size());
    prev = null;
    paint?.();
  }));
  const tick = setInterval(safely(() => paint?.()), 1000);
  let escTimer: ReturnType<typeof setTimeout> | undefined;
  const decoder = new KeyDecoder({ altKeys: ALT_KEYS });
  let quitting = false;
  const applyKeys = (keys: Key[]) => {
    for (const key of keys) {
      // Keys typed while goodbyes are said go nowhere: nothing more may be sent.
      if (quitting) return;
      const out = onKey(state, key, client, Date.now());
      handle(out);
      if (out.submitted !== undefined) historyFile.save(out.submitted, state.history.entries);
      if (out.prefs) {
        try {
          prefs?.save(out.prefs);
        } catch (err) {
          notify(state, `cannot keep this across restarts: ${(err as Error).message}`, Date.now(), "error");
        }
      }
      if (out.redraw) prev = null;
      if (out.suspend) {
        term.suspend();
        resize(state, term.size());
        prev = null;
      }
      if (out.quit) {
        quitting = true;
        finish(out.quit);
        return;
      }
    }
  };

  try {
    term.enter();
    paint();
    const reading = (async () => {
      for await (const chunk of term.input()) {
        clearTimeout(escTimer);
        applyKeys(decoder.push(chunk));
        paint?.();
        if (decoder.pending) {
          escTimer = setTimeout(
            safely(() => {
              applyKeys(decoder.flush());
              paint?.();
            }),
            ESC_WAIT_MS,
          );
        }
      }
      finish({ reason: "", code: 0 });
    })();
    // A bug in key handling ends the client (terminal restored below), not silently the input.
    reading.catch((err) => onFault(err instanceof Error ? err : new Error(String(err))));
    void io.stopSignal().then((signal) =>
      finish({ reason: `interrupted (${signal})`, code: signal === "SIGINT" ? 130 : 143 })
    );

    let outcome: { reason: string; code: number };
    try {
      outcome = await finished;
    } catch (err) {
      // A bug: stop everything, give the terminal back (finally, below), and let main report it.
      quitting = true;
      paint = null;
      await client.quit("");
      throw err;
    }
    const { reason, code } = outcome;
    quitting = true;
    let exitCode = code;
    if (code === 0 && client.pending > 0 && state.connection.state === "connected") {
      notify(state, `waiting for the server to confirm ${client.pending} message(s)...`, Date.now());
      paint();
      await client.waitAcked(o.timeoutMs);
    }
    const undelivered = client.pending;
    paint = null;
    await Promise.all([client.quit(reason), historyFile.flushed()]);
    term.restore();
    if (undelivered > 0) {
      // With the journal on disk they are not lost: the next start as this name sends them.
      const kept = storage?.journal instanceof FileJournal
        ? `; they are kept and sent the next time you join ${server} as ${name}`
        : "";
      io.stderr(`chat join: ${undelivered} message(s) not delivered${kept}`);
      if (exitCode === 0) exitCode = 1;
    } else if (state.connection.state === "offline" && exitCode === 0) {
      exitCode = 1;
    }
    return exitCode;
  } finally {
    paint = null;
    clearInterval(tick);
    clearTimeout(escTimer);
    clearTimeout(scheduled);
    stopResize();
    term.restore();
    storage?.close();
  }
}
