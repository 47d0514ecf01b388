/**
 * `chat user add|remove|list|passwd`: administers accounts in a server's
 * store, offline (the server may be running: SQLite handles the sharing).
 *
 * @module
 */

import { hashPassword, MAX_PASSWORD_BYTES } from "../auth/passwords.ts";
import type { Account } from "../chat/ports.ts";
import { checkName, nameKey, utf8Length } from "../protocol/mod.ts";
import { SqliteStore } from "../store/sqlite.ts";
import { type CommandIo, CONFIG_SPEC, HELP_SPEC, parseCommand, VERSION_SPEC } from "./command.ts";
import { formatOptions, type Resolved, UsageError } from "./options.ts";
import { dataDir } from "./paths.ts";
import { promptHidden } from "./secrets.ts";
import { checkClusterUrls } from "./cluster_urls.ts";
import { ALL_CONFIG_KEYS, USER_SPECS } from "./specs.ts";
import type { ClusterAccounts } from "../store/jetstream/mod.ts";

export const USER_HELP = `Usage: chat user add NAME [--admin]
       chat user passwd NAME
       chat user remove NAME
       chat user list

Manages registered names in a server's data directory, or with --cluster in
the cluster on that NATS (every node sees the change at once). A registered
name can only be used with its password; --admin makes the account an operator
(/kick, /ban, /mute). Passwords are stored as salted scrypt hashes
(N=2^17, r=8, p=1). The password is read from --password-file, CHAT_PASSWORD,
or asked on the terminal without echo; never from the command line.

Options:
${formatOptions([...USER_SPECS, CONFIG_SPEC, HELP_SPEC, VERSION_SPEC])}

Exit codes: 0 done, 1 failed (no such user, store error), 2 bad usage.`;

export interface UserIo extends CommandIo {
  stdout(line: string): void;
  stderr(line: string): void;
}

/** Shortest password accepted: eight characters, as for /register. */
const MIN_PASSWORD = 8;

export async function user(argv: string[], io: UserIo): Promise<number> {
  const cmd = await parseCommand("user", argv, USER_SPECS, ALL_CONFIG_KEYS, io, true);
  if (cmd.help) {
    io.stdout(USER_HELP);
    return 0;
  }
  const [action, rawName, ...extra] = cmd.positionals;
  if (!action) throw new UsageError("missing action: add, passwd, remove or list");
  if (!["add", "passwd", "remove", "list"].includes(action)) {
    throw new UsageError(`unknown action "${action}"`);
  }
  if (action !== "list" && !rawName) throw new UsageError(`${action} needs a NAME`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const o = cmd.options;
  checkClusterUrls(o.cluster as string[]);
  let store: Accounts;
  try {
    store = await openAccounts(o, io);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    io.stderr(`chat user: ${(err as Error).message}`);
    return 1;
  }
  try {
    if (action === "list") {
      for (const a of await store.accounts()) {
        io.stdout(`${a.name}${a.admin ? " (admin)" : ""}  registered ${new Date(a.created).toISOString()}`);
      }
      return 0;
    }
    const name = checkName(rawName);
    if (!name.ok) throw new UsageError(`invalid NAME: ${name.reason}`);
    const key = nameKey(name.value);
    const existing = await store.account(key);
    if (action === "remove") {
      if (!await store.removeAccount(key)) {
        io.stderr(`chat user: no account "${name.value}"`);
        return 1;
      }
      io.stdout(`removed ${name.value}`);
      return 0;
    }
    if (action === "add" && existing) {
      io.stderr(`chat user: "${existing.name}" is already registered (use passwd to change its password)`);
      return 1;
    }
    if (action === "passwd" && !existing) {
      io.stderr(`chat user: no account "${name.value}"`);
      return 1;
    }
    const password = await readNewPassword(o.passwordFile as string | undefined, io);
    if (password === null) {
      io.stderr("chat user: no password: use --password-file, CHAT_PASSWORD or a terminal");
      return 1;
    }
    const hash = await hashPassword(password);
    await store.putAccount({
      name: existing?.name ?? name.value,
      key,
      hash,
      admin: action === "add" ? o.admin as boolean : (o.admin as boolean) || existing!.admin,
      created: existing?.created ?? Date.now(),
    });
    io.stdout(
      `${action === "add" ? "registered" : "changed the password of"} ${existing?.name ?? name.value}`,
    );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    io.stderr(`chat user: ${(err as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

/** The accounts `chat user` manages: a data directory's, or a cluster's. */
interface Accounts {
  account(key: string): Promise<Account | undefined>;
  putAccount(account: Account): Promise<void>;
  removeAccount(key: string): Promise<boolean>;
  accounts(): Promise<Account[]>;
  close(): Promise<void>;
}

async function openAccounts(o: Resolved, io: UserIo): Promise<Accounts> {
  const servers = o.cluster as string[];
  if (servers.length > 0) {
    // Loaded on demand, as by chat serve: without --cluster the NATS client is never fetched.
    const spec = ["..", "store", "jetstream", "mod.ts"].join("/");
    // layers: lazy ../store/jetstream/mod.ts
    const mod: { ClusterAccounts: typeof ClusterAccounts } = await import(spec);
    try {
      return await mod.ClusterAccounts.open(servers, o.clusterName as string);
    } catch (err) {
      throw new Error(`cannot reach the cluster at ${servers.join(", ")}: ${(err as Error).message}`);
    }
  }
  const base = dataDir(io.env);
  const dir = (o.dataDir as string | undefined) ?? (base && `${base}/server`);
  if (!dir) throw new UsageError("no data directory: set --data-dir, CHAT_DATA_DIR or HOME");
  const store = new SqliteStore(dir);
  return {
    account: (key) => Promise.resolve(store.account(key)),
    putAccount: (account) => Promise.resolve(store.putAccount(account)),
    removeAccount: (key) => Promise.resolve(store.removeAccount(key)),
    accounts: () => Promise.resolve(store.accounts()),
    close: () => Promise.resolve(store.close()),
  };
}

async function readNewPassword(file: string | undefined, io: UserIo): Promise<string | null> {
  let password: string | null;
  if (file !== undefined) {
    try {
      password = (await io.readTextFile(file)).split(/\r?\n/)[0];
    } catch (err) {
      throw new UsageError(`cannot read --password-file ${file}: ${(err as Error).message}`);
    }
  } else if (io.env.CHAT_PASSWORD) {
    password = io.env.CHAT_PASSWORD;
  } else {
    password = await promptHidden("New password: ");
    if (password !== null && (await promptHidden("Again: ")) !== password) {
      throw new UsageError("the passwords differ");
    }
  }
  if (password === null) return null;
  if ([...password].length < MIN_PASSWORD) {
    throw new UsageError(`the password needs at least ${MIN_PASSWORD} characters`);
  }
  if (utf8Length(password) > MAX_PASSWORD_BYTES) {
    throw new UsageError(`the password exceeds ${MAX_PASSWORD_BYTES} bytes`);
  }
  return password;
}
