import assert from "node:assert/strict";
import { NameRegistry } from "../../src/chat/names.ts";
import { Session } from "../../src/chat/session.ts";

function named(id: number, name: string): Session {
  const s = new Session(id, `10.0.0.${id}:1`, 0);
  s.name = name;
  s.key = name.toLowerCase();
  return s;
}

Deno.test("NameRegistry finds a holder by any look-alike of its name, skips the caller's own, and forgets on release", () => {
  const names = new NameRegistry();
  const alice = named(1, "alice");
  names.claim(alice);
  assert.equal(names.lookalike("\u0430lice"), alice, "Cyrillic а");
  assert.equal(names.lookalike("AL1CE"), alice, "a case form: AL1CE reads as ALICE");
  assert.equal(names.lookalike("\u0430lice", (s) => s === alice), undefined, "the caller itself");
  assert.equal(names.lookalike("a.lice"), undefined);
  // A later holder of the same skeletons (a resume) takes them over: releasing the old one leaves them.
  const resumed = named(2, "alice");
  names.claim(resumed);
  names.release(alice);
  assert.equal(names.lookalike("\u0430lice"), resumed);
  names.release(resumed);
  assert.equal(names.lookalike("\u0430lice"), undefined);
  assert.equal(names.size, 0);
});
