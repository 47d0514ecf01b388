import assert from "node:assert/strict";
import { AuthFailures, FLOOD_STRIKES, hostOf, TokenBucket } from "../../src/chat/guard.ts";
import { parseDuration } from "../../src/client/commands.ts";

Deno.test("TokenBucket allows a burst, then the sustained rate, then calls a long flood a flood", () => {
  const b = new TokenBucket({ perSecond: 2, burst: 3 }, 0);
  assert.deepEqual([b.take(0), b.take(0), b.take(0)], ["ok", "ok", "ok"]);
  assert.equal(b.take(0), "limited");
  assert.equal(b.take(500), "ok", "half a second refills one token at 2/s");
  assert.equal(b.take(500), "limited");
  let verdict = "";
  for (let i = 0; i < FLOOD_STRIKES; i++) verdict = b.take(600);
  assert.equal(verdict, "flood");
});

Deno.test("TokenBucket forgets old refusals after the flood window", () => {
  const b = new TokenBucket({ perSecond: 1, burst: 1 }, 0);
  b.take(0);
  for (let i = 0; i < FLOOD_STRIKES - 1; i++) assert.equal(b.take(1), "limited");
  assert.equal(b.take(20_000), "ok");
  assert.equal(b.take(20_000), "limited", "a refusal in a new window starts a new count");
});

Deno.test("TokenBucket with perSecond 0 never limits, however many messages come at once", () => {
  const b = new TokenBucket({ perSecond: 0, burst: 1 }, 0);
  for (let i = 0; i < FLOOD_STRIKES * 4; i++) assert.equal(b.take(0), "ok", `message ${i}`);
});

Deno.test("AuthFailures doubles the delay per failure from one address, and a success resets it", () => {
  const f = new AuthFailures();
  assert.deepEqual([f.fail("1.2.3.4", 0), f.fail("1.2.3.4", 1), f.fail("1.2.3.4", 2)], [500, 1000, 2000]);
  assert.equal(f.fail("5.6.7.8", 3), 500, "addresses are independent");
  for (let i = 0; i < 20; i++) f.fail("1.2.3.4", 4);
  assert.equal(f.fail("1.2.3.4", 5), 30_000, "capped");
  f.succeed("1.2.3.4");
  assert.equal(f.fail("1.2.3.4", 6), 500);
  assert.equal(f.fail("5.6.7.8", 3 + 16 * 60_000), 500, "forgotten after a quiet quarter hour");
});

Deno.test("hostOf() reads addresses, and the client's parseDuration() durations", () => {
  assert.equal(hostOf("127.0.0.1:5000"), "127.0.0.1");
  assert.equal(hostOf("::1:5000"), "::1");
  assert.deepEqual(
    ["90s", "15m", "2h", "7d", "1w", "250"].map(parseDuration),
    [
      90_000,
      900_000,
      7_200_000,
      604_800_000,
      604_800_000 * 1,
      250,
    ].map((v, i) => i === 3 ? 7 * 86_400_000 : v),
  );
  assert.equal(parseDuration("soon"), null);
  assert.equal(parseDuration("-5m"), null);
});
