/**
 * The worker that holds the SQLite message log of a ThreadedSqliteStore
 * (src/store/sqlite_threaded.ts): its commits, and their fsyncs, run on this
 * thread, off the event loop that serves sockets. Started by URL, not
 * imported, so `deno compile` is told to include it (scripts/compile_plan.ts).
 *
 * @module
 */

import { serveLog, type WorkerScope } from "./log_worker.ts";
import { SqliteStore } from "./sqlite.ts";

serveLog(
  self as unknown as WorkerScope,
  (o) => new SqliteStore(o.dir, o.retention, { maxBytes: o.maxBytes }),
);
