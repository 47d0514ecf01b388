import assert from "node:assert/strict";
import { readBufferSize, sampleStride } from "../../src/bench/generator.ts";
import { chatServeCommand, naiveCommand, natsCommand, redisCommand } from "../../src/bench/spawn.ts";
import { V8_FLAGS } from "../../src/v8_flags.ts";

Deno.test("readBufferSize() gives large buffers to few connections and small ones to many", () => {
  assert.equal(readBufferSize(10), 64 * 1024);
  assert.ok(readBufferSize(1000) <= 64 * 1024);
  assert.equal(readBufferSize(100_000), 4096);
  for (const n of [1, 100, 1000, 10_000, 100_000]) {
    const size = readBufferSize(n);
    assert.ok(size >= 4096 && (size & (size - 1)) === 0, `${n} connections: ${size}`);
  }
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
  const nats = natsCommand(4300);
  assert.equal(nats[0], "nats-server");
  assert.equal(nats[nats.indexOf("--addr") + 1], "127.0.0.1");
  assert.equal(nats[nats.indexOf("--port") + 1], "4300");
});
