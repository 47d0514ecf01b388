import assert from "node:assert/strict";
import { plainText, type Span } from "../../src/tui/style.ts";
import { fitSpans, spansWidth, wrapSpans } from "../../src/tui/wrap.ts";
import { stringWidth } from "../../src/tui/width.ts";

const rows = (text: string, width: number) => wrapSpans([{ text }], width).map(plainText);

Deno.test("wrapSpans() breaks after spaces and drops the space it breaks at", () => {
  assert.deepEqual(rows("hello world", 5), ["hello", "world"]);
  assert.deepEqual(rows("hello world", 8), ["hello", "world"]);
  assert.deepEqual(rows("the quick brown fox", 10), ["the quick", "brown fox"]);
  assert.deepEqual(rows("short", 20), ["short"]);
  assert.deepEqual(rows("", 20), [""]);
});

Deno.test("wrapSpans() cuts a word longer than the row", () => {
  assert.deepEqual(rows("abcdefghij", 4), ["abcd", "efgh", "ij"]);
  assert.deepEqual(rows("hi abcdefghij", 4), ["hi", "abcd", "efgh", "ij"]);
});

Deno.test("wrapSpans() measures wide characters and never splits one across rows", () => {
  assert.deepEqual(rows("你好世界", 4), ["你好", "世界"]);
  assert.deepEqual(rows("你好世界", 5), ["你好", "世界"]);
  assert.deepEqual(rows("a你好", 4), ["a你", "好"]);
  assert.deepEqual(rows("👍👍👍", 5), ["👍👍", "👍"]);
  for (const width of [2, 3, 4, 5, 7, 11]) {
    for (const row of rows("日本語のテキストと English words と 絵文字 🎉🎉 mixed", width)) {
      assert.ok(stringWidth(row) <= width, `${JSON.stringify(row)} is wider than ${width}`);
    }
  }
});

Deno.test("wrapSpans() keeps a combining mark with its letter", () => {
  assert.deepEqual(rows("cafe\u0301s", 4), ["cafe\u0301", "s"]);
});

Deno.test("wrapSpans() starts a new row at every line feed, keeping empty lines", () => {
  assert.deepEqual(rows("one\ntwo", 20), ["one", "two"]);
  assert.deepEqual(rows("one\n\nthree", 20), ["one", "", "three"]);
});

Deno.test("wrapSpans() keeps each piece's style across the break", () => {
  const bold = { bold: true };
  const spans: Span[] = [{ text: "plain " }, { text: "bold words here", style: bold }];
  const out = wrapSpans(spans, 10);
  assert.deepEqual(out.map(plainText), ["plain bold", "words here"]);
  assert.deepEqual(out[1], [{ text: "words here", style: bold }]);
});

Deno.test("fitSpans() and spansWidth() clip and measure styled text", () => {
  const spans: Span[] = [{ text: "ab" }, { text: "你好", style: { bold: true } }];
  assert.equal(spansWidth(spans), 6);
  assert.deepEqual(fitSpans(spans, 5).map((s) => s.text), ["ab", "你"]);
  assert.deepEqual(fitSpans(spans, 1).map((s) => s.text), ["a"]);
});
