/**
 * Rewrites the generated tables in README.md: the flag tables between
 * `<!-- flags:COMMAND -->` and `<!-- /flags:COMMAND -->` from
 * src/cli/specs.ts, the slash commands between `<!-- commands -->` and
 * `<!-- /commands -->` from src/client/commands.ts, and the terminal
 * client's keys between `<!-- keys -->` and `<!-- /keys -->`. Run it after
 * changing an option, a command or a key:
 * `deno run --allow-read --allow-write scripts/readme_tables.ts` (then
 * `deno fmt README.md`). tests/cli/readme_test.ts fails when they drift.
 */

import {
  COMMAND_TABLE_HEADER,
  commandRows,
  FLAG_TABLE_HEADER,
  flagRows,
  markdownTable,
} from "../src/cli/doc.ts";
import { README_TABLES } from "../src/cli/specs.ts";
import { KEY_HELP } from "../src/tui/commands.ts";

const path = new URL("../README.md", import.meta.url);
let text = await Deno.readTextFile(path);

function replace(tag: string, table: string): void {
  const open = `<!-- ${tag} -->`;
  const close = `<!-- /${tag} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) {
    console.error(`README.md has no ${open} ... ${close} block`);
    Deno.exit(1);
  }
  text = `${text.slice(0, start + open.length)}\n\n${table}\n\n${text.slice(end)}`;
}

for (const [command, specs] of Object.entries(README_TABLES)) {
  replace(`flags:${command}`, markdownTable(FLAG_TABLE_HEADER, flagRows(specs)));
}
replace("commands", markdownTable(COMMAND_TABLE_HEADER, commandRows()));
replace("keys", markdownTable(["Key", "What it does"], KEY_HELP.map(([k, h]) => [k, h])));
await Deno.writeTextFile(path, text);
