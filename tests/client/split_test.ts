import assert from "node:assert/strict";
import { splitText } from "../../src/client/split.ts";
import { utf8Length } from "../../src/protocol/mod.ts";
import { Prng } from "../_helpers/prng.ts";

const graphemes = (s: string) =>
  [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(s)].map((g) => g.segment);

/** What every split keeps: parts within the limit, none blank, no broken UTF-16, nothing but blanks lost. */
function checkParts(text: string, max: number, parts: string[]): void {
  for (const p of parts) {
    assert.ok(utf8Length(p) <= max, `a part of ${utf8Length(p)} bytes, limit ${max}`);
    assert.ok(p.trim() !== "", "a blank part");
    assert.ok(p.isWellFormed(), `a part with a lone surrogate: ${JSON.stringify(p)}`);
  }
  assert.equal(parts.join("").replace(/\s+/g, ""), text.replace(/\s+/g, ""), "text lost or added");
}

Deno.test("splitText() leaves a text that fits as it is", () => {
  assert.deepEqual(splitText("hello\n\n  world ", 4096), ["hello\n\n  world "]);
  assert.deepEqual(splitText("x".repeat(4096), 4096), ["x".repeat(4096)]);
  assert.deepEqual(splitText("é".repeat(2048), 4096), ["é".repeat(2048)], "4096 bytes in 2048 characters");
});

Deno.test("splitText() puts whole lines in each part: a 200-line paste of 9.8 KB goes as 3", () => {
  // As in issue 15: a 200-line paste was refused whole with TOO_LARGE (limit 4096).
  const lines = Array.from(
    { length: 200 },
    (_, i) => `line ${String(i).padStart(3, "0")} ${"x".repeat(30 + (i % 20))}`,
  );
  const text = lines.join("\n");
  const parts = splitText(text, 4096);
  assert.equal(parts.length, 3);
  checkParts(text, 4096, parts);
  assert.deepEqual(parts.flatMap((p) => p.split("\n")), lines, "every line whole, in order, none split");
  assert.equal(parts.join("\n"), text);
});

Deno.test("splitText() breaks a long line between words, dropping the spaces where it breaks", () => {
  const words = Array.from({ length: 900 }, (_, i) => `word${i}`);
  const text = words.join(" ");
  assert.ok(text.length > 5000);
  const parts = splitText(text, 4096);
  assert.equal(parts.length, 2);
  checkParts(text, 4096, parts);
  assert.equal(parts.join(" "), text);
  assert.ok(parts.every((p) => !p.startsWith(" ") && !p.endsWith(" ")));
  assert.deepEqual(splitText("aaa bbb  ccc", 7), ["aaa bbb", "ccc"]);
});

Deno.test("splitText() keeps a line's indentation and the lines that follow its last piece together", () => {
  assert.deepEqual(splitText("    indented code here\nnext", 12), ["    indented", "code here", "next"]);
  assert.deepEqual(splitText("aaaa bbbb\ncc", 7), ["aaaa", "bbbb\ncc"], "a short line joins the last piece");
});

Deno.test("splitText() breaks a word longer than a part between grapheme clusters, never inside one", () => {
  // "é" as e + U+0301, a flag (two regional indicators) and a family (ZWJ sequence): clusters of 3, 8, 25 bytes.
  for (
    const cluster of [
      "e\u0301",
      "\u{1F1EB}\u{1F1F7}",
      "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}",
    ]
  ) {
    const text = cluster.repeat(300);
    for (const max of [30, 64, 100]) {
      const parts = splitText(text, max);
      checkParts(text, max, parts);
      for (const p of parts) {
        assert.ok(graphemes(p).every((g) => g === cluster), `a cluster torn: ${JSON.stringify(p)}`);
      }
    }
  }
});

Deno.test("splitText() breaks one cluster longer than a whole part between code points, never inside UTF-8", () => {
  // A letter with 200 combining marks: one grapheme cluster of 401 bytes.
  const zalgo = "a" + "\u0300".repeat(200);
  const parts = splitText(zalgo, 64);
  checkParts(zalgo, 64, parts);
  assert.equal(parts.join(""), zalgo);
  const astral = "\u{1F600}".repeat(50);
  const astralParts = splitText(astral, 10);
  checkParts(astral, 10, astralParts);
  assert.ok(astralParts.every((p) => utf8Length(p) === 8), "two 4-byte emoji a part, none cut");
});

Deno.test("splitText() leaves out blank parts and blank lines where a part starts or ends", () => {
  const text = `${"a".repeat(10)}\n\n\n\n${"b".repeat(10)}\n   \n`;
  assert.deepEqual(splitText(text, 12), ["a".repeat(10), "b".repeat(10)]);
  assert.deepEqual(splitText(`${"\n".repeat(50)}x`, 10), ["x"]);
  assert.deepEqual(
    splitText("one\n\ntwo\n\nthree", 10),
    ["one\n\ntwo", "three"],
    "blank lines inside a part stay",
  );
});

Deno.test("splitText() keeps its promises on random texts and limits", () => {
  const rng = new Prng(15);
  const chars = [..."ab cd\n\n  xyz", "é", "日", "😀", "e\u0301", "\u{1F1EB}\u{1F1F7}", "\u0300", "\t"];
  for (let i = 0; i < 500; i++) {
    let text = "";
    for (let n = rng.int(400); n > 0; n--) text += rng.pick(chars);
    const max = rng.pick([4, 5, 8, 16, 40, 100]);
    const parts = splitText(text, max);
    if (utf8Length(text) <= max) {
      assert.deepEqual(parts, [text]);
      continue;
    }
    checkParts(text, max, parts);
  }
});
