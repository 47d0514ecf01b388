import assert from "node:assert/strict";
import {
  cleanInput,
  editKey,
  type EditorState,
  editorWith,
  EMPTY_EDITOR,
  insert,
} from "../../src/tui/editor.ts";
import { KeyDecoder } from "../../src/tui/keys.ts";

/** Types raw terminal input into an editor; returns the text with "|" at the cursor. */
function type(input: string, start: EditorState = EMPTY_EDITOR): string {
  return show(typeState(input, start));
}

function typeState(input: string, start: EditorState = EMPTY_EDITOR): EditorState {
  const d = new KeyDecoder();
  let s = start;
  for (const key of [...d.push(new TextEncoder().encode(input)), ...d.flush()]) s = editKey(s, key) ?? s;
  return s;
}

function show(s: EditorState): string {
  return s.text.slice(0, s.cursor) + "|" + s.text.slice(s.cursor);
}

const LEFT = "\x1b[D";
const RIGHT = "\x1b[C";
const HOME = "\x1b[H";
const END = "\x1b[F";
const DEL = "\x1b[3~";
const BS = "\x7f";

Deno.test("editKey() inserts at the cursor and moves with Left, Right, Home and End", () => {
  assert.equal(type("hello"), "hello|");
  assert.equal(type(`hello${LEFT}${LEFT}XY`), "helXY|lo");
  assert.equal(type(`hello${HOME}>`), ">|hello");
  assert.equal(type(`hello${HOME}${RIGHT}${END}!`), "hello!|");
  assert.equal(type(`ab${LEFT}${LEFT}${LEFT}${LEFT}`), "|ab", "Left stops at the start");
  assert.equal(type(`ab${RIGHT}${RIGHT}`), "ab|", "Right stops at the end");
});

Deno.test("editKey() handles Ctrl-A, Ctrl-E, Ctrl-B and Ctrl-F like readline", () => {
  assert.equal(type("hello\x01["), "[|hello");
  assert.equal(type("hello\x01\x05]"), "hello]|");
  assert.equal(type("hello\x02\x02\x06_"), "hell_|o");
});

Deno.test("editKey() deletes with Backspace and Delete", () => {
  assert.equal(type(`hello${BS}${BS}`), "hel|");
  assert.equal(type(`hello${HOME}${DEL}${DEL}`), "|llo");
  assert.equal(type(`${BS}${DEL}`), "|", "nothing to delete is not an error");
  assert.equal(type(`hello${LEFT}${LEFT}${BS}`), "he|lo");
});

Deno.test("editKey() cuts with Ctrl-U, Ctrl-K, Ctrl-W and pastes the cut back with Ctrl-Y", () => {
  assert.equal(type(`hello world${LEFT}${LEFT}\x15`), "|ld");
  assert.equal(type(`hello world${HOME}${RIGHT}${RIGHT}\x0b`), "he|");
  assert.equal(type("say hello world\x17"), "say hello |");
  assert.equal(type("say hello world  \x17"), "say hello |", "Ctrl-W skips trailing spaces first");
  assert.equal(type("path/to/file\x17"), "|", "Ctrl-W cuts back to whitespace, like the shell");
  assert.equal(type(`hello world\x17${HOME}\x19 `), "world |hello ");
});

Deno.test("editKey() jumps by words with Alt-b/Alt-f and Ctrl-Left/Ctrl-Right", () => {
  const s = editorWith("one two-three four");
  assert.equal(type("\x1bb", s), "one two-three |four");
  assert.equal(type("\x1bb\x1bb", s), "one two-|three four");
  assert.equal(type("\x1bb\x1bb\x1bb\x1bb\x1bb", s), "|one two-three four");
  assert.equal(type(`${HOME}\x1bf`, s), "one| two-three four");
  assert.equal(type(`${HOME}\x1bf\x1bf`, s), "one two|-three four");
  assert.equal(type(`\x1b[1;5D\x1b[1;5D`, s), "one two-|three four");
  assert.equal(type(`${HOME}\x1b[1;5C`, s), "one| two-three four");
  assert.equal(type(`${HOME}\x1b[1;3C`, s), "one| two-three four", "Alt-Right");
  assert.equal(type(`${HOME}\x1bd`, s), "| two-three four", "Alt-d cuts the next word");
  assert.equal(type(`\x1b\x7f`, s), "one two-three |", "Alt-Backspace cuts the previous word");
});

Deno.test("editKey() moves over and deletes whole wide characters, emoji and combining sequences", () => {
  assert.equal(type(`你好世界${LEFT}${LEFT}${BS}`), "你|世界");
  assert.equal(type(`a👍b${LEFT}${BS}`), "a|b");
  assert.equal(type(`x👩‍💻y${LEFT}${LEFT}${DEL}`), "x|y", "a ZWJ sequence is one character");
  assert.equal(type(`cafe\u0301${BS}`), "caf|");
  assert.equal(type(`🇫🇷🇩🇪${LEFT}${BS}`), "|🇩🇪");
  assert.equal(type("日本語 テキスト\x17"), "日本語 |");
  assert.equal(type("日本語 テキスト\x1bb\x1bb"), "|日本語 テキスト");
});

Deno.test("insert() keeps the cursor on a grapheme boundary when a combining mark joins the last letter", () => {
  const s = insert(insert(EMPTY_EDITOR, "e"), "\u0301");
  assert.equal(s.text, "e\u0301");
  assert.equal(s.cursor, 2);
  const mid = insert({ text: "ab", cursor: 1, killed: "" }, "\u0301");
  assert.equal(show(mid), "a\u0301|b");
});

Deno.test("editKey() inserts a newline on Alt-Enter and leaves plain Enter, Tab and Up to the caller", () => {
  assert.equal(type("one\x1b\rtwo"), "one\ntwo|");
  const key = (name: string) => ({ kind: "key" as const, name, ctrl: false, alt: false, shift: false });
  assert.equal(editKey(EMPTY_EDITOR, key("enter")), null);
  assert.equal(editKey(EMPTY_EDITOR, key("tab")), null);
  assert.equal(editKey(EMPTY_EDITOR, key("up")), null);
  assert.equal(editKey(EMPTY_EDITOR, key("pageup")), null);
});

Deno.test("cleanInput() normalises line endings, expands tabs and drops other controls", () => {
  assert.equal(cleanInput("a\r\nb\rc\nd"), "a\nb\nc\nd");
  assert.equal(cleanInput("a\tb"), "a    b");
  assert.equal(cleanInput("x\x1b[31my\x07z\u009b"), "x[31myz");
});
