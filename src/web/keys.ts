/**
 * The page's keyboard shortcuts and the Ctrl-K window finder, as pure
 * functions of a key and of the window list: Alt-1..9 shows window N (as in
 * the terminal client and irssi), Ctrl-K (Cmd-K on a Mac) opens the finder,
 * and Alt-Up/Down walk the list.
 *
 * @module
 */

/** The parts of a KeyboardEvent a shortcut depends on (spelled out, so tests need no DOM types). */
export interface KeyPress {
  key: string;
  code: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
}

export type Shortcut =
  /** Show window `index` (0-based). */
  | { kind: "window"; index: number }
  /** The next (+1) or previous (-1) window. */
  | { kind: "step"; by: 1 | -1 }
  | { kind: "finder" };

/** The shortcut `k` is, or null. Digits are read from `code`, which an Option layout on a Mac leaves alone. */
export function shortcut(k: KeyPress): Shortcut | null {
  const digit = /^Digit([1-9])$/.exec(k.code);
  if (k.altKey && !k.ctrlKey && !k.metaKey && digit) return { kind: "window", index: Number(digit[1]) - 1 };
  if (k.altKey && !k.ctrlKey && !k.metaKey && (k.key === "ArrowDown" || k.key === "ArrowUp")) {
    return { kind: "step", by: k.key === "ArrowDown" ? 1 : -1 };
  }
  if ((k.ctrlKey || k.metaKey) && !k.altKey && !k.shiftKey && k.key.toLowerCase() === "k") {
    return { kind: "finder" };
  }
  return null;
}

/**
 * The windows whose title matches what was typed in the finder, best first:
 * titles that start with it, then those that contain it. A leading # or @
 * keeps to rooms or to people.
 */
export function findWindows<W extends { title: string }>(windows: readonly W[], query: string): W[] {
  const typed = query.trim().toLowerCase();
  const sigil = /^[#@]/.test(typed) ? typed[0] : "";
  const q = typed.slice(sigil.length);
  const bare = (w: W) => w.title.toLowerCase().replace(/^[#@]/, "");
  const pool = sigil ? windows.filter((w) => w.title.startsWith(sigil)) : [...windows];
  if (q === "") return pool;
  return [
    ...pool.filter((w) => bare(w).startsWith(q)),
    ...pool.filter((w) => !bare(w).startsWith(q) && bare(w).includes(q)),
  ];
}
