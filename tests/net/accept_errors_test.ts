import assert from "node:assert/strict";
import {
  ACCEPT_LOG_EVERY_MS,
  AcceptFailures,
  classifyAcceptError,
  EXHAUSTED_PAUSE_MS,
} from "../../src/net/accept_errors.ts";
import type { Logger } from "../../src/net/log.ts";

/** An error shaped as Deno 2.9.6 throws it from accept(): a class, and the errno name as `code`. */
function osError<E extends Error>(make: (msg: string) => E, code: string | undefined, message: string): E {
  const err = make(message);
  if (code !== undefined) Object.assign(err, { code });
  return err;
}

const notConnected = () =>
  osError(
    (m) => new Deno.errors.NotConnected(m),
    "ENOTCONN",
    "Transport endpoint is not connected (os error 107)",
  );
const emfile = () => osError((m) => new Error(m), "EMFILE", "Too many open files (os error 24)");

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

Deno.test("classifyAcceptError() tells a vanished peer from resource exhaustion and a closed listener", () => {
  assert.equal(classifyAcceptError(notConnected()), "peer_gone");
  for (const code of ["ECONNABORTED", "ECONNRESET", "EPROTO", "EHOSTUNREACH"]) {
    assert.equal(classifyAcceptError(osError((m) => new Error(m), code, code)), "peer_gone", code);
  }
  // The class alone is enough when a runtime leaves the code out.
  assert.equal(classifyAcceptError(new Deno.errors.ConnectionAborted("aborted")), "peer_gone");
  assert.equal(classifyAcceptError(new Deno.errors.ConnectionReset("reset")), "peer_gone");
  for (const code of ["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]) {
    assert.equal(classifyAcceptError(osError((m) => new Error(m), code, code)), "exhausted", code);
  }
  assert.equal(classifyAcceptError(new Deno.errors.BadResource("Listener has been closed")), "closed");
  assert.equal(classifyAcceptError(new Error("something new")), "unexpected");
  assert.equal(classifyAcceptError("not even an Error"), "unexpected");
});

Deno.test("AcceptFailures: a peer's reset is skipped at once and logged at debug level only", () => {
  const log = recordingLogger();
  const failures = new AcceptFailures(log);
  for (let i = 0; i < 1000; i++) assert.equal(failures.handle(notConnected(), 1000 + i), 0);
  assert.equal(failures.counts.peer_gone, 1000);
  assert.deepEqual(log.lines.map((l) => l.split(" ")[0]), ["debug"], "one debug line for 1000 resets in 1 s");
});

Deno.test("AcceptFailures: exhaustion pauses, and its warnings are one per interval with a count of the rest", () => {
  const log = recordingLogger();
  const failures = new AcceptFailures(log);
  let now = 0;
  // 201 failures 50 ms apart, from 0 to 10 s: the first is logged, the next 199 are held back, the last is
  // logged with their count.
  for (let i = 0; i <= 200; i++, now += EXHAUSTED_PAUSE_MS) {
    assert.equal(failures.handle(emfile(), now), EXHAUSTED_PAUSE_MS);
  }
  assert.equal(log.lines.length, 2, log.lines.join("\n"));
  assert.match(log.lines[0], /^warn accept failed, pausing: Too many open files/);
  assert.match(
    log.lines[1],
    /^warn accept failed, pausing: Too many open files .*\(199 more like it in the last 10 s/,
  );
  assert.equal(failures.counts.exhausted, 201);
});

Deno.test("AcceptFailures: each kind has its own window, and a closed listener stops the loop", () => {
  const log = recordingLogger();
  const failures = new AcceptFailures(log, ACCEPT_LOG_EVERY_MS);
  failures.handle(notConnected(), 0);
  failures.handle(emfile(), 1);
  assert.equal(failures.handle(new Error("odd"), 2), EXHAUSTED_PAUSE_MS);
  assert.deepEqual(log.lines.map((l) => l.split(" ")[0]), ["debug", "warn", "warn"]);
  assert.equal(failures.handle(new Deno.errors.BadResource("Listener has been closed"), 3), "stop");
});
