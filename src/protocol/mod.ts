/**
 * The chat wire protocol v1: limits, frame layout, the frame decoder, the
 * message codec (encoding, decoding by direction, typed extensions) and the
 * hex form of tokens. Pure: no I/O, no timers, no logging.
 *
 * @module
 */

export * from "./decode.ts";
export * from "./errors.ts";
export * from "./extensions.ts";
export * from "./frame.ts";
export * from "./hex.ts";
export * from "./limits.ts";
export * from "./messages.ts";
export * from "./names.ts";
export { utf8Length, WireReader, WireWriter } from "./wire.ts";
