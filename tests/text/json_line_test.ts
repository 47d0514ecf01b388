import assert from "node:assert/strict";
import { jsonLine } from "../../src/text/json_line.ts";

/** Every code point --json must never print raw, with a name for failure messages. */
const UNSAFE: [string, number][] = [
  ...Array.from({ length: 0x20 }, (_, c) => [`C0 ${c.toString(16)}`, c] as [string, number]),
  ["DEL", 0x7f],
  ...Array.from({ length: 0x20 }, (_, i) => [`C1 ${(0x80 + i).toString(16)}`, 0x80 + i] as [string, number]),
  ["ALM", 0x061c],
  ["LRM", 0x200e],
  ["RLM", 0x200f],
  ["LINE SEPARATOR", 0x2028],
  ["PARAGRAPH SEPARATOR", 0x2029],
  ...[0x202a, 0x202b, 0x202c, 0x202d, 0x202e].map((c) => [`bidi ${c.toString(16)}`, c] as [string, number]),
  ...[0x2066, 0x2067, 0x2068, 0x2069].map((c) => [`isolate ${c.toString(16)}`, c] as [string, number]),
];

const HOSTILE =
  "pwn\x1b]0;title\x07\x1b[2J\x7f\u009b31m\u0085\u202eevil\u2066x\u2069\u200f\u2028end\ttab\nline";

Deno.test("jsonLine() leaves no C0, DEL, C1, bidi control or line separator raw", () => {
  for (const [name, c] of UNSAFE) {
    const line = jsonLine({ type: "message", text: `a${String.fromCharCode(c)}b` });
    const raw = [...line].find((ch) => ch.codePointAt(0) === c);
    assert.equal(raw, undefined, `${name} is raw in ${line}`);
    assert.match(line, new RegExp(`\\\\u${c.toString(16).padStart(4, "0")}|\\\\[nrtbf]`), name);
  }
});

Deno.test("jsonLine() parses back to the very same value", () => {
  const value = {
    type: "message",
    from: "m\u0080llory",
    text: HOSTILE,
    online: ["\u202ealice", "bob\x7f"],
    seq: 42,
    nested: { "k\u009bey": "v\u2029" },
  };
  const line = jsonLine(value);
  assert.deepEqual(JSON.parse(line), value);
  assert.doesNotMatch(line, /\n/, "one line");
  // deno-lint-ignore no-control-regex -- the point is to find raw control characters.
  assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u);
});

Deno.test("jsonLine() is JSON.stringify for ordinary text", () => {
  const value = { type: "message", text: 'héllo 你好 👩‍💻 "quoted" back\\slash', n: 1 };
  assert.equal(jsonLine(value), JSON.stringify(value));
});
