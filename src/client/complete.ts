/**
 * Tab completion of the word before the cursor: a command name when the
 * line starts with "/", a room for a word starting with "#", otherwise a
 * nickname of someone in the room (or what the command takes). Tab
 * again cycles through the matches (Shift-Tab backwards). A nickname
 * completed at the start of the line gets ": " after it, as in IRC. Pure,
 * and shared by the terminal and the browser clients.
 *
 * @module
 */

/**
 * The part of an input line completion reads and rewrites: its text and the
 * cursor (a UTF-16 offset). Front ends keep more (the terminal client's kill
 * buffer), which completion carries over untouched.
 */
export interface CompletionInput {
  readonly text: string;
  readonly cursor: number;
}

export interface Completion<E extends CompletionInput = CompletionInput> {
  /** Where the completed word starts. */
  readonly start: number;
  /** The matches, in the order Tab walks them. */
  readonly candidates: readonly string[];
  readonly index: number;
  /** The input as completion left it: a later Tab only cycles if nothing changed since. */
  readonly result: E;
}

export interface CompletionSource {
  /** Command names with their slash ("/join"). */
  commands: readonly string[];
  /** Nicknames in the current room, most relevant first (or what the command before the word takes). */
  nicks: readonly string[];
  /** Room names, without "#": a word starting with "#" completes to one. */
  rooms?: readonly string[];
}

function fold(s: string): string {
  return s.normalize("NFC").toLowerCase();
}

/** What follows a completed word: ": " after a nickname that starts the line (IRC's address), else a space. */
function suffixOf(word: string, start: number, isCommand: boolean): string {
  return isCommand || start > 0 || word.startsWith("#") ? " " : ": ";
}

function apply<E extends CompletionInput>(
  editor: E,
  start: number,
  candidates: readonly string[],
  index: number,
  isCommand: boolean,
): Completion<E> {
  const word = candidates[index];
  const suffix = suffixOf(word, start, isCommand);
  // Replace from `start` to the cursor; keep what follows the cursor.
  const before = editor.text.slice(0, start) + word + suffix;
  const after = editor.text.slice(editor.cursor).replace(/^ /, "");
  const result: E = { ...editor, text: before + after, cursor: before.length };
  return { start, candidates, index, result };
}

/**
 * Completes at the cursor. `previous` is the completion the last key made,
 * if the last key was Tab. Returns null when there is nothing to complete.
 */
export function complete<E extends CompletionInput>(
  editor: E,
  previous: Completion<E> | null,
  source: CompletionSource,
  backwards = false,
): Completion<E> | null {
  if (
    previous && previous.result.text === editor.text && previous.result.cursor === editor.cursor &&
    previous.candidates.length > 1
  ) {
    const n = previous.candidates.length;
    const index = (previous.index + (backwards ? n - 1 : 1)) % n;
    // Rebuild from the text before completion: strip the previous word and its suffix.
    const prevWord = previous.candidates[previous.index];
    const isCommand = prevWord.startsWith("/") && previous.start === 0;
    const suffix = suffixOf(prevWord, previous.start, isCommand);
    const end = previous.start + prevWord.length + suffix.length;
    const base: E = {
      ...editor,
      text: editor.text.slice(0, previous.start) + editor.text.slice(end),
      cursor: previous.start,
    };
    return apply(base, previous.start, previous.candidates, index, isCommand);
  }
  const head = editor.text.slice(0, editor.cursor);
  const start = head.search(/\S*$/);
  const prefix = head.slice(start);
  if (prefix === "") return null;
  const isCommand = start === 0 && prefix.startsWith("/");
  const isRoom = !isCommand && prefix.startsWith("#");
  const pool = isCommand ? source.commands : isRoom ? (source.rooms ?? []).map((r) => `#${r}`) : source.nicks;
  // "@car" completes to carol (the @ is dropped), and to "@carol" where the pool holds windows of people.
  const want = fold(prefix.replace(/^@/, ""));
  const candidates = pool.filter((c) =>
    fold(c).startsWith(fold(prefix)) || (!isCommand && !isRoom && fold(c).startsWith(want))
  );
  if (candidates.length === 0) return null;
  return apply(editor, start, candidates, backwards ? candidates.length - 1 : 0, isCommand);
}
