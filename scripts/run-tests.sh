#!/usr/bin/env bash
# Runs the unit tests (Catch2) and the integration tests (bats), and ends with
#   tests: N passed, M failed[, K skipped]
# Exits non-zero when any test failed.
#   scripts/run-tests.sh BUILD_DIR
# WARDEN_UNIT_ONLY=1 skips the integration tests.
set -uo pipefail

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export WARDEN_BIN="$root/$build/warden"
export WARDEN_POLICY_DIR="$root/policies"
# Docker's and Podman's seccomp profiles, unpacked by scripts/setup.sh.
if [ -z "${WARDEN_TEST_OCI_PROFILE_ROOT:-}" ] && [ -e "$root/build/test-data/oci/.done" ]; then
  export WARDEN_TEST_OCI_PROFILE_ROOT="$root/build/test-data/oci"
fi
log=$(mktemp /tmp/warden-tests.XXXXXX)
# Compiled seccomp programs and loaded policies are cached here, not in
# /var/cache/warden, and removed with the run.
WARDEN_CACHE_DIR=$(mktemp -d /tmp/warden-tests-cache.XXXXXX)
export WARDEN_CACHE_DIR
trap 'rm -f "$log"; rm -rf "$WARDEN_CACHE_DIR"' EXIT

passed=0 failed=0 skipped=0

# Unit tests. Each test case is one test; a case that printed SKIPPED counts
# as skipped.
echo "== unit tests"
"$build/unit_tests" --reporter compact --order rand --rng-seed time 2>&1 | tee "$log"
unit_rc=${PIPESTATUS[0]}
names=$(mktemp /tmp/warden-tests-names.XXXXXX)
"$build/unit_tests" --list-test-names-only 2>/dev/null | grep . >"$names"
total=$(grep -c . "$names")
# A case is skipped when it printed "SKIPPED: <name>: <reason>", counted once
# however many of its runs (sections, generated values) printed it. A case
# that checked something on one backend and printed only a "NOTE:" for the
# other (tests/io/test_backends.h) ran, so it is not skipped.
u_skipped=$(awk 'NR == FNR { names[$0] = 1; next }
  /^SKIPPED: / { rest = substr($0, 10); for (n in names) if (index(rest, n ": ") == 1) hit[n] = 1 }
  END { c = 0; for (n in hit) c++; print c }' "$names" "$log")
u_notes=$(grep -c '^NOTE: ' "$log" || true)
rm -f "$names"
# The compact reporter ends with "Passed all N test cases ..." or
# "Failed N test case(s), failed M assertion(s)."; the console one with
# "test cases: N | P passed | F failed".
u_failed=$(sed -n -e 's/^Failed \([0-9]*\) test case.*/\1/p' \
                  -e 's/.*test cases: *[0-9]* | *[0-9]* passed | *\([0-9]*\) failed.*/\1/p' "$log" | tail -1)
if [ -z "$u_failed" ]; then
  if grep -q 'All tests passed\|Passed all' "$log"; then u_failed=0; else u_failed=$total; fi
fi
if [ "$unit_rc" -ne 0 ] && [ "$u_failed" -eq 0 ]; then
  echo "unit tests exited $unit_rc without a failed case: counting one failure"
  u_failed=1
fi
passed=$((passed + total - u_failed - u_skipped))
failed=$((failed + u_failed))
skipped=$((skipped + u_skipped))
echo "unit: $((total - u_failed - u_skipped)) passed, $u_failed failed, $u_skipped skipped"
if [ "$u_notes" -gt 0 ]; then
  echo "unit: $u_notes runs checked on the plain backend only (io_uring unavailable here; see NOTE lines)"
fi

# Fuzz targets: each replays its corpus and runs a short, fixed-seed batch of
# mutations (`make fuzz` runs long ones under ASan). One test per target.
if ls "$build"/fuzz/*_fuzz >/dev/null 2>&1; then
  echo "== fuzz targets (corpus + ${WARDEN_FUZZ_RUNS:-3000} mutations each)"
  for f in "$build"/fuzz/*_fuzz; do
    name=$(basename "$f" _fuzz)
    case $f in /*) bin=$f ;; *) bin=$root/$f ;; esac
    dir=$(mktemp -d /tmp/warden-fuzz.XXXXXX)  # the driver writes crash inputs to its cwd
    if (cd "$dir" && "$bin" -runs="${WARDEN_FUZZ_RUNS:-3000}" -seed=1 \
          "$root/tests/fuzz/corpus/$name"); then
      echo "fuzz $name: ok"; passed=$((passed + 1)); rm -rf "$dir"
    else
      echo "fuzz $name: FAILED (crash input kept in $dir)"; failed=$((failed + 1))
    fi
  done
fi

if [ "${WARDEN_UNIT_ONLY:-0}" != 1 ]; then
  echo "== integration tests"
  bats --tap integration/*.bats 2>&1 | tee "$log"
  i_passed=$(grep -E '^ok ' "$log" | grep -vc '# skip' || true)
  i_skipped=$(grep -E '^ok .*# skip' "$log" | wc -l)
  i_failed=$(grep -cE '^not ok ' "$log" || true)
  planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -1)
  ran=$((i_passed + i_skipped + i_failed))
  if [ -n "$planned" ] && [ "$ran" -lt "$planned" ]; then
    echo "integration: bats planned $planned tests but reported $ran: counting the rest as failed"
    i_failed=$((i_failed + planned - ran))
  fi
  passed=$((passed + i_passed))
  failed=$((failed + i_failed))
  skipped=$((skipped + i_skipped))
  echo "integration: $i_passed passed, $i_failed failed, $i_skipped skipped"
  grep -E '^ok .*# skip' "$log" | sed 's/^/  SKIPPED /' || true
fi

if [ "$skipped" -gt 0 ]; then
  echo "tests: $passed passed, $failed failed, $skipped skipped"
else
  echo "tests: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
