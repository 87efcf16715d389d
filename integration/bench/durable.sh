#!/usr/bin/env bash
# Durable-core benchmarks (issue 4): WAL acks/s, ack latency, replay time and
# atomic commits/s on the io_uring and plain backends.
#   integration/bench/durable.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
bin="$build/bench/durable_bench"
if [ ! -x "$bin" ]; then
  echo "durable.sh: $bin missing; run 'make BUILD=$build benchbins'" >&2
  exit 1
fi
exec "$bin"
