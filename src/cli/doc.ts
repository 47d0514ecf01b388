/**
 * Markdown reference tables generated from the option tables, so the README
 * says exactly what --help says (a test compares them).
 *
 * @module
 */

import { COMMANDS, helpRows, SLASH_ESCAPE } from "../client/commands.ts";
import type { OptionSpec } from "./options.ts";

/** The header row of every flag table. */
export const FLAG_TABLE_HEADER = ["Flag", "Environment", "Config key", "Default", "Range", "Meaning"];

/** One row per option: flag (and short form), env, config key, default, range, meaning. */
export function flagRows(specs: readonly OptionSpec[]): string[][] {
  return specs.map((s) => {
    const flag = `${s.short ? `\`-${s.short}\`, ` : ""}\`--${s.flag}${
      s.type === "bool" ? "" : ` ${s.value ?? "VALUE"}`
    }\``;
    const def = s.default === undefined
      ? ""
      : `\`${Array.isArray(s.default) ? s.default.join(",") : String(s.default)}\``;
    const range = s.type === "int" && s.min !== undefined && s.max !== undefined
      ? `${s.min}–${s.max}`
      : s.choices
      ? s.choices.map((c) => `\`${c}\``).join(", ")
      : "";
    return [flag, s.env ? `\`${s.env}\`` : "", s.flagOnly ? "" : `\`${s.key}\``, def, range, s.help];
  });
}

/** A markdown table (deno fmt aligns it). */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Reads a markdown table back into rows of trimmed cells (header and separator dropped). */
export function parseTable(text: string): string[][] {
  const rows = text.trim().split("\n").filter((l) => l.trim().startsWith("|"));
  return rows.slice(2).map((l) =>
    l.trim().replace(/^\||\|$/g, "").split(/(?<!\\)\|/).map((c) => c.trim().replaceAll("\\|", "|"))
  );
}

/** The header row of the slash-command table. */
export const COMMAND_TABLE_HEADER = ["Command", "Also", "What it does"];

/** One row per command of the registry (usage, aliases, help), then the // escape. */
export function commandRows(): string[][] {
  const help = new Map(helpRows());
  return [
    ...COMMANDS.map((c) => [
      `\`${c.usage}\``,
      c.aliases.map((a) => `\`/${a}\``).join(", "),
      help.get(c.usage)!,
    ]),
    [`\`${SLASH_ESCAPE[0]}\``, "", SLASH_ESCAPE[1]],
  ];
}
