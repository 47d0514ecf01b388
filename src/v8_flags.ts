/**
 * The V8 flags chat runs with: baked into the compiled binary
 * (`deno task compile`), passed by `deno task serve` and by `chat bench
 * --spawn` when it starts a server from source.
 *
 * `--max-semi-space-size`: V8 lets the young generation grow to 16 MiB per
 * semi-space (and keeps what it grew), which a server holding thousands of
 * idle connections pays for in RSS: about 4 KiB per connection at 10,000
 * (BENCHMARKS.md, "Idle connections"). A few MiB keep scavenges cheap, since
 * what the hot path allocates dies young.
 *
 * @module
 */

export const V8_FLAGS = "--max-semi-space-size=4";
