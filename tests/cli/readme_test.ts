import assert from "node:assert/strict";
import {
  COMMAND_TABLE_HEADER,
  commandRows,
  FLAG_TABLE_HEADER,
  flagRows,
  markdownTable,
  parseTable,
} from "../../src/cli/doc.ts";
import { README_TABLES } from "../../src/cli/specs.ts";
import { KEY_HELP } from "../../src/tui/commands.ts";

/** The rows of the table between `<!-- tag -->` and `<!-- /tag -->`. */
function tableAt(tag: string): string[][] {
  const open = `<!-- ${tag} -->`;
  const close = `<!-- /${tag} -->`;
  const start = readme.indexOf(open);
  const end = readme.indexOf(close);
  assert.ok(start >= 0 && end > start, `README.md lacks ${open} ... ${close}`);
  return parseTable(readme.slice(start + open.length, end));
}

const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

Deno.test("README.md carries a flag table for every command, identical to --help's option tables", () => {
  for (const [command, specs] of Object.entries(README_TABLES)) {
    const open = `<!-- flags:${command} -->`;
    const close = `<!-- /flags:${command} -->`;
    const start = readme.indexOf(open);
    const end = readme.indexOf(close);
    assert.ok(start >= 0 && end > start, `README.md lacks ${open} ... ${close}`);
    assert.deepEqual(
      parseTable(readme.slice(start + open.length, end)),
      flagRows(specs),
      `README's ${command} table drifted: run scripts/readme_tables.ts`,
    );
  }
});

Deno.test("README.md's command table is the command registry, and its key table the terminal client's keys", () => {
  assert.deepEqual(
    tableAt("commands"),
    commandRows(),
    "README's command table drifted: run scripts/readme_tables.ts",
  );
  assert.deepEqual(tableAt("keys"), KEY_HELP.map(([k, h]) => [k, h]), "README's key table drifted");
  assert.equal(COMMAND_TABLE_HEADER.length, 3);
});

Deno.test("parseTable() reads back what markdownTable() writes, escaped pipes included", () => {
  const rows = [["`--a`", "", "x | y"], ["b", "c", "d"]];
  assert.deepEqual(parseTable(markdownTable(["1", "2", "3"], rows)), rows);
  assert.equal(FLAG_TABLE_HEADER.length, 6);
});
