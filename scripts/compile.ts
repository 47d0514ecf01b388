/**
 * `deno task compile`: builds the release binaries that compile_plan.ts
 * describes, one target after another, and with --checksums writes
 * SHA256SUMS beside them. All I/O goes through a small CompileIo, so the
 * flow (what is reported, when SHA256SUMS is written, the exit code) is
 * tested with a fake deno.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../src/version.ts";
import {
  CHECKSUM_FILE,
  checksumLine,
  COMPILE_HELP,
  compileArgs,
  CompileUsageError,
  DEFAULT_OUT_DIR,
  describeDownloadFailure,
  isBaseDownloadFailure,
  outputName,
  parseCompileArgs,
  stripAnsi,
} from "./compile_plan.ts";
import { hex } from "../src/protocol/hex.ts";

/** What one `deno` run reports back. */
export interface DenoResult {
  code: number;
  /** stdout and stderr together: deno compile reports on stderr. */
  output: string;
}

/** Everything the build touches outside itself. */
export interface CompileIo {
  /** Runs `deno <args>` in the repository root. */
  deno(args: string[]): Promise<DenoResult>;
  mkdir(dir: string): Promise<void>;
  /** Lowercase hex SHA-256 of a file. */
  sha256(path: string): Promise<string>;
  writeTextFile(path: string, text: string): Promise<void>;
  stdout(line: string): void;
  stderr(line: string): void;
}

export interface CompileContext {
  version: string;
  /** The repository root: the default output directory lives under it. */
  root: string;
  /** Where the user ran the command: a relative --out-dir is taken from here. */
  cwd: string;
}

/** Runs the compile script with `argv`; returns the exit code (0 built, 1 a build failed, 2 bad usage). */
export async function compile(argv: readonly string[], io: CompileIo, ctx: CompileContext): Promise<number> {
  let options;
  try {
    options = parseCompileArgs(argv);
  } catch (err) {
    if (!(err instanceof CompileUsageError)) throw err;
    io.stderr(`compile: ${err.message} (run 'deno task compile --help' for usage)`);
    return 2;
  }
  if (options.help) {
    io.stdout(COMPILE_HELP);
    return 0;
  }
  const outDir = options.outDir === undefined
    ? join(ctx.root, DEFAULT_OUT_DIR)
    : resolve(ctx.cwd, options.outDir);
  await io.mkdir(outDir);

  const built: string[] = [];
  let failed = 0;
  for (const target of options.targets) {
    const name = outputName(ctx.version, target);
    const path = join(outDir, name);
    io.stderr(`compile: ${target} -> ${path}`);
    const result = await io.deno(compileArgs(target, path));
    if (result.code === 0) {
      built.push(name);
      continue;
    }
    failed++;
    const output = stripAnsi(result.output);
    if (isBaseDownloadFailure(output)) io.stderr(describeDownloadFailure(target, output));
    else io.stderr(`compile: ${target}: deno compile failed (exit ${result.code}):\n${output.trimEnd()}`);
  }
  if (failed > 0) {
    io.stderr(
      `compile: ${failed} of ${options.targets.length} target(s) not built${
        options.checksums ? `; ${CHECKSUM_FILE} not written` : ""
      }`,
    );
    return 1;
  }

  for (const name of built) io.stdout(join(outDir, name));
  if (options.checksums) {
    const lines: string[] = [];
    for (const name of built) lines.push(checksumLine(await io.sha256(join(outDir, name)), name));
    const sums = join(outDir, CHECKSUM_FILE);
    await io.writeTextFile(sums, lines.map((l) => `${l}\n`).join(""));
    io.stdout(sums);
  }
  return 0;
}

/** CompileIo bound to this process and the deno running it. */
export function processIo(root: string): CompileIo {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const write = (file: { writeSync(p: Uint8Array): number }, line: string) => {
    const bytes = encoder.encode(`${line}\n`);
    let off = 0;
    while (off < bytes.byteLength) off += file.writeSync(bytes.subarray(off));
  };
  return {
    async deno(args) {
      const out = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: root,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
    },
    mkdir: (dir) => Deno.mkdir(dir, { recursive: true }),
    async sha256(path) {
      return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path))));
    },
    writeTextFile: (path, text) => Deno.writeTextFile(path, text),
    stdout: (line) => write(Deno.stdout, line),
    stderr: (line) => write(Deno.stderr, line),
  };
}

if (import.meta.main) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  // deno task runs scripts from the directory of deno.json and keeps the caller's directory in INIT_CWD.
  const cwd = Deno.env.get("INIT_CWD") || Deno.cwd();
  Deno.exit(await compile(Deno.args, processIo(root), { version: VERSION, root, cwd }));
}
