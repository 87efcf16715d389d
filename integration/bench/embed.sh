#!/usr/bin/env bash
# Jobs per second through the C interface from 4 threads against as many
# `warden run` processes through `xargs -P4` (integration/bench/embed_bench.cc
# says what is timed). Needs root, as every job does.
#   integration/bench/embed.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/$build/bench/embed_bench"
if [ ! -x "$bin" ]; then
  echo "embed.sh: $bin missing; run 'make BUILD=$build benchbins'" >&2
  exit 1
fi
exec "$bin" "$root/$build/warden" "$root/policies" ${BENCH_EMBED_JOBS:+--jobs=$BENCH_EMBED_JOBS}
