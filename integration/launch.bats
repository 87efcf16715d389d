#!/usr/bin/env bats
# What the sandbox's init shows the job about the operator.

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

@test "launch: the job does not see the operator's command line or environment in /proc/1" {
  mark="opsecret$$$RANDOM"
  mkdir "$T/in"
  run env "WARDEN_TEST_MARK_$mark=1" "$W" run --ro-bind "$T/in" "/mnt/$mark" --env "MARK=$mark" \
    --job-id "job$mark" -- /bin/sh -c \
    'tr "\0" " " </proc/1/cmdline; echo; echo ---; cat /proc/1/environ 2>&1 | tr "\0" " "; echo; echo done'
  echo "$output"
  [ "$status" -eq 0 ]
  # The job itself ran to its end and read /proc/1/cmdline.
  [[ "$output" == *done* ]]
  cmdline=$(printf '%s\n' "$output" | sed -n '1p')
  [ -n "$cmdline" ]
  [[ "$cmdline" != *"$mark"* ]]
  [[ "$cmdline" != *"$T"* ]]
  # /proc/1/environ: the operator's variables are not there either.
  environ=$(printf '%s\n' "$output" | sed -n '/^---$/,/^done$/p')
  [[ "$environ" != *"WARDEN_TEST_MARK_$mark"* ]]
}

@test "launch: a job start collects the cgroups of a warden that died, and the job still runs" {
  own=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
  [ -n "$own" ] && [ "$own" != / ] && [ -d "/sys/fs/cgroup/memory$own" ] || \
    skip "needs a v1 memory cgroup of our own below the root (jobs then go below it)"
  # A pid that no process holds now: a child that has exited.
  sh -c 'exit 0' & dead=$!
  wait $dead
  ! kill -0 "$dead" 2>/dev/null || skip "pid $dead was reused at once"
  left="/sys/fs/cgroup/memory$own/warden-$dead-leftover$RANDOM"
  mkdir "$left"
  run "$W" run -- /bin/sh -c 'echo ran'
  collected=yes
  if [ -d "$left" ]; then collected=no; rmdir "$left"; fi  # never left behind
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *ran* ]]
  [ "$collected" = yes ]
}
