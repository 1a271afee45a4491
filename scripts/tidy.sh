#!/usr/bin/env bash
# clang-tidy (.clang-tidy's checks) over the build's compile_commands.json.
#   scripts/tidy.sh            # the pure layers: util/, protocol/, storage/store, apps/hub's
#                              # pure files (what CI runs: a few minutes on 2 cores)
#   TIDY_ALL=1 scripts/tidy.sh # every translation unit (CAF and Beast ones take long)
# Needs a configured build/ (scripts/build.sh release). Exit 1 on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f build/compile_commands.json ]] || { echo "tidy: configure build/ first (scripts/build.sh release)" >&2; exit 2; }
tidy=$(command -v run-clang-tidy-14 || command -v run-clang-tidy) || { echo "tidy: run-clang-tidy not found" >&2; exit 2; }
if [[ ${TIDY_ALL:-0} == 1 ]]; then
  files=('^'"$PWD"'/(util|protocol|storage|net|sio|apps|server|sim|load)/')
else
  files=('^'"$PWD"'/(util|protocol)/' "^$PWD/storage/(store|redis_store|info_log|storage_health)\.cpp"
         "^$PWD/apps/hub/(jwt_hs256|payloads|auth|revocations|address_limiter|dev_token|inbox|log_feed)\.cpp"
         "^$PWD/net/http/(request_rules|static_files|connection_limits)\.cpp" "^$PWD/net/redis/"
         "^$PWD/sio/(cluster_adapter|node_heartbeat)\.cpp")
fi
# clang-tidy does not know g++'s -Wno-restrict; the rest of g++'s flags it understands.
"$tidy" -p build -quiet -j "$(nproc)" -extra-arg=-Wno-unknown-warning-option "${files[@]}"
