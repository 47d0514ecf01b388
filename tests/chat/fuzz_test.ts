/**
 * A seeded randomized test of the handshake and broker state machine (see tests/_helpers/fuzz_broker.ts
 * for the invariants). The seed is fixed so every run is the same; to explore, run
 *
 *   FUZZ_SEED=random deno test --allow-read --allow-env=FUZZ_SEED tests/chat/fuzz_test.ts
 *
 * or `deno task fuzz --seconds 60`, and replay a failure with the seed its message prints.
 */

import { runBrokerCase } from "../_helpers/fuzz_broker.ts";
import { Prng, testSeed } from "../_helpers/prng.ts";

const SEED = testSeed(0x0b40_4e55);
const CASES = 150;
const STEPS = 200;

Deno.test("Broker keeps its invariants under random sequences of valid and invalid messages", () => {
  const rng = new Prng(SEED);
  for (let i = 0; i < CASES; i++) {
    // Each case draws its own seed, so `deno task fuzz --replay broker:SEED` replays one case alone.
    const seed = rng.int(0x1_0000_0000);
    try {
      runBrokerCase(new Prng(seed), STEPS);
    } catch (e) {
      throw new Error(
        `broker fuzz case ${i} failed (FUZZ_SEED=${SEED}, case seed ${seed}); replay with ` +
          `deno task fuzz --replay broker:${seed}`,
        { cause: e },
      );
    }
  }
});
