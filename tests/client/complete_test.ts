import assert from "node:assert/strict";
import {
  complete,
  type Completion,
  type CompletionInput,
  type CompletionSource,
} from "../../src/client/complete.ts";

/** An input line holding `text` with the cursor at its end. */
const editorWith = (text: string): CompletionInput => ({ text, cursor: text.length });

const source: CompletionSource = {
  commands: ["/help", "/join", "/leave", "/me", "/quit", "/who"],
  nicks: ["bob", "Bobby", "carol", "émile"],
};

function tab(editor: CompletionInput, times = 1, backwards = false): string {
  let c: Completion | null = null;
  let e = editor;
  for (let i = 0; i < times; i++) {
    c = complete(e, c, source, backwards);
    if (!c) break;
    e = c.result;
  }
  return e.text.slice(0, e.cursor) + "|" + e.text.slice(e.cursor);
}

Deno.test("complete() completes a nickname at the start of the line with ': '", () => {
  assert.equal(tab(editorWith("car")), "carol: |");
  assert.equal(tab(editorWith("CAR")), "carol: |", "case does not matter");
  assert.equal(tab(editorWith("é")), "émile: |");
});

Deno.test("complete() completes a nickname inside the line with a space", () => {
  assert.equal(tab(editorWith("hi car")), "hi carol |");
  assert.equal(tab(editorWith("hi @car")), "hi carol |", "an @ before the name is accepted");
});

Deno.test("complete() cycles through matches on repeated Tab, and backwards with Shift-Tab", () => {
  assert.equal(tab(editorWith("bo")), "bob: |");
  assert.equal(tab(editorWith("bo"), 2), "Bobby: |");
  assert.equal(tab(editorWith("bo"), 3), "bob: |", "wraps around");
  assert.equal(tab(editorWith("hi bo"), 2), "hi Bobby |");
  assert.equal(tab(editorWith("bo"), 1, true), "Bobby: |");
});

Deno.test("complete() completes command names at the start of the line", () => {
  assert.equal(tab(editorWith("/jo")), "/join |");
  assert.equal(tab(editorWith("/q")), "/quit |");
  assert.equal(tab(editorWith("/JO")), "/join |");
  assert.equal(tab(editorWith("say /jo")), "say /jo|", "not a command in the middle of a line");
});

Deno.test("complete() keeps the text after the cursor", () => {
  const e: CompletionInput = { text: "hi car how are you", cursor: 6 };
  assert.equal(tab(e), "hi carol |how are you");
});

Deno.test("complete() returns null with nothing to complete", () => {
  assert.equal(complete(editorWith(""), null, source), null);
  assert.equal(complete(editorWith("hello "), null, source), null);
  assert.equal(complete(editorWith("zed"), null, source), null);
});

Deno.test("complete() carries the rest of a front end's input state over untouched", () => {
  const c = complete({ text: "car", cursor: 3, killed: "cut text" }, null, source);
  assert.deepEqual(c?.result, { text: "carol: ", cursor: 7, killed: "cut text" });
});
