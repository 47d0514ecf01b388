import assert from "node:assert/strict";
import {
  type BenchConfig,
  benchConfig,
  type BenchInput,
  connectionCount,
  DEFAULT_EPHEMERAL_PORTS,
  DEFAULT_PORTS,
  isLoopbackHost,
  MAX_SOURCES,
  minSources,
  perSource,
  PRESETS,
  roomName,
  runTag,
  SCENARIOS,
  sourceAddress,
  sourcesFor,
} from "../../src/bench/config.ts";
import { checkRoom } from "../../src/protocol/mod.ts";

const base: BenchInput = { target: "chat", scenario: "fanout", host: "127.0.0.1", spawn: false, json: false };

function ok(input: Partial<BenchInput>): BenchConfig {
  const c = benchConfig({ ...base, ...input });
  if ("error" in c) throw new Error(c.error);
  return c;
}

function error(input: Partial<BenchInput>): string {
  const c = benchConfig({ ...base, ...input });
  assert.ok("error" in c, `expected an error for ${JSON.stringify(input)}`);
  return c.error;
}

Deno.test("benchConfig() takes every load field from the scenario's preset when no flag is given", () => {
  for (const scenario of SCENARIOS) {
    const c = ok({ scenario });
    const p = PRESETS[scenario];
    for (const k of ["clients", "senders", "rooms", "rate", "window", "size", "duration"] as const) {
      assert.equal(c[k], p[k], `${scenario}.${k}`);
    }
    assert.equal(c.shared, p.shared);
  }
});

Deno.test("the presets are the loads of the issue: fanout at max rate, chatty at 10 msg/s each, idle silent", () => {
  assert.equal(PRESETS.fanout.senders, 1);
  assert.equal(PRESETS.fanout.rate, 0);
  assert.equal(PRESETS.fanout.size, 100);
  assert.equal(PRESETS.chatty.clients, 100);
  assert.equal(PRESETS.chatty.senders, PRESETS.chatty.clients);
  assert.equal(PRESETS.chatty.rate, 10);
  assert.ok(PRESETS.chatty.shared);
  assert.equal(PRESETS.idle.clients, 10_000);
  assert.equal(PRESETS.idle.senders, 0);
});

Deno.test("benchConfig() lets flags override the preset", () => {
  const c = ok({ scenario: "fanout", clients: 5, senders: 2, rooms: 2, rate: 100, size: 64, duration: 1 });
  assert.deepEqual(
    [c.clients, c.senders, c.rooms, c.rate, c.size, c.duration],
    [5, 2, 2, 100, 64, 1],
  );
});

Deno.test("benchConfig() uses the target's usual port unless --port is given, and loopback with --spawn", () => {
  assert.equal(ok({ target: "redis" }).port, DEFAULT_PORTS.redis);
  assert.equal(ok({ target: "chat", port: 4000 }).port, 4000);
  assert.equal(ok({ spawn: true, host: "10.0.0.1" }).host, "127.0.0.1");
});

Deno.test("benchConfig() refuses contradictory settings, naming the flag", () => {
  assert.match(error({ scenario: "idle", senders: 2 }), /--senders must be 0/);
  assert.match(error({ scenario: "fanout", senders: 0 }), /at least one sender/);
  assert.match(error({ scenario: "chatty", clients: 10, senders: 20 }), /--senders 20 exceeds --clients 10/);
  assert.match(error({ clients: 3, rooms: 4 }), /--rooms 4 exceeds --clients 3/);
  assert.match(error({ size: 5 }), /--size must be at least/);
  assert.match(error({ clients: 0 }), /--clients must be an integer/);
  assert.match(error({ spawn: true, pid: 123 }), /--pid/);
  assert.match(error({ spawn: true, port: 3000 }), /--port/);
  assert.match(error({ durable: true }), /--spawn/);
  assert.match(error({ spawn: true, target: "redis", durable: true }), /--target chat/);
  assert.match(error({ serverFlags: ["--history=0"] }), /--spawn/);
  assert.match(error({ nodes: 2 }), /--spawn/);
  assert.match(error({ spawn: true, target: "nats", nodes: 2 }), /--target chat/);
  assert.match(error({ spawn: true, nodes: 2, durable: true }), /drop --durable/);
  assert.match(error({ spawn: true, nodes: 0 }), /--nodes must be an integer in 1\.\.8/);
  assert.match(error({ spawn: true, nodes: 9 }), /--nodes must be an integer/);
});

Deno.test("benchConfig() spreads the connections over a list of servers, each without a port taking --port", () => {
  const c = ok({ servers: [{ host: "a", port: 0 }, { host: "b", port: 4001 }], port: 4000 });
  assert.deepEqual(c.servers, [{ host: "a", port: 4000 }, { host: "b", port: 4001 }]);
  assert.deepEqual([c.host, c.port], ["a", 4000]);
  const d = ok({ target: "redis", servers: [{ host: "a", port: 0 }] });
  assert.deepEqual(d.servers, [{ host: "a", port: DEFAULT_PORTS.redis }]);
  assert.match(error({ spawn: true, servers: [{ host: "a", port: 0 }, { host: "b", port: 0 }] }), /--nodes/);
});

Deno.test("benchConfig() runs one server without NATS unless --nodes asks for a cluster", () => {
  assert.equal(ok({ spawn: true }).nodes, 0);
  assert.equal(ok({ spawn: true, nodes: 1 }).nodes, 1);
  assert.equal(ok({ spawn: true, nodes: 3 }).nodes, 3);
});

Deno.test("connectionCount() counts senders on their own connection unless they share a client's", () => {
  assert.equal(connectionCount({ clients: 100, senders: 1, shared: false, target: "chat" }), 101);
  assert.equal(connectionCount({ clients: 100, senders: 100, shared: true, target: "chat" }), 100);
  assert.equal(connectionCount({ clients: 100, senders: 100, shared: true, target: "naive" }), 100);
  // A subscribed Redis connection cannot publish.
  assert.equal(connectionCount({ clients: 100, senders: 100, shared: true, target: "redis" }), 200);
});

Deno.test("roomName() spreads indexes round robin over valid room names that carry the run tag", () => {
  const tag = runTag(() => 0.5);
  assert.equal(tag.length, 4);
  assert.equal(roomName(0, 3, tag), roomName(3, 3, tag));
  assert.notEqual(roomName(0, 3, tag), roomName(1, 3, tag));
  assert.ok(roomName(5, 3, tag).includes(tag));
  for (let i = 0; i < 3; i++) assert.ok(checkRoom(roomName(i, 3, tag)).ok);
});

Deno.test("minSources() needs no source address while one address's port share holds the connections", () => {
  const each = perSource(DEFAULT_EPHEMERAL_PORTS);
  // Three quarters of Linux's 28,232 default ephemeral ports.
  assert.equal(each, 21_174);
  assert.equal(minSources(10_000, DEFAULT_EPHEMERAL_PORTS), 0);
  assert.equal(minSources(each, DEFAULT_EPHEMERAL_PORTS), 0);
  assert.equal(minSources(each + 1, DEFAULT_EPHEMERAL_PORTS), 2);
  assert.equal(minSources(100_000, DEFAULT_EPHEMERAL_PORTS), 5);
  // A narrow port range needs more addresses for the same connections.
  assert.equal(minSources(100_000, 1000), 134);
});

Deno.test("sourcesFor() binds nothing while one address holds the connections, else fills a sixteenth of each range", () => {
  const each = perSource(DEFAULT_EPHEMERAL_PORTS);
  assert.equal(sourcesFor(each, DEFAULT_EPHEMERAL_PORTS), 0);
  // 28,232 / 16 = 1,764 bound ports per address: a bind() finds a free port quickly.
  assert.equal(sourcesFor(each + 1, DEFAULT_EPHEMERAL_PORTS), 13);
  assert.equal(sourcesFor(100_000, DEFAULT_EPHEMERAL_PORTS), 57);
  // Never more addresses than 127.0.0.2-254, nor fewer than the ports require.
  assert.equal(sourcesFor(100_000, 1000), MAX_SOURCES);
  assert.equal(sourcesFor(30_000, 2000), 240);
});

Deno.test("sourceAddress() deals connections round robin over 127.0.0.2 upward, or leaves the choice to the kernel", () => {
  assert.equal(sourceAddress(0, 0), null);
  assert.equal(sourceAddress(7, 0), null);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => sourceAddress(i, 3)), [
    "127.0.0.2",
    "127.0.0.3",
    "127.0.0.4",
    "127.0.0.2",
    "127.0.0.3",
  ]);
  assert.equal(sourceAddress(252, 253), "127.0.0.254");
});

Deno.test("isLoopbackHost() accepts 127.0.0.0/8 and localhost, nothing else", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost"]) assert.ok(isLoopbackHost(h), h);
  for (const h of ["10.0.0.1", "0.0.0.0", "::1", "127.0.0.1.example.org", "chat.example.org"]) {
    assert.ok(!isLoopbackHost(h), h);
  }
});

Deno.test("benchConfig() picks the source addresses the connections need unless --sources says", () => {
  assert.equal(ok({ scenario: "idle" }).sources, 0);
  assert.equal(ok({ scenario: "idle", clients: 100_000 }).sources, 57);
  assert.equal(ok({ scenario: "idle", clients: 100_000, ephemeralPorts: 60_000 }).sources, 27);
  assert.equal(ok({ scenario: "idle", clients: 100, sources: 4 }).sources, 4);
  assert.equal(ok({ scenario: "idle", clients: 100_000, sources: 8 }).sources, 8);
  assert.equal(ok({ scenario: "idle", spawn: true, host: "10.0.0.1", clients: 100_000 }).sources, 57);
  // A remote server cannot be reached from a loopback address: no spreading, and none may be asked for.
  assert.equal(ok({ scenario: "idle", host: "10.0.0.1", clients: 100_000 }).sources, 0);
});

Deno.test("benchConfig() refuses --sources it cannot use, saying what would work", () => {
  assert.match(error({ host: "10.0.0.1", sources: 2 }), /cannot reach 10\.0\.0\.1/);
  assert.match(
    error({ scenario: "idle", clients: 100_000, sources: 2 }),
    /need 5 source addresses.*--sources 2/,
  );
  assert.match(error({ scenario: "idle", clients: 30_000, sources: 0 }), /need 2 source addresses/);
  assert.match(error({ sources: 254 }), /--sources must be an integer in 0\.\.253/);
});
