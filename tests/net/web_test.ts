/**
 * The web side of a real ChatServer on 127.0.0.1: HTTP routes, the
 * WebSocket upgrade and its checks, chat over WebSocket next to chat over
 * TCP, trusted proxies, and that the binary protocol on the same port is
 * unchanged.
 */

import assert from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { silentLogger } from "../../src/net/log.ts";
import { CidrSet } from "../../src/net/proxy.ts";
import { probeRawConn } from "../../src/net/raw_conn.ts";
import { ChatServer, type ServerOptions, type WebOptions } from "../../src/net/server.ts";
import { encodeMessage, NOT_CHAT_LINE } from "../../src/protocol/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { WAIT_MS, waitFor } from "../_helpers/deadline.ts";
import { RawClient } from "../_helpers/raw_client.ts";
import { testCert } from "../_helpers/tls.ts";
import {
  BrowserSocket,
  clientFrame,
  getRequest,
  hello,
  httpOnce,
  HttpReader,
  type HttpResponse,
  metric,
  upgradeRequest,
  WsClient,
} from "../_helpers/ws_client.ts";
import { TlsAcceptor } from "../../src/net/tls_server.ts";
import { CONTENT_SECURITY_POLICY } from "../../src/net/web_routes.ts";

const enc = (s: string) => new TextEncoder().encode(s);

const PAGE = "<!doctype html><p>chat</p>";
const ASSETS: WebOptions["assets"] = new Map([
  ["/", {
    type: "text/html; charset=utf-8",
    body: enc(PAGE),
    gzip: new Uint8Array(gzipSync(PAGE)),
    etag: "p1",
  }],
  ["/app.js", { type: "text/javascript; charset=utf-8", body: enc("console.log(1)"), etag: "j1" }],
]);

/** A logger that keeps its lines. */
function recordingLogger(): { lines: string[]; logger: ServerOptions["logger"] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } };
}

interface Running extends AsyncDisposable {
  server: ChatServer;
  port: number;
  store: MemoryStore;
}

/** A ChatServer with the web side on, on 127.0.0.1 and a port of its own. */
function webServer(over: Partial<ServerOptions> = {}, web: Partial<WebOptions> | null = {}): Running {
  const store = new MemoryStore();
  const server = new ChatServer({
    store,
    host: "127.0.0.1",
    port: 0,
    maxClients: 100,
    timeoutMs: 5000,
    maxFrame: 64 * 1024,
    maxText: 4096,
    maxRoomsPerClient: 10,
    maxRooms: 100,
    outboxBytes: 1 << 20,
    logger: silentLogger,
    web: web === null ? undefined : { assets: ASSETS, origins: [], trustProxy: new CidrSet([]), ...web },
    ...over,
  });
  const { port } = server.listen();
  const serving = server.serve();
  return {
    server,
    port,
    store,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await serving;
    },
  };
}

function header(r: HttpResponse, name: string): string | undefined {
  return r.headers.get(name.toLowerCase());
}

Deno.test("GET / and an asset carry their type, ETag and the security headers; gzip, 304, HEAD", async () => {
  await using s = webServer();
  const page = await httpOnce(s.port, getRequest("/", s.port));
  assert.equal(page.status, 200);
  assert.equal(page.text, PAGE);
  assert.equal(header(page, "content-type"), "text/html; charset=utf-8");
  assert.equal(header(page, "content-length"), String(page.body.byteLength));
  assert.match(
    header(page, "content-security-policy")!,
    /^default-src 'none'; script-src 'self'; style-src 'self';/,
  );
  assert.equal(header(page, "x-content-type-options"), "nosniff");
  assert.equal(header(page, "referrer-policy"), "no-referrer");
  assert.equal(header(page, "etag"), '"p1"');

  const js = await httpOnce(s.port, getRequest("/app.js", s.port));
  assert.deepEqual([js.status, js.text, header(js, "content-type")], [
    200,
    "console.log(1)",
    "text/javascript; charset=utf-8",
  ]);
  assert.ok(header(js, "content-security-policy"));

  const gz = await httpOnce(s.port, getRequest("/", s.port, ["Accept-Encoding: gzip, br"]));
  assert.deepEqual([gz.status, header(gz, "content-encoding"), header(gz, "etag")], [
    200,
    "gzip",
    '"p1-gzip"',
  ]);
  assert.equal(new TextDecoder().decode(gunzipSync(gz.body)), PAGE);

  const cached = await httpOnce(s.port, getRequest("/", s.port, ['If-None-Match: "p1"']));
  assert.deepEqual([cached.status, cached.body.byteLength, header(cached, "etag")], [304, 0, '"p1"']);

  const head = await httpOnce(s.port, getRequest("/", s.port, [], "HEAD"), true);
  assert.deepEqual([head.status, head.body.byteLength, header(head, "content-length")], [
    200,
    0,
    String(page.body.byteLength),
  ]);
});

Deno.test("an unknown path is 404, another method 405, and one keep-alive connection serves several requests", async () => {
  await using s = webServer();
  assert.equal((await httpOnce(s.port, getRequest("/nope", s.port))).status, 404);
  const post = await httpOnce(s.port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc`);
  assert.deepEqual([post.status, header(post, "allow"), header(post, "connection")], [
    405,
    "GET, HEAD",
    "close",
  ]);
  assert.equal((await httpOnce(s.port, getRequest("/ws", s.port, [], "DELETE"))).status, 405);

  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  try {
    const reader = new HttpReader(conn);
    // Two requests in one write (pipelined), then a third after the answers.
    await conn.write(enc(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /app.js HTTP/1.1\r\nHost: x\r\n\r\n`));
    const a = await reader.response();
    const b = await reader.response();
    assert.deepEqual([a.status, a.text, header(a, "connection")], [200, "ok\n", "keep-alive"]);
    assert.deepEqual([b.status, b.text], [200, "console.log(1)"]);
    await conn.write(enc(`GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    const c = await reader.response();
    assert.deepEqual([c.status, header(c, "connection")], [404, "close"]);
    assert.ok(await reader.ended(), "the server closed after Connection: close");
  } finally {
    conn.close();
  }
});

Deno.test("malformed and oversized requests get 400, 431 and 505, and a close", async () => {
  await using s = webServer();
  const cases: Array<[string, number]> = [
    ["GET / HTTP/1.1\r\n\r\n", 400], // no Host
    ["GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    [`GET / HTTP/1.1\r\nHost: x\r\nX: ${"a".repeat(9000)}\r\n\r\n`, 431],
    ["GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505],
    ["GET  / HTTP/1.1\r\n\r\n", 400],
  ];
  for (const [request, status] of cases) {
    const r = await httpOnce(s.port, request);
    assert.equal(r.status, status, JSON.stringify(request.slice(0, 40)));
    assert.equal(header(r, "connection"), "close");
  }
});

Deno.test("a request head that does not arrive within the timeout gets its connection closed", async () => {
  await using s = webServer({ timeoutMs: 300 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  try {
    await conn.write(enc("GET / HTTP/1.1\r\nHost: x\r\n"));
    const started = Date.now();
    const buf = new Uint8Array(100);
    const n = await conn.read(buf).catch(() => null);
    assert.equal(n, null, "closed without an answer");
    assert.ok(Date.now() - started < WAIT_MS);
    assert.equal(s.server.metrics().match(/^chat_http_connections (\d+)$/m)?.[1], "0");
  } finally {
    conn.close();
  }
});

Deno.test("bytes that are neither chat nor HTTP still get the not-chat line", async () => {
  await using s = webServer();
  await using raw = await RawClient.connect(s.port);
  await raw.write(enc("hello there\r\n"));
  await raw.closed();
  assert.equal(raw.text(), NOT_CHAT_LINE);
});

Deno.test("without the web side (--no-web) an HTTP request gets the not-chat line, as before", async () => {
  await using s = webServer({}, null);
  await using raw = await RawClient.connect(s.port);
  await raw.write(enc(getRequest("/", s.port)));
  await raw.closed();
  assert.equal(raw.text(), NOT_CHAT_LINE);
});

Deno.test("/healthz answers 200 while serving and 503 once shutdown has begun", async () => {
  const s = webServer();
  const ok = await httpOnce(s.port, getRequest("/healthz", s.port));
  assert.deepEqual([ok.status, ok.text], [200, "ok\n"]);
  // A request already on its way when the server starts stopping: its head is cut before the blank line.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  try {
    await conn.write(enc("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    // The server has taken the connection as HTTP once /metrics counts it (this request's own connection too).
    await pollUntil(async () => {
      const m = await httpOnce(s.port, getRequest("/metrics", s.port));
      return m.text.includes("chat_http_connections 2\n");
    }, "the first connection to be served as HTTP");
    const stopping = s[Symbol.asyncDispose]();
    await conn.write(enc("\r\n"));
    const r = await new HttpReader(conn).response();
    assert.deepEqual([r.status, r.text, header(r, "connection")], [503, "shutting down\n", "close"]);
    await stopping;
  } finally {
    conn.close();
  }
});

async function pollUntil(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The server's socket path: the runtime's raw ops, or the public Deno.Conn (CHAT_RAW_CONN=0). Both are tested. */
const PATHS = [{ raw: true, name: "raw runtime ops" }, { raw: false, name: "Deno.Conn" }];

for (const path of PATHS) {
  Deno.test(`over ${path.name}: WebSocket and TCP clients chat in one room; /metrics counts them and moves`, async () => {
    assert.equal((await probeRawConn(!path.raw)).raw, path.raw);
    try {
      await chatOverWebSocket();
    } finally {
      await probeRawConn();
    }
  });
}

async function chatOverWebSocket(): Promise<void> {
  await using s = webServer();
  const before = (await httpOnce(s.port, getRequest("/metrics", s.port))).text;
  assert.match(before, /^# TYPE chat_store_commit_seconds histogram$/m);
  for (const line of before.split("\n")) {
    assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{\w+="[^"]*"(,\w+="[^"]*")*\})? -?[\d.e+]+|)$/, line);
  }

  await using web = new BrowserSocket(`ws://127.0.0.1:${s.port}/ws`);
  await web.opened;
  assert.equal(web.ws.protocol, "chat.v1");
  web.send(hello("webby"));
  await web.find("welcome");
  await using tcp = await RawClient.connect(s.port, "tcp");
  await tcp.handshake("terminal");
  await web.find("presence", (p) => p.name === "terminal" && p.event === "join");

  web.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "from the browser" });
  const ack = await web.find("ack");
  const got = await tcp.next("message");
  assert.deepEqual([got.from, got.text, got.seq], ["webby", "from the browser", ack.seq]);
  await tcp.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "from the terminal" });
  const back = await web.find("message", (m) => m.from === "terminal");
  assert.equal(back.text, "from the terminal");

  const after = (await httpOnce(s.port, getRequest("/metrics", s.port))).text;
  assert.equal(
    metric(after, "chat_messages_accepted_total") - metric(before, "chat_messages_accepted_total"),
    2,
  );
  // Two messages, each to two members (the sender included).
  assert.equal(metric(after, "chat_deliveries_total") - metric(before, "chat_deliveries_total"), 4);
  assert.equal(metric(after, 'chat_connections{transport="websocket"}'), 1);
  assert.equal(metric(after, 'chat_connections{transport="tcp"}'), 1);
  assert.equal(metric(after, "chat_users"), 2);
  assert.ok(metric(after, "chat_store_commit_seconds_count") >= 1);
  assert.ok(metric(after, 'chat_http_responses_total{code="101"}') >= 1);

  web.send({ type: "bye", reason: "done" });
  await tcp.next("presence");
  await pollUntil(async () => {
    const m = (await httpOnce(s.port, getRequest("/metrics", s.port))).text;
    return metric(m, 'chat_closes_total{reason="quit"}') === 1 &&
      metric(m, 'chat_connections{transport="websocket"}') === 0;
  }, "the WebSocket's close to be counted");
}

/** The upgrade answer for `request`: the HTTP response, or the client when it switched protocols. */
async function upgrade(port: number, request: string, read = true): Promise<WsClient | HttpResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  return await WsClient.open(conn, request, "ws", read);
}

async function refused(port: number, request: string): Promise<HttpResponse> {
  const got = await upgrade(port, request);
  if (got instanceof WsClient) {
    await got[Symbol.asyncDispose]();
    throw new Error("the upgrade was accepted");
  }
  return got;
}

Deno.test("the upgrade refuses a foreign Origin with 403, and accepts the page's own (or a listed one)", async () => {
  const logs = recordingLogger();
  await using s = webServer({ logger: logs.logger });
  const foreign = await refused(s.port, upgradeRequest(s.port, { origin: "https://evil.example" }));
  assert.equal(foreign.status, 403);
  assert.match(foreign.text, /origin https:\/\/evil\.example/);
  assert.ok(
    logs.lines.some((l) => /warn refused a WebSocket .*origin https:\/\/evil\.example/.test(l)),
    logs.lines.join("\n"),
  );
  assert.equal((await refused(s.port, upgradeRequest(s.port, { origin: "null" }))).status, 403);
  // Same host, other scheme or port: another origin.
  assert.equal(
    (await refused(s.port, upgradeRequest(s.port, { origin: `https://127.0.0.1:${s.port}` }))).status,
    403,
  );
  assert.equal(
    (await refused(s.port, upgradeRequest(s.port, { origin: `http://127.0.0.1:${s.port + 1}` }))).status,
    403,
  );
  for (const origin of [`http://127.0.0.1:${s.port}`, `HTTP://127.0.0.1:${s.port}`, undefined]) {
    const ok = await upgrade(s.port, upgradeRequest(s.port, { origin }));
    assert.ok(ok instanceof WsClient, `origin ${origin}`);
    assert.equal(header(ok.response, "sec-websocket-protocol"), "chat.v1");
    // Every response carries the security headers, the 101 included (README, "Web client and HTTP").
    assert.equal(header(ok.response, "content-security-policy"), CONTENT_SECURITY_POLICY);
    assert.equal(header(ok.response, "x-frame-options"), "DENY");
    await ok[Symbol.asyncDispose]();
  }
});

Deno.test("with --web-origin only the listed origins may open the WebSocket", async () => {
  await using s = webServer({}, { origins: ["https://chat.example.org"] });
  const listed = await upgrade(s.port, upgradeRequest(s.port, { origin: "https://chat.example.org" }));
  assert.ok(listed instanceof WsClient);
  await listed[Symbol.asyncDispose]();
  // The page's own origin is no longer enough once a list is given.
  assert.equal(
    (await refused(s.port, upgradeRequest(s.port, { origin: `http://127.0.0.1:${s.port}` }))).status,
    403,
  );
});

Deno.test("the upgrade refuses a missing subprotocol, a wrong version, a bad key and a plain GET", async () => {
  await using s = webServer();
  const none = await refused(s.port, upgradeRequest(s.port, { protocols: null }));
  assert.equal(none.status, 400);
  assert.match(none.text, /chat\.v1/);
  assert.equal(
    (await refused(s.port, upgradeRequest(s.port, { protocols: "chat.v2, CHAT.V1" }))).status,
    400,
  );
  const v8 = await refused(s.port, upgradeRequest(s.port).replace("Version: 13", "Version: 8"));
  assert.deepEqual([v8.status, header(v8, "sec-websocket-version")], [426, "13"]);
  assert.equal((await refused(s.port, upgradeRequest(s.port).replace(/Key: \S+/, "Key: short"))).status, 400);
  const plain = await httpOnce(s.port, getRequest("/ws", s.port));
  assert.deepEqual([plain.status, header(plain, "upgrade")], [426, "websocket"]);
  const offered = await upgrade(s.port, upgradeRequest(s.port, { protocols: "other, chat.v1" }));
  assert.ok(offered instanceof WsClient);
  await offered[Symbol.asyncDispose]();
});

Deno.test("a malformed WebSocket frame closes that connection only, with BAD_FRAME and close code 1002", async () => {
  await using s = webServer();
  await using good = await WsClient.connect(s.port, "good");
  await good.send(hello("good"));
  await good.next("welcome");
  for (
    const [what, frame, code] of [
      ["unmasked", clientFrame(0x2, encodeMessage(hello("bad")), { mask: false }), 1002],
      ["text", clientFrame(0x1, enc("hello")), 1003],
      [
        "two frames in one message",
        clientFrame(0x2, new Uint8Array([0, 0, 0, 1, 0x40, 0, 0, 0, 1, 0x40])),
        1002,
      ],
      ["too large", clientFrame(0x2, new Uint8Array(0), { length: 4 + 64 * 1024 + 1 }), 1009],
    ] as const
  ) {
    await using bad = await WsClient.connect(s.port, what);
    await bad.send(hello(`b${code}${what.length}`));
    await bad.next("welcome");
    await bad.sendRaw(frame);
    const error = await bad.next("error");
    assert.equal(error.code, code === 1009 ? "TOO_LARGE" : "BAD_FRAME", what);
    assert.ok(error.fatal);
    assert.match(error.message, /^WebSocket: /);
    assert.equal(await bad.closed(), code, what);
  }
  // The other connection is untouched.
  await good.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "still here" });
  assert.equal((await good.next("ack")).id, 1);
});

Deno.test("a WebSocket whose first message is not a HELLO gets a fatal ERROR, not the not-chat line", async () => {
  await using s = webServer();
  await using ws = await WsClient.connect(s.port);
  await ws.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "too early" });
  const err = await ws.next("error");
  assert.deepEqual([err.code, err.fatal], ["UNEXPECTED_FRAME", true]);
  assert.equal(await ws.closed(), 1000);
});

Deno.test("a WebSocket ping gets a pong with its payload, and a client close is echoed before the socket closes", async () => {
  await using s = webServer();
  await using ws = await WsClient.connect(s.port);
  await ws.send(hello("pinger"));
  await ws.next("welcome");
  await ws.sendRaw(clientFrame(0x9, enc("abc")));
  await waitFor(ws, () => ws.frames.find((f) => f.opcode === 0xa), "pong");
  assert.equal(new TextDecoder().decode(ws.frames.find((f) => f.opcode === 0xa)!.payload), "abc");
  await ws.sendRaw(clientFrame(0x8, new Uint8Array([0x03, 0xe8])));
  assert.equal(await ws.closed(), 1000);
});

Deno.test("a WebSocket reader that never reads is dropped as slow_consumer; a reading one gets everything", async () => {
  // A long timeout: neither WebSocket client sends PINGs. Loopback socket buffers take megabytes before
  // the sink's outbox even starts to fill, so the sender keeps going until the sink is gone.
  await using s = webServer({ outboxBytes: 64 * 1024, rate: { perSecond: 0, burst: 1 }, timeoutMs: 120_000 });
  await using reader = await WsClient.connect(s.port, "reader");
  await reader.send(hello("reader"));
  await reader.next("welcome");
  await using sink = await WsClient.connect(s.port, "sink", false);
  await sink.send(hello("sink"));
  await waitFor(
    reader,
    () => reader.messages.find((m) => m.type === "presence" && m.name === "sink"),
    "sink joins",
  );
  await using sender = await RawClient.connect(s.port, "sender");
  await sender.handshake("sender");
  const text = "x".repeat(4000);
  let sent = 0;
  const left = () =>
    reader.messages.find((m) => m.type === "presence" && m.event === "leave" && m.name === "sink");
  while (!left() && sent < 20_000) {
    sent++;
    await sender.send({ type: "send", id: sent, room: "lobby", flags: 0, text });
    // 80 KB at a time: a reader that reads keeps up with that, one that does not falls behind for good.
    if (sent % 20 === 0) {
      const id = sent;
      await waitFor(sender, () => sender.messages.find((m) => m.type === "ack" && m.id === id), `ack ${id}`);
    }
  }
  const leave = await waitFor(reader, left, "the sink to be dropped");
  assert.equal(leave.type === "presence" && leave.reason, "slow_consumer");
  await waitFor(
    reader,
    () => reader.messages.filter((m) => m.type === "message").length >= sent || undefined,
    `${sent} messages`,
  );
  assert.deepEqual(reader.messages.filter((m) => m.type === "error"), []);
  const m = s.server.metrics();
  assert.equal(metric(m, 'chat_closes_total{reason="slow_consumer"}'), 1);
});

Deno.test("X-Forwarded-For is honoured from a trusted proxy only: bans apply to the forwarded address", async () => {
  const logs = recordingLogger();
  await using s = webServer({ logger: logs.logger }, { trustProxy: new CidrSet(["127.0.0.1"]) });
  s.store.putBan({ target: "addr:203.0.113.5", until: 0, reason: "spam", by: "op", created: Date.now() });
  const banned = await upgrade(
    s.port,
    upgradeRequest(s.port, { extra: ["X-Forwarded-For: 198.51.100.1, 203.0.113.5"] }),
  );
  assert.ok(banned instanceof WsClient);
  await banned.send(hello("spammer"));
  const err = await banned.next("error");
  assert.deepEqual([err.code, err.message], ["BANNED", "banned: spam"]);
  await banned[Symbol.asyncDispose]();
  // The client's own claim, left of what the proxy appended, changes nothing.
  const ok = await upgrade(
    s.port,
    upgradeRequest(s.port, { extra: ["X-Forwarded-For: 203.0.113.5, 198.51.100.1"] }),
  );
  assert.ok(ok instanceof WsClient);
  await ok.send(hello("fine"));
  await ok.next("welcome");
  await ok[Symbol.asyncDispose]();
  assert.ok(logs.lines.some((l) => l === "info connect fine (198.51.100.1:0)"), logs.lines.join("\n"));
  assert.equal(
    (await refused(s.port, upgradeRequest(s.port, { extra: ["X-Forwarded-For: not-an-address"] }))).status,
    400,
  );
});

Deno.test("X-Forwarded-For from a peer that is not a trusted proxy is ignored", async () => {
  await using s = webServer({}, { trustProxy: new CidrSet(["10.0.0.0/8"]) });
  s.store.putBan({ target: "addr:203.0.113.5", until: 0, reason: "spam", by: "op", created: Date.now() });
  const ws = await upgrade(s.port, upgradeRequest(s.port, { extra: ["X-Forwarded-For: 203.0.113.5"] }));
  assert.ok(ws instanceof WsClient);
  await ws.send(hello("spoofer"));
  await ws.next("welcome");
  await ws[Symbol.asyncDispose]();
});

Deno.test("behind a trusted proxy the per-address limits count forwarded addresses, not the proxy's", async () => {
  await using s = webServer(
    { connectionLimits: { perAddress: 1, perMinute: 100, loopback: true } },
    { trustProxy: new CidrSet(["127.0.0.1"]) },
  );
  const open: WsClient[] = [];
  try {
    // Three clients through one proxy address: the proxy itself is not limited.
    for (const ip of ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) {
      const ws = await upgrade(s.port, upgradeRequest(s.port, { extra: [`X-Forwarded-For: ${ip}`] }));
      assert.ok(ws instanceof WsClient, ip);
      await ws.send(hello(`u${ip.split(".")[3]}`));
      await ws.next("welcome");
      open.push(ws);
    }
    // A second connection from a forwarded address already connected is refused, in the chat protocol.
    const again = await upgrade(s.port, upgradeRequest(s.port, { extra: ["X-Forwarded-For: 203.0.113.2"] }));
    assert.ok(again instanceof WsClient);
    const err = await again.next("error");
    assert.equal(err.code, "TOO_MANY_CONNECTIONS");
    assert.equal(await again.closed(), 1008);
    await again[Symbol.asyncDispose]();
    // Once the first one leaves, its address may connect again.
    await open[1].send({ type: "bye", reason: "" });
    await open[1].closed();
    const back = await upgrade(s.port, upgradeRequest(s.port, { extra: ["X-Forwarded-For: 203.0.113.2"] }));
    assert.ok(back instanceof WsClient);
    await back.send(hello("back"));
    await back.next("welcome");
    open.push(back);
  } finally {
    for (const ws of open) await ws[Symbol.asyncDispose]();
  }
});

Deno.test("the binary protocol on the same port works as before with the web side on", async () => {
  await using s = webServer();
  await using a = await RawClient.connect(s.port, "a");
  await using b = await RawClient.connect(s.port, "b");
  await a.handshake("alice");
  await b.handshake("bob");
  await a.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "binary" });
  assert.equal((await b.next("message")).text, "binary");
  assert.equal(metric(s.server.metrics(), 'chat_connections{transport="tcp"}'), 2);
});

/** A TLS connection to 127.0.0.1 that trusts the test certificate. */
async function tlsConnect(port: number): Promise<Deno.TlsConn> {
  const { cert } = await testCert();
  return await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [cert] });
}

async function tlsServer(required: boolean): Promise<Running> {
  const { cert, key, fingerprint } = await testCert();
  return webServer({ tls: new TlsAcceptor({ cert, key, fingerprint, required }) });
}

Deno.test("over TLS: https serves the page, wss carries chat, and the page's own origin is https", async () => {
  await using s = await tlsServer(false);
  const { cert } = await testCert();
  const client = Deno.createHttpClient({ caCerts: [cert] });
  try {
    const res = await fetch(`https://127.0.0.1:${s.port}/`, { client });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), PAGE, "fetch asked for gzip and got it decoded");
    assert.ok(res.headers.get("content-security-policy"));
  } finally {
    client.close();
  }
  const conn = await tlsConnect(s.port);
  const ws = await WsClient.open(
    conn,
    upgradeRequest(s.port, { origin: `https://127.0.0.1:${s.port}` }),
    "wss",
  );
  assert.ok(ws instanceof WsClient);
  await using _ws = ws;
  await ws.send(hello("secure"));
  await ws.next("welcome");
  assert.equal(metric(s.server.metrics(), 'chat_connections{transport="websocket"}'), 1);
  const plainOrigin = await WsClient.open(
    await tlsConnect(s.port),
    upgradeRequest(s.port, { origin: `http://127.0.0.1:${s.port}` }),
  );
  assert.equal((plainOrigin as HttpResponse).status, 403);
});

Deno.test("with --require-tls a plaintext request is redirected to https, and TLS ones are served", async () => {
  await using s = await tlsServer(true);
  const r = await httpOnce(s.port, getRequest("/app.js?x=1", s.port));
  assert.deepEqual([r.status, header(r, "location")], [308, `https://127.0.0.1:${s.port}/app.js?x=1`]);
  const conn = await tlsConnect(s.port);
  try {
    await conn.write(enc(getRequest("/healthz", s.port)));
    const ok = await new HttpReader(conn).response();
    assert.deepEqual([ok.status, ok.text], [200, "ok\n"]);
  } finally {
    conn.close();
  }
});
