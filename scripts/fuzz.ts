/**
 * `deno task fuzz`: runs the randomized tests of the frame decoder and codec
 * (tests/_helpers/fuzz_codec.ts) and of the broker's handshake and state
 * machine (tests/_helpers/fuzz_broker.ts) for a given time, with a fresh seed
 * per case. On the first failure it prints the case's seed and the command
 * that replays it, and exits 1.
 *
 *   deno task fuzz                      # 30 seconds, both targets, a random seed
 *   deno task fuzz --seconds 300 --seed 42 --target broker
 *   deno task fuzz --replay broker:3735928559
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runBrokerCase } from "../tests/_helpers/fuzz_broker.ts";
import { runDecoderCase } from "../tests/_helpers/fuzz_codec.ts";
import { Prng } from "../tests/_helpers/prng.ts";

const TARGETS = {
  decoder: (rng: Prng) => runDecoderCase(rng),
  broker: (rng: Prng) => void runBrokerCase(rng),
} as const;
type Target = keyof typeof TARGETS;

const HELP = `Usage: deno task fuzz [--seconds N] [--seed S] [--target decoder|broker|all]
       deno task fuzz --replay TARGET:SEED

Runs the frame decoder and codec, and the broker state machine, under
randomized input for N seconds (default 30). Each case draws its own seed
from the run's seed (random unless --seed); a failure prints it and exits 1.`;

function fail(message: string): never {
  console.error(`fuzz: ${message}\n\n${HELP}`);
  Deno.exit(2);
}

function parseSeed(text: string): number {
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) fail(`bad seed "${text}"`);
  return seed;
}

function main(): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        seconds: { type: "string", default: "30" },
        seed: { type: "string" },
        target: { type: "string", default: "all" },
        replay: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.replay !== undefined) {
    const [target, seed] = values.replay.split(":");
    if (!(target in TARGETS) || seed === undefined) {
      fail(`--replay wants TARGET:SEED, got "${values.replay}"`);
    }
    TARGETS[target as Target](new Prng(parseSeed(seed)));
    console.log(`fuzz: ${target} case ${seed} passed`);
    return 0;
  }
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) fail(`--seconds wants a positive number, got "${values.seconds}"`);
  const targets: Target[] = values.target === "all"
    ? ["decoder", "broker"]
    : values.target in TARGETS
    ? [values.target as Target]
    : fail(`unknown --target "${values.target}"`);
  const seed = values.seed === undefined
    ? crypto.getRandomValues(new Uint32Array(1))[0]
    : parseSeed(values.seed);
  console.log(`fuzz: seed ${seed}, ${seconds} s, targets ${targets.join(", ")}`);

  const rng = new Prng(seed);
  const counts = Object.fromEntries(targets.map((t) => [t, 0])) as Record<Target, number>;
  const started = performance.now();
  const end = started + seconds * 1000;
  let nextReport = started + 10_000;
  for (let i = 0; performance.now() < end; i++) {
    const target = targets[i % targets.length];
    const caseSeed = rng.int(0x1_0000_0000);
    try {
      TARGETS[target](new Prng(caseSeed));
    } catch (err) {
      console.error(`fuzz: FAILED ${target} case ${caseSeed} (case ${i} of run seed ${seed})`);
      console.error(err instanceof Error ? err.stack ?? err.message : String(err));
      for (let cause = (err as Error).cause; cause instanceof Error; cause = cause.cause) {
        console.error(`caused by: ${cause.stack ?? cause.message}`);
      }
      console.error(`replay: deno task fuzz --replay ${target}:${caseSeed}`);
      return 1;
    }
    counts[target]++;
    const now = performance.now();
    if (now >= nextReport) {
      console.log(`fuzz: ${Math.round((now - started) / 1000)} s, ${summary(counts, now - started)}`);
      nextReport += 10_000;
    }
  }
  console.log(`fuzz: passed, ${summary(counts, performance.now() - started)}; seed ${seed}`);
  return 0;
}

function summary(counts: Record<string, number>, ms: number): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const parts = Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(", ");
  return `${total} cases (${parts}), ${Math.round(total / (ms / 1000))} cases/s`;
}

Deno.exit(main());
