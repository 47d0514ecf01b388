/**
 * The web side of a real `chat serve` process: the page and its headers,
 * a WebSocket client (Deno's own, as a browser) chatting with a terminal
 * `chat join --json` client, /healthz across a shutdown, /metrics, TLS
 * (https and wss with --tls-self-signed), trusted proxies, the flags.
 */

import assert from "node:assert/strict";
import { NOT_CHAT_LINE } from "../../src/protocol/mod.ts";
import { WAIT_MS } from "../_helpers/deadline.ts";
import { joinJson } from "../_helpers/json_client.ts";
import { haveNats, startNats } from "../_helpers/nats.ts";
import { runChat, startServer } from "../_helpers/process.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import {
  BrowserSocket,
  getRequest,
  hello,
  httpOnce,
  HttpReader,
  type HttpResponse,
  metric,
  upgradeRequest,
  WsClient,
} from "../_helpers/ws_client.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function metrics(port: number): Promise<string> {
  const r = await httpOnce(port, getRequest("/metrics", port));
  assert.equal(r.status, 200);
  return r.text;
}

Deno.test("a WebSocket client and a terminal client chat through chat serve; the page and /metrics are served", async () => {
  await using server = await startServer(["--ephemeral"]);
  const page = await httpOnce(server.port, getRequest("/", server.port));
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  assert.match(
    page.headers.get("content-security-policy")!,
    /script-src 'self'; style-src 'self'; connect-src 'self'/,
  );
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  assert.equal(page.headers.get("referrer-policy"), "no-referrer");
  assert.match(page.text, /<html/);
  const before = await metrics(server.port);

  await using terminal = await joinJson(server.port, "terminal");
  await using web = new BrowserSocket(`ws://127.0.0.1:${server.port}/ws`);
  await web.opened;
  web.send(hello("webby"));
  await web.find("welcome");
  await terminal.next("presence", (e) => e.event === "join" && e.name === "webby");

  web.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "hello from a browser" });
  const ack = await web.find("ack", (a) => a.id === 1);
  const got = await terminal.next("message", (m) => m.text === "hello from a browser");
  assert.deepEqual([got.from, got.seq], ["webby", ack.seq]);
  await web.find("message", (m) => m.seq === ack.seq && m.from === "webby");

  await terminal.say("and hello from a terminal");
  const back = await web.find("message", (m) => m.from === "terminal");
  assert.equal(back.text, "and hello from a terminal");

  const after = await metrics(server.port);
  assert.equal(
    metric(after, "chat_messages_accepted_total") - metric(before, "chat_messages_accepted_total"),
    2,
  );
  assert.equal(metric(after, "chat_deliveries_total") - metric(before, "chat_deliveries_total"), 4);
  assert.equal(metric(after, 'chat_connections{transport="websocket"}'), 1);
  assert.equal(metric(after, 'chat_connections{transport="tcp"}'), 1);
  assert.ok(
    await server.proc.stderr.next(
      (l) => /info +connect webby \(127\.0\.0\.1:\d+\)/.test(l),
      "the connect log line",
    ),
  );
});

Deno.test("--no-web serves no HTTP: a request gets the not-chat line, and chat works as ever", async () => {
  await using server = await startServer(["--ephemeral", "--no-web"]);
  await using raw = await RawClient.connect(server.port, "http");
  await raw.write(enc(getRequest("/healthz", server.port)));
  await raw.closed();
  assert.equal(raw.text(), NOT_CHAT_LINE);
  await using alice = await RawClient.connect(server.port, "alice");
  assert.equal((await alice.handshake("alice")).name, "alice");
});

Deno.test("/healthz answers 200, and 503 to a request that arrives while SIGTERM shuts the server down", async () => {
  await using server = await startServer(["--ephemeral"]);
  const ok = await httpOnce(server.port, getRequest("/healthz", server.port));
  assert.deepEqual([ok.status, ok.text], [200, "ok\n"]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(enc(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n`));
    // Once /metrics counts two HTTP connections (its own and this one), the server holds this head half read.
    const deadline = Date.now() + WAIT_MS;
    while (metric(await metrics(server.port), "chat_http_connections") < 2) {
      assert.ok(Date.now() < deadline, "the first connection was never served as HTTP");
      await new Promise((r) => setTimeout(r, 20));
    }
    server.proc.kill("SIGTERM");
    await server.proc.stderr.next((l) => /received SIGTERM/.test(l), "the shutdown");
    await conn.write(enc("\r\n"));
    const r = await new HttpReader(conn).response();
    assert.deepEqual([r.status, r.text, r.headers.get("connection")], [503, "shutting down\n", "close"]);
  } finally {
    conn.close();
  }
  assert.equal((await server.proc.exit()).code, 0, server.proc.describe());
});

Deno.test("with --tls-self-signed the page is served over https and chat over wss, to a client that trusts it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-e2e-web-" });
  try {
    await using server = await startServer(["--tls-self-signed", "--data-dir", `${dir}/server`]);
    const cert = await Deno.readTextFile(`${dir}/server/tls-cert.pem`);
    const client = Deno.createHttpClient({ caCerts: [cert] });
    try {
      const res = await fetch(`https://127.0.0.1:${server.port}/healthz`, { client });
      assert.deepEqual([res.status, await res.text()], [200, "ok\n"]);
      const page = await fetch(`https://localhost:${server.port}/`, { client });
      assert.equal(page.status, 200);
      assert.ok(page.headers.get("content-security-policy"));
      await page.body?.cancel();
    } finally {
      client.close();
    }
    await using terminal = await joinJson(server.port, "terminal", {
      flags: ["--ca", `${dir}/server/tls-cert.pem`],
    });
    const conn = await Deno.connectTls({ hostname: "127.0.0.1", port: server.port, caCerts: [cert] });
    const ws = await WsClient.open(
      conn,
      upgradeRequest(server.port, { origin: `https://127.0.0.1:${server.port}` }),
    );
    assert.ok(ws instanceof WsClient, `refused: ${(ws as HttpResponse).status} ${(ws as HttpResponse).text}`);
    await using _ws = ws;
    await ws.send(hello("secure"));
    await ws.next("welcome");
    await ws.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "over wss" });
    assert.equal((await ws.next("ack")).id, 1);
    assert.equal((await terminal.next("message", (m) => m.text === "over wss")).from, "secure");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CHAT_WEB_ORIGIN lists the origins whose pages may open the WebSocket; others get 403", async () => {
  await using server = await startServer(["--ephemeral"], {
    env: { CHAT_WEB_ORIGIN: "https://chat.example.org, https://other.example.org:8443" },
  });
  const open = async (origin: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    return await WsClient.open(conn, upgradeRequest(server.port, { origin }));
  };
  const listed = await open("https://other.example.org:8443");
  assert.ok(listed instanceof WsClient);
  await listed[Symbol.asyncDispose]();
  for (const origin of [`http://127.0.0.1:${server.port}`, "https://evil.example"]) {
    const refused = await open(origin);
    assert.equal((refused as HttpResponse).status, 403, origin);
  }
  await server.proc.stderr.next(
    (l) => /warn +refused a WebSocket .* origin https:\/\/evil\.example/.test(l),
    "the log",
  );
});

Deno.test("--trust-proxy: a proxied WebSocket is logged and limited by its X-Forwarded-For address", async () => {
  await using server = await startServer([
    "--ephemeral",
    "--trust-proxy",
    "127.0.0.1",
    "--max-conns-per-ip",
    "1",
    "--limit-loopback",
  ]);
  const open = async (forwarded: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const ws = await WsClient.open(
      conn,
      upgradeRequest(server.port, { extra: [`X-Forwarded-For: ${forwarded}`] }),
    );
    assert.ok(ws instanceof WsClient, `refused: ${(ws as HttpResponse).status}`);
    return ws;
  };
  // Two clients behind the one proxy address, which is over --max-conns-per-ip 1 itself.
  await using a = await open("198.51.100.7, 203.0.113.1");
  await using b = await open("203.0.113.2");
  await a.send(hello("proxied"));
  await b.send(hello("also"));
  await a.next("welcome");
  await b.next("welcome");
  await server.proc.stderr.next(
    (l) => /info +connect proxied \(203\.0\.113\.1:0\)/.test(l),
    "the forwarded address",
  );
  await using again = await open("203.0.113.1");
  const err = await again.next("error");
  assert.equal(err.code, "TOO_MANY_CONNECTIONS");
  assert.match(err.message, /203\.0\.113\.1/);
});

Deno.test("chat serve refuses a bad --trust-proxy or --web-origin at start, saying which", async () => {
  const proxy = await runChat(["serve", "--ephemeral", "--port", "0", "--trust-proxy", "10.0.0.0/33"]);
  assert.equal(proxy.code, 2, proxy.output);
  assert.match(
    proxy.stderr.join("\n"),
    /invalid --trust-proxy: "10\.0\.0\.0\/33": the prefix length must be 0 to 32/,
  );
  const origin = await runChat([
    "serve",
    "--ephemeral",
    "--port",
    "0",
    "--web-origin",
    "https://a.example/path",
  ]);
  assert.equal(origin.code, 2, origin.output);
  assert.match(origin.stderr.join("\n"), /invalid --web-origin: .*is not an origin/);
});

Deno.test({
  name: "on a node of a cluster /healthz answers 503 while NATS is unreachable, and 200 once it is back",
  ignore: !haveNats(),
  async fn() {
    await using nats = await startNats();
    await using server = await startServer(["--ephemeral", "--cluster", nats.url]);
    const health = () => httpOnce(server.port, getRequest("/healthz", server.port));
    assert.equal((await health()).status, 200);
    await nats.kill();
    await server.proc.stderr.next((l) => /lost the connection to NATS/.test(l), "the lost NATS connection");
    const down = await health();
    assert.deepEqual([down.status, down.text], [503, "cannot reach NATS\n"]);
    assert.equal(
      metric((await httpOnce(server.port, getRequest("/metrics", server.port))).text, "chat_up"),
      0,
    );
    await nats.start();
    await server.proc.stderr.next((l) => /connected to NATS again/.test(l), "the NATS connection back");
    assert.equal((await health()).status, 200);
  },
});
