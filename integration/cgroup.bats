#!/usr/bin/env bats
# warden run with cgroup limits: OOM, pids, teardown after SIGKILL, fail closed.
# Every job gets a --job-id unique to this run, so that the checks below look
# only at cgroups this file created (the host is shared with other runs).

load helpers

setup() {
  common_setup
  ID="bats$$-$BATS_TEST_NUMBER"
}

teardown() {
  # Whatever a failed test left behind: kill the runs we started, then let
  # gc collect their cgroups.
  [ -n "${RUN_PID:-}" ] && kill -9 "$RUN_PID" 2>/dev/null || true
  [ -x "$W" ] && "$W" gc >/dev/null 2>&1 || true
  common_teardown || true
}

# Prints the cgroup directories named for job $1, in every hierarchy.
job_cgroups() {
  find /sys/fs/cgroup -maxdepth 6 -type d -name "warden-*-$1" 2>/dev/null || true
}

# policy 'TOML': a policy file on top of the default policy.
policy() {
  printf 'extends = "default"\n%b\n' "$1" >"$T/p.toml"
}

need_controller() {
  "$W" doctor 2>&1 | grep -qE "\[ok *\] cgroup $1 " ||
    skip "the $1 controller is not available on this host"
}

@test "cgroup: a memory bomb ends with status oom and a peak near the limit" {
  command -v python3 >/dev/null || skip "needs python3 on the host"
  need_controller memory
  policy '[cgroup]\nmemory = "64M"\npids = 32'
  run "$W" run --policy "$T/p.toml" --job-id "$ID" --result "$T/r.json" -- \
    /usr/bin/python3 -c 'a = []
while True: a.append(bytearray(1 << 20))'
  echo "$output"
  [ "$status" -ne 0 ]
  [ "$(json "$T/r.json" status)" = oom ]
  [ "$(json "$T/r.json" cgroup.oom_kill)" -ge 1 ]
  peak=$(json "$T/r.json" cgroup.memory_peak_bytes)
  [ "$peak" -ge $((64 * 1024 * 1024 * 8 / 10)) ]
  [ "$peak" -le $((65 * 1024 * 1024)) ]
  [ -z "$(job_cgroups "$ID")" ]
}

@test "cgroup: a fork bomb is held at the pids limit and the sandbox ends cleanly" {
  need_controller pids
  policy '[cgroup]\npids = 32'
  run "$W" run --policy "$T/p.toml" --job-id "$ID" --timeout 2s --result "$T/r.json" -- \
    /bin/sh -c 'b() { b | b & }; b; sleep 10'
  echo "$output"
  [ "$(json "$T/r.json" status)" = timeout ]
  [ "$status" -eq 124 ]
  peak=$(json "$T/r.json" cgroup.pids_peak)
  [ "$peak" -le 32 ]
  [ "$peak" -ge 16 ]
  [ -z "$(job_cgroups "$ID")" ]
}

@test "cgroup: the result reports cpu time split into user and system" {
  need_controller cpu
  policy '[cgroup]\ncpu = 0.5'
  run "$W" run --policy "$T/p.toml" --job-id "$ID" --timeout 1s --result "$T/r.json" -- \
    /bin/sh -c 'while :; do :; done'
  echo "$output"
  user=$(json "$T/r.json" cgroup.cpu_user_ms)
  sys=$(json "$T/r.json" cgroup.cpu_system_ms)
  throttled=$(json "$T/r.json" cgroup.cpu_throttled_ms)
  # Figures, not timings: each is a count of milliseconds, and a job that
  # spun has used some CPU. (How much it got depends on the host's load.)
  [[ "$user" =~ ^[0-9]+$ ]]
  [[ "$sys" =~ ^[0-9]+$ ]]
  [[ "$throttled" =~ ^[0-9]+$ ]]
  [ $((user + sys)) -gt 0 ]
  [ -z "$(job_cgroups "$ID")" ]
}

@test "cgroup: after SIGKILL of warden run, warden gc leaves no warden cgroup" {
  need_controller pids
  policy '[cgroup]\npids = 32\nmemory = "64M"'
  # The job's first line comes from inside its cgroups: the cgroups exist
  # and the job has joined them.
  run_bg --policy "$T/p.toml" --job-id "$ID" -- /bin/sh -c 'echo ready; exec /bin/sleep 100'
  [ "$FIRST_LINE" = ready ]
  [ -n "$(job_cgroups "$ID")" ]
  job_pids=$(cat $(job_cgroups "$ID" | sed 's|$|/cgroup.procs|') | sort -u)
  [ -n "$job_pids" ]
  kill -9 "$RUN_PID"
  wait "$RUN_PID" || true
  RUN_PID=
  run "$W" gc
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$ID"* ]]
  [ -z "$(job_cgroups "$ID")" ]
  # The job's processes are gone too.
  for p in $job_pids; do
    [ ! -e "/proc/$p" ] || grep -q '^State:[[:space:]]*Z' "/proc/$p/status"
  done
}

@test "cgroup: an unavailable controller fails closed with exit 125" {
  policy '[cgroup]\nmemory = "64M"'
  WARDEN_CGROUP_DISABLE=memory run "$W" run --policy "$T/p.toml" --job-id "$ID" -- /bin/true
  echo "$output"
  [ "$status" -eq 125 ]
  [[ "$output" == *memory* ]]
  [[ "$output" == *WARDEN_CGROUP_DISABLE* ]]
  [ -z "$(job_cgroups "$ID")" ]
}

@test "cgroup: an optional limit that cannot be enforced is a warning in the result" {
  policy '[cgroup]\nmemory = { value = "64M", optional = true }'
  WARDEN_CGROUP_DISABLE=memory run "$W" run --policy "$T/p.toml" --job-id "$ID" \
    --result "$T/r.json" -- /bin/true
  echo "$output"
  [ "$status" -eq 0 ]
  grep -q 'memory' <(json "$T/r.json" warnings)
  [ -z "$(job_cgroups "$ID")" ]
}

@test "cgroup: ten concurrent runs do not collide" {
  need_controller pids
  policy '[cgroup]\npids = 32\nmemory = "64M"'
  pids=()
  for i in $(seq 10); do
    "$W" run --policy "$T/p.toml" --job-id "$ID-$i" --result "$T/r$i.json" -- /bin/sh -c 'echo ok' \
      >"$T/out$i" 2>&1 &
    pids+=($!)
  done
  for i in $(seq 10); do
    wait "${pids[$((i - 1))]}" || { cat "$T/out$i"; false; }
    [ "$(json "$T/r$i.json" status)" = ok ]
  done
  [ -z "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "warden-*-$ID-*")" ]
}

@test "cgroup: the job and its init see their cgroups as /; an OOM is reported as oom" {
  need_controller memory
  policy '[cgroup]\nmemory = "32M"\n[filesystem]\ntmp_size = "256M"'
  # Init (pid 1) and the job are in the job's cgroups, and the job's cgroup
  # namespace makes every hierarchy read "/" to both.
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- /bin/sh -c \
    'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup'
  echo "$output"
  [ "$status" -eq 0 ]
  job=$(printf '%s\n' "$output" | sed -n '1,/^---$/p' | grep -v '^---$')
  init=$(printf '%s\n' "$output" | sed -n '/^---$/,$p' | grep -v '^---$')
  [ -n "$job" ]
  [ -n "$init" ]
  [ -z "$(printf '%s\n' "$job" | grep -v ':/$')" ]
  [ -z "$(printf '%s\n' "$init" | grep -v ':/$')" ]
  # Memory the OOM killer cannot free (a full tmpfs) after the job's first
  # process is killed: warden, outside the cgroup, lives to report the OOM.
  run "$W" run --policy "$T/p.toml" --job-id "$ID" --result "$T/r.json" -- /bin/sh -c \
    'head -c 100000000 /dev/zero > /tmp/fill; echo filled; head -c 50000000 /dev/zero | tail -c 1 >/dev/null'
  echo "$output"
  [ "$status" -eq 137 ]
  [ "$(json "$T/r.json" status)" = oom ]
  [ -z "$(job_cgroups "$ID")" ]
}
