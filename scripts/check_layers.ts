/**
 * The layer check: fails when a module of main.ts or src/ imports across a
 * forbidden boundary. CI runs it before the tests (`.ci/run`); run it with
 * `deno task layers`, or `deno run --allow-read scripts/check_layers.ts [DIR]`
 * to check another tree laid out the same way.
 *
 * The rules. A module's layer is its directory under src/ (src/chat/broker.ts
 * is in `chat`); main.ts is `main`; files directly in src/ (version.ts,
 * v8_flags.ts) are `base`: constants every layer may read, importing nothing.
 * Imports point one way, protocol <- chat <- store, cluster <- net <- cli:
 *
 *   protocol  nothing of ours (and nothing external: it is pure)
 *   chat      protocol (nothing external either: the domain is pure)
 *   store     protocol, chat        (implements the ports chat/ defines)
 *   cluster   protocol, chat
 *   net       protocol, chat, store, cluster, auth, text
 *   client    protocol, text        (no socket code: reusable in a browser)
 *   web       protocol, client, text
 *   tui       protocol, client, text
 *   auth, text  nothing of ours (password hashing; terminal-safe text)
 *   bench     protocol              (the bench harness; bench/run.ts and cli/ drive it)
 *   cli       every layer above; the only one that wires them together
 *   main      cli
 *
 * Type-only imports count (`import type` still couples two layers), and so do
 * `export ... from`, side-effect imports and `import("...")` with a literal;
 * an `import()` of a computed specifier is refused, since no check can see
 * where it points, unless its line (or the line above) says where with a
 * `layers: lazy PATH` comment (a module loaded on demand, whose npm dependencies a program that
 * never needs it must not download: a literal import() makes Deno fetch
 * them at start); PATH is then checked like a literal. Nothing in src/ imports tests/, scripts/ or bench/. A new
 * directory under src/ fails the check until it gets a row here. DESIGN-NEXT
 * draws net <- client; client/ is held to protocol and text instead, because
 * the pure client session (issue 14) is to run in a browser too.
 *
 * ALLOWED lists today's imports that break a rule and the issue that removes
 * each. An entry that no longer matches an import fails the check, so the
 * list only ever shows what is left to do.
 *
 * @module
 */

import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** What each layer may import besides itself and `base`. */
export const RULES: Readonly<Record<string, readonly string[]>> = {
  base: [],
  protocol: [],
  chat: ["protocol"],
  store: ["protocol", "chat"],
  cluster: ["protocol", "chat"],
  net: ["protocol", "chat", "store", "cluster", "auth", "text"],
  client: ["protocol", "text"],
  web: ["protocol", "client", "text"],
  tui: ["protocol", "client", "text"],
  auth: [],
  text: [],
  bench: ["protocol"],
  cli: ["protocol", "chat", "store", "cluster", "net", "client", "web", "tui", "auth", "text", "bench"],
  main: ["cli"],
};

/** Layers that import nothing external either (no node:, npm:, URL or bare specifiers). */
export const PURE: ReadonlySet<string> = new Set(["protocol", "chat"]);

/** An import that breaks a rule today, allowed until the issue that removes it lands. */
export interface Allowance {
  /** The importing file, relative to the root, with forward slashes. */
  from: string;
  /** The imported file, likewise. */
  to: string;
  /** The issue that removes the import, and how. */
  why: string;
}

export const ALLOWED: readonly Allowance[] = [
  // Issue 14: the pure client session with an injectable transport; the TCP/TLS transport, its bounded
  // outbox and certificate pinning stay socket code, which client/ is to hold none of.
  {
    from: "src/client/client.ts",
    to: "src/net/outbox.ts",
    why: "issue 14: client transport behind an interface",
  },
  {
    from: "src/client/tls.ts",
    to: "src/net/tls_stream.ts",
    why: "issue 14: client transport behind an interface",
  },
  {
    from: "src/client/tls.ts",
    to: "src/net/fingerprint.ts",
    why: "issue 14: client transport behind an interface",
  },
  {
    from: "src/client/pins.ts",
    to: "src/net/fingerprint.ts",
    why: "issue 14: client transport behind an interface",
  },
];

/** One import found in a source file. */
export interface ImportRef {
  specifier: string;
  /** 1-based line of the `import` or `export` keyword. */
  line: number;
  /** False for an `import(expr)` whose specifier is not a string literal (then `specifier` is ""). */
  literal: boolean;
}

/** One broken rule, ready to print. */
export interface Violation {
  file: string;
  line: number;
  specifier: string;
  message: string;
}

export interface Report {
  files: number;
  imports: number;
  violations: Violation[];
  /** Allowances that matched an import. */
  allowed: Allowance[];
}

// ---------------------------------------------------------------------------
// Finding imports: a small lexer that knows comments, strings, template
// literals and regular expressions, so text that only looks like an import
// (in a comment, a string or a regex) is never taken for one.

interface Token {
  kind: "id" | "str" | "punct" | "other";
  value: string;
  line: number;
}

/** Keywords after which a `/` starts a regular expression rather than a division. */
const BEFORE_REGEX = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  // For each open `{`: whether it opened a template substitution `${`, whose `}` resumes the template.
  const braces: boolean[] = [];
  const push = (kind: Token["kind"], value: string, at: number) => tokens.push({ kind, value, line: at });
  const regexMayFollow = () => {
    const prev = tokens[tokens.length - 1];
    if (prev === undefined) return true;
    if (prev.kind === "id") return BEFORE_REGEX.has(prev.value);
    if (prev.kind === "punct") return !")]}".includes(prev.value);
    return false;
  };
  /** Reads template characters from `i` (just after a backtick or a substitution's `}`). */
  const template = (startLine: number, plain: boolean) => {
    let text = "";
    while (i < src.length) {
      const c = src[i];
      if (c === "\\") {
        text += src.slice(i, i + 2);
        i += 2;
      } else if (c === "`") {
        i++;
        push(plain ? "str" : "other", text, startLine);
        return;
      } else if (c === "$" && src[i + 1] === "{") {
        i += 2;
        braces.push(true);
        push("other", "`", startLine);
        return;
      } else {
        if (c === "\n") line++;
        text += c;
        i++;
      }
    }
  };
  while (i < src.length) {
    const c = src[i];
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (; i < stop; i++) if (src[i] === "\n") line++;
    } else if (c === '"' || c === "'") {
      const at = line;
      let text = "";
      i++;
      while (i < src.length && src[i] !== c && src[i] !== "\n") {
        if (src[i] === "\\") {
          text += src[i + 1] ?? "";
          i += 2;
        } else text += src[i++];
      }
      i++;
      push("str", text, at);
    } else if (c === "`") {
      i++;
      template(line, true);
    } else if (c === "/" && regexMayFollow()) {
      const at = line;
      let inClass = false;
      i++;
      while (i < src.length && src[i] !== "\n") {
        const r = src[i];
        if (r === "\\") i += 2;
        else {
          i++;
          if (r === "[") inClass = true;
          else if (r === "]") inClass = false;
          else if (r === "/" && !inClass) break;
        }
      }
      while (i < src.length && /[a-z]/i.test(src[i])) i++;
      push("other", "regex", at);
    } else if (/[A-Za-z_$]/.test(c)) {
      const start = i;
      while (i < src.length && /[\w$]/.test(src[i])) i++;
      push("id", src.slice(start, i), line);
    } else if (/[0-9]/.test(c)) {
      while (i < src.length && /[\w.]/.test(src[i])) i++;
      push("other", "number", line);
    } else if (c === "{") {
      braces.push(false);
      push("punct", c, line);
      i++;
    } else if (c === "}") {
      i++;
      if (braces.pop() === true) template(line, false);
      else push("punct", c, line);
    } else {
      push("punct", c, line);
      i++;
    }
  }
  return tokens;
}

/** Tokens an import or export clause is made of, between the keyword and `from`. */
function inClause(t: Token): boolean {
  return t.kind === "id" || (t.kind === "punct" && "{},*".includes(t.value));
}

/** Every import of `source`: static and type-only imports, re-exports, side-effect and dynamic imports. */
export function findImports(source: string): ImportRef[] {
  const tokens = tokenize(source);
  const found: ImportRef[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind !== "id" || (t.value !== "import" && t.value !== "export")) continue;
    if (tokens[i - 1]?.kind === "punct" && tokens[i - 1].value === ".") continue; // a property: x.import
    const next = tokens[i + 1];
    if (next === undefined) continue;
    if (t.value === "import" && next.kind === "punct" && next.value === "(") {
      // import("x"), also in a type position: typeof import("x").
      const arg = tokens[i + 2];
      const after = tokens[i + 3];
      const literal = arg?.kind === "str" && after?.kind === "punct" &&
        (after.value === ")" || after.value === ",");
      found.push({ specifier: literal ? arg.value : "", line: t.line, literal });
      continue;
    }
    if (t.value === "import" && next.kind === "str") {
      found.push({ specifier: next.value, line: t.line, literal: true }); // import "x";
      continue;
    }
    // import a, { b as c, type D } from "x"; import type * as ns from "x"; export { a } from "x"; export * from "x"
    for (let j = i + 1; j < tokens.length && inClause(tokens[j]); j++) {
      if (tokens[j].value === "from" && tokens[j + 1]?.kind === "str") {
        found.push({ specifier: tokens[j + 1].value, line: t.line, literal: true });
        break;
      }
    }
  }
  return found;
}

// ---------------------------------------------------------------------------
// Layers and the check.

/** The layer of a file (a path relative to the root, with forward slashes), or null when unchecked. */
export function layerOf(file: string): string | null {
  if (file === "main.ts") return "main";
  const parts = file.split("/");
  if (parts[0] !== "src") return null;
  return parts.length === 2 ? "base" : parts[1];
}

function isExternal(specifier: string): boolean {
  return !specifier.startsWith(".") && !specifier.startsWith("/") && !specifier.startsWith("file:");
}

async function sourceFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    const entries = [];
    for await (const e of Deno.readDir(join(root, dir))) entries.push(e);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory) await walk(path);
      else if (e.isFile && /\.(ts|tsx|js|mjs)$/.test(e.name)) out.push(path);
    }
  };
  try {
    await Deno.stat(join(root, "main.ts"));
    out.push("main.ts");
  } catch { /* a tree without main.ts */ }
  try {
    await walk("src");
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

/** Checks every module of main.ts and src/ under `root` against {@linkcode RULES} and `allowed`. */
export async function checkLayers(root: string, allowed: readonly Allowance[]): Promise<Report> {
  const files = await sourceFiles(root);
  const violations: Violation[] = [];
  const used = new Set<Allowance>();
  let imports = 0;
  for (const file of files) {
    const from = layerOf(file)!;
    const source = await Deno.readTextFile(join(root, file));
    const lines = source.split("\n");
    const refs = findImports(source);
    imports += refs.length;
    const fail = (ref: ImportRef, message: string) =>
      violations.push({ file, line: ref.line, specifier: ref.specifier, message });
    if (!(from in RULES)) {
      violations.push({
        file,
        line: 1,
        specifier: "",
        message: `src/${from}/ is a layer with no rule: add it to RULES in scripts/check_layers.ts`,
      });
      continue;
    }
    for (const found of refs) {
      let ref = found;
      if (!ref.literal) {
        // The marker goes on the import's line or the line above it.
        const lazy = lines[ref.line - 1]?.match(/layers: lazy (\S+)/) ??
          lines[ref.line - 2]?.match(/layers: lazy (\S+)/);
        if (!lazy) {
          fail(ref, "import() of a computed specifier: the layer check cannot see where it points");
          continue;
        }
        ref = { ...ref, specifier: lazy[1], literal: true };
      }
      if (isExternal(ref.specifier)) {
        if (PURE.has(from)) fail(ref, `${from} is pure: it imports nothing external`);
        continue;
      }
      const target = relative(root, resolve(root, dirname(file), ref.specifier.replace(/^file:\/\//, "")))
        .replaceAll("\\", "/");
      const to = layerOf(target);
      if (to === from || to === "base") continue;
      const allowance = allowed.find((a) => a.from === file && a.to === target);
      if (allowance) {
        used.add(allowance);
        continue;
      }
      if (to === null) {
        fail(ref, `${target} is outside src/: nothing in src/ imports tests/, scripts/ or bench/`);
      } else if (to === "main") {
        fail(ref, "nothing imports main.ts");
      } else if (!RULES[from].includes(to)) {
        const may = RULES[from].length > 0 ? RULES[from].join(", ") : "nothing of ours";
        fail(ref, `${from} may not import ${to} (rule: ${from} -> ${may})`);
      }
    }
  }
  for (const a of allowed) {
    if (!used.has(a)) {
      violations.push({
        file: a.from,
        line: 0,
        specifier: "",
        message: `stale ALLOWED entry (${a.why}): ${a.from} no longer imports ${a.to}; remove the entry`,
      });
    }
  }
  return { files: files.length, imports, violations, allowed: [...used] };
}

/** The repository this script belongs to: the allow-list names its files, so it applies to it alone. */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

if (import.meta.main) {
  const root = resolve(Deno.args[0] ?? REPO);
  const report = await checkLayers(root, root === REPO ? ALLOWED : []);
  for (const v of report.violations) {
    const where = v.line > 0 ? `${v.file}:${v.line}` : v.file;
    console.error(`${where}: ${v.specifier ? `import "${v.specifier}": ` : ""}${v.message}`);
  }
  if (report.violations.length > 0) {
    console.error(
      `check_layers: ${report.violations.length} problem(s); the rules are in scripts/check_layers.ts`,
    );
    Deno.exit(1);
  }
  console.log(
    `check_layers: ${report.imports} imports in ${report.files} files keep to the layer rules` +
      ` (${report.allowed.length} allowed until their issue lands)`,
  );
}
