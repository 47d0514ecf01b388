/**
 * A reset flood, run as its own process so its work does not slow the test
 * that measures the server: `deno run --allow-net reset_flood.ts PORT MS`
 * opens connections to 127.0.0.1:PORT for MS milliseconds, each reset at once
 * (SO_LINGER 0, through node:net's `resetAndDestroy()`: Deno.connect cannot
 * set it), several at a time. Prints "flooding" when it starts and
 * "resets N" when it ends.
 *
 * @module
 */

import net from "node:net";

/** Connections in flight at once: enough to outrun a server's accept loop on loopback. */
const PARALLEL = 8;

/** Connects to `port` and resets the connection as soon as it is up. */
function connectAndReset(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.resetAndDestroy();
      resolve();
    });
    // A refused or failed connect counts for nothing, but must not end the flood.
    socket.on("error", () => resolve());
  });
}

if (import.meta.main) {
  const port = Number(Deno.args[0]);
  const until = Date.now() + Number(Deno.args[1]);
  let resets = 0;
  console.log("flooding");
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (Date.now() < until) {
      await connectAndReset(port);
      resets++;
    }
  }));
  console.log(`resets ${resets}`);
}
