#!/usr/bin/env bats
# Binds that just work: destinations that do not exist are created on a
# tmpfs warden controls (never on the host), and idmapped binds
# (`owned = true`, `--bind-owned`) give the job a workspace it owns.

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

@test "binds: owned = true is refused, never mounted as a plain writable bind" {
  mkdir "$T/ws"
  cat >"$T/p.toml" <<TOML
extends = "default"
[[filesystem.mount]]
source = "$T/ws"
destination = "/tmp/ws"
owned = true
TOML
  run "$W" run --policy "$T/p.toml" -- /bin/sh -c 'touch /tmp/ws/x; echo RAN'
  [ "$status" -eq 125 ]
  [[ "$output" == *"idmapped binds are not supported yet"* ]]
  [[ "$output" != *RAN* ]]
  [ ! -e "$T/ws/x" ]
}
