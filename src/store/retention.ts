/**
 * What every store shares: how long it keeps things, and how it names
 * itself.
 *
 * @module
 */

import { hex } from "../protocol/hex.ts";

/** Retention settings; 0 disables a limit. */
export interface Retention {
  /** Messages kept per room. */
  maxMessages: number;
  /** Age in milliseconds after which messages are deleted. */
  maxAgeMs: number;
  /** How long send receipts (dedupe) are kept, in milliseconds. */
  receiptsMs: number;
}

/** Receipts outlive a client that is offline for days: a month. */
export const DEFAULT_RECEIPTS_MS = 30 * 24 * 3600 * 1000;

/** A new store's id: 16 random bytes in hex. Sequence numbers only compare within one store. */
export function newStoreId(): string {
  return hex(crypto.getRandomValues(new Uint8Array(16)));
}
