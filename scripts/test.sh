#!/usr/bin/env bash
# The whole test suite: unit tests (Catch2) and interop tests (the real socket.io-client)
# through CTest, once on the release build and once under ASan + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/ubsan.supp}

# Warnings are errors here (not in a newcomer's scripts/run.sh build).
export HUB_WERROR=${HUB_WERROR:-1}

for flavour in release asan; do
  echo "== $flavour build"
  scripts/build.sh "$flavour"
  dir=build; [[ $flavour == asan ]] && dir=build-asan
  echo "== $flavour tests"
  (cd "$dir" && ctest --output-on-failure --timeout 600)
  if [[ $flavour == release ]]; then
    echo "== clang-tidy (the pure layers; TIDY_ALL=1 scripts/tidy.sh for all)"
    scripts/tidy.sh
  fi
done

# Each libFuzzer target briefly (about 2 min with the clang build): the committed seeds,
# crash regressions among them, and 10 s of new inputs. Longer runs: docs/reliability.md.
echo "== fuzz"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} scripts/fuzz.sh
