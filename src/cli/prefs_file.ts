/**
 * The user's preferences (/ignore, /joins) on disk: one small JSON file per
 * server and name in the XDG state dir, next to the journal, replaced
 * atomically on every change so a crash leaves the old or the new file,
 * never half of one.
 *
 * @module
 */

import { journalKey } from "../client/journal.ts";
import type { ServerAddress } from "../client/servers.ts";
import { DEFAULT_PREFS, formatPrefs, parsePrefs, type Prefs, type PrefsStore } from "../client/prefs.ts";
import { nameKey } from "../protocol/names.ts";
import { type Env, stateDir } from "./paths.ts";

/** The file of `name` on `servers`: `$XDG_STATE_HOME/chat/prefs/HOST_PORT/NAME.json` for one server. */
export function prefsPath(env: Env, servers: readonly ServerAddress[], name: string): string | undefined {
  const dir = stateDir(env);
  return dir && `${dir}/prefs/${journalKey(servers, nameKey(name))}.json`;
}

/** A store in `path`, or one in memory when there is no state dir. */
export function prefsStore(path: string | undefined): PrefsStore {
  if (path === undefined) {
    let kept = DEFAULT_PREFS;
    return { load: () => ({ prefs: kept }), save: (p) => void (kept = p) };
  }
  return {
    load() {
      let text: string;
      try {
        text = Deno.readTextFileSync(path);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return { prefs: DEFAULT_PREFS };
        return { prefs: DEFAULT_PREFS, warning: `cannot read ${path}: ${(err as Error).message}` };
      }
      try {
        return { prefs: parsePrefs(text) };
      } catch (err) {
        return { prefs: DEFAULT_PREFS, warning: `ignoring ${path}: ${(err as Error).message}` };
      }
    },
    save(p: Prefs) {
      const dir = path.slice(0, path.lastIndexOf("/"));
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${path}.${Deno.pid}.tmp`;
      Deno.writeTextFileSync(tmp, formatPrefs(p), { mode: 0o600 });
      Deno.renameSync(tmp, path);
    },
  };
}
