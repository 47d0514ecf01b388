/**
 * What `deno task compile` builds and how, with no I/O: the release targets,
 * the file name of each binary, the exact `deno compile` argument list with
 * the permissions baked into every binary, the SHA256SUMS line format, and
 * how to tell "the runtime base could not be downloaded" from a real
 * compile error. scripts/compile.ts performs the plan.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { V8_FLAGS } from "../src/v8_flags.ts";

/** Every platform a release ships a binary for, as `deno compile --target` names it. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

export type Target = typeof TARGETS[number];

/**
 * Permissions baked into every binary. Never -A: a chat binary needs sockets,
 * its files and the environment, plus --allow-run for `chat bench --spawn`,
 * which starts a server as a child process. --allow-sys and --allow-ffi stay
 * out until src/ uses an API that needs them (a test scans src/ and fails if
 * it starts to).
 */
export const PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
];

/** The program's entry point, relative to the repository root. */
export const ENTRY = "main.ts";

/** Where binaries go by default, relative to the repository root. */
export const DEFAULT_OUT_DIR = "dist";

/** The checksum file written next to the binaries by --checksums. */
export const CHECKSUM_FILE = "SHA256SUMS";

/** Whether `value` names a release target. */
export function isTarget(value: string): value is Target {
  return (TARGETS as readonly string[]).includes(value);
}

/** The binary's file name: `chat-<version>-<target>`, with `.exe` for Windows. */
export function outputName(version: string, target: Target): string {
  return `chat-${version}-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/**
 * Modules the program loads on demand, which the compiler cannot see, so they are included by name: those of
 * a computed import (`chat serve --cluster` loads the NATS client only when asked), and worker scripts, started
 * by URL (`new Worker(new URL("./x.ts", import.meta.url))`: SQLite's commits run on one).
 */
export const LAZY_MODULES = [
  "src/store/jetstream/mod.ts",
  "src/cluster/mod.ts",
  "src/store/sqlite_worker.ts",
];

/** The arguments after `deno` that build `entry` for `target` into `output`. */
export function compileArgs(target: Target, output: string, entry: string = ENTRY): string[] {
  const include = LAZY_MODULES.flatMap((m) => ["--include", m]);
  return [
    "compile",
    ...PERMISSIONS,
    `--v8-flags=${V8_FLAGS}`,
    ...include,
    "--target",
    target,
    "--output",
    output,
    entry,
  ];
}

/** One line of SHA256SUMS, in the format `sha256sum -c` reads: hex, two spaces, file name. */
export function checksumLine(hex: string, file: string): string {
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new TypeError(`Cannot format checksum: "${hex}" is not 64 lowercase hex digits`);
  }
  return `${hex}  ${file}`;
}

/** The script's own options. */
export interface CompileOptions {
  targets: Target[];
  checksums: boolean;
  /** Undefined means DEFAULT_OUT_DIR under the repository root. */
  outDir?: string;
  help: boolean;
}

export const COMPILE_HELP = `Usage: deno task compile [options]

Builds self-contained chat binaries with deno compile, one per target, into
${DEFAULT_OUT_DIR}/ as chat-<version>-<target> (.exe on Windows), with
${PERMISSIONS.join(" ")} baked in.

Options:
  --target T      build only target T (repeatable); default: all of
                  ${TARGETS.join("\n                  ")}
  --checksums     also write ${DEFAULT_OUT_DIR}/${CHECKSUM_FILE} ("<sha256 hex>  <file>" per binary)
  --out-dir DIR   write the binaries to DIR instead of ${DEFAULT_OUT_DIR}/
  -h, --help      show this help

deno compile downloads a runtime base per target from Deno's download host;
without access to it, every target fails and the script exits 1.
Exit codes: 0 all built, 1 a build failed, 2 bad usage.`;

/** A bad option of the compile script. */
export class CompileUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompileUsageError";
  }
}

/** Parses the script's argv; throws CompileUsageError naming the bad option. */
export function parseCompileArgs(argv: readonly string[]): CompileOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        target: { type: "string", multiple: true },
        checksums: { type: "boolean" },
        "out-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new CompileUsageError((err as Error).message.split("\n")[0]);
  }
  const targets: Target[] = [];
  for (const t of parsed.values.target ?? []) {
    if (!isTarget(t)) throw new CompileUsageError(`unknown target "${t}" (known: ${TARGETS.join(", ")})`);
    if (!targets.includes(t)) targets.push(t);
  }
  const outDir = parsed.values["out-dir"];
  if (outDir === "") throw new CompileUsageError("--out-dir needs a directory");
  return {
    targets: targets.length > 0 ? targets : [...TARGETS],
    checksums: parsed.values.checksums ?? false,
    outDir,
    help: parsed.values.help ?? false,
  };
}

/**
 * Whether deno compile failed because it could not fetch the runtime base
 * (denort) for a target, rather than because of the program: the download
 * line, a request error or a DNS/connection failure in its stderr.
 */
export function isBaseDownloadFailure(stderr: string): boolean {
  return /Setting up base binary|error sending request|dns error|failed to lookup address|Connection refused|Network is unreachable|connection (?:timed out|reset)|tcp connect error|certificate/i
    .test(stderr) || (/Download\s+https?:\/\/\S*denort/i.test(stderr) && /error/i.test(stderr));
}

/** The most specific line of stderr about why the download failed, without its "N: " prefix. */
function downloadCause(stderr: string): string | undefined {
  const lines = stripAnsi(stderr).split("\n").map((l) => l.replace(/^\s*\d+:\s*/, "").trim());
  const afterBase = lines.findIndex((l) => /Setting up base binary/i.test(l)) + 1;
  const line = afterBase > 0 && lines[afterBase]
    ? lines[afterBase]
    : lines.find((l) => /error sending request|dns error|Connection refused|unreachable|timed out/i.test(l));
  // The URL is already in the message; drop the copy inside the request error.
  return line?.replace(/ for url \([^)]*\)/, "");
}

/** One line explaining that `target` was not built because its runtime base could not be fetched. */
export function describeDownloadFailure(target: Target, stderr: string): string {
  const url = stderr.match(/https?:\/\/\S*denort\S*?\.zip/)?.[0];
  const cause = downloadCause(stderr);
  return `compile: ${target}: not built: deno compile could not download its runtime base` +
    `${url ? ` from ${url}` : ""} (it needs access to Deno's download host)${cause ? `: ${cause}` : ""}`;
}

/** Removes ANSI colour codes, in case the child ignored NO_COLOR. */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

/**
 * Deno APIs whose use in src/ would need a permission that PERMISSIONS does
 * not grant. Checked by a test so the baked list cannot silently fall behind.
 */
export const APIS_NEEDING_MORE: ReadonlyArray<{ pattern: RegExp; permission: string }> = [
  { pattern: /\bDeno\.(?:Command|run)\b|\bnode:child_process\b/, permission: "--allow-run" },
  {
    pattern:
      /\bDeno\.(?:loadavg|osRelease|osUptime|systemMemoryInfo|networkInterfaces|hostname|uid|gid)\b|\bnode:os\b/,
    permission: "--allow-sys",
  },
  { pattern: /\bDeno\.dlopen\b/, permission: "--allow-ffi" },
];

/** Permissions that `source` needs beyond PERMISSIONS. */
export function missingPermissions(source: string): string[] {
  return APIS_NEEDING_MORE.filter(({ pattern, permission }) =>
    pattern.test(source) && !PERMISSIONS.includes(permission)
  ).map(({ permission }) => permission);
}
