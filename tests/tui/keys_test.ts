import assert from "node:assert/strict";
import { type Key, KeyDecoder, MAX_PASTE } from "../../src/tui/keys.ts";

const enc = new TextEncoder();

function k(name: string, mods: { ctrl?: boolean; alt?: boolean; shift?: boolean } = {}): Key {
  return { kind: "key", name, ctrl: mods.ctrl ?? false, alt: mods.alt ?? false, shift: mods.shift ?? false };
}

function decode(input: string | Uint8Array): Key[] {
  const d = new KeyDecoder();
  return d.push(typeof input === "string" ? enc.encode(input) : input);
}

/** Decodes `bytes` cut at `cut`, in two pushes. */
function decodeSplit(bytes: Uint8Array, cut: number): Key[] {
  const d = new KeyDecoder();
  return [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
}

/** Adjacent text keys joined: how text is split across pushes does not matter to the editor. */
function merged(keys: Key[]): Key[] {
  const out: Key[] = [];
  for (const key of keys) {
    const last = out[out.length - 1];
    if (key.kind === "text" && last?.kind === "text") {
      out[out.length - 1] = { kind: "text", text: last.text + key.text };
    } else out.push(key);
  }
  return out;
}

Deno.test("KeyDecoder.push() turns printable input into text and controls into named keys", () => {
  assert.deepEqual(decode("hi"), [{ kind: "text", text: "hi" }]);
  assert.deepEqual(decode("a\rb"), [{ kind: "text", text: "a" }, k("enter"), { kind: "text", text: "b" }]);
  assert.deepEqual(decode("\t"), [k("tab")]);
  assert.deepEqual(decode("\x7f"), [k("backspace")]);
  assert.deepEqual(decode("\x08"), [k("backspace")]);
  assert.deepEqual(decode("\x01\x05\x15\x0b\x17"), [
    k("a", { ctrl: true }),
    k("e", { ctrl: true }),
    k("u", { ctrl: true }),
    k("k", { ctrl: true }),
    k("w", { ctrl: true }),
  ]);
  assert.deepEqual(decode("\x03\x04"), [k("c", { ctrl: true }), k("d", { ctrl: true })]);
  assert.deepEqual(decode("\r\n"), [k("enter")], "CR LF is one Enter");
});

Deno.test("KeyDecoder.push() decodes arrows, Home/End, PgUp/PgDn and Delete in their common encodings", () => {
  assert.deepEqual(decode("\x1b[A\x1b[B\x1b[C\x1b[D"), [k("up"), k("down"), k("right"), k("left")]);
  assert.deepEqual(decode("\x1bOA\x1bOD"), [k("up"), k("left")], "application cursor mode");
  assert.deepEqual(decode("\x1b[H\x1b[F\x1b[1~\x1b[4~\x1b[7~\x1b[8~\x1bOH\x1bOF"), [
    k("home"),
    k("end"),
    k("home"),
    k("end"),
    k("home"),
    k("end"),
    k("home"),
    k("end"),
  ]);
  assert.deepEqual(decode("\x1b[5~\x1b[6~\x1b[3~\x1b[2~"), [
    k("pageup"),
    k("pagedown"),
    k("delete"),
    k("insert"),
  ]);
  assert.deepEqual(decode("\x1b[Z"), [k("tab", { shift: true })]);
  assert.deepEqual(decode("\x1bOP\x1b[15~"), [k("f1"), k("f5")]);
});

Deno.test("KeyDecoder.push() reads xterm modifiers: Ctrl-Left, Alt-Right, Shift-PgUp", () => {
  assert.deepEqual(decode("\x1b[1;5D"), [k("left", { ctrl: true })]);
  assert.deepEqual(decode("\x1b[1;5C"), [k("right", { ctrl: true })]);
  assert.deepEqual(decode("\x1b[1;3C"), [k("right", { alt: true })]);
  assert.deepEqual(decode("\x1b[5;2~"), [k("pageup", { shift: true })]);
  assert.deepEqual(decode("\x1b[3;5~"), [k("delete", { ctrl: true })]);
  assert.deepEqual(decode("\x1b\x1b[D"), [k("left", { alt: true })], "ESC-prefixed arrow (rxvt, macOS)");
});

Deno.test("KeyDecoder.push() reads Alt as an ESC prefix: Alt-b, Alt-f, Alt-digits, Alt-Enter, Alt-Backspace", () => {
  assert.deepEqual(decode("\x1bb\x1bf"), [k("b", { alt: true }), k("f", { alt: true })]);
  assert.deepEqual(decode("\x1b1\x1b0"), [k("1", { alt: true }), k("0", { alt: true })]);
  assert.deepEqual(decode("\x1b\r"), [k("enter", { alt: true })]);
  assert.deepEqual(decode("\x1b\x7f"), [k("backspace", { alt: true })]);
  assert.deepEqual(decode("\x1bé"), [k("é", { alt: true })]);
});

Deno.test("KeyDecoder with the Alt keys its caller binds: ESC then '/' is Escape and a slash, in one read or two", () => {
  const altKeys = new Set(["b", "1"]);
  const line = "\x1b/msg carol hi carol\r";
  const want = [k("escape"), { kind: "text", text: "/msg carol hi carol" }, k("enter")];
  assert.deepEqual(new KeyDecoder({ altKeys }).push(enc.encode(line)), want, "in one read");
  const bytes = enc.encode(line);
  for (let cut = 1; cut < bytes.length; cut++) {
    const d = new KeyDecoder({ altKeys });
    assert.deepEqual(
      merged([...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))]),
      want,
      `cut ${cut}`,
    );
  }
  // ESC alone, given up on (the app waits 40 ms), then the slash: the same keys.
  const d = new KeyDecoder({ altKeys });
  assert.deepEqual([...d.push(enc.encode("\x1b")), ...d.flush(), ...d.push(enc.encode("/x"))], [
    k("escape"),
    { kind: "text", text: "/x" },
  ]);
  // Bound Alt keys still work; unbound ones keep their character; sequences are untouched.
  assert.deepEqual(new KeyDecoder({ altKeys }).push(enc.encode("\x1bb\x1b1\x1bz\x1b[A\x1b\r")), [
    k("b", { alt: true }),
    k("1", { alt: true }),
    k("escape"),
    { kind: "text", text: "z" },
    k("up"),
    k("enter", { alt: true }),
  ]);
});

Deno.test("KeyDecoder.push() drops unknown sequences whole instead of typing their bytes", () => {
  assert.deepEqual(decode("a\x1b[?1;2cb"), [{ kind: "text", text: "a" }, { kind: "text", text: "b" }]);
  assert.deepEqual(decode("\x1b[99~x"), [{ kind: "text", text: "x" }]);
});

Deno.test("KeyDecoder holds a lone ESC until more input or flush(), which makes it the Escape key", () => {
  const d = new KeyDecoder();
  assert.deepEqual(d.push(enc.encode("\x1b")), []);
  assert.equal(d.pending, true);
  assert.deepEqual(d.flush(), [k("escape")]);
  assert.equal(d.pending, false);
  assert.deepEqual(d.push(enc.encode("\x1b")), []);
  assert.deepEqual(d.push(enc.encode("[A")), [k("up")], "the rest of the sequence arrived");
  assert.deepEqual(d.flush(), []);
});

Deno.test("KeyDecoder.push() gives the same keys for input cut at every offset", () => {
  const input = "ab\x1b[1;5C\x1bb你好\x1b[5~\x1b\r\x1bOA👍\x1b[200~p\x1b[A\nq\x1b[201~\x7f\x1b[Z\r";
  const bytes = enc.encode(input);
  const whole = merged(decode(bytes));
  assert.ok(whole.length >= 10);
  for (let cut = 0; cut <= bytes.length; cut++) {
    assert.deepEqual(merged(decodeSplit(bytes, cut)), whole, `cut at byte ${cut}`);
  }
  // And byte by byte.
  const d = new KeyDecoder();
  const keys: Key[] = [];
  for (let i = 0; i < bytes.length; i++) keys.push(...d.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(merged(keys), whole, "byte by byte");
});

Deno.test("KeyDecoder.push() returns a bracketed paste as one key, controls and newlines included", () => {
  assert.deepEqual(decode("x\x1b[200~line 1\r\nline 2\x1b[31m\x1b[201~y"), [
    { kind: "text", text: "x" },
    { kind: "paste", text: "line 1\r\nline 2\x1b[31m" },
    { kind: "text", text: "y" },
  ]);
  assert.deepEqual(decode("\x1b[200~\x1b[201~"), [{ kind: "paste", text: "" }]);
});

Deno.test("KeyDecoder keeps a paste open across chunks and flush(), until its end marker", () => {
  const d = new KeyDecoder();
  assert.deepEqual(d.push(enc.encode("\x1b[200~first\x1b[20")), []);
  assert.deepEqual(d.flush(), [], "a paste is not ended by waiting");
  assert.deepEqual(d.push(enc.encode("0~still pasting\x1b[2")), []);
  assert.deepEqual(d.push(enc.encode("01~")), [{ kind: "paste", text: "first\x1b[200~still pasting" }]);
});

Deno.test("KeyDecoder caps a paste at MAX_PASTE", () => {
  const d = new KeyDecoder();
  d.push(enc.encode("\x1b[200~"));
  const chunk = enc.encode("x".repeat(64 * 1024));
  for (let i = 0; i < MAX_PASTE / chunk.length + 4; i++) d.push(chunk);
  const [paste] = d.push(enc.encode("\x1b[201~"));
  assert.equal(paste.kind, "paste");
  assert.equal(paste.kind === "paste" && paste.text.length, MAX_PASTE);
});

Deno.test("KeyDecoder.push() decodes UTF-8 split across chunks and drops C1 controls", () => {
  const bytes = enc.encode("é你👍");
  const d = new KeyDecoder();
  const keys: Key[] = [];
  for (let i = 0; i < bytes.length; i++) keys.push(...d.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(merged(keys), [{ kind: "text", text: "é你👍" }]);
  assert.deepEqual(decode("a\u009bb"), [{ kind: "text", text: "a" }, { kind: "text", text: "b" }]);
});
