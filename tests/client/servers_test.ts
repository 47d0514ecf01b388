import assert from "node:assert/strict";
import { parseServers, serverLabel, serversLabel, storageKey } from "../../src/client/servers.ts";

Deno.test("parseServers() reads HOST and HOST:PORT, the port defaulting to the one given, in order", () => {
  assert.deepEqual(parseServers(["chat-a", "chat-b:4000", " 10.0.0.3 "], 3000), {
    ok: true,
    servers: [{ host: "chat-a", port: 3000 }, { host: "chat-b", port: 4000 }, {
      host: "10.0.0.3",
      port: 3000,
    }],
  });
});

Deno.test("parseServers() reads IPv6 addresses bare (default port) or in brackets (with a port)", () => {
  assert.deepEqual(parseServers(["::1", "[fe80::1]:4000", "[::2]"], 3000), {
    ok: true,
    servers: [{ host: "::1", port: 3000 }, { host: "fe80::1", port: 4000 }, { host: "::2", port: 3000 }],
  });
});

Deno.test("parseServers() skips empty entries and a server listed twice", () => {
  assert.deepEqual(parseServers(["a", "", "a:3000", "b"], 3000), {
    ok: true,
    servers: [{ host: "a", port: 3000 }, { host: "b", port: 3000 }],
  });
});

Deno.test("parseServers() refuses a bad port, an empty host, a URL, and an empty list, naming the entry", () => {
  for (
    const [entry, reason] of [
      ["a:0", /"a:0": the port must be a number from 1 to 65535, got "0"/],
      ["a:65536", /the port must be/],
      ["a:x", /got "x"/],
      ["a:", /got ""/],
      [":3000", /expected HOST or HOST:PORT/],
      ["nats://a:4222", /"nats:\/\/a:4222": expected HOST or HOST:PORT/],
      ["a b", /expected HOST/],
    ] as const
  ) {
    const parsed = parseServers([entry], 3000);
    assert.equal(parsed.ok, false, entry);
    assert.match(!parsed.ok ? parsed.reason : "", reason);
  }
  assert.deepEqual(parseServers([" ", ""], 3000), { ok: false, reason: "no server given" });
});

Deno.test("serverLabel() writes host:port, an IPv6 address in brackets", () => {
  assert.equal(serverLabel({ host: "chat-a", port: 3000 }), "chat-a:3000");
  assert.equal(serverLabel({ host: "::1", port: 3000 }), "[::1]:3000");
  assert.equal(serversLabel([{ host: "a", port: 1 }, { host: "b", port: 2 }]), "a:1, b:2");
});

Deno.test("storageKey() is the old HOST_PORT for one server, and one key for a list whatever its order", () => {
  assert.equal(storageKey([{ host: "127.0.0.1", port: 3000 }]), "127.0.0.1_3000");
  assert.equal(storageKey([{ host: "::1", port: 1 }]), "__1_1");
  const ab = storageKey([{ host: "a", port: 3000 }, { host: "b", port: 3001 }]);
  assert.equal(ab, "a_3000_b_3001");
  assert.equal(storageKey([{ host: "b", port: 3001 }, { host: "a", port: 3000 }]), ab);
  assert.notEqual(storageKey([{ host: "a", port: 3000 }]), ab);
});

Deno.test("storageKey() keeps a long list's key short enough for a file name, and distinct", () => {
  const hosts = (suffix: string) =>
    Array.from({ length: 6 }, (_, i) => ({ host: `node-${i}.chat.example.${suffix}`, port: 3000 }));
  const org = storageKey(hosts("org"));
  const com = storageKey(hosts("com"));
  assert.ok(org.length <= 120, `${org.length} characters`);
  assert.match(org, /^node-0\.chat\.example\.org_3000_.*_[0-9a-f]{16}$/);
  assert.notEqual(org, com);
  assert.equal(storageKey(hosts("org").reverse()), org);
});
