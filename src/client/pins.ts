/**
 * Trust on first use: the certificate fingerprint a client saw the first time
 * it met a server, per host and port, kept in a small text file like SSH's
 * known_hosts. The decision ({@linkcode checkPin}) and the file format are
 * pure; {@linkcode PinFile} is the only part that touches the disk.
 *
 * @module
 */

import { parseFingerprint } from "../net/fingerprint.ts";

/** What a fingerprint seen now means, given the one pinned for the server (if any). */
export type PinVerdict =
  | { kind: "first" }
  | { kind: "same" }
  | { kind: "changed"; pinned: string };

/**
 * Compares the fingerprint seen now with the pinned one.
 *
 * @example
 * ```ts
 * checkPin(undefined, fp); // { kind: "first" }: show it and pin it
 * checkPin(fp, fp); // { kind: "same" }
 * checkPin(old, fp); // { kind: "changed", pinned: old }: refuse
 * ```
 */
export function checkPin(pinned: string | undefined, seen: string): PinVerdict {
  if (pinned === undefined) return { kind: "first" };
  return pinned === seen ? { kind: "same" } : { kind: "changed", pinned };
}

/** The key a server is pinned under: `host:port`, with an IPv6 address in brackets, the host in lower case. */
export function serverKey(host: string, port: number): string {
  const h = host.toLowerCase();
  return h.includes(":") && !h.startsWith("[") ? `[${h}]:${port}` : `${h}:${port}`;
}

/** The first line of a new pin file: says what it is and how to forget a server. */
export const PIN_FILE_HEADER =
  '# chat: TLS certificates trusted on first use, one "HOST:PORT SHA256-FINGERPRINT" per line.\n' +
  "# To accept a server's new certificate, delete its line.\n";

/** One line of the pin file. */
export function pinLine(key: string, fingerprint: string): string {
  return `${key} ${fingerprint}\n`;
}

/**
 * Reads the pins in `text`. The first line for a server wins (a later one is
 * a duplicate written by a racing client); comments, blank lines and lines
 * that do not parse are skipped.
 */
export function parsePins(text: string): Map<string, string> {
  const pins = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [key, fp, ...rest] = line.split(/\s+/);
    const fingerprint = fp === undefined ? null : parseFingerprint(fp);
    if (rest.length > 0 || fingerprint === null || !/:\d+$/.test(key)) continue;
    if (!pins.has(key)) pins.set(key, fingerprint);
  }
  return pins;
}

/** Where pins are looked up and added: the file, or a fake in tests. */
export interface PinStore {
  /** Shown in messages, so people know which file to edit. */
  readonly path: string;
  lookup(key: string): string | undefined;
  add(key: string, fingerprint: string): void;
}

/** Pins kept in a file (re-read on every lookup, appended to on every pin; created mode 0600). */
export class PinFile implements PinStore {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  lookup(key: string): string | undefined {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
    return parsePins(text).get(key);
  }

  add(key: string, fingerprint: string): void {
    const dir = this.path.slice(0, this.path.lastIndexOf("/"));
    if (dir) Deno.mkdirSync(dir, { recursive: true });
    let exists = true;
    try {
      Deno.statSync(this.path);
    } catch {
      exists = false;
    }
    Deno.writeTextFileSync(this.path, (exists ? "" : PIN_FILE_HEADER) + pinLine(key, fingerprint), {
      append: true,
      mode: 0o600,
    });
  }
}
