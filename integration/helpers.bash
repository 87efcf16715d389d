# Shared setup for warden's integration tests (bats). Every test gets its own
# temp dir, removed in teardown even when the test fails.

W=${WARDEN_BIN:-$BATS_TEST_DIRNAME/../build/warden}
PROGS=$BATS_TEST_DIRNAME/progs
export WARDEN_POLICY_DIR=${WARDEN_POLICY_DIR:-$BATS_TEST_DIRNAME/../policies}

common_setup() {
  [ "$(id -u)" -eq 0 ] || skip "integration tests need root"
  [ -x "$W" ] || skip "warden binary $W not built (run make)"
  T=$(mktemp -d /tmp/warden-it.XXXXXX)
}

common_teardown() {
  if [ -n "${T:-}" ]; then rm -rf "$T"; fi
}

# json FILE KEY: prints a top-level (or dotted) key of a JSON file.
json() {
  python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print("null" if v is None else v)' "$1" "$2"
}
