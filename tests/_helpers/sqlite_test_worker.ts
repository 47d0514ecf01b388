/**
 * The SQLite storage worker with faults a test can ask for, by the text of
 * a message in the batch: `slow:MS ...` blocks the worker's thread for MS
 * milliseconds before the commit (as a slow fsync does), `throw: ...` makes
 * the append throw (the batch is not stored), and `crash: ...` kills the
 * worker with an uncaught error and never answers. A slow commit says when
 * it starts and ends on the BroadcastChannel {@linkcode SIGNALS}, so a test
 * can act while it runs. Passed to ThreadedSqliteStore.open() as `workerUrl`.
 *
 * @module
 */

import type { Draft, MessageLog } from "../../src/chat/ports.ts";
import { serveLog, type WorkerScope } from "../../src/store/log_worker.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";

/** The channel a slow commit announces itself on: `{ slow: "start" | "end", text }`. */
export const SIGNALS = "chat-sqlite-test-worker";

function faulty(inner: SqliteStore): MessageLog {
  return {
    id: inner.id,
    durable: inner.durable,
    append(drafts: readonly Draft[]) {
      for (const d of drafts) {
        const slow = /^slow:(\d+)/.exec(d.text);
        // Atomics.wait blocks this thread for real: nothing on it runs meanwhile, as in a slow fsync.
        if (slow) {
          const signals = new BroadcastChannel(SIGNALS);
          signals.postMessage({ slow: "start", text: d.text });
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(slow[1]));
          signals.postMessage({ slow: "end", text: d.text });
          signals.close();
        }
        if (d.text.startsWith("throw:")) throw new Error("simulated I/O failure");
        if (d.text.startsWith("crash:")) {
          queueMicrotask(() => {
            throw new Error("simulated crash");
          });
          return new Promise(() => {});
        }
      }
      return inner.append(drafts);
    },
    receipts: (refs) => inner.receipts(refs),
    page: (room, query) => inner.page(room, query),
    conversations: (key, limit) => inner.conversations(key, limit),
    prune: (now) => inner.prune(now),
    close: () => inner.close(),
  };
}

// Only when run as a worker: tests import SIGNALS from here too.
if (import.meta.main) {
  serveLog(
    self as unknown as WorkerScope,
    (o) => faulty(new SqliteStore(o.dir, o.retention, { maxBytes: o.maxBytes })),
  );
}
