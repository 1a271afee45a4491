#!/usr/bin/env bash
# Installs whatever this project needs that the machine lacks: Debian packages and npm
# packages. Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake pkg-config
  libcaf-dev libboost-dev librocksdb-dev nlohmann-json3-dev catch2
  libssl-dev libcli11-dev libcpp-jwt-dev
  # Cluster mode (docs/cluster.md): hiredis's RESP reader, msgpack for the Redis
  # adapter's wire, and the redis-server the tests start on a free loopback port.
  libhiredis-dev libmsgpack-cxx-dev redis-server
  # tests/interop/64-cluster-sticky: two nodes behind the HAProxy of docs/cluster-haproxy.cfg.
  haproxy
  nodejs npm
  # tests/load_smoke.sh and bench/ read hub-load's JSON summary with python3.
  python3
  # bench/ scripts wait for /healthz with curl.
  curl
  # The browser test (tests/browser) drives chromium through playwright-core; the emoji
  # font makes its screenshots show the page's reactions as a person sees them.
  chromium fonts-noto-color-emoji
  # scripts/fuzz.sh: the libFuzzer targets in fuzz/ are built with clang.
  clang-14 libfuzzer-14-dev
  # scripts/tidy.sh (CI) and .clang-format.
  clang-tidy-14 clang-format-14
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from outside Debian's packages on some images; accept them.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: interop tests (socket.io-client, ...), benchmarks (socket.io reference),
# the demo page's socket.io-client bundle (web/) and the browser test (playwright-core).
for dir in tests/interop bench web tests/browser; do
  if [[ ! -d $dir/node_modules ]] || [[ $dir/package.json -nt $dir/node_modules/.package-lock.json ]] ||
     [[ -f $dir/package-lock.json && $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    echo "setup: installing npm packages for $dir"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done
