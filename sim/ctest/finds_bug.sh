#!/usr/bin/env bash
# The invariants can fail: with a deliberately broken recovery (the first missed entry
# is not replayed), a small sweep must stop with a violation that names the invariant
# and prints the command that reproduces it; that command must fail the same way.
set -euo pipefail
sim=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if "$sim" --seeds 1..5 --clients 40 --duration 2m --inject-bug skip-replay > "$out"; then
  cat "$out"; echo "the sweep passed with an injected bug"; exit 1
fi
grep -q "VIOLATION of delivery-order" "$out" || { cat "$out"; echo "violation not named"; exit 1; }
cmd=$(grep -m1 '^reproduce: ' "$out" | sed 's/^reproduce: //; s/ --trace trace.jsonl$//')
echo "reproducing: $cmd"
if $cmd > "$out"; then echo "the reproduce command passed"; exit 1; fi
grep -q "VIOLATION of delivery-order" "$out" || { cat "$out"; echo "reproduction differs"; exit 1; }
grep -m1 -A1 "VIOLATION" "$out"
echo "injected bug found"
