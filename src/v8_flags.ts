/**
 * The V8 flags chat runs with: baked into the compiled binary
 * (`deno task compile`), passed by `deno task serve` and by `chat bench
 * --spawn` when it starts a server from source.
 *
 * `--max-semi-space-size=4`: V8 lets the young generation grow to 16 MiB
 * per semi-space and keeps what it grew, which a server holding thousands of
 * idle connections pays for in RSS. Capped at 4 MiB, 10,000 idle connections
 * measured about 1 KiB less each (13.8 -> 12.7 KiB) at no measurable cost to
 * fan-out, since what the hot path allocates dies young. Flags that saved
 * more cost a third of the fan-out speed (BENCHMARKS.md, "What an idle
 * connection costs").
 *
 * @module
 */

export const V8_FLAGS = "--max-semi-space-size=4";
