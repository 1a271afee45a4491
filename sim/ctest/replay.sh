#!/usr/bin/env bash
# Record real traffic with hub-server --record, then replay it in hub-sim (without and
# with faults); both replays must pass their invariants and be deterministic.
set -euo pipefail
server=$1 sim=$2 here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
"$server" --dev-auth --port "$port" --host 127.0.0.1 --data-dir "$dir/data" --record "$dir/rec.jsonl" \
  --log-level warn > "$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do grep -q listening "$dir/server.log" && break; sleep 0.1; done
node "$here/record_traffic.js" "http://127.0.0.1:$port"
kill $pid; wait $pid 2>/dev/null || true
echo "record: $(wc -l < "$dir/rec.jsonl") lines"; head -3 "$dir/rec.jsonl"
"$sim" --replay "$dir/rec.jsonl" --faults none | tail -2
h1=$("$sim" --replay "$dir/rec.jsonl" --faults heavy --seed 3 | tail -1)
h2=$("$sim" --replay "$dir/rec.jsonl" --faults heavy --seed 3 | tail -1)
echo "with faults: $h1 / $h2"
[[ $h1 == "$h2" ]] || { echo "replay is not deterministic"; exit 1; }
