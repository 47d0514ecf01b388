/**
 * Entry point of the `chat` binary: hands the arguments to the CLI and exits
 * with its code. The only place that exits the process.
 *
 * @module
 */

import { internalErrorLine, run } from "./src/cli/main.ts";

if (import.meta.main) {
  let code: number;
  try {
    code = await run(Deno.args);
  } catch (err) {
    // A bug, not a user error: say so in one line, keep the stack for debugging at the end.
    console.error(internalErrorLine(err));
    if (Deno.env.get("CHAT_DEBUG")) console.error(err);
    code = 1;
  }
  Deno.exit(code);
}
