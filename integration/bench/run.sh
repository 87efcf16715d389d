#!/usr/bin/env bash
# make bench: runs every benchmark script in integration/bench/ with the
# build dir as $1. Each prints `BENCH name=value` lines.
set -uo pipefail
build=${1:-build}
dir=$(cd "$(dirname "$0")" && pwd)
rc=0
for s in "$dir"/*.sh; do
  [ "$(basename "$s")" = run.sh ] && continue
  echo "== $(basename "$s")"
  "$s" "$build" || { echo "bench: $(basename "$s") failed" >&2; rc=1; }
done
exit $rc
