#!/usr/bin/env bats
# Per-job uids: concurrent jobs run as different uids leased from
# WARDEN_UID_RANGE; leases go on the normal path and `warden gc` collects
# those of a warden that died. Jobs rendezvous with the test over FIFOs in a
# shared work dir, so "concurrent" is a fact, not a timing.

load helpers
bats_require_minimum_version 1.5.0

setup() {
  common_setup
  mkdir -m 0777 "$T/work"
  # Leases of this test only, apart from other wardens on the host.
  export WARDEN_UID_DIR="$T/uid"
  for f in readyA readyB goA goB; do mkfifo -m 0666 "$T/work/$f"; done
  pids=()
}
teardown() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  common_teardown
}

leases() { ls -A "$T/uid/leases" 2>/dev/null | grep -v '^\.' | sort; }

# start NAME: a job that reports its uid and gid on readyNAME (one open, so
# a reader sees both), then waits on goNAME.
start() {
  "$W" run --bind "$T/work" /work -- /bin/sh -c "{ id -u; id -g; } > /work/ready$1; cat /work/go$1" \
    > "$T/out$1" 2>&1 &
  pids+=($!)
}

@test "uids: two concurrent jobs run as different uids from the range; leases go after the runs" {
  start A
  start B
  ids_a=$(cat "$T/work/readyA")   # returns once job A has written it
  ids_b=$(cat "$T/work/readyB")
  uid_a=$(echo "$ids_a" | head -1); gid_a=$(echo "$ids_a" | tail -1)
  uid_b=$(echo "$ids_b" | head -1)
  echo "A: $ids_a B: $ids_b"
  [ "$uid_a" != "$uid_b" ]
  [ "$uid_a" = "$gid_a" ]
  for u in "$uid_a" "$uid_b"; do
    [ "$u" -ge 2000000 ] && [ "$u" -le 2065535 ]
  done
  # Both jobs are running: both leases are recorded, named by their uids.
  [ "$(leases)" = "$(printf '%s\n' "$uid_a" "$uid_b" | sort)" ]
  grep -q "^pid=${pids[0]}$" "$T/uid/leases/$uid_a"
  echo > "$T/work/goA"
  echo > "$T/work/goB"
  wait "${pids[0]}"
  wait "${pids[1]}"
  pids=()
  [ -z "$(leases)" ]
  [ "$(stat -c %a "$T/uid/leases")" = 700 ]
}

@test "uids: WARDEN_UID_RANGE chooses the range, and a bad one stops the run" {
  WARDEN_UID_RANGE=3000000-3000000 run "$W" run -- /usr/bin/id -u
  [ "$status" -eq 0 ]
  [ "$output" = 3000000 ]
  WARDEN_UID_RANGE=0-100 run "$W" run -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *WARDEN_UID_RANGE* ]]
  # "none" keeps the policy's uid.
  WARDEN_UID_RANGE=none run "$W" run -- /usr/bin/id -u
  [ "$output" = 65534 ]
}

@test "uids: a job never shares its uid with a running one, even with a one-id range" {
  export WARDEN_UID_RANGE=3000000-3000000
  start A
  [ "$(cat "$T/work/readyA" | head -1)" = 3000000 ]
  run "$W" run -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"WARDEN_UID_RANGE"* ]]
  echo > "$T/work/goA"
  wait "${pids[0]}"
  pids=()
}

@test "uids: warden gc collects the lease of a warden killed with SIGKILL" {
  start A
  uid_a=$(cat "$T/work/readyA" | head -1)
  [ "$(leases)" = "$uid_a" ]
  kill -KILL "${pids[0]}"
  wait "${pids[0]}" || true
  pids=()
  # The lease outlives its owner until gc.
  [ "$(leases)" = "$uid_a" ]
  run "$W" gc
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"removed uid lease $uid_a"* ]]
  [ -z "$(leases)" ]
}

@test "uids: a relative WARDEN_UID_DIR or WARDEN_NET_DIR stops warden (125), naming it; no default is used instead" {
  for var in WARDEN_UID_DIR WARDEN_NET_DIR; do
    run --separate-stderr env "$var=relative/leases" "$W" run -- /bin/true
    echo "$var: $status $stderr"
    [ "$status" -eq 125 ]
    [[ "$stderr" == *"$var=relative/leases"* ]]
    [[ "$stderr" == *"absolute"* ]]
  done
}
