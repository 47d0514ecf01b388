#!/usr/bin/env sh
# Installs what the end-to-end tests drive, when it is missing: tmux (the terminal client), nats-server (the
# cluster) and chromium (the browser client), from Debian's apt. `deno task test` runs this first, and so
# does CI through it. Without root (or passwordless sudo) it only says what is missing.
set -eu
missing=""
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
command -v nats-server >/dev/null 2>&1 || missing="$missing nats-server"
[ -n "${CHAT_TEST_NO_BROWSER:-}" ] || [ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "test deps: missing:$missing (install them with apt, as root, or some tests will fail)" >&2
  exit 0
fi
echo "test deps: installing$missing from apt" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
