/**
 * The NATS servers a `--cluster` option names, checked before anything dials them.
 *
 * @module
 */

import { UsageError } from "./options.ts";

/**
 * Each --cluster server is `nats://HOST[:PORT]`, `tls://HOST[:PORT]` or `HOST[:PORT]` (what the NATS client
 * dials): anything else is a usage error here rather than a failed connection later.
 */
export function checkClusterUrls(servers: readonly string[]): void {
  for (const text of servers) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
    let ok = scheme === undefined || scheme === "nats" || scheme === "tls";
    if (ok) {
      try {
        const url = new URL(scheme === undefined ? `nats://${text}` : text);
        ok = url.hostname !== "" && (url.pathname === "" || url.pathname === "/") && url.search === "" &&
          url.hash === "";
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      throw new UsageError(
        `invalid --cluster ${JSON.stringify(text)}: give a NATS server as nats://HOST:PORT`,
      );
    }
  }
}
