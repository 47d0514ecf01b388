/**
 * The real process behind the commands' injected I/O: stdout, stderr,
 * stdin lines, signals, files and the environment.
 *
 * @module
 */

import type { JoinIo } from "./join.ts";
import type { SendIo } from "./send.ts";
import type { UserIo } from "./user.ts";
import type { ServeIo } from "./serve.ts";
import { sanitize } from "../text/sanitize.ts";

const encoder = new TextEncoder();

/**
 * Writes one line to stdout or stderr: the only way the commands' text
 * reaches the terminal. Each line passes through the sanitiser here, so no
 * control character, C1 or bidi control reaches the terminal even if a
 * command forgot to sanitise a string from the network; what the commands
 * print themselves (sanitised lines, escaped JSON, help) is unchanged by it.
 * Newlines within a line are kept (help is one multi-line "line"); tabs
 * become spaces, so no byte below 0x20 but the newline is ever written.
 */
function writeAll(file: { writeSync(p: Uint8Array): number }, line: string): void {
  const bytes = encoder.encode(sanitize(line, { keepNewlines: true }) + "\n");
  let off = 0;
  try {
    while (off < bytes.byteLength) off += file.writeSync(bytes.subarray(off));
  } catch (err) {
    if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
    // Whoever read our output is gone (`chat tail | head -1`): nothing more can be said, so stop quietly, as a
    // program killed by SIGPIPE would, rather than with a stack trace. A closed stderr only loses the line.
    if (file === Deno.stdout) Deno.exit(0);
  }
}

async function* stdinLines(): AsyncIterable<string> {
  const decoder = new TextDecoder();
  let rest = "";
  const buf = new Uint8Array(16 * 1024);
  for (;;) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    rest += decoder.decode(buf.subarray(0, n), { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
  rest += decoder.decode();
  if (rest !== "") yield rest;
}

function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const signals: Deno.Signal[] = Deno.build.os === "windows"
      ? ["SIGINT", "SIGBREAK"]
      : ["SIGINT", "SIGTERM"];
    const handlers = signals.map((sig) => {
      const h = () => {
        for (const [s, f] of handlers) Deno.removeSignalListener(s, f);
        resolve(sig);
      };
      Deno.addSignalListener(sig, h);
      return [sig, h] as const;
    });
  });
}

/** I/O bound to this process. */
export function processIo(): ServeIo & JoinIo & SendIo & UserIo {
  return {
    env: Deno.env.toObject(),
    readTextFile: (path) => Deno.readTextFile(path),
    stdout: (line) => writeAll(Deno.stdout, line),
    stderr: (line) => writeAll(Deno.stderr, line),
    stdinLines,
    readStdin: () => new Response(Deno.stdin.readable).text(),
    stopSignal,
    isTerminal: () => Deno.stdin.isTerminal() && Deno.stdout.isTerminal(),
  };
}
