import assert from "node:assert/strict";
import { parseTable } from "../../src/cli/doc.ts";
import type { OptionSpec } from "../../src/cli/options.ts";
import { SERVE_SPECS } from "../../src/cli/specs.ts";

const security = await Deno.readTextFile(new URL("../../docs/SECURITY.md", import.meta.url));

/** The `chat serve` options that limit what a client or an address may do or cost. */
const LIMITS = [
  "maxClients",
  "timeout",
  "maxFrame",
  "maxText",
  "maxRoomsPerClient",
  "maxRooms",
  "outboxBytes",
  "rateLimit",
  "rateBurst",
  "maxConnsPerIp",
  "connRatePerIp",
  "limitLoopback",
  "history",
  "grace",
  "maxStoreMb",
  "memoryStoreMb",
  "retentionMessages",
  "retentionDays",
];

/** The cells the Limits table must show for `spec`: flag, environment, default, range. */
function expectedCells(spec: OptionSpec): string[] {
  const number = (n: number | undefined) => n === Number.MAX_SAFE_INTEGER ? "2^53 - 1" : String(n);
  return [
    `\`--${spec.flag}\``,
    `\`${spec.env}\``,
    spec.type === "bool" ? (spec.default ? "on" : "off") : String(spec.default),
    spec.type === "bool" ? "on or off" : `${number(spec.min)} to ${number(spec.max)}`,
  ];
}

Deno.test("docs/SECURITY.md lists every limit of chat serve with its variable, default and range", () => {
  const start = security.indexOf("\n## Limits\n");
  assert.ok(start >= 0, "docs/SECURITY.md has no Limits section");
  const section = security.slice(start, security.indexOf("\n## ", start + 1));
  const table = section.slice(section.indexOf("\n|"), section.indexOf("\n\n", section.indexOf("\n|") + 1));
  const rows = parseTable(table);
  const specs = LIMITS.map((key) => SERVE_SPECS.find((s) => s.key === key)!);
  assert.deepEqual(
    rows.map((r) => r.slice(0, 4)),
    specs.map(expectedCells),
    "the Limits table of docs/SECURITY.md drifted from src/cli/specs.ts",
  );
});
