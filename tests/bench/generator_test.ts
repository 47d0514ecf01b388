import assert from "node:assert/strict";
import { messagesDue, readBufferSize, sampleStride } from "../../src/bench/generator.ts";
import { chatServeCommand, naiveCommand, natsCommand, redisCommand } from "../../src/bench/spawn.ts";
import { V8_FLAGS } from "../../src/v8_flags.ts";

Deno.test("readBufferSize() gives large buffers to few connections and small ones to many", () => {
  assert.equal(readBufferSize(10), 64 * 1024);
  assert.ok(readBufferSize(1000) <= 64 * 1024);
  assert.equal(readBufferSize(10_000), 4096);
  // 100,000 connections at 4 KiB would be 400 MiB of buffers in the generator alone.
  assert.equal(readBufferSize(100_000), 1024);
  for (const n of [1, 100, 1000, 10_000, 100_000, 1_000_000]) {
    const size = readBufferSize(n);
    assert.ok(size >= 1024 && (size & (size - 1)) === 0, `${n} connections: ${size}`);
  }
});

Deno.test("messagesDue() paces a sender from its phase, one message per period", () => {
  assert.equal(messagesDue(0, 10, 0), 1);
  assert.equal(messagesDue(99, 10, 0), 1);
  assert.equal(messagesDue(100, 10, 0), 2);
  assert.equal(messagesDue(0, 10, 0.5), 0);
  assert.equal(messagesDue(49, 10, 0.5), 0);
  assert.equal(messagesDue(50, 10, 0.5), 1);
  assert.equal(messagesDue(10_000, 10, 0.5), 100);
});

Deno.test("messagesDue() with the generator's phases spreads 100 senders' messages over time", () => {
  // The chatty load: 100 senders at 10 msg/s, phases i / 100, checked every millisecond.
  const senders = 100, rate = 10;
  const sent = new Array<number>(senders).fill(0);
  let most = 0, total = 0;
  for (let ms = 0; ms <= 2000; ms++) {
    let now = 0;
    for (let i = 0; i < senders; i++) {
      const due = messagesDue(ms, rate, i / senders);
      now += due - sent[i];
      sent[i] = due;
    }
    most = Math.max(most, now);
    total += now;
  }
  // Two seconds' worth, plus the phase-0 sender's message due at exactly 2000 ms.
  assert.equal(total, senders * rate * 2 + 1);
  assert.ok(most <= 2, `${most} messages became due in one millisecond`);
});

Deno.test("sampleStride() times at most the given number of receivers, spread over all", () => {
  assert.equal(sampleStride(10, 64), 1);
  assert.equal(sampleStride(1000, 64), 16);
  assert.ok(Math.ceil(1000 / sampleStride(1000, 64)) <= 64);
});

Deno.test("chatServeCommand() runs main.ts through deno from source, and the binary itself when compiled", () => {
  const fromSource = chatServeCommand(100, "/usr/bin/deno", "/repo/main.ts");
  assert.deepEqual(fromSource.slice(0, 6), [
    "/usr/bin/deno",
    "run",
    "-A",
    `--v8-flags=${V8_FLAGS}`,
    "/repo/main.ts",
    "serve",
  ]);
  for (const flag of ["--ephemeral", "--max-clients", "--outbox-bytes", "--port"]) {
    assert.ok(fromSource.includes(flag), flag);
  }
  assert.ok(Number(fromSource[fromSource.indexOf("--max-clients") + 1]) >= 100);
  const compiled = chatServeCommand(100, "/usr/local/bin/chat", "/repo/main.ts");
  assert.deepEqual(compiled.slice(0, 2), ["/usr/local/bin/chat", "serve"]);
});

Deno.test("chatServeCommand() stores in a data dir instead of memory when asked, and appends extra flags", () => {
  const argv = chatServeCommand(10, "deno", "/repo/main.ts", {
    dataDir: "/tmp/x",
    extra: ["--timeout=60000"],
  });
  assert.ok(!argv.includes("--ephemeral"));
  assert.equal(argv[argv.indexOf("--data-dir") + 1], "/tmp/x");
  assert.equal(argv[argv.length - 1], "--timeout=60000");
});

Deno.test("the peers' commands listen on loopback, redis without persistence and with room for every client", () => {
  assert.deepEqual(naiveCommand("/p/naive.mjs"), [
    "node",
    "/p/naive.mjs",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  const redis = redisCommand(6400, 20_000);
  assert.equal(redis[0], "redis-server");
  assert.equal(redis[redis.indexOf("--bind") + 1], "127.0.0.1");
  assert.equal(redis[redis.indexOf("--save") + 1], "");
  assert.ok(Number(redis[redis.indexOf("--maxclients") + 1]) >= 20_000);
  // Clients bound to 127.0.0.2 and up (--sources) are refused in protected mode.
  assert.equal(redis[redis.indexOf("--protected-mode") + 1], "no");
  const nats = natsCommand(4300);
  assert.equal(nats[0], "nats-server");
  assert.equal(nats[nats.indexOf("--addr") + 1], "127.0.0.1");
  assert.equal(nats[nats.indexOf("--port") + 1], "4300");
});
