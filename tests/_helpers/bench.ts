/**
 * A complete bench result with plausible values, for tests of the report
 * and the comparison: each test overrides what it is about.
 *
 * @module
 */

import type { BenchResult } from "../../src/bench/report.ts";

export function sampleResult(over: Partial<BenchResult> = {}): BenchResult {
  return {
    tool: "chat bench",
    version: "0.0.0-test",
    date: "2026-01-01T00:00:00.000Z",
    target: "chat",
    scenario: "fanout",
    config: {
      clients: 100,
      senders: 1,
      rooms: 1,
      rate: 0,
      window: 64,
      size: 100,
      duration: 5,
      shared: false,
      durable: false,
      nodes: 0,
      sources: 0,
    },
    server: {
      spawned: true,
      host: "127.0.0.1",
      port: 40000,
      servers: [{ host: "127.0.0.1", port: 40000 }],
      pid: 1234,
      pids: [1234],
      command: "deno run -A main.ts serve",
    },
    connect: {
      connections: 101,
      ms: 25.5,
      perSecond: 3961,
      serverCpuPercent: 50,
      generatorMainThreadPercent: 40,
    },
    sent: 10_000,
    acked: 10_000,
    delivered: 1_000_000,
    expected: 1_000_000,
    deliveredRatio: 1,
    sendSeconds: 5,
    measureSeconds: 5.1,
    msgsInPerSec: 2000,
    deliveriesPerSec: 196_078,
    deliveriesPerRead: 12.5,
    latencyMs: { count: 64_000, p50: 0.8, p90: 1.5, p99: 3.2, p999: 7.9, max: 12.5, mean: 1 },
    latencySampledReceivers: 50,
    errors: { count: 0, samples: [] },
    serverStats: {
      cpuPercent: 95,
      peakCpuPercent: 99,
      peakRssBytes: 90 * 1024 * 1024,
      rssBeforeBytes: 50 * 1024 * 1024,
      rssAfterBytes: 80 * 1024 * 1024,
      rssPerConnectionBytes: null,
      cpuMicrosPerDelivery: 0.95,
    },
    generator: { cpuPercent: 60, mainThreadPercent: 55, saturated: false },
    machine: { cpus: 2, busyPercent: 80 },
    warnings: [],
    ...over,
  };
}
