import assert from "node:assert/strict";
import { codePointWidth, graphemes, graphemeWidth, stringWidth, truncate } from "../../src/tui/width.ts";

Deno.test("codePointWidth() gives 1 to ASCII and Latin, 2 to CJK and fullwidth, 0 to marks and format characters", () => {
  assert.equal(codePointWidth("a".codePointAt(0)!), 1);
  assert.equal(codePointWidth("é".codePointAt(0)!), 1);
  assert.equal(codePointWidth("Ж".codePointAt(0)!), 1);
  assert.equal(codePointWidth("你".codePointAt(0)!), 2);
  assert.equal(codePointWidth("한".codePointAt(0)!), 2);
  assert.equal(codePointWidth("カ".codePointAt(0)!), 2);
  assert.equal(codePointWidth("Ａ".codePointAt(0)!), 2, "fullwidth A");
  assert.equal(codePointWidth(0x3000), 2, "ideographic space");
  assert.equal(codePointWidth(0x20000), 2, "CJK extension B");
  assert.equal(codePointWidth(0x0301), 0, "combining acute");
  assert.equal(codePointWidth(0x200b), 0, "zero width space");
  assert.equal(codePointWidth(0x200d), 0, "zero width joiner");
  assert.equal(codePointWidth(0x1160), 0, "Hangul medial vowel");
  assert.equal(codePointWidth(0x1b), 0, "controls take no column (they are sanitised before display)");
});

Deno.test("codePointWidth() gives 2 to emoji with emoji presentation and 1 to text-style symbols", () => {
  assert.equal(codePointWidth("👍".codePointAt(0)!), 2);
  assert.equal(codePointWidth("🚀".codePointAt(0)!), 2);
  assert.equal(codePointWidth("⌚".codePointAt(0)!), 2);
  assert.equal(codePointWidth("❤".codePointAt(0)!), 1, "U+2764 is text style on its own");
  assert.equal(codePointWidth("→".codePointAt(0)!), 1);
  assert.equal(codePointWidth("␛".codePointAt(0)!), 1, "the sanitiser's placeholders are narrow");
});

Deno.test("graphemes() keeps combining sequences, emoji ZWJ sequences and flags together", () => {
  assert.deepEqual(graphemes("abc"), ["a", "b", "c"]);
  assert.deepEqual(graphemes("e\u0301x"), ["e\u0301", "x"]);
  assert.deepEqual(graphemes("👩‍💻!"), ["👩‍💻", "!"]);
  assert.deepEqual(graphemes("🇫🇷🇩🇪"), ["🇫🇷", "🇩🇪"]);
  assert.deepEqual(graphemes(""), []);
});

Deno.test("graphemeWidth() measures a cluster by its base, with VS16 making a pictograph wide", () => {
  assert.equal(graphemeWidth("e\u0301"), 1);
  assert.equal(graphemeWidth("👩‍💻"), 2);
  assert.equal(graphemeWidth("🇫🇷"), 2);
  assert.equal(graphemeWidth("❤\ufe0f"), 2);
  assert.equal(graphemeWidth("👍🏽"), 2, "skin tone modifier");
  assert.equal(graphemeWidth("\u0301"), 0, "a lone combining mark");
});

Deno.test("stringWidth() adds up columns for mixed text", () => {
  assert.equal(stringWidth(""), 0);
  assert.equal(stringWidth("hello"), 5);
  assert.equal(stringWidth("你好"), 4);
  assert.equal(stringWidth("a你b"), 4);
  assert.equal(stringWidth("cafe\u0301"), 4);
  assert.equal(stringWidth("hi 👋 there"), 11);
  assert.equal(stringWidth("👩‍💻 code"), 7);
});

Deno.test("truncate() keeps whole graphemes and never half of a wide character", () => {
  assert.equal(truncate("hello", 3), "hel");
  assert.equal(truncate("你好世界", 5), "你好");
  assert.equal(truncate("你好世界", 4), "你好");
  assert.equal(truncate("a你", 2), "a");
  assert.equal(truncate("cafe\u0301s", 4), "cafe\u0301");
  assert.equal(truncate("abc", 10), "abc");
  assert.equal(truncate("abc", 0), "");
});
