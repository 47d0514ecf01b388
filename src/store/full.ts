/**
 * What "database or disk is full" meant, and what to tell the operator.
 * SQLite says the same when the disk runs out and when the store reaches the
 * size cap of `--max-store-mb` (PRAGMA max_page_count), but the two need
 * different fixes, so the disk itself is asked: a small file is written
 * beside the store and removed. (Asking the file system for its free space,
 * statfs, would need --allow-sys, which the binary does not have.)
 *
 * @module
 */

import { dirname, join } from "node:path";
import { StoreError } from "../chat/ports.ts";

/** What the probe writes: more than a batch of messages or SQLite's shared-memory file needs. */
export const PROBE_BYTES = 1024 * 1024;

/** True when `err` says the disk (or the user's quota) has no room left. */
function isNoSpace(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT" ||
    /No space left|os error 28\b|quota exceeded/i.test(String(err));
}

/**
 * Whether the file system that holds `dir` (or would: its nearest existing
 * ancestor) takes `bytes` more: true, false when it is full, undefined when
 * the probe could not tell (no write permission there, say).
 */
export function diskHasRoom(dir: string, bytes = PROBE_BYTES): boolean | undefined {
  for (let at = dir;;) {
    const probe = join(at, `.chat-space-probe-${crypto.randomUUID()}`);
    try {
      Deno.writeFileSync(probe, new Uint8Array(bytes), { createNew: true });
      return true;
    } catch (err) {
      if (isNoSpace(err)) return false;
      const up = dirname(at);
      if (!(err instanceof Deno.errors.NotFound) || up === at) return undefined;
      at = up;
    } finally {
      try {
        Deno.removeSync(probe);
      } catch { /* never made */ }
    }
  }
}

/** `bytes` briefly, for messages: "512 KiB", "1 MiB", "1.5 MiB", "40 MiB". */
export function sizeText(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  const m = bytes / (1024 * 1024);
  return `${m >= 10 || Number.isInteger(m) ? Math.round(m) : m.toFixed(1)} MiB`;
}

/**
 * The StoreError for a "full" failure while `doing` something in a store in
 * `dir` capped at `capBytes` (0: no cap): kind "limit" when the cap was
 * reached (the disk has room), else kind "full", each saying what to do.
 * `detail` is SQLite's own words; `room` is asked of the disk unless given.
 */
export function fullError(
  doing: string,
  detail: string,
  dir: string,
  capBytes: number,
  room: boolean | undefined = capBytes > 0 ? diskHasRoom(dir) : false,
): StoreError {
  if (capBytes > 0 && room !== false) {
    return new StoreError(
      "limit",
      `${doing}: the store reached its size limit of ${
        sizeText(capBytes)
      } (--max-store-mb): raise --max-store-mb, ` +
        `or keep less history (--retention-messages, --retention-days)`,
    );
  }
  return new StoreError(
    "full",
    `${doing}: the disk holding ${dir} is full: free space on it, or move the data directory to a disk with room ` +
      `(${detail})`,
  );
}

/**
 * The words for a store that cannot be opened in `dir`: its error, and what
 * to do about it. A full disk shows at start as SQLite's "disk I/O error"
 * (it cannot create its shared-memory file), so the disk is asked whether it
 * has room (`room`, from {@linkcode diskHasRoom}) and named when it has none.
 */
export function openFailureText(err: Error, dir: string, room: boolean | undefined): string {
  if (!(err instanceof StoreError) || err.kind === "corrupt") return err.message;
  if (room === false) {
    return `cannot open the message store in ${dir}: the disk holding it is full (${err.message}). Free space on ` +
      `that disk, or start with --data-dir on a disk with room (or --ephemeral, without history)`;
  }
  if (err.kind === "io" || err.kind === "full") {
    return `cannot open the message store in ${dir} (${err.message}). Check that the disk holding it has free ` +
      `space and works, and that ${dir} is writable; or start with --data-dir elsewhere (or --ephemeral, without history)`;
  }
  return err.message;
}
