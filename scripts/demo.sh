#!/usr/bin/env bash
# make demo: runs examples/hello.py in the default sandbox and shows the
# script's output and the result JSON.
set -uo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export WARDEN_POLICY_DIR="$root/policies"
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: warden run needs root; run 'sudo make demo'" >&2
  exit 1
fi
result=$(mktemp /tmp/warden-demo.XXXXXX.json)
trap 'rm -f "$result"' EXIT
echo "\$ warden run --result result.json examples/hello.py"
"$root/$build/warden" run --result "$result" "$root/examples/hello.py"
rc=$?
echo
echo "result.json:"
cat "$result"
echo "exit code: $rc"
exit $rc
