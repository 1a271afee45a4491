#!/usr/bin/env bash
# Configures and builds one flavour of the project.
#   scripts/build.sh            -> build/       (Release)
#   scripts/build.sh asan       -> build-asan/  (AddressSanitizer + UBSan, -O1)
#   scripts/build.sh tsan       -> build-tsan/  (ThreadSanitizer, -O1; scripts/tsan.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case "$flavour" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DHUB_SANITIZE=ON "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1") ;;
  # Linked against a libcaf_core built with TSan (scripts/caf-tsan.sh, once).
  tsan)    dir=build-tsan; caf=$(scripts/caf-tsan.sh)
           args=(-DCMAKE_BUILD_TYPE=Debug -DHUB_TSAN=ON "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" "-DCAF_CORE_LIBRARY=$caf") ;;
  *) echo "usage: $0 [release|asan|tsan]" >&2; exit 2 ;;
esac
# HUB_WERROR=1 (CI): warnings are errors.
args+=("-DHUB_WERROR=$([[ ${HUB_WERROR:-0} == 1 ]] && echo ON || echo OFF)")
cmake -S . -B "$dir" "${args[@]}" >/dev/null
# Beast translation units need ~1.5 GiB each to compile: two jobs at most.
cmake --build "$dir" -j2
