/**
 * What `GET /metrics` reports, and the cheap instruments behind it: a
 * fixed-bucket histogram, a message log wrapper that times each batch the
 * commit queue hands the log, and the Prometheus text exposition format
 * (version 0.0.4).
 *
 * Counting stays off the hot path's allocations: counters are plain number
 * fields bumped where the work happens, gauges (connections, queued bytes)
 * are computed when the page is scraped, and one log batch costs one
 * observation however many messages it holds.
 *
 * @module
 */

import type { CloseReason } from "../chat/close.ts";
import { CLOSE_REASONS } from "../chat/close.ts";
import type { AppendResult, Draft, MessageLog } from "../chat/ports.ts";

/** Content-Type of the text exposition format. */
export const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Upper bounds (seconds) of the commit latency buckets: a memory log answers in microseconds, a synced disk in ms. */
export const COMMIT_BUCKETS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

/** A Prometheus histogram with fixed bounds: observing allocates nothing. */
export class Histogram {
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** What the log wrapper counts: messages stored, and how long each append batch took to be answered. */
export interface LogStats {
  /** Messages the log stored (a resend of a stored message is not counted again). */
  accepted: number;
  /** Seconds from handing a batch to the log to its answer. */
  readonly commits: Histogram;
}

export function logStats(): LogStats {
  return { accepted: 0, commits: new Histogram(COMMIT_BUCKETS) };
}

/**
 * `log` with its appends timed and counted into `stats`: the commit queue
 * (src/chat/commit.ts) hands the log one batch at a time, so the time from
 * the call to the answer is the batch's commit latency. Everything else
 * passes through.
 */
export function timedLog(log: MessageLog, stats: LogStats): MessageLog {
  const done = (started: number, results: AppendResult[]): AppendResult[] => {
    stats.commits.observe((performance.now() - started) / 1000);
    for (let i = 0; i < results.length; i++) if (results[i].kind === "stored") stats.accepted++;
    return results;
  };
  return {
    get id() {
      return log.id;
    },
    get durable() {
      return log.durable;
    },
    // Timing the answers changes nothing of their order: a pipelined log stays one.
    get pipelined() {
      return log.pipelined;
    },
    append(drafts: readonly Draft[]) {
      const started = performance.now();
      const answer = log.append(drafts);
      if (answer instanceof Promise) {
        return answer.then((results) => done(started, results), (err) => {
          stats.commits.observe((performance.now() - started) / 1000);
          throw err;
        });
      }
      return done(started, answer);
    },
    receipts: (refs) => log.receipts(refs),
    page: (room, query) => log.page(room, query),
    conversations: (key, limit) => log.conversations(key, limit),
    prune: (now) => log.prune(now),
    close: () => log.close(),
  };
}

/** Counters the effect runner keeps (src/net/runner.ts). */
export interface RunnerCounters {
  /** MESSAGE frames a room's fan-out queued on members' outboxes. */
  deliveries: number;
  /** Frames a fan-out or a send could not queue: the outbox was full, and its reader is dropped. */
  dropped: number;
  /** Connections closed, by reason. */
  readonly closes: Record<CloseReason, number>;
}

export function runnerCounters(): RunnerCounters {
  const closes = {} as Record<CloseReason, number>;
  for (const r of CLOSE_REASONS) closes[r] = 0;
  return { deliveries: 0, dropped: 0, closes };
}

/** A value with its labels, e.g. `[{ transport: "tcp" }, 3]`. */
export type Sample = readonly [Readonly<Record<string, string>>, number];

/** Builds a page in the Prometheus text exposition format, family by family. */
export class Exposition {
  #out: string[] = [];

  gauge(name: string, help: string, samples: number | readonly Sample[]): this {
    return this.#family(name, "gauge", help, samples);
  }

  counter(name: string, help: string, samples: number | readonly Sample[]): this {
    return this.#family(name, "counter", help, samples);
  }

  histogram(name: string, help: string, h: Histogram): this {
    this.#head(name, "histogram", help);
    let cumulative = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      cumulative += h.counts[i];
      this.#out.push(`${name}_bucket{le="${h.bounds[i]}"} ${cumulative}`);
    }
    this.#out.push(
      `${name}_bucket{le="+Inf"} ${h.count}`,
      `${name}_sum ${h.sum}`,
      `${name}_count ${h.count}`,
    );
    return this;
  }

  text(): string {
    return this.#out.join("\n") + "\n";
  }

  #family(name: string, type: string, help: string, samples: number | readonly Sample[]): this {
    this.#head(name, type, help);
    if (typeof samples === "number") this.#out.push(`${name} ${samples}`);
    else {
      for (const [labels, value] of samples) {
        const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
        this.#out.push(`${name}{${l}} ${value}`);
      }
    }
    return this;
  }

  #head(name: string, type: string, help: string): void {
    this.#out.push(
      `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`,
      `# TYPE ${name} ${type}`,
    );
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Everything the metrics page shows, gathered by the server when it is scraped. */
export interface MetricsSnapshot {
  /** Open chat connections (handshake or signed in) by transport. */
  connections: { tcp: number; tls: number; websocket: number };
  /** HTTP connections open and not upgraded. */
  httpConnections: number;
  /** Users signed in, ghosts in their grace period included. */
  users: number;
  rooms: number;
  /** Bytes queued in every outbox, and connections whose outbox is over its budget. */
  outboxBytes: number;
  outboxesOver: number;
  log: LogStats;
  runner: RunnerCounters;
  /** HTTP responses by status code. */
  httpResponses: ReadonlyMap<number, number>;
  /** True while the server accepts clients (what /healthz answers). */
  healthy: boolean;
}

/** The metrics page. */
export function renderMetrics(s: MetricsSnapshot): string {
  const e = new Exposition();
  e.gauge(
    "chat_up",
    "1 while the server accepts clients (/healthz answers 200), 0 while it cannot",
    s.healthy ? 1 : 0,
  );
  e.gauge("chat_connections", "open chat connections (in the handshake or signed in), by transport", [
    [{ transport: "tcp" }, s.connections.tcp],
    [{ transport: "tls" }, s.connections.tls],
    [{ transport: "websocket" }, s.connections.websocket],
  ]);
  e.gauge(
    "chat_http_connections",
    "open HTTP connections (page, health, metrics; not upgraded)",
    s.httpConnections,
  );
  e.gauge(
    "chat_users",
    "users signed in, those in their grace period after a dropped connection included",
    s.users,
  );
  e.gauge("chat_rooms", "rooms with someone in them", s.rooms);
  e.counter(
    "chat_messages_accepted_total",
    "room messages stored and acknowledged (resends not counted)",
    s.log.accepted,
  );
  e.counter("chat_deliveries_total", "MESSAGE frames queued to room members by fan-out", s.runner.deliveries);
  e.counter(
    "chat_dropped_frames_total",
    "frames not queued because the receiver's outbox was full (the receiver is then dropped)",
    s.runner.dropped,
  );
  e.counter(
    "chat_closes_total",
    "connections closed, by reason",
    CLOSE_REASONS.map((r): Sample => [{ reason: r }, s.runner.closes[r]]),
  );
  e.histogram(
    "chat_store_commit_seconds",
    "time from handing a batch of messages to the message log to its answer",
    s.log.commits,
  );
  e.gauge("chat_outbox_bytes", "bytes queued for clients in all outboxes", s.outboxBytes);
  e.gauge("chat_outbox_over_budget", "connections whose outbox is over its byte budget", s.outboxesOver);
  e.counter(
    "chat_http_responses_total",
    "HTTP responses sent, by status code",
    [...s.httpResponses].sort((a, b) => a[0] - b[0]).map(([code, n]): Sample => [{ code: String(code) }, n]),
  );
  return e.text();
}
