/**
 * Key decoding: turns the raw bytes a terminal sends in raw mode into key
 * values. Push-based and resumable like the frame decoder: a chunk may end
 * in the middle of a UTF-8 character, an escape sequence or a bracketed
 * paste, and the decoder keeps that partial input until the next chunk.
 *
 * A lone ESC is ambiguous (the Escape key, or the start of a sequence whose
 * rest is still in flight), so it stays pending until more bytes arrive or
 * the caller gives up waiting and calls {@linkcode KeyDecoder.flush}.
 *
 * ESC followed by a character is Alt and that character (meta sends an ESC
 * prefix), but also what a quick Escape and then a key look like. Given the
 * Alt keys its caller binds, the decoder reads any other character after
 * ESC as the Escape key and then that character: Escape and then "/" must
 * not become an Alt-/ that nothing handles and that eats the slash.
 *
 * @module
 */

/** Named keys; letters and digits come as themselves with a modifier (Ctrl-A is `{name: "a", ctrl}`). */
export type KeyName =
  | "enter"
  | "tab"
  | "backspace"
  | "delete"
  | "insert"
  | "escape"
  | "up"
  | "down"
  | "left"
  | "right"
  | "home"
  | "end"
  | "pageup"
  | "pagedown"
  | `f${number}`
  | string;

export type Key =
  /** Printable text typed (one or more characters, no controls). */
  | { kind: "text"; text: string }
  /** The content of a bracketed paste, controls and all (the caller decides what to keep). */
  | { kind: "paste"; text: string }
  | { kind: "key"; name: KeyName; ctrl: boolean; alt: boolean; shift: boolean };

/** Longest escape sequence kept while waiting for its end; anything longer is junk and dropped. */
export const MAX_SEQUENCE = 64;

/**
 * Largest paste kept, in UTF-16 code units: a paste becomes one message, and servers take 4 KiB
 * messages by default; more would only make every key press re-measure a huge input line.
 */
export const MAX_PASTE = 64 * 1024;

const PASTE_START = "\x1b[200~";
const PASTE_END = "\x1b[201~";

function key(name: KeyName, mods: { ctrl?: boolean; alt?: boolean; shift?: boolean } = {}): Key {
  return { kind: "key", name, ctrl: mods.ctrl ?? false, alt: mods.alt ?? false, shift: mods.shift ?? false };
}

const CSI_FINAL: Record<string, KeyName> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
  P: "f1",
  Q: "f2",
  R: "f3",
  S: "f4",
};

const CSI_TILDE: Record<string, KeyName> = {
  "1": "home",
  "2": "insert",
  "3": "delete",
  "4": "end",
  "5": "pageup",
  "6": "pagedown",
  "7": "home",
  "8": "end",
  "11": "f1",
  "12": "f2",
  "13": "f3",
  "14": "f4",
  "15": "f5",
  "17": "f6",
  "18": "f7",
  "19": "f8",
  "20": "f9",
  "21": "f10",
  "23": "f11",
  "24": "f12",
};

/** Modifier parameter of xterm sequences ("1;5C" is Ctrl-Right): 1 + shift(1) + alt(2) + ctrl(4). */
function modifiers(param: string | undefined): { ctrl: boolean; alt: boolean; shift: boolean } {
  const m = Math.max(0, Number(param ?? "1") - 1) || 0;
  return { shift: (m & 1) !== 0, alt: (m & 2) !== 0, ctrl: (m & 4) !== 0 };
}

/** The key for one control character (below 0x20, or DEL). */
function controlKey(c: number, alt: boolean): Key {
  switch (c) {
    case 0x0d:
    case 0x0a:
      return key("enter", { alt });
    case 0x09:
      return key("tab", { alt });
    case 0x7f:
    case 0x08:
      return key("backspace", { alt });
    case 0x1b:
      return key("escape", { alt });
    case 0x00:
      return key("space", { ctrl: true, alt });
    default:
      if (c < 0x1b) return key(String.fromCharCode(c + 0x60), { ctrl: true, alt });
      // 0x1c-0x1f: Ctrl-\ Ctrl-] Ctrl-^ Ctrl-_
      return key(String.fromCharCode(c + 0x40), { ctrl: true, alt });
  }
}

type Parsed =
  /** Not enough input yet to tell. */
  | { done: false }
  | { done: true; length: number; key: Key | null };

/** Parses the escape sequence at the start of `s` (which starts with ESC). */
function parseEscape(s: string, isAlt: (ch: string) => boolean): Parsed {
  if (s.length < 2) return { done: false };
  const second = s[1];
  if (second === "[" || second === "O") {
    // CSI: parameters 0x30-0x3f, intermediates 0x20-0x2f, one final byte 0x40-0x7e.
    let i = 2;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c >= 0x40 && c <= 0x7e) break;
      if (c < 0x20 || c > 0x3f) {
        // Not a sequence after all: ESC + bracket as Alt-[ (or Escape, then the bracket), and go on from here.
        return isAlt(second)
          ? { done: true, length: 2, key: key(second, { alt: true }) }
          : { done: true, length: 1, key: key("escape") };
      }
      i++;
    }
    if (i >= s.length) return i >= MAX_SEQUENCE ? { done: true, length: i, key: null } : { done: false };
    const body = s.slice(2, i);
    const final = s[i];
    const length = i + 1;
    if (second === "O") {
      const name = CSI_FINAL[final];
      return { done: true, length, key: name ? key(name, modifiers(body || undefined)) : null };
    }
    const params = body.split(";");
    if (final === "~") {
      const name = CSI_TILDE[params[0]];
      return { done: true, length, key: name ? key(name, modifiers(params[1])) : null };
    }
    if (final === "Z") return { done: true, length, key: key("tab", { shift: true }) };
    const name = CSI_FINAL[final];
    return { done: true, length, key: name ? key(name, modifiers(params[1])) : null };
  }
  if (second === "\x1b") {
    // ESC ESC [ C: some terminals send Alt-arrow as ESC before the arrow's own sequence.
    if (s.length >= 3 && (s[2] === "[" || s[2] === "O")) {
      const inner = parseEscape(s.slice(1), isAlt);
      if (!inner.done) return inner;
      const k = inner.key && inner.key.kind === "key" ? { ...inner.key, alt: true } : inner.key;
      return { done: true, length: inner.length + 1, key: k };
    }
    if (s.length < 3) return { done: false };
    return { done: true, length: 1, key: key("escape") };
  }
  // Alt + one character (meta sends ESC prefix), if the caller binds it; else Escape, then the character.
  const cp = s.codePointAt(1)!;
  const len = 1 + (cp > 0xffff ? 2 : 1);
  if (cp < 0x20 || cp === 0x7f) return { done: true, length: 2, key: controlKey(cp, true) };
  const ch = String.fromCodePoint(cp);
  if (!isAlt(ch)) return { done: true, length: 1, key: key("escape") };
  return { done: true, length: len, key: key(ch, { alt: true }) };
}

export interface KeyDecoderOptions {
  /**
   * The characters that make an Alt key after ESC (Alt-b, Alt-1). Others
   * after ESC are the Escape key and then the character. Default: every
   * character is an Alt key.
   */
  altKeys?: ReadonlySet<string>;
}

/** Decodes raw terminal input into {@linkcode Key} values. */
export class KeyDecoder {
  #utf8 = new TextDecoder("utf-8", { fatal: false });
  #rest = "";
  #paste: string | null = null;
  readonly #isAlt: (ch: string) => boolean;

  constructor(options: KeyDecoderOptions = {}) {
    const alt = options.altKeys;
    this.#isAlt = alt ? (ch) => alt.has(ch) : () => true;
  }

  /** True when input is held back waiting for more (e.g. a lone ESC). */
  get pending(): boolean {
    return this.#rest !== "";
  }

  /** Decodes a chunk of bytes; returns the complete keys it finishes. */
  push(bytes: Uint8Array): Key[] {
    return this.#parse(this.#rest + this.#utf8.decode(bytes, { stream: true }));
  }

  /**
   * Gives up waiting: a held lone ESC becomes the Escape key, and any other
   * held partial sequence becomes Alt + its characters. An unfinished paste
   * stays open (its end marker will come).
   */
  flush(): Key[] {
    const rest = this.#rest;
    this.#rest = "";
    if (rest === "" || this.#paste !== null) {
      this.#rest = rest;
      return [];
    }
    if (rest === "\x1b") return [key("escape")];
    if (rest === "\x1b\x1b") return [key("escape", { alt: true })];
    // A partial sequence that never finished: report ESC, then the rest as ordinary input.
    return [key("escape"), ...this.#parse(rest.slice(1))];
  }

  #parse(input: string): Key[] {
    const keys: Key[] = [];
    let s = input;
    let text = "";
    const flushText = () => {
      if (text !== "") keys.push({ kind: "text", text });
      text = "";
    };
    this.#rest = "";
    while (s.length > 0) {
      if (this.#paste !== null) {
        const end = s.indexOf(PASTE_END);
        if (end < 0) {
          // Keep a tail that may be the start of the end marker.
          const keep = tailOverlap(s, PASTE_END);
          this.#appendPaste(s.slice(0, s.length - keep));
          this.#rest = s.slice(s.length - keep);
          return keys;
        }
        this.#appendPaste(s.slice(0, end));
        keys.push({ kind: "paste", text: this.#paste });
        this.#paste = null;
        s = s.slice(end + PASTE_END.length);
        continue;
      }
      const c = s.charCodeAt(0);
      if (c === 0x1b) {
        flushText();
        if (s.startsWith(PASTE_START)) {
          this.#paste = "";
          s = s.slice(PASTE_START.length);
          continue;
        }
        if (PASTE_START.startsWith(s)) {
          this.#rest = s;
          return keys;
        }
        const parsed = parseEscape(s, this.#isAlt);
        if (!parsed.done) {
          this.#rest = s;
          return keys;
        }
        if (parsed.key) keys.push(parsed.key);
        s = s.slice(parsed.length);
        continue;
      }
      if (c < 0x20 || c === 0x7f) {
        flushText();
        // CR LF from a terminal in a mode that sends both is one Enter.
        if (c === 0x0d && s.charCodeAt(1) === 0x0a) s = s.slice(1);
        keys.push(controlKey(c, false));
        s = s.slice(1);
        continue;
      }
      if (c >= 0x80 && c < 0xa0) {
        // C1 controls typed or decoded from bad bytes: not text.
        flushText();
        s = s.slice(1);
        continue;
      }
      const cp = s.codePointAt(0)!;
      const len = cp > 0xffff ? 2 : 1;
      text += s.slice(0, len);
      s = s.slice(len);
    }
    flushText();
    return keys;
  }

  #appendPaste(part: string): void {
    if (this.#paste === null) return;
    const room = MAX_PASTE - this.#paste.length;
    if (room > 0) this.#paste += part.slice(0, room);
  }
}

/** Length of the longest suffix of `s` that is a proper prefix of `marker`. */
function tailOverlap(s: string, marker: string): number {
  for (let n = Math.min(s.length, marker.length - 1); n > 0; n--) {
    if (marker.startsWith(s.slice(s.length - n))) return n;
  }
  return 0;
}
