/**
 * The only code that touches the real terminal: raw mode, the alternate
 * screen, bracketed paste, autowrap, resize signals, and putting all of it
 * back on every way out (return, error, unhandled rejection, Deno.exit).
 *
 * The client uses the alternate screen, like irssi and WeeChat: it owns
 * every cell while it runs, and on exit the shell's screen and scrollback
 * come back exactly as they were instead of ending under a half-drawn chat.
 * Autowrap is off while it runs, so a row the terminal measures wider than
 * we do (an emoji sequence, say) is clipped instead of wrapping onto the
 * status or input line.
 *
 * @module
 */

import type { Size } from "./state.ts";

/** What the app needs from a terminal; a test passes a fake. */
export interface Terminal {
  size(): Size;
  write(text: string): void;
  /** Raw input bytes, one chunk per read, until end of input. */
  input(): AsyncIterable<Uint8Array>;
  /** Calls `listener` when the window size changes; returns a function that stops it. */
  onResize(listener: () => void): () => void;
  /** Enters full-screen raw mode. */
  enter(): void;
  /** Restores the terminal as it was; safe to call more than once. */
  restore(): void;
  /** Ctrl-Z: gives the terminal back and stops the process like the shell's job control, then takes it again. */
  suspend(): void;
  /** Asks a question in ordinary line mode; null at end of input. */
  promptLine(question: string): Promise<string | null>;
}

const CSI = "\x1b[";
const ENTER = `${CSI}?1049h${CSI}?2004h${CSI}?7l${CSI}H${CSI}2J`;
// Bracketed paste off, scroll region reset, attributes reset, autowrap on, cursor visible, main screen.
const RESTORE = `${CSI}?2004l${CSI}r${CSI}0m${CSI}?7h${CSI}?25h${CSI}?1049l`;

const encoder = new TextEncoder();

function writeAll(text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.byteLength) off += Deno.stdout.writeSync(bytes.subarray(off));
}

async function* readStdin(): AsyncIterable<Uint8Array> {
  const buf = new Uint8Array(16 * 1024);
  for (;;) {
    const n = await Deno.stdin.read(buf);
    if (n === null) return;
    yield buf.slice(0, n);
  }
}

/** The process's terminal (stdin and stdout must both be terminals). */
export function processTerminal(): Terminal {
  let active = false;
  const restore = () => {
    if (!active) return;
    active = false;
    try {
      writeAll(RESTORE);
    } catch { /* stdout gone (terminal closed): nothing to restore */ }
    try {
      Deno.stdin.setRaw(false);
    } catch { /* stdin gone */ }
  };
  const onError = () => restore();
  return {
    size: () => {
      const { columns, rows } = Deno.consoleSize();
      return { cols: Math.max(1, columns), rows: Math.max(1, rows) };
    },
    write: writeAll,
    input: readStdin,
    onResize(listener) {
      if (Deno.build.os === "windows") return () => {};
      Deno.addSignalListener("SIGWINCH", listener);
      return () => Deno.removeSignalListener("SIGWINCH", listener);
    },
    enter() {
      if (active) return;
      Deno.stdin.setRaw(true);
      active = true;
      // Whatever ends the process, the terminal comes back first.
      globalThis.addEventListener("error", onError);
      globalThis.addEventListener("unhandledrejection", onError);
      globalThis.addEventListener("unload", onError);
      writeAll(ENTER);
    },
    suspend() {
      if (!active || Deno.build.os === "windows") return;
      restore();
      // Like a Ctrl-Z the terminal driver would send: stop the whole foreground process group. kill()
      // returns only once we are continued (or at once, if the group is orphaned and the stop discarded).
      Deno.kill(0, "SIGTSTP");
      Deno.stdin.setRaw(true);
      active = true;
      writeAll(ENTER);
    },
    restore() {
      restore();
      globalThis.removeEventListener("error", onError);
      globalThis.removeEventListener("unhandledrejection", onError);
      globalThis.removeEventListener("unload", onError);
    },
    async promptLine(question) {
      writeAll(question);
      const decoder = new TextDecoder();
      const buf = new Uint8Array(4096);
      let line = "";
      for (;;) {
        const n = await Deno.stdin.read(buf);
        if (n === null) return line === "" ? null : line;
        line += decoder.decode(buf.subarray(0, n), { stream: true });
        const nl = line.indexOf("\n");
        if (nl >= 0) return line.slice(0, nl).replace(/\r$/, "");
      }
    },
  };
}
