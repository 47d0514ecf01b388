import assert from "node:assert/strict";
import {
  checkPin,
  parsePins,
  PIN_FILE_HEADER,
  PinFile,
  pinLine,
  type PinVerdict,
  serverKey,
} from "../../src/client/pins.ts";

const A = "AA:".repeat(31) + "AA";
const B = "BB:".repeat(31) + "BB";

Deno.test("checkPin() says first use, same, or changed (with the pinned fingerprint)", () => {
  const table: Array<[string | undefined, string, PinVerdict]> = [
    [undefined, A, { kind: "first" }],
    [A, A, { kind: "same" }],
    [A, B, { kind: "changed", pinned: A }],
    [B, A, { kind: "changed", pinned: B }],
  ];
  for (const [pinned, seen, verdict] of table) assert.deepEqual(checkPin(pinned, seen), verdict);
});

Deno.test("serverKey() is host:port, the host in lower case and an IPv6 address in brackets", () => {
  assert.equal(serverKey("Chat.Example.ORG", 3000), "chat.example.org:3000");
  assert.equal(serverKey("127.0.0.1", 1), "127.0.0.1:1");
  assert.equal(serverKey("::1", 3000), "[::1]:3000");
  assert.equal(serverKey("[::1]", 3000), "[::1]:3000");
  assert.notEqual(serverKey("host", 3000), serverKey("host", 3001));
});

Deno.test("parsePins() keeps the first pin per server and skips comments, blanks and malformed lines", () => {
  const text = PIN_FILE_HEADER +
    pinLine("a:1", A) +
    "\n" +
    "  # a comment\n" +
    pinLine("a:1", B) + // a racing client's duplicate: the first one counts
    `b:2 ${B.replace(/:/g, "").toLowerCase()}\n` + // normalised
    "c:3\n" + // no fingerprint
    "d:4 XYZ\n" + // not a fingerprint
    `nohostport ${A}\n` +
    `e:5 ${A} extra\n` +
    pinLine("[::1]:6", A);
  assert.deepEqual([...parsePins(text)], [["a:1", A], ["b:2", B], ["[::1]:6", A]]);
  assert.equal(parsePins("").size, 0);
});

Deno.test("PinFile: nothing pinned without a file; add() creates it (mode 0600, with a header) and appends", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-pins-" });
  try {
    const pins = new PinFile(`${dir}/state/chat/known_servers`);
    assert.equal(pins.lookup("h:1"), undefined);
    pins.add("h:1", A);
    pins.add("h:2", B);
    assert.equal(pins.lookup("h:1"), A);
    assert.equal(pins.lookup("h:2"), B);
    assert.equal(pins.lookup("h:3"), undefined);
    const text = await Deno.readTextFile(pins.path);
    assert.ok(text.startsWith(PIN_FILE_HEADER), text);
    assert.equal(text.split(PIN_FILE_HEADER).length, 2, "the header is written once");
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(pins.path)).mode! & 0o777, 0o600);
    // Another PinFile on the same path (another process) sees the same pins.
    assert.equal(new PinFile(pins.path).lookup("h:1"), A);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
