#!/usr/bin/env bats
# warden run's options and warden policy check: one grammar with the policy
# loader, refusals before anything runs, and a result hash that describes the
# policy that ran.

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

# hash_of_check FILE: the sha256 that `warden policy check FILE` prints.
hash_of_check() {
  "$W" policy check "$1" | sed -n 's/^# hash: sha256://p'
}

@test "cli: --bind SRC / is refused, and the job never runs with the host's root" {
  mkdir "$T/src"
  for dest in / // /./; do
    run "$W" run --bind "$T/src" "$dest" -- /bin/sh -c "touch $T/ran"
    [ "$status" -eq 125 ]
    [[ "$output" == *'must not be "/"'* ]]
    [ ! -e "$T/ran" ]
  done
  run "$W" run --ro-bind "$T/src" /tmp/../etc -- /bin/sh -c "touch $T/ran"
  [ "$status" -eq 125 ]
  [[ "$output" == *"'..'"* ]]
  [ ! -e "$T/ran" ]
}

@test "cli: --policy \"\" is refused, not taken as the default" {
  run "$W" run --policy "" -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *'--policy ""'* ]]
}

@test "cli: --timeout takes the policy's durations: nan, inf, 9000h refused; 0 is no limit" {
  for bad in nan inf -1 9000h 1e300 99999999999999999999999; do
    run "$W" run --timeout "$bad" -- /bin/sh -c "touch $T/ran"
    [ "$status" -eq 125 ]
    [[ "$output" == *"--timeout"* ]]
    [ ! -e "$T/ran" ]
  done
  run "$W" run --timeout 0 -- /bin/sh -c 'exit 3'
  [ "$status" -eq 3 ]
  printf 'extends = "default"\n[limits]\nwall_time = "9000h"\n' > "$T/long.toml"
  run "$W" policy check "$T/long.toml"
  [ "$status" -eq 125 ]
  [[ "$output" == *"366 days"* ]]
}

@test "cli: policy check refuses the allow entries a veth run refuses" {
  for entry in 1.2.3.4:99999 pypi.org:443 10.0.0.1/8; do
    printf 'extends = "default"\n[network]\nmode = "veth"\nallow = ["%s"]\n' "$entry" > "$T/p.toml"
    run "$W" policy check "$T/p.toml"
    [ "$status" -eq 125 ]
    [[ "$output" == *"p.toml:4:"*"network.allow entry \"$entry\""* ]]
  done
  run "$W" run --net veth --allow 1.2.3.4:99999 -- /bin/sh -c "touch $T/ran"
  [ "$status" -eq 125 ]
  [[ "$output" == *"1..65535"* ]]
  [ ! -e "$T/ran" ]
}

@test "cli: the result's policy.hash is the effective policy's, after --net and --allow" {
  run "$W" run --result "$T/plain.json" -- /bin/true
  [ "$status" -eq 0 ]
  plain=$(json "$T/plain.json" policy.hash)
  [ "$plain" = "$(hash_of_check default)" ]

  # The veth run may fail on a host without veth support; its result still
  # names the policy it was asked to run.
  run "$W" run --net veth --allow 192.0.2.1:443/tcp --result "$T/veth.json" -- /bin/true
  veth=$(json "$T/veth.json" policy.hash)
  [ "$veth" != "$plain" ]
  printf 'extends = "default"\n[network]\nmode = "veth"\nallow = ["192.0.2.1:443/tcp"]\n' > "$T/veth.toml"
  [ "$veth" = "$(hash_of_check "$T/veth.toml")" ]

  run "$W" run --net none --timeout 90s --result "$T/none.json" -- /bin/true
  [ "$status" -eq 0 ]
  printf 'extends = "default"\n[network]\nmode = "none"\n[limits]\nwall_time = "90s"\n' > "$T/none.toml"
  [ "$(json "$T/none.json" policy.hash)" = "$(hash_of_check "$T/none.toml")" ]
}
