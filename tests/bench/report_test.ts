import assert from "node:assert/strict";
import {
  bytes,
  describeRun,
  formatProgress,
  formatTable,
  grouped,
  ms,
  otherLoad,
  warningsFor,
} from "../../src/bench/report.ts";
import { sampleResult } from "../_helpers/bench.ts";

Deno.test("grouped() rounds and separates thousands", () => {
  assert.equal(grouped(0), "0");
  assert.equal(grouped(999.6), "1,000");
  assert.equal(grouped(1234567), "1,234,567");
  assert.equal(grouped(-1234), "-1,234");
});

Deno.test("bytes() picks the largest unit that keeps the value at least 1", () => {
  assert.equal(bytes(512), "512 B");
  assert.equal(bytes(8 * 1024), "8.0 KiB");
  assert.equal(bytes(85.2 * 1024 * 1024), "85.2 MiB");
});

Deno.test("ms() shows more decimals for smaller values", () => {
  assert.equal(ms(0.4123), "0.412");
  assert.equal(ms(12.34), "12.3");
  assert.equal(ms(1234.4), "1,234");
});

Deno.test("formatTable() shows every measured figure of a fanout run", () => {
  const text = formatTable(sampleResult());
  for (
    const want of [
      "fanout against chat (spawned, pid 1234)",
      "100 receivers",
      "max rate (window 64)",
      "101 connections in 25.5 ms",
      "2,000/s",
      "196,078/s",
      "ratio 1.0000",
      "p50 0.800",
      "p99.9 7.900",
      "max 12.5",
      "CPU 95%",
      "peak RSS 90.0 MiB",
      "main thread 55%",
      "0.95 us CPU per delivery",
    ]
  ) assert.ok(text.includes(want), `missing ${JSON.stringify(want)} in:\n${text}`);
});

Deno.test("formatTable() shows connect time and memory per connection for idle, and no message rows", () => {
  const r = sampleResult({
    scenario: "idle",
    latencyMs: null,
    serverStats: {
      cpuPercent: 1,
      peakCpuPercent: 3,
      peakRssBytes: 100 * 1024 * 1024,
      rssBeforeBytes: 40 * 1024 * 1024,
      rssAfterBytes: 100 * 1024 * 1024,
      rssPerConnectionBytes: 6 * 1024,
      cpuMicrosPerDelivery: null,
    },
  });
  const text = formatTable(r);
  assert.ok(text.includes("RSS per connection 6.0 KiB"), text);
  assert.ok(!text.includes("deliveries"), text);
  assert.ok(!text.includes("latency"), text);
});

Deno.test("formatTable() says when the server was not measured, and prints warnings last", () => {
  const text = formatTable(sampleResult({ serverStats: null, warnings: ["careful"] }));
  assert.match(text, /server\s+not measured/);
  assert.match(text, /\nwarning: careful$/);
});

Deno.test("describeRun() describes a chatty run by its clients and their rate", () => {
  const r = sampleResult({
    scenario: "chatty",
    config: { ...sampleResult().config, senders: 100, rate: 10, shared: true },
  });
  assert.match(describeRun(r), /100 clients, 1 room, 100 of them sending, 10 msg\/s each/);
});

Deno.test("formatProgress() shows connections while connecting and traffic while sending", () => {
  const p = { elapsedS: 2, connected: 40, connections: 100, sent: 1234, delivered: 123456, rate: 61728 };
  assert.match(formatProgress({ ...p, phase: "connecting" }), /connected 40\/100/);
  const line = formatProgress({ ...p, phase: "sending" });
  assert.match(line, /sent 1,234/);
  assert.match(line, /delivered 123,456/);
  assert.match(line, /rate 61,728\/s/);
});

Deno.test("warningsFor() flags a saturated generator, a busy machine and lost messages", () => {
  const quiet = sampleResult();
  assert.deepEqual(warningsFor(quiet), []);
  const w = warningsFor(sampleResult({
    generator: { cpuPercent: 99, mainThreadPercent: 97, saturated: true },
    machine: { cpus: 2, busyPercent: 100 },
    serverStats: { ...quiet.serverStats!, cpuPercent: 40 },
    deliveredRatio: 0.5,
    errors: { count: 2, samples: ["r1: closed"] },
  }));
  assert.equal(w.length, 4, w.join("\n"));
  assert.match(w[0], /generator's main thread was busy 97%/);
  assert.match(w[1], /other processes/);
  assert.match(w[2], /50.00% of the expected deliveries/);
  assert.match(w[3], /r1: closed/);
});

Deno.test("otherLoad() is the machine's busy share minus what the server and generator used", () => {
  // 80% of 2 CPUs busy; server 95% + generator 60% of one CPU = 77.5% of the machine.
  assert.equal(otherLoad(sampleResult()), 2.5);
  assert.equal(otherLoad(sampleResult({ machine: { cpus: 2, busyPercent: null } })), null);
  assert.equal(otherLoad(sampleResult({ machine: { cpus: 2, busyPercent: 10 } })), 0);
});
