/**
 * Rewrites the flag tables in README.md between `<!-- flags:COMMAND -->`
 * and `<!-- /flags:COMMAND -->` from src/cli/specs.ts. Run it after
 * changing an option: `deno run --allow-read --allow-write scripts/readme_tables.ts`
 * (then `deno fmt README.md`). tests/cli/readme_test.ts fails when they drift.
 */

import { FLAG_TABLE_HEADER, flagRows, markdownTable } from "../src/cli/doc.ts";
import { README_TABLES } from "../src/cli/specs.ts";

const path = new URL("../README.md", import.meta.url);
let text = await Deno.readTextFile(path);
for (const [command, specs] of Object.entries(README_TABLES)) {
  const open = `<!-- flags:${command} -->`;
  const close = `<!-- /flags:${command} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) {
    console.error(`README.md has no ${open} ... ${close} block`);
    Deno.exit(1);
  }
  text = `${text.slice(0, start + open.length)}\n\n${markdownTable(FLAG_TABLE_HEADER, flagRows(specs))}\n\n${
    text.slice(end)
  }`;
}
await Deno.writeTextFile(path, text);
