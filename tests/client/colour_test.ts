import assert from "node:assert/strict";
import { NAME_PALETTE, nameColour } from "../../src/client/colour.ts";

Deno.test("nameColour() gives one name one colour whatever its case or normal form", () => {
  assert.equal(nameColour("Alice"), nameColour("alice"));
  assert.equal(nameColour("ALICE"), nameColour("alice"));
  assert.equal(nameColour("e\u0301mile"), nameColour("\u00e9mile"), "NFD and NFC are one name");
});

Deno.test("nameColour() picks from the palette and spreads names over it", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const c = nameColour(`user${i}`);
    assert.ok(NAME_PALETTE.includes(c), `user${i}: ${c} is not in the palette`);
    seen.add(c);
  }
  assert.equal(seen.size, NAME_PALETTE.length, "200 names use every colour");
});
