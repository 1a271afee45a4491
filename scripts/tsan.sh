#!/usr/bin/env bash
# ThreadSanitizer pass: builds build-tsan/ (scripts/build.sh tsan) and runs the unit
# tests (hub-tests, one process) and the interop suite against the TSan hub-server.
# Not part of scripts/test.sh (about 15 minutes on 2 cores from nothing, see
# docs/reliability.md, "ThreadSanitizer"); run it before each stop.
#
# Any report fails the run: each process writes its reports to
# build-tsan/tsan-reports/report.<pid> (TSAN_OPTIONS log_path), which are printed at
# the end, so a race in a server that a test only stops (and whose exit status no one
# reads) still counts. halt_on_error stops a process at its first report.
#   scripts/tsan.sh                  # build, unit, interop
#   TSAN_NO_BUILD=1 scripts/tsan.sh  # what build-tsan/ holds
#   TSAN_SKIP_INTEROP=1 scripts/tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh

if [[ ${TSAN_NO_BUILD:-0} != 1 ]]; then
  echo "== tsan build"
  HUB_WERROR=${HUB_WERROR:-1} scripts/build.sh tsan
fi

reports=$root/build-tsan/tsan-reports
rm -rf "$reports"
mkdir -p "$reports"
# suppressions: other libraries' frames only (tests/tsan.supp). second_deadlock_stack: both
# stacks of a lock-order inversion. history_size: more of the earlier access's stack.
export TSAN_OPTIONS="suppressions=$root/tests/tsan.supp:halt_on_error=1:second_deadlock_stack=1:history_size=4:log_path=$reports/report${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

status=0
echo "== tsan unit tests"
build-tsan/hub-tests || status=1
if [[ ${TSAN_SKIP_INTEROP:-0} != 1 ]]; then
  echo "== tsan interop"
  (cd tests/interop && HUB_SANITIZED=1 HUB_SERVER=$root/build-tsan/hub-server node --test --test-concurrency=1 .) || status=1
fi

shopt -s nullglob
found=("$reports"/report.*)
if ((${#found[@]})); then
  echo "== ThreadSanitizer reports (${#found[@]} processes)"
  for f in "${found[@]}"; do
    echo "-- $f"
    cat "$f"
  done
  status=1
fi
if ((${#found[@]} == 0 && status == 0)); then
  echo "== tsan: no ThreadSanitizer reports"
elif ((${#found[@]} == 0)); then
  # A failure without a report is a test's own: under TSan on a busy machine the
  # interop tests with tight timers (presence grace, storage fault windows,
  # backpressure) can miss their bounds (docs/reliability.md).
  echo "== tsan: no ThreadSanitizer reports; the failures above are the tests' own"
fi
exit "$status"
