import assert from "node:assert/strict";
import { internalErrorLine } from "../../src/cli/main.ts";

Deno.test("internalErrorLine() says it is a bug in one line, with controls in the message made inert", () => {
  assert.equal(internalErrorLine(new Error("boom")), "chat: internal error: boom");
  assert.equal(internalErrorLine("x\x1b]0;t\x07\ny"), "chat: internal error: x\u241b]0;t\u2407\u240ay");
});
