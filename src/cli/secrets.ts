/**
 * Where a client's password and operator token come from: a file named by a
 * flag, an environment variable, or (for the password, on a terminal) a
 * prompt that does not echo. Never a flag holding the secret itself.
 *
 * @module
 */

import type { Resolved } from "./options.ts";
import { UsageError } from "./options.ts";
import type { Env } from "./paths.ts";

export interface ClientSecrets {
  password?: string;
  adminToken?: string;
}

/** Reads --password-file / CHAT_PASSWORD and --admin-token-file / CHAT_ADMIN_TOKEN. */
export async function readClientSecrets(
  o: Resolved,
  io: { env: Env; readTextFile(path: string): Promise<string> },
): Promise<ClientSecrets> {
  const fromFile = async (path: string, flag: string) => {
    try {
      return (await io.readTextFile(path)).split(/\r?\n/)[0];
    } catch (err) {
      throw new UsageError(`cannot read ${flag} ${path}: ${(err as Error).message}`);
    }
  };
  const out: ClientSecrets = {};
  if (o.passwordFile !== undefined) {
    out.password = await fromFile(o.passwordFile as string, "--password-file");
  } else if (io.env.CHAT_PASSWORD) out.password = io.env.CHAT_PASSWORD;
  else if (o.askPassword) {
    const answer = await promptHidden("Password: ");
    if (answer === null) {
      throw new UsageError("--ask-password needs a terminal (or use CHAT_PASSWORD or --password-file)");
    }
    out.password = answer;
  }
  if (o.adminTokenFile !== undefined) {
    out.adminToken = await fromFile(o.adminTokenFile as string, "--admin-token-file");
  } else if (io.env.CHAT_ADMIN_TOKEN) out.adminToken = io.env.CHAT_ADMIN_TOKEN;
  return out;
}

/**
 * What to do after AUTH_FAILED. The server's answer is the same whatever was
 * wrong (it does not tell a guesser which names are registered), but the
 * client knows whether it gave a password, and from where.
 */
export function authFailedHint(o: Resolved, env: Env): string {
  const given = o.passwordFile !== undefined
    ? `the password in --password-file ${o.passwordFile}`
    : env.CHAT_PASSWORD
    ? "the password in CHAT_PASSWORD"
    : o.askPassword
    ? "the password typed"
    : null;
  return given === null
    ? "the server wants a password (its server password, or the one your name was registered with): " +
      "give it with --ask-password (asked without echo), --password-file FILE or CHAT_PASSWORD"
    : `${given} was refused: it must be the server password, or the one your name was registered with`;
}

/**
 * Asks for a secret on the terminal without echoing it. Returns null when
 * stdin is not a terminal or the user ends input (Ctrl-C, Ctrl-D).
 */
export async function promptHidden(prompt: string): Promise<string | null> {
  if (!Deno.stdin.isTerminal()) return null;
  const encoder = new TextEncoder();
  Deno.stderr.writeSync(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(64);
  try {
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) return null;
      for (const b of buf.subarray(0, n)) {
        if (b === 0x0d || b === 0x0a) return new TextDecoder().decode(new Uint8Array(bytes));
        if (b === 0x03 || b === 0x04) return null;
        if (b === 0x7f || b === 0x08) bytes.pop();
        else if (b >= 0x20 || b >= 0x80) bytes.push(b);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
}
