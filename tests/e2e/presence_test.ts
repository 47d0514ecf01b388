import assert from "node:assert/strict";
import { joinJson } from "../_helpers/json_client.ts";
import { startServer } from "../_helpers/process.ts";

/**
 * A server may hold the name of a client that vanished for a grace period before announcing its leave
 * (so a quick reconnect makes no noise); keep that short here, where the leave is what we wait for.
 */
const SHORT_GRACE = { env: { CHAT_GRACE: "200" } };

Deno.test("others see a client join, and leave with reason quit when its stdin closes or it says /quit", async () => {
  await using server = await startServer();
  await using watcher = await joinJson(server.port, "watcher");

  {
    await using dave = await joinJson(server.port, "dave");
    await watcher.next("presence", (e) => e.event === "join" && e.name === "dave" && e.room === "lobby");
    await dave.proc.closeStdin();
    const leave = await watcher.next("presence", (e) => e.event === "leave" && e.name === "dave");
    assert.equal(leave.reason, "quit");
    assert.equal(leave.room, "lobby");
    assert.equal((await dave.proc.exit()).code, 0, dave.describe());
  }

  {
    await using erin = await joinJson(server.port, "erin");
    await watcher.next("presence", (e) => e.event === "join" && e.name === "erin");
    await erin.say("/quit bye");
    const leave = await watcher.next("presence", (e) => e.event === "leave" && e.name === "erin");
    assert.equal(leave.reason, "quit");
    assert.equal(leave.text, "bye");
    assert.equal((await erin.proc.exit()).code, 0, erin.describe());
  }
});

Deno.test("others see a client killed with SIGKILL leave with reason disconnected", async () => {
  await using server = await startServer([], SHORT_GRACE);
  await using watcher = await joinJson(server.port, "watcher");
  await using frank = await joinJson(server.port, "frank");
  await watcher.next("presence", (e) => e.event === "join" && e.name === "frank");

  frank.proc.kill("SIGKILL");
  const leave = await watcher.next("presence", (e) => e.event === "leave" && e.name === "frank");
  assert.equal(leave.reason, "disconnected");
  assert.equal(leave.text, "");
  assert.notEqual((await frank.proc.exit()).code, 0);
});

Deno.test("a client killed while messages are still arriving for it also leaves with reason disconnected", async () => {
  // No rate limit: the talker sends 2000 messages at once, which at the default 50 a second the client now
  // paces over 40 s (it used to get through by being dropped for flooding and reconnecting with a fresh bucket).
  await using server = await startServer([], { env: { ...SHORT_GRACE.env, CHAT_RATE_LIMIT: "0" } });
  await using watcher = await joinJson(server.port, "watcher");
  await using grace = await joinJson(server.port, "grace");
  await using talker = await joinJson(server.port, "talker");
  // Enough traffic that grace's socket still holds unread bytes when it dies, so the kernel resets the connection.
  const count = 2000;
  await talker.proc.write(
    Array.from({ length: count }, (_, i) => `flood ${i} ${"x".repeat(200)}\n`).join(""),
  );
  await grace.next("message");
  grace.proc.kill("SIGKILL");

  const leave = await watcher.next("presence", (e) => e.event === "leave" && e.name === "grace");
  assert.equal(leave.reason, "disconnected");
  // The others lose nothing to grace's death.
  const got = await watcher.waitMessages(count);
  assert.deepEqual(got.map((m) => m.seq), Array.from({ length: count }, (_, i) => i + 1));
});

Deno.test("a client stopped by SIGINT or SIGTERM right after joining says goodbye and exits 130 or 143", async () => {
  await using server = await startServer();
  await using watcher = await joinJson(server.port, "watcher");
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    await using henry = await joinJson(server.port, "henry");
    // No pause after the welcome: the signal handlers must already be in place.
    henry.proc.kill(signal);
    assert.equal((await henry.proc.exit()).code, code, henry.describe());
    const leave = await watcher.next("presence", (e) => e.event === "leave" && e.name === "henry");
    assert.equal(leave.reason, "quit", `after ${signal}`);
    assert.equal(leave.text, `interrupted (${signal})`);
  }
});

Deno.test("a room past --presence-limit goes quiet: joiners get a count, joins and leaves stop, and it is loud again at half", async () => {
  await using server = await startServer(["--presence-limit", "2"], SHORT_GRACE);
  await using ann = await joinJson(server.port, "ann");
  await using ben = await joinJson(server.port, "ben");
  await ann.next("presence", (e) => e.event === "join" && e.name === "ben");

  // The third member takes the room past the limit: the others are told once, the joiner gets the size.
  await using cat = await joinJson(server.port, "cat");
  const welcome = cat.events().find((e) => e.type === "welcome")!;
  assert.deepEqual(
    [
      welcome.type === "welcome" && welcome.online,
      (welcome as { members?: number }).members,
      (welcome as { quiet?: boolean }).quiet,
    ],
    [[], 3, true],
  );
  assert.deepEqual(await ann.next("room"), { type: "room", room: "lobby", members: 3, quiet: true });
  await ben.next("room", (e) => e.quiet);

  // Messages still reach everyone; /who still lists everyone.
  await cat.say("hello quiet room");
  await ann.next("message", (e) => e.text === "hello quiet room");
  await cat.say("/who");
  const who = await cat.next("members");
  assert.deepEqual(who.online, ["ann", "ben", "cat"]);

  // cat leaves: not announced (quiet until the room is down to 1 = half of 2)... then ben leaves: loud again.
  await cat.say("/quit");
  assert.equal((await cat.proc.exit()).code, 0, cat.describe());
  await ben.say("/quit");
  assert.equal((await ben.proc.exit()).code, 0, ben.describe());
  assert.deepEqual(await ann.next("room", (e) => !e.quiet), {
    type: "room",
    room: "lobby",
    members: 1,
    quiet: false,
  });
  assert.deepEqual((await ann.next("members")).online, ["ann"]);
  assert.equal(
    ann.events().filter((e) =>
      e.type === "presence" && (e.name === "cat" || e.name === "ben") && e.event === "leave"
    )
      .length,
    0,
    "no leave was announced while the room was quiet",
  );
});
