import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../src/version.ts";
import { V8_FLAGS } from "../src/v8_flags.ts";
import { compile, type CompileIo, type DenoResult, processIo } from "../scripts/compile.ts";
import {
  checksumLine,
  compileArgs,
  CompileUsageError,
  describeDownloadFailure,
  ENTRY,
  isBaseDownloadFailure,
  isTarget,
  LAZY_MODULES,
  missingPermissions,
  outputName,
  parseCompileArgs,
  PERMISSIONS,
  stripAnsi,
  type Target,
  TARGETS,
} from "../scripts/compile_plan.ts";
import { hex } from "../src/protocol/hex.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** What deno 2.9.6 prints when dl.deno.land cannot be resolved (captured on a machine without access). */
const OFFLINE_STDERR = `Check main.ts
Compile main.ts to dist/chat-0.1.0-aarch64-apple-darwin
Download https://dl.deno.land/release/v2.9.6/denort-aarch64-apple-darwin.zip
error: Writing deno compile executable to temporary file 'dist/chat-0.1.0-aarch64-apple-darwin.tmp-3532e8726d3016b2'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-aarch64-apple-darwin.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
    3: dns error
    4: failed to lookup address information: Name or service not known

Stack backtrace:
   0: <unknown>
`;

const TYPE_ERROR_STDERR = `Check main.ts
TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.
  const n: number = "x";
        ^
    at file:///work/main/src/cli/serve.ts:3:9

error: Type checking failed.
`;

Deno.test("TARGETS lists the five release platforms", () => {
  assert.deepEqual([...TARGETS].sort(), [
    "aarch64-apple-darwin",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "x86_64-unknown-linux-gnu",
  ]);
  assert.ok(isTarget("x86_64-apple-darwin"));
  assert.ok(!isTarget("x86_64-unknown-linux-musl"));
});

Deno.test("outputName() is chat-<version>-<target>, with .exe only for Windows", () => {
  assert.equal(outputName("0.1.0", "x86_64-unknown-linux-gnu"), "chat-0.1.0-x86_64-unknown-linux-gnu");
  assert.equal(outputName("0.1.0", "aarch64-apple-darwin"), "chat-0.1.0-aarch64-apple-darwin");
  assert.equal(outputName("1.2.3", "x86_64-pc-windows-msvc"), "chat-1.2.3-x86_64-pc-windows-msvc.exe");
  for (const t of TARGETS) assert.equal(outputName("0.1.0", t).endsWith(".exe"), t.includes("windows"));
});

Deno.test("compileArgs() bakes in exactly the needed permissions and never -A", () => {
  for (const target of TARGETS) {
    const output = `dist/${outputName(VERSION, target)}`;
    const args = compileArgs(target, output);
    assert.equal(args[0], "compile");
    for (const all of ["-A", "--allow-all"]) assert.ok(!args.includes(all), `${all} in ${args.join(" ")}`);
    for (const needed of ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run"]) {
      assert.ok(args.includes(needed), `${needed} missing from ${args.join(" ")}`);
    }
    for (const unneeded of ["--allow-sys", "--allow-ffi"]) {
      assert.ok(!args.includes(unneeded), `${unneeded} in ${args.join(" ")}`);
    }
    assert.equal(args[args.indexOf("--target") + 1], target);
    assert.equal(args[args.indexOf("--output") + 1], output);
    assert.equal(args.filter((a) => a === "--target").length, 1);
    assert.equal(args.at(-1), "main.ts");
    assert.equal(ENTRY, "main.ts");
    assert.ok(args.includes(`--v8-flags=${V8_FLAGS}`), "the server's V8 flags are baked in");
  }
});

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.[cm]?[jt]sx?$/.test(entry.name)) yield path;
  }
}

Deno.test("every worker script that src/ starts by URL is included in the binary", async () => {
  const workers: string[] = [];
  for await (const file of sourceFiles(join(ROOT, "src"))) {
    const source = await Deno.readTextFile(file);
    // The script a Worker runs: a URL relative to the module that starts it, which deno compile cannot follow.
    for (const m of source.matchAll(/new URL\(\s*"([^"]+\.ts)",\s*import\.meta\.url\s*\)/g)) {
      const script = join(file, "..", m[1]);
      if (source.includes("new Worker(")) workers.push(script.slice(ROOT.length).replace(/^\//, ""));
    }
  }
  assert.ok(workers.includes("src/store/sqlite_worker.ts"), `found ${workers.join(", ")}`);
  for (const w of workers) {
    assert.ok(
      LAZY_MODULES.includes(w),
      `${w} is a worker: add it to LAZY_MODULES in scripts/compile_plan.ts`,
    );
    const args = compileArgs("x86_64-unknown-linux-gnu", "out");
    assert.equal(args[args.indexOf(w) - 1], "--include", `${w} is passed with --include`);
  }
});

Deno.test("the baked permissions cover every Deno API that main.ts and src/ use", async () => {
  const files = [join(ROOT, "main.ts")];
  for await (const f of sourceFiles(join(ROOT, "src"))) files.push(f);
  assert.ok(files.length > 1);
  for (const file of files) {
    const missing = missingPermissions(await Deno.readTextFile(file));
    assert.deepEqual(missing, [], `${file} needs ${missing.join(", ")}: add it to PERMISSIONS`);
  }
});

Deno.test("missingPermissions() notices APIs that need --allow-sys, and knows --allow-run is baked in", () => {
  assert.deepEqual(missingPermissions(`new Deno.Command("ls")`), [], "chat bench --spawn runs a server");
  assert.deepEqual(missingPermissions(`const [a] = Deno.loadavg();`), ["--allow-sys"]);
  assert.deepEqual(missingPermissions(`import os from "node:os";`), ["--allow-sys"]);
  assert.deepEqual(missingPermissions(`Deno.listen({ port: 0 }); Deno.env.get("X")`), []);
  assert.deepEqual(PERMISSIONS, [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-run",
  ]);
});

Deno.test("checksumLine() writes the sha256sum format: hex, two spaces, file name", () => {
  const hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  assert.equal(
    checksumLine(hex, "chat-0.1.0-x86_64-unknown-linux-gnu"),
    `${hex}  chat-0.1.0-x86_64-unknown-linux-gnu`,
  );
  assert.match(checksumLine(hex, "chat.exe"), /^[0-9a-f]{64} {2}\S+$/);
  assert.throws(() => checksumLine("ABC", "chat"), TypeError);
  assert.throws(() => checksumLine(hex.toUpperCase(), "chat"), TypeError);
});

Deno.test("processIo().sha256() hashes a file's bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-compile-test-" });
  try {
    const file = join(dir, "abc");
    await Deno.writeTextFile(file, "abc");
    assert.equal(
      await processIo(ROOT).sha256(file),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseCompileArgs() builds every target by default and a subset with repeated --target", () => {
  assert.deepEqual(parseCompileArgs([]), {
    targets: [...TARGETS],
    checksums: false,
    outDir: undefined,
    help: false,
  });
  const some = parseCompileArgs([
    "--target",
    "aarch64-apple-darwin",
    "--target=x86_64-pc-windows-msvc",
    "--target",
    "aarch64-apple-darwin",
    "--checksums",
    "--out-dir",
    "out",
  ]);
  assert.deepEqual(some.targets, ["aarch64-apple-darwin", "x86_64-pc-windows-msvc"]);
  assert.equal(some.checksums, true);
  assert.equal(some.outDir, "out");
  assert.equal(parseCompileArgs(["-h"]).help, true);
});

Deno.test("parseCompileArgs() rejects an unknown target, an unknown flag and a stray argument", () => {
  assert.throws(() => parseCompileArgs(["--target", "x86_64-unknown-linux-musl"]), CompileUsageError);
  assert.throws(() => parseCompileArgs(["-A"]), CompileUsageError);
  assert.throws(() => parseCompileArgs(["main.ts"]), CompileUsageError);
  assert.throws(() => parseCompileArgs(["--target"]), CompileUsageError);
});

Deno.test("isBaseDownloadFailure() tells an unreachable download host from a compile error", () => {
  assert.ok(isBaseDownloadFailure(OFFLINE_STDERR));
  assert.ok(isBaseDownloadFailure(stripAnsi(`\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: ${OFFLINE_STDERR}`)));
  assert.ok(!isBaseDownloadFailure(TYPE_ERROR_STDERR));
  assert.ok(!isBaseDownloadFailure(""));
});

Deno.test("describeDownloadFailure() is one line naming the target, the URL and the cause", () => {
  const line = describeDownloadFailure("aarch64-apple-darwin", OFFLINE_STDERR);
  assert.ok(!line.includes("\n"), line);
  assert.match(line, /^compile: aarch64-apple-darwin: not built: /);
  assert.ok(line.includes("https://dl.deno.land/release/v2.9.6/denort-aarch64-apple-darwin.zip"), line);
  assert.ok(line.includes("dns error"), line);
});

/** A CompileIo that records what the script does; `deno` answers with `reply`. */
function fakeIo(reply: (args: string[]) => DenoResult) {
  const calls: string[][] = [];
  const files = new Map<string, string>();
  const dirs: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const io: CompileIo = {
    deno: (args) => {
      calls.push(args);
      return Promise.resolve(reply(args));
    },
    mkdir: (dir) => {
      dirs.push(dir);
      return Promise.resolve();
    },
    sha256: (path) => Promise.resolve(hex(new TextEncoder().encode(path.slice(-32).padStart(32, "x")))),
    writeTextFile: (path, text) => {
      files.set(path, text);
      return Promise.resolve();
    },
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
  };
  return { io, calls, files, dirs, out, err };
}

const CTX = { version: "0.1.0", root: "/repo", cwd: "/home/me" };

Deno.test("compile() reports one line per target and exits 1 when the runtime base cannot be downloaded", async () => {
  const f = fakeIo(() => ({ code: 1, output: OFFLINE_STDERR }));
  const code = await compile(["--checksums"], f.io, CTX);
  assert.equal(code, 1);
  assert.equal(f.calls.length, TARGETS.length);
  for (const target of TARGETS) {
    assert.equal(
      f.err.filter((l) => l.startsWith(`compile: ${target}: not built: `)).length,
      1,
      f.err.join("\n"),
    );
  }
  assert.equal(f.files.size, 0, "SHA256SUMS must not be written when a build failed");
  assert.match(f.err.at(-1)!, /5 of 5 target\(s\) not built; SHA256SUMS not written/);
});

Deno.test("compile() shows deno's own output for a failure that is not a download", async () => {
  const f = fakeIo(() => ({ code: 1, output: TYPE_ERROR_STDERR }));
  assert.equal(await compile(["--target", "x86_64-unknown-linux-gnu"], f.io, CTX), 1);
  assert.ok(f.err.some((l) => l.includes("Type checking failed")), f.err.join("\n"));
});

Deno.test("compile() builds into dist/ and writes SHA256SUMS in target order", async () => {
  const f = fakeIo(() => ({ code: 0, output: "" }));
  const targets: Target[] = ["x86_64-pc-windows-msvc", "x86_64-unknown-linux-gnu"];
  const code = await compile(["--checksums", ...targets.flatMap((t) => ["--target", t])], f.io, CTX);
  assert.equal(code, 0);
  assert.deepEqual(f.dirs, [join("/repo", "dist")]);
  assert.deepEqual(
    f.calls,
    targets.map((t) => compileArgs(t, join("/repo", "dist", outputName("0.1.0", t)))),
  );
  const sums = f.files.get(join("/repo", "dist", "SHA256SUMS"));
  assert.ok(sums !== undefined);
  const lines = sums.split("\n");
  assert.equal(lines.pop(), "", "ends with a newline");
  assert.deepEqual(lines.map((l) => l.split("  ")[1]), targets.map((t) => outputName("0.1.0", t)));
  for (const l of lines) assert.match(l, /^[0-9a-f]{64} {2}chat-0\.1\.0-\S+$/);
});

Deno.test("compile() takes a relative --out-dir from the caller's directory and skips SHA256SUMS by default", async () => {
  const f = fakeIo(() => ({ code: 0, output: "" }));
  assert.equal(await compile(["--out-dir", "out", "--target", "aarch64-apple-darwin"], f.io, CTX), 0);
  assert.deepEqual(f.dirs, [join("/home/me", "out")]);
  assert.equal(
    f.calls[0][f.calls[0].indexOf("--output") + 1],
    join("/home/me", "out", "chat-0.1.0-aarch64-apple-darwin"),
  );
  assert.equal(f.files.size, 0);
});

Deno.test("compile() exits 2 on bad usage without running deno", async () => {
  const f = fakeIo(() => ({ code: 0, output: "" }));
  assert.equal(await compile(["--target", "sparc"], f.io, CTX), 2);
  assert.equal(f.calls.length, 0);
  assert.match(f.err[0], /unknown target "sparc"/);
});

// The real thing: deno compile for this machine. It needs Deno's download host for the runtime
// base, so the probe runs before registration and the test is reported as ignored, with the
// reason in its name, when that host cannot be reached. Any other failure fails the test.

type Probe =
  | { kind: "built"; binary: string; dir: string }
  | { kind: "skip"; reason: string }
  | { kind: "failed"; output: string; dir: string };

const PROBE_TIMEOUT_MS = 60_000;

async function probeHostCompile(): Promise<Probe> {
  const host = Deno.build.target;
  if (!isTarget(host)) return { kind: "skip", reason: `host ${host} is not a release target` };
  if ((await Deno.permissions.query({ name: "run" })).state !== "granted") {
    return { kind: "skip", reason: "needs --allow-run (use deno task test)" };
  }
  const dir = await Deno.makeTempDir({ prefix: "chat-compile-test-" });
  const binary = join(dir, outputName(VERSION, host));
  const out = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(host, binary),
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  }).output();
  const output = stripAnsi(new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr));
  if (out.success) return { kind: "built", binary, dir };
  const downloading = isBaseDownloadFailure(output) ||
    (out.signal !== null && /Download\s+https?:\/\/\S*denort/.test(output));
  if (!downloading) return { kind: "failed", output, dir };
  await Deno.remove(dir, { recursive: true });
  const reason = out.signal !== null
    ? `deno compile was still downloading its runtime base after ${PROBE_TIMEOUT_MS / 1000} s`
    : describeDownloadFailure(host, output).replace(/^compile: /, "");
  return { kind: "skip", reason };
}

const probe = await probeHostCompile();

Deno.test({
  name:
    `deno compile builds a host binary that prints "chat ${VERSION}" and serves with its baked permissions${
      probe.kind === "skip" ? ` [SKIPPED: ${probe.reason}]` : ""
    }`,
  ignore: probe.kind === "skip",
  async fn() {
    if (probe.kind === "skip") return;
    try {
      if (probe.kind === "failed") assert.fail(`deno compile failed:\n${probe.output}`);
      const version = await new Deno.Command(probe.binary, {
        args: ["--version"],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(10_000),
      }).output();
      const stdout = new TextDecoder().decode(version.stdout);
      assert.equal(version.code, 0, new TextDecoder().decode(version.stderr));
      assert.equal(stdout.trim(), `chat ${VERSION}`);
      await assertServes(probe.binary);
    } finally {
      await Deno.remove(probe.dir, { recursive: true });
    }
  },
});

/** Starts `binary serve` on a free loopback port, waits for its listening line, stops it with SIGTERM. */
async function assertServes(binary: string): Promise<void> {
  const child = new Deno.Command(binary, {
    args: ["serve", "--host", "127.0.0.1", "--port", "0"],
    env: { XDG_CONFIG_HOME: "/nonexistent-chat-test" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  let seen = "";
  try {
    const deadline = Date.now() + 10_000;
    while (!seen.includes("chat serve: listening on 127.0.0.1:")) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`no listening line within 10 s; stderr so far:\n${seen}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no listening line; stderr so far:\n${seen}`)), left);
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) assert.fail(`serve exited before listening; stderr:\n${seen}`);
      seen += decoder.decode(chunk.value, { stream: true });
    }
    child.kill("SIGTERM");
    const status = await child.status;
    // Windows has no SIGTERM to catch: kill() terminates the process there.
    if (Deno.build.os !== "windows") assert.equal(status.code, 0, seen);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await reader.cancel().catch(() => {});
    await child.status;
  }
}

Deno.test("deno task serve runs with the same V8 flags as the compiled binary", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.match(config.tasks.serve, new RegExp(` --v8-flags=${V8_FLAGS} main\\.ts serve$`));
});
