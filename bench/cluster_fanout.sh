#!/usr/bin/env bash
# Cross-node fan-out (issues 16, 17): the same hub-load chat scenario, in one run, against
#   hub-single    one hub-server, no Redis (the single-node figure, RocksDB),
#   hub-cluster   NODES (default 3) hub-server nodes with --redis: Redis holds the logs
#                 (appendonly yes, appendfsync REDIS_FSYNC, default always), clients spread,
#   node-cluster  NODES Node reference nodes (bench/node-hub-server.js) with
#                 @socket.io/redis-adapter 8.3.0 on the same Redis, clients spread the same way,
# (and node-single, one Node reference without Redis, when CASES names it), and prints
# deliveries/s, p50/p99 delivery latency and the ratios hub-cluster / node-cluster and
# hub-cluster / hub-single. A benchmark prints figures; it asserts nothing.
#
#   bench/cluster_fanout.sh [path/to/hub-server path/to/hub-load]   # ~3.5 min
#   QUICK=1 bench/cluster_fanout.sh                                 # ~2.5 min, shorter steps
#   BENCH_LOCK=/tmp/hub-build.lock bench/cluster_fanout.sh          # hold that lock meanwhile
#
# Scenario (each case on fresh servers): 1,000 clients in 10 rooms (fan-out 100, as the
# chat/search rows of bench/hub_vs_node.sh). With NODES=2 every room is split 1 : 3
# over A : B (hub-load --url A --url B --url B --url B assigns by the client's slot in
# its room) and only A's clients send (--senders-url A): 75% of the deliveries cross
# from A through Redis to B, 25% stay on A. With 3 nodes a room is split evenly over A,
# B, C and A's clients send (67% cross). $out/*.redis lists Redis's commands per run
# (EVALSHA: one per group commit and one per rate check). Two runs per case:
#   fixed   RATE msg/s (default 300: 30k deliveries/s) for DURATION: latency at equal load;
#   search  hub-load --search from SEARCH_START msg/s, x1.25 per step, until a step has
#           p99 >= 100 ms, loss or a disconnect (tried once more first): the best rate.
# Placement: the servers and Redis share SERVER_CPUS (default core 0), hub-load runs
# on LOAD_CPUS (default core 1), as in bench/hub_vs_node.sh: a cluster of two nodes gets
# the same one core as the single node, so hub-cluster / hub-single is what the cluster
# costs, and both clusters are compared on equal terms. hub-server runs --workers 1,
# --dev-auth (as in bench/hub_vs_node.sh; the Node nodes take --dev-auth too), data dir
# on tmpfs (each node its own), connection state recovery on (the default).
#
# Env: OUT (results dir, default /tmp/hub-cluster-bench-<time>), PORT (first of three
#      server ports; default: free ones), REDIS_PORT (default: a free one),
#      CASES (default "hub-single hub-cluster node-cluster"; node-single may be added),
#      RUNS (default "fixed search"),
#      RATE, CLIENTS, ROOMS, SEARCH_START, HUB_ARGS (more hub-server flags),
#      SERVER_CPUS / LOAD_CPUS (taskset lists), BENCH_PRIORITY=0 (leave this session's
#      autogroup nice value alone; by default -15, as bench/hub_vs_node.sh),
#      BENCH_LOCK: a lock file held (flock) for the whole run, so that nothing that
#      takes the same lock (on this project's shared machine: every build, under
#      /tmp/hub-build.lock) runs beside the measurements; BENCH_LOCK_WAIT (s, 1800).
# Needs redis-server (Debian's), hub-server and hub-load (scripts/build.sh release) and
# bench/node_modules (npm ci in bench/, done here when missing). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
hub_server=$(realpath "${1:-build/hub-server}")
hub_load=$(realpath "${2:-build/hub-load}")
out=${OUT:-/tmp/hub-cluster-bench-$(date +%Y%m%d-%H%M%S)}
quick=${QUICK:-0}
cases=${CASES:-hub-single hub-cluster node-cluster}
runs=${RUNS:-fixed search}
rate=${RATE:-300}
clients=${CLIENTS:-1000}
rooms=${ROOMS:-10}
search_start=${SEARCH_START:-200}
server_cpus=${SERVER_CPUS:-0}
nodes=${NODES:-3}
redis_fsync=${REDIS_FSYNC:-always}
load_cpus=${LOAD_CPUS:-1}
read -r -a hub_args <<<"${HUB_ARGS:-}"
if [[ $quick == 1 ]]; then fixed_d=4s step=2s; else fixed_d=8s step=3s; fi
mkdir -p "$out"
[[ -x $hub_server && -x $hub_load ]] || { echo "build hub-server and hub-load first" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install redis-server)" >&2; exit 2; }
[[ -d bench/node_modules/@socket.io/redis-adapter && -d bench/node_modules/redis ]] ||
  (cd bench && npm ci --no-audit --no-fund >/dev/null)

if [[ -n ${BENCH_LOCK:-} ]]; then
  exec 9>"$BENCH_LOCK"
  echo "waiting for $BENCH_LOCK ..." >&2
  flock -w "${BENCH_LOCK_WAIT:-1800}" 9 || { echo "could not take $BENCH_LOCK" >&2; exit 1; }
fi
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [[ ${BENCH_PRIORITY:-1} == 1 && -w /proc/self/autogroup ]]; then echo -15 > /proc/self/autogroup || true; fi

# NODES + 2 distinct free loopback ports (all bound at once, then released): the single
# node's, one per cluster node, Redis's.
read -r -a free < <(python3 -c 'import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]) + 2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])' "$nodes")
if [[ -n ${PORT:-} ]]; then ports=($(seq "$PORT" $((PORT + nodes)))); else ports=("${free[@]:0:nodes+1}"); fi
redis_port=${REDIS_PORT:-${free[nodes+1]}}
redis_url=redis://127.0.0.1:$redis_port
export HUB_API_KEY=bench-key

# -- processes: Redis for the whole run, servers per hub-load run ---------------------
# tmpfs, as the hub nodes' data dirs: the disk is not what is compared.
tmp=$(mktemp -d /dev/shm/hub-cluster-bench.XXXXXX)
redis_pid=
server_pids=()
data_dirs=()
stop_servers() {
  local p
  for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${server_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  server_pids=()
  for p in "${data_dirs[@]}"; do rm -rf "$p"; done
  data_dirs=()
}
cleanup() {
  stop_servers
  if [[ -n $redis_pid ]]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $redis_fsync == no ]]; then aof=(--appendonly no); else aof=(--appendonly yes --appendfsync "$redis_fsync"); fi
taskset -c "$server_cpus" redis-server --bind 127.0.0.1 --port "$redis_port" --save '' "${aof[@]}" \
  --dir "$tmp" --logfile "$out/redis.log" 9>&- &
redis_pid=$!
for _ in $(seq 50); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null 2>&1 || { echo "redis-server did not start" >&2; exit 1; }

wait_healthy() {  # PORT NAME
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server $2 on port $1 did not start (see $out/server-$2.log)" >&2
  exit 1
}

# start_node KIND PORT PREFIX: one server (KIND hub or node; PREFIX empty: no Redis).
start_node() {
  local kind=$1 port=$2 prefix=$3 name
  name=$kind-$port
  if [[ $kind == hub ]]; then
    local dir redis=()
    dir=$(mktemp -d /dev/shm/hub-cluster-bench-data.XXXXXX)
    data_dirs+=("$dir")
    [[ -n $prefix ]] && redis=(--redis "$redis_url" --redis-key-prefix "$prefix")
    taskset -c "$server_cpus" "$hub_server" --dev-auth --port "$port" --data-dir "$dir" --workers 1 \
      --rate-limit 100000000/60s --log-level warn "${redis[@]}" "${hub_args[@]}" \
      >>"$out/server-$name.log" 2>&1 9>&- &
  else
    local redis=()
    [[ -n $prefix ]] && redis=(--redis "$redis_url" --redis-key-prefix "$prefix")
    taskset -c "$server_cpus" node bench/node-hub-server.js --dev-auth --port "$port" "${redis[@]}" \
      >>"$out/server-$name.log" 2>&1 9>&- &
  fi
  server_pids+=($!)
  wait_healthy "$port" "$name"
}

# start_case CASE: its servers; sets urls (hub-load's --url ... --senders-url ...).
start_case() {
  stop_servers
  local kind=${1%%-*} prefix=bench-$1-$RANDOM
  case $1 in
    *-single)
      start_node "$kind" "${ports[0]}" ""
      urls=(--url "http://127.0.0.1:${ports[0]}")
      ;;
    *-cluster)
      local i
      for ((i = 1; i <= nodes; i++)); do start_node "$kind" "${ports[i]}" "$prefix"; done
      local a=http://127.0.0.1:${ports[1]}
      if ((nodes == 2)); then
        local b=http://127.0.0.1:${ports[2]}
        urls=(--url "$a" --url "$b" --url "$b" --url "$b" --senders-url "$a")
      else
        urls=()
        for ((i = 1; i <= nodes; i++)); do urls+=(--url "http://127.0.0.1:${ports[i]}"); done
        urls+=(--senders-url "$a")
      fi
      # Every node subscribed to the request channel: all are in the cluster.
      local n=0
      for _ in $(seq 50); do
        n=$(redis-cli -p "$redis_port" pubsub numsub "$prefix-request#/#" 2>/dev/null | sed -n 2p)
        [[ ${n:-0} -ge $nodes ]] && break
        sleep 0.1
      done
      [[ ${n:-0} -ge $nodes ]] || echo "warning: $1: ${n:-0} of $nodes nodes subscribed to $prefix-request#/#" >&2
      ;;
    *) echo "unknown case $1" >&2; exit 2 ;;
  esac
}

# CPU time the whole machine has spent busy (all cores, clock ticks; steal not
# included), and processes' (summed).
machine_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8; exit}' /proc/stat; }
ticks() {
  local p s=0 t
  for p in "$@"; do
    t=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    s=$((s + t))
  done
  echo "$s"
}

# run NAME CASE hub-load-args...: one hub-load run on fresh servers. JSON to
# $out/NAME.CASE.json; NAME.CASE.cpu: Redis's and each server's share of a core over
# the whole run (connects included), and the share of the machine (all cores) that
# other work took meanwhile (busy time minus the servers', Redis's and hub-load's).
run() {
  local name=$1 c=$2
  shift 2
  start_case "$c"
  sleep 0.5
  local pid_args=() p
  for p in "${server_pids[@]}"; do pid_args+=(--server-pid "$p"); done
  echo "== $name on $c: hub-load $* ${urls[*]}" >&2
  local busy0 srv0 redis0 t0 client_ticks each0=()
  redis-cli -p "$redis_port" config resetstat >/dev/null
  busy0=$(machine_busy) srv0=$(ticks "${server_pids[@]}") redis0=$(ticks "$redis_pid") t0=$(date +%s.%N)
  for p in "${server_pids[@]}"; do each0+=("$(ticks "$p")"); done
  taskset -c "$load_cpus" "$hub_load" "$@" "${urls[@]}" "${pid_args[@]}" --no-progress --max-run 150s \
    --out "$out/$name.$c" >"$out/$name.$c.json" 2>>"$out/hub-load.log" 9>&- || true
  client_ticks=$(python3 -c "import json,sys,os; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); \
print(d['client_cpu_us_total'] * os.sysconf('SC_CLK_TCK') / 1e6)" "$out/$name.$c.json" 2>/dev/null || echo 0)
  local each=() i
  for i in "${!server_pids[@]}"; do each+=($(($(ticks "${server_pids[i]}") - each0[i]))); done
  awk -v b0="$busy0" -v b1="$(machine_busy)" -v s0="$srv0" -v s1="$(ticks "${server_pids[@]}")" \
    -v r0="$redis0" -v r1="$(ticks "$redis_pid")" -v c="$client_ticks" -v t0="$t0" -v t1="$(date +%s.%N)" \
    -v hz="$(getconf CLK_TCK)" -v n="$(nproc)" -v each="${each[*]}" \
    'BEGIN { o = (b1 - b0) - (s1 - s0) - (r1 - r0) - c; if (o < 0) o = 0; w = (t1 - t0) * hz;
             k = split(each, e, " "); list = "";
             for (i = 1; i <= k; i++) list = list (i > 1 ? ", " : "") sprintf("%.1f", 100 * e[i] / w);
             printf "{\"redis_cpu_pct\": %.1f, \"server_cpu_pct_each\": [%s], \"other_pct\": %.0f}\n",
                    100 * (r1 - r0) / w, list, 100 * o / (w * n) }' \
    >"$out/$name.$c.cpu"
  # Redis's commands in this run (round trips per message: EVALSHA calls are the commits
  # and the rate checks, PUBLISH the adapter's broadcasts).
  redis-cli -p "$redis_port" info commandstats | tr -d '\r' | grep '^cmdstat_' >"$out/$name.$c.redis" || true
  # hub-server's cluster counters (publications sent and lost, messages received), per node.
  if [[ $c == hub-cluster ]]; then
    for p in "${ports[@]:1}"; do
      curl -fs "http://127.0.0.1:$p/metrics" 2>/dev/null | grep -E '^hub_(cluster|redis)_' | sed "s/^/$p /" || true
    done >"$out/$name.$c.metrics"
  fi
  stop_servers
}

start_time=$(date +%s)
for c in $cases; do
  if [[ " $runs " == *" fixed "* ]]; then
    run fixed "$c" chat -n "$clients" -r "$rooms" --rate "$rate" -d "$fixed_d" --warmup 2s --drain 3s
  fi
  if [[ " $runs " == *" search "* ]]; then
    run search "$c" chat -n "$clients" -r "$rooms" --search --search-start "$search_start" --search-factor 1.25 \
      --search-retries 1 -d "$step" --warmup 1s --drain 2s --p99-limit 100ms
  fi
done
echo "$(($(date +%s) - start_time)) s of measurements; redis-server $(redis-server --version | awk '{print $3}')" >&2

python3 bench/bench_table.py --cluster "$out" "$rate" | tee "$out/table.md"
echo "results in $out" >&2
