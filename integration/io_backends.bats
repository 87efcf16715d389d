#!/usr/bin/env bats
# The unit tests' count when io_uring is unavailable, as on a CI runner whose
# seccomp profile denies it: each io test still runs on the plain backend and
# counts as passed, not skipped. The default policy denies io_uring, so the
# unit tests run inside `warden run`.

load helpers

setup() {
  common_setup
  BUILD_DIR=$(cd "$(dirname "$W")" && pwd)
  [ -x "$BUILD_DIR/unit_tests" ] || skip "no unit_tests next to $W"
}

teardown() { common_teardown; }

@test "io: with io_uring denied, the io tests run on the plain backend and count as passed" {
  # A build dir whose unit_tests runs the real ones, [io] only, in a sandbox
  # (the binary alone is bound: a build dir holds too many entries to bind).
  mkdir -p "$T/build"
  cat >"$T/build/unit_tests" <<SH
#!/bin/sh
exec "$W" run --ro-bind "$BUILD_DIR/unit_tests" /tmp/unit_tests -- /tmp/unit_tests "\$@" '[io]'
SH
  chmod 755 "$T/build/unit_tests"
  total=$("$T/build/unit_tests" --list-test-names-only | grep -c .)
  [ "$total" -ge 10 ]
  WARDEN_UNIT_ONLY=1 run "$BATS_TEST_DIRNAME/../scripts/run-tests.sh" "$T/build"
  echo "$output"
  [ "$status" -eq 0 ]
  # The io tests did run without io_uring here...
  [[ "$output" == *"NOTE: io: "*"checked on the plain backend only"* ]]
  # ...and only the case about the default choice of io_uring is skipped.
  [[ "$output" == *"unit: $((total - 1)) passed, 0 failed, 1 skipped"* ]]
}
