/**
 * Log jobs for the commit queues' tests (src/chat/commit.ts, src/chat/pipeline.ts), and their outcomes as
 * comparable lines.
 *
 * @module
 */

import type { AppendJob, LogOutcome, ProbeJob, ReadJob } from "../../src/chat/commit.ts";
import { ErrorCode } from "../../src/protocol/mod.ts";

export const append = (room: string, key: string, id: number): AppendJob => ({
  kind: "append",
  draft: { room, ts: id, flags: 0, from: key, text: `${key} ${id}`, sender: { key, id } },
  from: 1,
});
export const probe = (key: string, id: number): ProbeJob => ({
  kind: "probe",
  sender: { key, id },
  from: 1,
  refusal: { code: ErrorCode.RATE_LIMITED, message: "too fast" },
});
export const read = (token: number, ...rooms: string[]): ReadJob => ({
  kind: "read",
  to: 1,
  token,
  reads: rooms.map((room) => ({ room, query: { after: 0, before: 0, limit: 50 } })),
});

/** An outcome as one comparable line: which job, and what the log said. */
export function line(o: LogOutcome): string {
  switch (o.kind) {
    case "append": {
      const id = `append ${o.job.draft.sender.key}${o.job.draft.sender.id}`;
      const r = o.result;
      if (r.kind === "stored") return `${id}: stored ${r.message.room}#${r.message.seq}`;
      if (r.kind === "duplicate") return `${id}: duplicate of ${r.receipt.room}#${r.receipt.seq}`;
      return `${id}: failed (${r.error.kind})`;
    }
    case "probe":
      return `probe ${o.job.sender.key}${o.job.sender.id}: ${o.receipt ? `#${o.receipt.seq}` : "unknown"}`;
    case "read":
      if ("error" in o) return `read ${o.job.token}: error (${o.error.kind})`;
      return `read ${o.job.token}: ${
        o.pages.map((p) => `[${p.messages.map((m) => m.seq).join(",")}] last ${p.lastSeq}`).join("; ")
      }${o.conversations ? ` | ${o.conversations.map((c) => `${c.room}#${c.lastSeq}`).join(" ")}` : ""}`;
  }
}
