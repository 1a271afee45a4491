#!/usr/bin/env bash
# The layer check (cmake/check_layers.cmake) passes on the tree and refuses a planted
# upward include and a foreign system header (docs/architecture.md, "Layers").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmake -DROOT="$root" -P "$root/cmake/check_layers.cmake"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/net/transport" "$tmp/protocol" "$tmp/sio"
printf '#include "sio/sio_server.hpp"\n' > "$tmp/net/transport/upward.cpp"
printf '#include <caf/all.hpp>\n' > "$tmp/protocol/foreign.cpp"
printf '#include "net/transport/seam.hpp"\n#include "util/log.hpp"\n' > "$tmp/sio/fine.cpp"
if out=$(cmake -DROOT="$tmp" -P "$root/cmake/check_layers.cmake" 2>&1); then
  echo "the check passed a tree with an upward include"; exit 1
fi
grep -q 'net/transport/upward.cpp: includes "sio/sio_server.hpp"' <<<"$out" || { echo "$out"; exit 1; }
grep -q 'protocol/foreign.cpp: includes <caf/all.hpp>' <<<"$out" || { echo "$out"; exit 1; }
if grep -q 'sio/fine.cpp' <<<"$out"; then echo "$out"; exit 1; fi
echo "layer check: refuses what it must, passes the tree"
