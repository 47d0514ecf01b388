/** The one assertion for codec failures: a ProtocolError with the given code and, optionally, message. */

import assert from "node:assert/strict";
import { ProtocolError } from "../../src/protocol/mod.ts";

/** Asserts that `fn` throws a {@linkcode ProtocolError} with `code`, its message matching `message` if given. */
export function assertProtocolError(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${e}`);
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });
}
