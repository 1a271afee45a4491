#!/usr/bin/env bash
# CTest `load-smoke`: a few seconds of hub-load's chat scenario against hub-server (and
# against the Node reference when bench/node_modules is installed); fails unless the
# JSON summary shows deliveries, no loss, and every client in its connect bands.
#   tests/load_smoke.sh HUB_SERVER HUB_LOAD
set -euo pipefail
server_bin=$1
load_bin=$2
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/hub-load-smoke.XXXXXX)
# RocksDB on tmpfs when there is one: fsync latency of a busy disk is not what this checks.
data=$(mktemp -d /dev/shm/hub-load-smoke.XXXXXX 2>/dev/null || mktemp -d /tmp/hub-load-smoke-data.XXXXXX)
pid=
cleanup() {
  if [[ -n $pid ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp" "$data"
}
trap cleanup EXIT

# start NAME CMD...: runs the server, waits for "listening on http://127.0.0.1:PORT".
start() {
  local name=$1
  shift
  : >"$tmp/$name.out"
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$tmp/$name.out" || true)
    [[ -n $port ]] && return 0
    sleep 0.1
  done
  echo "load-smoke: $name did not start" >&2
  cat "$tmp/$name.err" >&2
  exit 1
}

check() {  # NAME: runs hub-load against $port and checks the summary
  local name=$1
  "$load_bin" chat --port "$port" -n 200 -r 4 --rate 200 -d 2s --warmup 500ms --drain 2s \
    --server-pid "$pid" --no-progress --max-run 15s >"$tmp/$name.json"
  python3 - "$tmp/$name.json" "$name" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
name = sys.argv[2]
print(f"load-smoke {name}: delivered {d['delivered']} ({d['delivered_per_s']:.0f}/s), lost {d['lost']}, "
      f"duplicated {d['duplicated']}, p99 {d['latency_us']['p99']} us, connected {d['connected_peak']}/{d['clients']}")
ok = d["delivered"] > 0 and d["lost"] == 0 and d["duplicated"] == 0 and d["connect_failures"] == 0 \
     and d["delivered"] == d["expected"] and d["acked_error"] == 0 \
     and sum(b["connects"] for b in d["connect_bands"].values()) == d["clients"]
sys.exit(0 if ok else 1)
PY
}

start hub "$server_bin" --dev-auth --host 127.0.0.1 --port 0 --data-dir "$data" --rate-limit 1000000/1s --log-level warn
check hub
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=

if [[ -d $root/bench/node_modules/socket.io ]] && command -v node >/dev/null; then
  start node node "$root/bench/node-hub-server.js" --dev-auth --port 0
  check node
fi
