import assert from "node:assert/strict";
import { sanitize } from "../../src/text/sanitize.ts";

Deno.test("sanitize() turns escape sequences into visible, inert text", () => {
  assert.equal(sanitize("\x1b[2J\x1b[31mred"), "\u241b[2J\u241b[31mred");
  assert.equal(sanitize("\x1b]0;pwned\x07"), "\u241b]0;pwned\u2407");
});

Deno.test("sanitize() replaces C0, DEL, C1 and bidi controls", () => {
  assert.equal(sanitize("a\rb\bc\x7fd"), "a\u240db\u2408c\u2421d");
  assert.equal(sanitize("x\u009by"), "x\ufffdy", "C1 CSI");
  assert.equal(sanitize("abc\u202edcba\u2066i\u2069"), "abc\ufffddcba\ufffdi\ufffd");
  assert.equal(sanitize("l\u2028p"), "l\ufffdp");
});

Deno.test("sanitize() keeps ordinary text, wide characters and emoji sequences", () => {
  const text = "héllo 你好 👩‍💻 café";
  assert.equal(sanitize(text), text);
});

Deno.test("sanitize() shows newlines as a placeholder unless asked to keep them, and expands tabs", () => {
  assert.equal(sanitize("a\nb"), "a\u240ab");
  assert.equal(sanitize("a\nb", { keepNewlines: true }), "a\nb");
  assert.equal(sanitize("a\tb"), "a    b");
});
