import assert from "node:assert/strict";
import { FLAG_TABLE_HEADER, flagRows, markdownTable, parseTable } from "../../src/cli/doc.ts";
import { README_TABLES } from "../../src/cli/specs.ts";

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

Deno.test("parseTable() reads back what markdownTable() writes, escaped pipes included", () => {
  const rows = [["`--a`", "", "x | y"], ["b", "c", "d"]];
  assert.deepEqual(parseTable(markdownTable(["1", "2", "3"], rows)), rows);
  assert.equal(FLAG_TABLE_HEADER.length, 6);
});
