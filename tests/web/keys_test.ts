import assert from "node:assert/strict";
import { findWindows, type KeyPress, shortcut } from "../../src/web/keys.ts";

const key = (k: Partial<KeyPress>): KeyPress => ({
  key: "",
  code: "",
  altKey: false,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  ...k,
});

Deno.test("shortcut() reads Alt-1..9 from the key's code, whatever character the layout makes", () => {
  assert.deepEqual(shortcut(key({ key: "1", code: "Digit1", altKey: true })), { kind: "window", index: 0 });
  assert.deepEqual(shortcut(key({ key: "¡", code: "Digit1", altKey: true })), { kind: "window", index: 0 });
  assert.deepEqual(shortcut(key({ key: "9", code: "Digit9", altKey: true })), { kind: "window", index: 8 });
  assert.equal(shortcut(key({ key: "0", code: "Digit0", altKey: true })), null);
  assert.equal(shortcut(key({ key: "1", code: "Digit1" })), null, "a plain digit is typing");
  assert.equal(shortcut(key({ key: "1", code: "Digit1", altKey: true, ctrlKey: true })), null);
});

Deno.test("shortcut() has Ctrl-K and Cmd-K open the finder, and Alt-Up/Down step through windows", () => {
  assert.deepEqual(shortcut(key({ key: "k", code: "KeyK", ctrlKey: true })), { kind: "finder" });
  assert.deepEqual(shortcut(key({ key: "K", code: "KeyK", metaKey: true })), { kind: "finder" });
  assert.equal(shortcut(key({ key: "k", code: "KeyK" })), null);
  assert.deepEqual(shortcut(key({ key: "ArrowDown", altKey: true })), { kind: "step", by: 1 });
  assert.deepEqual(shortcut(key({ key: "ArrowUp", altKey: true })), { kind: "step", by: -1 });
  assert.equal(shortcut(key({ key: "ArrowUp" })), null, "Up alone recalls input");
});

Deno.test("findWindows() puts titles starting with the query first, then those containing it", () => {
  const ws = ["#lobby", "#dev", "@Devon", "#webdev", "@bob"].map((title) => ({ title }));
  assert.deepEqual(findWindows(ws, "dev").map((w) => w.title), ["#dev", "@Devon", "#webdev"]);
  assert.deepEqual(findWindows(ws, "#DEV").map((w) => w.title), ["#dev", "#webdev"], "# keeps to rooms");
  assert.deepEqual(findWindows(ws, "@b").map((w) => w.title), ["@bob"], "@ keeps to people");
  assert.deepEqual(findWindows(ws, "@").map((w) => w.title), ["@Devon", "@bob"]);
  assert.equal(findWindows(ws, "").length, 5);
  assert.deepEqual(findWindows(ws, "zzz"), []);
});
