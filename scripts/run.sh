#!/usr/bin/env bash
# Installs what is missing, builds, and runs hub-server (arguments are passed on).
# Without JWT_SECRET in the environment it starts in development mode (--dev-auth), so
# that it works with no configuration; production sets JWT_SECRET.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
args=("$@")
if [[ -z "${JWT_SECRET:-}" && -z "${HUB_DEV_AUTH:-}" && " $* " != *" --dev-auth "* && " $* " != *" --app echo "* ]]; then
  echo "run.sh: JWT_SECRET is not set: starting in development mode (--dev-auth)" >&2
  args+=(--dev-auth)
fi
exec build/hub-server "${args[@]}"
