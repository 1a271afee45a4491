#!/usr/bin/env bash
# Crash-loop reliability run (docs/reliability.md#crash-loop): SENDERS socket.io-client
# clients send acknowledged chat messages while hub-server is kill -9'd and restarted
# KILLS times on the same data dir and port; then the room logs and every client's
# received messages are checked (tests/crash-loop/crash-loop.js).
#
#   scripts/crash_loop.sh                       # KILLS=30 SENDERS=4, random SEED (printed)
#   KILLS=60 SENDERS=4 SEED=12345 scripts/crash_loop.sh
#   HUB_SERVER=build-asan/hub-server scripts/crash_loop.sh
#
# Also read by the driver: DELAY_MIN_MS, DELAY_MAX_MS, EARLY_KILL_PCT, INFLIGHT,
# TIME_LIMIT_S, VERBOSE=1, EXTRA_SERVER_ARGS. KEEP_WORK=1 keeps the temp dir (data dir + server.log).
# Exit 0 only if every check passes. Loopback only; the server is always killed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

HUB_SERVER=${HUB_SERVER:-build/hub-server}
KILLS=${KILLS:-30}
SENDERS=${SENDERS:-4}
SEED=${SEED:-$(( (RANDOM << 15 | RANDOM) + 1 ))}
for v in KILLS SENDERS SEED; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "crash_loop: $v must be a non-negative integer, got '${!v}'" >&2; exit 2; }
done

case $HUB_SERVER in /*) ;; *) HUB_SERVER=$ROOT/$HUB_SERVER ;; esac
if [[ ! -x $HUB_SERVER ]]; then
  echo "crash_loop: no executable hub-server at $HUB_SERVER (build it, or set HUB_SERVER)" >&2
  exit 2
fi
command -v node >/dev/null || { echo "crash_loop: node is not installed (scripts/setup.sh)" >&2; exit 2; }
if [[ ! -d tests/interop/node_modules/socket.io-client || ! -d tests/interop/node_modules/jsonwebtoken ]]; then
  echo "crash_loop: tests/interop/node_modules is missing; running scripts/setup.sh"
  scripts/setup.sh
fi

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hub-crash-loop.XXXXXX")
driver_pid=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $driver_pid ]] && kill -0 "$driver_pid" 2>/dev/null; then
    kill -TERM "$driver_pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$driver_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$driver_pid" 2>/dev/null || true
  fi
  # The server the driver started last (if it is still there and still hub-server).
  if [[ -f $WORK_DIR/server.pid ]]; then
    local spid
    spid=$(<"$WORK_DIR/server.pid")
    if [[ $spid =~ ^[0-9]+$ ]] && [[ -r /proc/$spid/cmdline ]] &&
       tr '\0' ' ' <"/proc/$spid/cmdline" | grep -q -- "--data-dir $WORK_DIR/data"; then
      kill -KILL "$spid" 2>/dev/null || true
    fi
  fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then
    echo "crash_loop: kept $WORK_DIR (data dir, server.log)"
  else
    rm -rf "$WORK_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The binary is copied so that a rebuild during the run cannot swap it between restarts.
cp "$HUB_SERVER" "$WORK_DIR/hub-server"
echo "crash_loop: HUB_SERVER=$HUB_SERVER KILLS=$KILLS SENDERS=$SENDERS SEED=$SEED"

# Outer bound on the whole run (the driver has its own, TIME_LIMIT_S).
limit=$(( ${TIME_LIMIT_S:-$((120 + 20 * KILLS))} + 60 ))
set +e
HUB_SERVER=$WORK_DIR/hub-server KILLS=$KILLS SENDERS=$SENDERS SEED=$SEED WORK_DIR=$WORK_DIR \
  timeout --signal=TERM --kill-after=10 "$limit" node tests/crash-loop/crash-loop.js &
driver_pid=$!
wait "$driver_pid"
rc=$?
driver_pid=
set -e
if ((rc == 124)); then echo "crash_loop: timed out after ${limit}s" >&2; fi
exit "$rc"
