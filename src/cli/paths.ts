/**
 * Where `chat` keeps files, following the XDG base directory spec (and the
 * platform equivalents on Windows).
 *
 * @module
 */

export type Env = Record<string, string | undefined>;

function home(env: Env): string | undefined {
  return env.HOME ?? env.USERPROFILE;
}

function base(env: Env, xdg: string, fallback: string[], windows: string | undefined): string | undefined {
  const set = env[xdg];
  if (set && set.startsWith("/")) return set;
  if (windows && env[windows]) return env[windows];
  const h = home(env);
  return h ? [h, ...fallback].join("/") : undefined;
}

/** `$XDG_CONFIG_HOME/chat` (or `~/.config/chat`). */
export function configDir(env: Env): string | undefined {
  const b = base(env, "XDG_CONFIG_HOME", [".config"], "APPDATA");
  return b && `${b}/chat`;
}

/** `$XDG_STATE_HOME/chat` (or `~/.local/state/chat`). */
export function stateDir(env: Env): string | undefined {
  const b = base(env, "XDG_STATE_HOME", [".local", "state"], "LOCALAPPDATA");
  return b && `${b}/chat`;
}

/** `$XDG_DATA_HOME/chat` (or `~/.local/share/chat`). */
export function dataDir(env: Env): string | undefined {
  const b = base(env, "XDG_DATA_HOME", [".local", "share"], "LOCALAPPDATA");
  return b && `${b}/chat`;
}
