#!/usr/bin/env bash
# The peer for commits_per_s_32 (durable_bench): 32 Python threads, each
# committing a 4 KiB file the textbook way (write a temp file, fdatasync,
# rename over the target, fsync the directory) for one second, in the same
# kind of directory ($TMPDIR or /tmp). Prints BENCH commits_per_s_32_python.
#   integration/bench/commits_python.sh [BUILD_DIR]
set -euo pipefail
command -v python3 >/dev/null || { echo "commits_python: python3 is missing" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/warden-commits-py.XXXXXX")
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import os, sys, threading, time

base = sys.argv[1]
data = b"c" * 4096
threads, seconds = 32, 1.0
counts = [0] * threads
dfd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
start = time.monotonic()

def worker(slot):
    name = os.path.join(base, "file%d" % slot)
    tmp = name + ".tmp"
    while time.monotonic() - start < seconds:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, data)
        os.fdatasync(fd)
        os.close(fd)
        os.rename(tmp, name)
        os.fsync(dfd)
        counts[slot] += 1

ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
elapsed = time.monotonic() - start
print("BENCH commits_per_s_32_python=%.0f" % (sum(counts) / elapsed))
PY
