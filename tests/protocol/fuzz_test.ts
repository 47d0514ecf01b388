/**
 * Seeded randomized tests of the frame decoder and the message codec:
 * thousands of valid, truncated and mutated frames per run, fed in random
 * chunks. The seed is fixed so every run is the same; to explore, run
 *
 *   FUZZ_SEED=random deno test --allow-read --allow-env=FUZZ_SEED tests/protocol/fuzz_test.ts
 *
 * and replay a failure with the seed its message prints.
 */

import assert from "node:assert/strict";
import { encodeMessage, FrameDecoder } from "../../src/protocol/mod.ts";
import { decodeByDirection, GENERATORS, runDecoderCase, TYPES } from "../_helpers/fuzz_codec.ts";
import { Prng, testSeed } from "../_helpers/prng.ts";

const SEED = testSeed(0x2f6b_a11c);
const CASES = 4000;

Deno.test("FrameDecoder and both ends' decoders survive random valid, truncated and mutated streams", () => {
  const rng = new Prng(SEED);
  for (let i = 0; i < CASES; i++) {
    try {
      runDecoderCase(rng);
    } catch (e) {
      throw new Error(
        `fuzz case ${i} failed with FUZZ_SEED=${SEED}; replay with ` +
          `FUZZ_SEED=${SEED} deno test --allow-read --allow-env=FUZZ_SEED tests/protocol/fuzz_test.ts`,
        { cause: e },
      );
    }
  }
});

Deno.test("every valid random message round-trips through encodeMessage and its direction's decoder", () => {
  const rng = new Prng(SEED ^ 0x9e37_79b9);
  for (let i = 0; i < CASES; i++) {
    const value = GENERATORS[TYPES[i % TYPES.length]](rng);
    const frame = encodeMessage(value);
    const decoded = new FrameDecoder({ maxFrame: 65536 }).push(frame);
    assert.equal(decoded.length, 1, `FUZZ_SEED=${SEED} case ${i}: ${value.type} is not one frame`);
    assert.deepStrictEqual(decodeByDirection(decoded[0]), value, `FUZZ_SEED=${SEED} case ${i}`);
  }
});
