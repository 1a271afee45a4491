#!/usr/bin/env bash
# Side-by-side benchmark: the same hub-load scenarios against hub-server and against the
# Node reference (bench/node-hub-server.js on the official socket.io package), one server
# after the other in one run. The server is pinned to core 0, hub-load to core 1.
#
#   bench/hub_vs_node.sh            # full run (~9 min)
#   QUICK=1 bench/hub_vs_node.sh    # shorter steps, no 10k/20k rows
#   ONLY="chat400 search" bench/hub_vs_node.sh   # only these rows (names as below)
#   SERVERS=hub-disk ONLY=search bench/hub_vs_node.sh  # these servers (default "hub node")
#
# hub-server keeps its data on tmpfs (the Node reference keeps messages in memory), and
# once more, for the chat400 row, on the real disk as a user runs it ("hub-disk").
#
# Env: OUT (results dir, default /tmp/hub-bench-<time>), PORT (default 3950),
#      HUB_ARGS (more hub-server flags, e.g. "--max-write-delay 5ms"),
#      DISK_DIR (where the hub-disk data dir is made, default /var/tmp: not tmpfs),
#      BENCH_PRIORITY=0 to leave this session's scheduling priority alone (by default it
#      lowers its autogroup's nice value to -15 so that other work on the machine, e.g.
#      compilers, takes less of the two cores while it measures; needs root).
# Needs build/hub-server and build/hub-load (scripts/build.sh release) and
# bench/node_modules (npm ci in bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-/tmp/hub-bench-$(date +%Y%m%d-%H%M%S)}
port=${PORT:-3950}
quick=${QUICK:-0}
only=${ONLY:-}
disk_dir=${DISK_DIR:-/var/tmp}
read -r -a hub_args <<<"${HUB_ARGS:-}"
mkdir -p "$out"
[[ -x build/hub-server && -x build/hub-load ]] || { echo "build hub-server and hub-load first" >&2; exit 2; }
[[ -d bench/node_modules/socket.io ]] || (cd bench && npm ci --no-audit --no-fund >/dev/null)
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [[ ${BENCH_PRIORITY:-1} == 1 && -w /proc/self/autogroup ]]; then echo -15 > /proc/self/autogroup || true; fi

server_pid=
data_dir=
stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
  [[ -n $data_dir ]] && rm -rf "$data_dir"
  data_dir=
}
trap stop_server EXIT

start_server() {  # hub | hub-disk | node
  stop_server
  export HUB_API_KEY=bench-key
  if [[ $1 == hub || $1 == hub-disk ]]; then
    if [[ $1 == hub ]]; then
      # tmpfs: the Node reference keeps messages in memory; a disk fsync is not what is compared.
      data_dir=$(mktemp -d /dev/shm/hub-bench-data.XXXXXX)
    else
      # The machine's disk, as a user runs it: every message is fsynced before its ack.
      data_dir=$(mktemp -d "$disk_dir/hub-bench-data.XXXXXX")
      if [[ $(stat -f -c %T "$data_dir") == tmpfs ]]; then echo "DISK_DIR $disk_dir is tmpfs" >&2; exit 2; fi
    fi
    # One core, so one CAF worker (Node is one thread too); no rate limit in the way,
    # but the default 60 s window, so the limiter keeps its production timer rate.
    taskset -c 0 build/hub-server --dev-auth --port "$port" --data-dir "$data_dir" --workers 1 \
      --rate-limit 100000000/60s --log-level warn "${hub_args[@]}" >>"$out/server-$1.log" 2>&1 &
  else
    taskset -c 0 node bench/node-hub-server.js --dev-auth --port "$port" >>"$out/server-node.log" 2>&1 &
  fi
  server_pid=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server $1 did not start" >&2
  exit 1
}

# CPU time the whole machine has spent busy (all cores, clock ticks; the hypervisor's
# steal not included), and one process's.
machine_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8; exit}' /proc/stat; }
proc_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# run NAME SERVER hub-load-args...: one scenario on a fresh server; JSON to $out/NAME.SERVER.json,
# and to NAME.SERVER.other the share of the machine (percent of all cores) that other work
# took meanwhile: busy time minus the server's and hub-load's (the VM is shared).
run() {
  local name=$1 server=$2
  shift 2
  [[ -z $only || " $only " == *" $name "* ]] || return 0
  start_server "$server"
  sleep 0.5
  echo "== $name on $server: hub-load $*" >&2
  local busy0 server0 t0 client_ticks
  busy0=$(machine_busy) server0=$(proc_ticks "$server_pid") t0=$(date +%s.%N)
  taskset -c 1 build/hub-load "$@" --port "$port" --server-pid "$server_pid" --no-progress \
    --out "$out/$name.$server" >"$out/$name.$server.json" 2>>"$out/hub-load.log" || true
  client_ticks=$(python3 -c "import json,sys,os; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); \
print(d['client_cpu_us_total'] * os.sysconf('SC_CLK_TCK') / 1e6)" "$out/$name.$server.json" 2>/dev/null || echo 0)
  awk -v b0="$busy0" -v b1="$(machine_busy)" -v s0="$server0" -v s1="$(proc_ticks "$server_pid")" \
    -v c="$client_ticks" -v t0="$t0" -v t1="$(date +%s.%N)" -v hz="$(getconf CLK_TCK)" -v n="$(nproc)" \
    'BEGIN { o = (b1 - b0) - (s1 - s0) - c; if (o < 0) o = 0; printf "%.0f\n", 100 * o / hz / ((t1 - t0) * n) }' \
    >"$out/$name.$server.other"
  stop_server
}

if [[ $quick == 1 ]]; then step=2s; else step=4s; fi
for s in ${SERVERS:-hub node}; do
  run idle1k "$s" idle -n 1000 --hold 2s
  # idle10k is also the connect rate at 10k without rooms; connect10k is the reconnect
  # storm after a deploy: 10k clients into 100 project rooms (each join tells the room's
  # members), connect rate per band of connections (hub-load's connect_bands).
  [[ $quick == 1 ]] || run idle10k "$s" idle -n 10000 --hold 3s
  [[ $quick == 1 ]] || run connect10k "$s" chat -n 10000 -r 100 --rate 1 -d 1s --warmup 0s --drain 2s
  run chat1k "$s" chat -n 1000 -r 10 --rate 1000 -d 10s --warmup 2s
  # 40k deliveries/s: the disk-latency target (disk p99 within 2x of tmpfs) is measured here.
  run chat400 "$s" chat -n 1000 -r 10 --rate 400 -d 10s --warmup 2s
  if [[ $s == hub ]]; then run chat400 hub-disk chat -n 1000 -r 10 --rate 400 -d 10s --warmup 2s; fi
  run search "$s" chat -n 1000 -r 10 --search --search-start 200 --search-factor 1.25 \
    -d "$step" --warmup 1s --drain 2s --p99-limit 100ms
done
# 20,000 connections need 20,000 descriptors plus a few; where the hard RLIMIT_NOFILE
# is 20000 and cannot be raised (no CAP_SYS_RESOURCE), hold as many as it allows.
many=$(( $(ulimit -Hn) - 100 < 20000 ? $(ulimit -Hn) - 100 : 20000 ))
[[ $quick == 1 ]] || run idle20k hub idle -n "$many" --hold 3s

python3 bench/bench_table.py "$out" | tee "$out/table.md"
echo "results in $out" >&2
