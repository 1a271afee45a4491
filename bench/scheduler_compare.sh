#!/usr/bin/env bash
# Compares CAF's two scheduler policies (and the Node reference) on echo round trips,
# one server at a time, each pinned to core 0 with the client on core 1.
#   bench/scheduler_compare.sh [clients] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-4}; seconds=${2:-5}
port=3990
run() {  # label, command...
  local label=$1; shift
  taskset -c 0 "$@" --app echo --host 127.0.0.1 --port $port >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling" && break; sleep 0.1; done
  for c in 1 "$clients"; do
    printf '%-22s clients=%-3s ' "$label" "$c"
    taskset -c 1 node bench/echo_rtt.js --url "http://127.0.0.1:$port" --clients "$c" --seconds "$seconds"
  done
  kill $pid; wait $pid 2>/dev/null || true
}
run "hub sharing 1 worker" build/hub-server --log-level warn --scheduler sharing --workers 1
run "hub sharing 2 workers" build/hub-server --log-level warn --scheduler sharing --workers 2
run "hub stealing 2 workers" build/hub-server --log-level warn --scheduler stealing --workers 2
run "node reference" node tests/interop/reference-echo-server.js
