/**
 * Following a NATS KV bucket into memory: every node of a cluster keeps a
 * copy of the small shared tables (accounts, bans, topics) and reads it at
 * once, while a watcher applies every change made anywhere.
 *
 * @module
 */

import type { KV, KvEntry } from "npm:@nats-io/kv@3.4.0";
import { hex } from "../../protocol/hex.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** KV keys allow few characters; a name key, ban target or room is any Unicode text: hex it. */
export function keyOf(text: string): string {
  return hex(encoder.encode(text));
}

/** The text a hexed key stands for. */
export function textOf(key: string): string {
  const bytes = new Uint8Array(key.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(key.slice(i * 2, i * 2 + 2), 16);
  return decoder.decode(bytes);
}

/** What a watcher does with each entry. */
export interface WatchHandlers {
  /** A value was put: its JSON, parsed, and the JSON as it was stored. */
  put(value: unknown, json: string): void;
  /** A key was deleted or purged: the text it stood for. */
  del(text: string): void;
  /** An entry that could not be read. */
  warn(line: string): void;
}

/**
 * Follows `kv`: `put` for each value (the current ones first), `del` for each
 * deletion. Resolves once the current values have been applied.
 */
export async function watchBucket(kv: KV, on: WatchHandlers): Promise<void> {
  let current!: () => void;
  const ready = new Promise<void>((r) => current = r);
  // The watcher sends the current values first, counting down in `delta`; an empty bucket sends nothing.
  if ((await kv.status()).values === 0) current();
  const iter = await kv.watch();
  void (async () => {
    for await (const e of iter as AsyncIterable<KvEntry>) {
      if (!e.delta) current();
      if (e.operation === "PUT") {
        const json = decoder.decode(e.value);
        let value: unknown;
        try {
          value = JSON.parse(json);
        } catch {
          on.warn(`cluster: unreadable entry ${e.key} in ${e.bucket}`);
          continue;
        }
        on.put(value, json);
      } else on.del(textOf(e.key));
    }
  })();
  await ready;
}
