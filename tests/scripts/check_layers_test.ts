/**
 * The layer check's self-check: fake trees in a temp dir, one with a forbidden
 * import (the script must exit non-zero and say which file, which import and
 * which rule) and one that keeps to the rules; the import finder on source
 * that only looks like imports; the allow-list, stale entries included.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ALLOWED, checkLayers, findImports, layerOf } from "../../scripts/check_layers.ts";

const SCRIPT = fileURLToPath(new URL("../../scripts/check_layers.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** A temp dir holding `files` (path -> source), removed on dispose. */
async function tree(files: Record<string, string>): Promise<AsyncDisposable & { root: string }> {
  const root = await Deno.makeTempDir({ prefix: "layers-" });
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(dirname(join(root, path)), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
  return { root, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

async function runScript(root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", SCRIPT, root],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

const LEGAL = {
  "main.ts": 'import { main } from "./src/cli/main.ts";\nmain();\n',
  "src/version.ts": 'export const VERSION = "0.0.0";\n',
  "src/protocol/mod.ts": 'export * from "./frame.ts";\n',
  "src/protocol/frame.ts": "export const HEADER = 5;\n",
  "src/chat/broker.ts":
    'import { HEADER } from "../protocol/mod.ts";\nimport { VERSION } from "../version.ts";\n',
  "src/net/server.ts": 'import type { HEADER } from "../protocol/frame.ts";\nimport "../chat/broker.ts";\n',
  "src/cli/main.ts": 'export const main = () => import("../net/server.ts");\n',
};

Deno.test("check_layers.ts exits 0 on a tree that keeps to the rules", async () => {
  await using t = await tree(LEGAL);
  const r = await runScript(t.root);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /check_layers: 7 imports in 7 files keep to the layer rules/);
});

Deno.test("check_layers.ts fails on a forbidden import, naming the file, the import and the rule", async () => {
  await using t = await tree({
    ...LEGAL,
    "src/chat/broker.ts":
      'import { HEADER } from "../protocol/mod.ts";\n\nimport type { Server } from "../net/server.ts";\n',
  });
  const r = await runScript(t.root);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /^src\/chat\/broker\.ts:3: import "\.\.\/net\/server\.ts": chat may not import net \(rule: chat -> protocol\)$/m,
  );
  assert.match(r.stderr, /check_layers: 1 problem\(s\)/);
});

Deno.test("check_layers.ts fails on protocol importing anything of ours or anything external", async () => {
  await using t = await tree({
    ...LEGAL,
    "src/protocol/frame.ts": 'import { x } from "../chat/broker.ts";\nimport { inspect } from "node:util";\n',
  });
  const r = await runScript(t.root);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /src\/protocol\/frame\.ts:1: .*protocol may not import chat \(rule: protocol -> nothing of ours\)/,
  );
  assert.match(
    r.stderr,
    /src\/protocol\/frame\.ts:2: import "node:util": protocol is pure: it imports nothing external/,
  );
});

Deno.test("checkLayers() refuses an unknown layer, an import of tests/, of main.ts, and a computed import()", async () => {
  await using t = await tree({
    ...LEGAL,
    "src/gadgets/x.ts": "export const x = 1;\n",
    "src/net/server.ts":
      'import "../../tests/_helpers/fake.ts";\nimport "../../main.ts";\nawait import(`../${"chat"}/broker.ts`);\n',
  });
  const messages = (await checkLayers(t.root, [])).violations.map((v) => `${v.file}:${v.line} ${v.message}`);
  assert.deepStrictEqual(messages, [
    "src/gadgets/x.ts:1 src/gadgets/ is a layer with no rule: add it to RULES in scripts/check_layers.ts",
    "src/net/server.ts:1 tests/_helpers/fake.ts is outside src/: nothing in src/ imports tests/, scripts/ or bench/",
    "src/net/server.ts:2 nothing imports main.ts",
    "src/net/server.ts:3 import() of a computed specifier: the layer check cannot see where it points",
  ]);
});

Deno.test("checkLayers() lets an allow-listed import through and fails on an entry that no longer matches", async () => {
  await using t = await tree({ ...LEGAL, "src/chat/room.ts": 'import "../net/server.ts";\n' });
  const allowance = { from: "src/chat/room.ts", to: "src/net/server.ts", why: "issue 99" };
  const stale = { from: "src/chat/broker.ts", to: "src/store/log.ts", why: "issue 98" };
  const ok = await checkLayers(t.root, [allowance]);
  assert.deepStrictEqual(ok.violations, []);
  assert.deepStrictEqual(ok.allowed, [allowance]);
  const withStale = await checkLayers(t.root, [allowance, stale]);
  assert.deepStrictEqual(withStale.violations.map((v) => v.message), [
    "stale ALLOWED entry (issue 98): src/chat/broker.ts no longer imports src/store/log.ts; remove the entry",
  ]);
});

Deno.test("findImports() finds static, type-only, re-exported, side-effect and literal dynamic imports", () => {
  const src = `
import a from "./a.ts";
import type { B } from "./b.ts";
import {
  c,
  type C as Cee,
  from,
} from "./c.ts";
import * as d from "./d.ts";
import e, { f } from './e.ts';
import "./side.ts";
export * from "./g.ts";
export * as h from "./h.ts";
export { i, type I } from "./i.ts";
export type { J } from "./j.ts";
const k = await import("./k.ts");
const l = await import(\`./l.ts\`);
type M = typeof import("./m.ts");
const n = await import("./n.json", { with: { type: "json" } });
`;
  assert.deepStrictEqual(findImports(src).map((r) => [r.specifier, r.line]), [
    ["./a.ts", 2],
    ["./b.ts", 3],
    ["./c.ts", 4],
    ["./d.ts", 9],
    ["./e.ts", 10],
    ["./side.ts", 11],
    ["./g.ts", 12],
    ["./h.ts", 13],
    ["./i.ts", 14],
    ["./j.ts", 15],
    ["./k.ts", 16],
    ["./l.ts", 17],
    ["./m.ts", 18],
    ["./n.json", 19],
  ]);
});

Deno.test("findImports() ignores what only looks like an import: comments, strings, templates, regexes, import.meta", () => {
  const src = `
// import { x } from "./comment.ts";
/* export * from "./block.ts"; */
const s = 'import x from "./string.ts"';
const t = \`import y from "./template.ts" \${ "\\"" + \`\${1}\` } and import("./inside.ts") \`;
const r = /import x from "\\.\\/regex.ts"/g;
const ratio = 4 / 2 / 1; const q = "./quote.ts";
const u = import.meta.url;
export const from = "./not-a-reexport.ts";
export { local };
"./after-local-export.ts";
obj.import("./method.ts");
const real = await import("./real.ts");
`;
  assert.deepStrictEqual(findImports(src).map((r) => r.specifier), ["./real.ts"]);
});

Deno.test("layerOf() names a module's layer by its directory under src/", () => {
  assert.equal(layerOf("src/chat/broker.ts"), "chat");
  assert.equal(layerOf("src/net/tls/x.ts"), "net");
  assert.equal(layerOf("src/version.ts"), "base");
  assert.equal(layerOf("main.ts"), "main");
  assert.equal(layerOf("tests/chat/broker_test.ts"), null);
});

Deno.test("this repository keeps to the layer rules, with the allow-list it carries", async () => {
  const report = await checkLayers(REPO, ALLOWED);
  assert.deepStrictEqual(report.violations, []);
  assert.ok(report.files > 50 && report.imports > 100, `${report.files} files, ${report.imports} imports`);
});
