#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang + ASan + UBSan, in build-fuzz/) and runs
# each for FUZZ_SECONDS (default 20) from its seed corpus fuzz/corpus/<target>/.
# Prints executions, coverage (cov: edges, ft: features) and corpus size per target;
# exits non-zero if any target crashed (the input is saved as <artifacts>/<target>-crash-*).
#   scripts/fuzz.sh                       # every target, 20 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh jwt_hs256 payloads
# Knobs: FUZZ_CXX (default clang++-14), FUZZ_BUILD_DIR (build-fuzz), FUZZ_ARTIFACTS
# (<build>/artifacts), FUZZ_KEEP_CORPUS=DIR keeps the grown corpora in DIR/<target>
# (otherwise they are thrown away: the committed seeds stay small), HUB_BUILD_LOCK
# (default /tmp/hub-build.lock: the build waits for other builds on this machine).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
cxx=${FUZZ_CXX:-clang++-14}
dir=${FUZZ_BUILD_DIR:-build-fuzz}
artifacts=${FUZZ_ARTIFACTS:-$dir/artifacts}
lock=${HUB_BUILD_LOCK:-/tmp/hub-build.lock}
all=(ws_frame engineio socketio json_args jwt_hs256 payloads http_request cluster_messages redis_reply)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

# The longest input worth trying per target: past each decoder's bounds, short enough
# to keep executions fast (ws_frame and http_request limit messages/bodies to 4 KiB).
max_len() {
  case $1 in
    ws_frame | http_request) echo 8192 ;;
    json_args | jwt_hs256) echo 2048 ;;
    *) echo 4096 ;;
  esac
}

command -v "$cxx" >/dev/null || { echo "fuzz: $cxx not found (scripts/setup.sh installs clang-14 and libfuzzer-14-dev)" >&2; exit 1; }
echo "== fuzz build ($dir, $cxx)"
flock "$lock" cmake -S . -B "$dir" -DHUB_FUZZ=ON -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release >/dev/null
flock "$lock" cmake --build "$dir" -j2 -- --no-print-directory | grep -Ev '^\[ *[0-9]+%\]' || true
for t in "${targets[@]}"; do
  [[ -x $dir/fuzz/fuzz_$t ]] || { echo "fuzz: no target $t (${all[*]})" >&2; exit 1; }
done

mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
printf '%-13s %8s %11s %9s %6s %7s %15s  %s\n' target seconds execs exec/s cov ft corpus result
for t in "${targets[@]}"; do
  corpus=$work/$t
  [[ -n ${FUZZ_KEEP_CORPUS:-} ]] && corpus=$FUZZ_KEEP_CORPUS/$t
  mkdir -p "$corpus"
  args=(-max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -print_final_stats=1
        -artifact_prefix="$artifacts/$t-")
  [[ -f fuzz/$t.dict ]] && args+=(-dict="fuzz/$t.dict")
  seeds=(); [[ -d fuzz/corpus/$t ]] && seeds=("fuzz/corpus/$t")
  rc=0
  "$dir/fuzz/fuzz_$t" "${args[@]}" "$corpus" "${seeds[@]}" > "$work/$t.log" 2>&1 || rc=$?
  # The last status line: "#<execs> DONE cov: <n> ft: <n> corp: <files>/<size> ... exec/s: <n>".
  line=$(grep -E '^#[0-9]+' "$work/$t.log" | tail -1 || true)
  execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$line")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$line")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$line")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$line")
  rate=$(sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p' <<<"$line")
  result=ok
  if ((rc != 0)); then
    input=$(grep -h -o "Test unit written to .*" "$work/$t.log" | sed 's/Test unit written to //' | head -1 || true)
    result="CRASH (rc $rc): ${input:-no input saved}"
    failed+=("$t")
  fi
  printf '%-13s %8s %11s %9s %6s %7s %15s  %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$result"
  if ((rc != 0)); then
    grep -E 'ERROR|invariant failed|SUMMARY|runtime error' "$work/$t.log" | head -5 | sed 's/^/    /'
    cp "$work/$t.log" "$artifacts/$t.log"
    echo "    full log: $artifacts/$t.log"
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: crashes in ${failed[*]}; reproduce with $dir/fuzz/fuzz_<target> <input>" >&2
  exit 1
fi
