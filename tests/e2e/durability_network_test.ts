/**
 * Network failures between a client and the server (issue 4), made with a
 * TCP proxy: a connection that goes silent, and connections cut again and
 * again while messages stream.
 */

import assert from "node:assert/strict";
import type { ClientEvent } from "../../src/client/events.ts";
import { type Hello, PROTOCOL_VERSION } from "../../src/protocol/mod.ts";
import {
  assertCompleteLog,
  assertUniqueTexts,
  pollUntil,
  serveOn,
  tailCursor,
  tailJson,
  tempDir,
  xdgHome,
} from "../_helpers/durable.ts";
import { joinJson } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";
import { TcpProxy } from "../_helpers/proxy.ts";
import { RawClient } from "../_helpers/raw_client.ts";

/** Presence events about `name` after its first join: a resume must add none. */
function noiseAbout(events: readonly ClientEvent[], name: string): ClientEvent[] {
  const about = events.filter((e) => e.type === "presence" && e.name === name);
  return about.slice(1);
}

Deno.test("a client whose connection went silent takes its name back at once with its resume token", async () => {
  await using server = await startServer();
  await using watcher = await joinJson(server.port, "watcher");
  await using proxy = new TcpProxy(server.port);
  await using old = await RawClient.connect(proxy.port, "old connection");
  const welcome = await old.handshake("ghost");
  const token = welcome.resumeToken;
  assert.ok(token, "the welcome carries a resume token");
  await watcher.next("presence", (e) => e.event === "join" && e.name === "ghost");

  // The network goes silent: for the server the old connection still looks alive (its timeout is 5 s).
  proxy.freeze();
  await using thief = await RawClient.connect(server.port, "no token");
  await thief.send({ type: "hello", version: PROTOCOL_VERSION, name: "ghost", rooms: [], extensions: [] });
  assert.equal((await thief.next("error")).code, "NAME_TAKEN", "without the token the name is still taken");

  const started = Date.now();
  await using back = await RawClient.connect(server.port, "resumed");
  await back.send({ type: "hello", version: PROTOCOL_VERSION, name: "ghost", rooms: [], resumeToken: token });
  const again = await back.next("welcome");
  const tookMs = Date.now() - started;
  assert.equal(again.name, "ghost");
  assert.ok(tookMs < 2000, `the takeover took ${tookMs} ms, not "at once"`);
  assert.ok(!back.messages.some((m) => m.type === "error"), back.describe());
  await server.proc.stderr.next(
    (l) => /disconnect ghost .*reason=replaced/.test(l),
    "the old connection replaced",
  );

  await back.send({ type: "send", id: 1, room: "lobby", flags: 0, text: "still me" });
  await watcher.next("message", (m) => m.text === "still me" && m.from === "ghost");
  assert.deepEqual(noiseAbout(watcher.events(), "ghost"), [], "the room saw the takeover");
});

Deno.test("a chat join cut off silently resumes within the grace period: no leave/join, nothing lost", async () => {
  await using data = await tempDir("chat-e2e-data-");
  await using home = await tempDir("chat-e2e-home-");
  // A short timeout, so both ends notice the silence soon; a grace period well beyond it.
  await using server = await serveOn(0, data.path, ["--timeout", "1000", "--grace", "15000"]);
  await using watcher = await joinJson(server.port, "watcher");
  await using proxy = new TcpProxy(server.port);
  await using ghost = await joinJson(proxy.port, "ghost", {
    env: xdgHome(home.path),
    flags: ["--timeout", "1000", "--reconnect-attempts", "0"],
  });
  await watcher.next("presence", (e) => e.event === "join" && e.name === "ghost");
  await ghost.say("before");
  await watcher.next("message", (m) => m.text === "before");

  proxy.freeze();
  // The server drops the silent connection and keeps the name for the grace period...
  await server.proc.stderr.next((l) => /disconnect ghost .*reason=timeout/.test(l), "the server's timeout");
  // ...while the client, hearing nothing either, reconnects through the proxy with its token.
  await ghost.say("typed during the outage");
  await ghost.next("status", (e) => e.state === "reconnecting");
  await ghost.next("welcome", (e) => e.reconnected);
  await watcher.next("message", (m) => m.text === "typed during the outage");
  await ghost.say("after");
  await watcher.next("message", (m) => m.text === "after");

  assert.deepEqual(noiseAbout(watcher.events(), "ghost"), [], "the room saw the outage");
  assert.deepEqual(watcher.messages().map((m) => m.text), ["before", "typed during the outage", "after"]);
  assert.deepEqual(ghost.all("error"), [], "no NAME_TAKEN or other error");
});

const ROUNDS = 6;
const PER_ROUND = 500;

Deno.test("a reader behind a proxy that cuts its connection again and again ends with no gap and no duplicate", async () => {
  await using data = await tempDir("chat-e2e-data-");
  await using server = await serveOn(0, data.path);
  await using proxy = new TcpProxy(server.port);
  await using reader = await joinJson(proxy.port, "reader", { flags: ["--reconnect-attempts", "0"] });
  await using talker = await joinJson(server.port, "talker");
  await reader.next("presence", (e) => e.event === "join" && e.name === "talker");

  for (let round = 1; round <= ROUNDS; round++) {
    const lines = Array.from({ length: PER_ROUND }, (_, i) => `r${round} #${i + 1}`);
    await talker.proc.write(lines.join("\n") + "\n");
    if (round % 2 === 1) {
      // Cut in the middle of live traffic.
      await reader.next("message", (m) => m.text.startsWith(`r${round} `), 20_000);
    } else {
      // Cut again as soon as the reader is welcomed back, while it catches up on what it missed.
      await reader.next("welcome", (e) => e.reconnected, 20_000);
    }
    assert.equal(proxy.cut(), 1, proxy.describe());
    await proxy.waitAccepted(round + 1, 20_000);
  }
  await talker.proc.closeStdin();
  assert.equal((await talker.proc.exit(20_000)).code, 0, talker.describe());

  const total = ROUNDS * PER_ROUND;
  const got = await reader.waitMessages(total, 30_000);
  assertCompleteLog(got, "reader");
  assert.equal(got.length, total);
  assertUniqueTexts(got, "reader");
  assert.equal(reader.all("status").filter((e) => e.state === "reconnecting").length, ROUNDS);
  assert.equal(reader.all("welcome").filter((e) => e.reconnected).length, ROUNDS);
});

Deno.test({
  // A client whose connection drops after the server took its HELLO but before the WELCOME arrived holds the
  // previous token; the broker accepts it for the session that replaced it.
  name: "a resume whose WELCOME was lost on the way still takes the name back with the same token",
  fn: async () => {
    await using server = await startServer();
    await using watcher = await joinJson(server.port, "watcher");
    await using first = await RawClient.connect(server.port, "first connection");
    const welcome = await first.handshake("ghost");
    const token = welcome.resumeToken!;
    const hello: Hello = {
      type: "hello",
      version: PROTOCOL_VERSION,
      name: "ghost",
      rooms: [],
      resumeToken: token,
    };
    // The resume is taken over by the server, but the connection dies before its WELCOME is read.
    {
      await using lost = await RawClient.connect(server.port, "lost resume");
      await lost.send(hello);
      await first.closed();
    }
    await using again = await RawClient.connect(server.port, "second resume");
    await again.send(hello);
    const reply = await again.next("welcome", undefined, 2000).then((w) => w, () => null);
    assert.ok(reply, `no WELCOME for the same token:\n${again.describe()}`);
    assert.deepEqual(noiseAbout(watcher.events(), "ghost"), []);
  },
});

Deno.test({
  // A client resumes a room from the last sequence it passed on; a room joined empty gets its position from
  // an empty FETCH answer (its last seq), so a reconnect resumes instead of starting at the recent history.
  name: "a reader that joined an empty room and was cut off before its first message misses nothing",
  fn: async () => {
    await using data = await tempDir("chat-e2e-data-");
    await using server = await serveOn(0, data.path);
    await using proxy = new TcpProxy(server.port);
    await using home = await tempDir("chat-e2e-home-");
    await using reader = tailJson(proxy.port, "reader", ["--room", "quiet", "--reconnect-attempts", "0"], {
      env: xdgHome(home.path),
    });
    await using bot = await RawClient.connect(server.port, "bot");
    await bot.handshake("bot", ["quiet"]);
    // Cut only once the reader has taken in its join (history and the room's position, saved in its cursor):
    // before that, from its side, it never joined and a reconnect is rightly a fresh join.
    await pollUntil(
      () => tailCursor(home.path, proxy.port, "reader", "quiet") === 0 ? true : undefined,
      "the reader's saved position in quiet",
    );
    proxy.cut();
    // 80 messages while the reader is away (its first retry waits about 500 ms): more than the history of 50.
    const total = 80;
    for (let id = 1; id <= total; id++) {
      await bot.send({ type: "send", id, room: "quiet", flags: 0, text: `quiet ${id}` });
    }
    await bot.next("ack", (a) => a.id === total);
    await reader.next("message", (m) => m.seq === total, 20_000);
    assertCompleteLog(reader.messages(), "reader");
  },
});
