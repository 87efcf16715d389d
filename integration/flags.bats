#!/usr/bin/env bats
# warden run's per-job flags: each overrides the policy, and the job sees it.

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() {
  if [ -n "${RUN_PID:-}" ]; then
    # The job waits on $T/go: release it so that warden ends it and cleans up.
    [ -p "$T/go" ] && echo go >"$T/go" &
    wait "$RUN_PID" 2>/dev/null || true
  fi
  common_teardown
}

# cgroup_file CONTROLLER JOB_ID FILE: the value of FILE in the job's cgroup
# in a v1 CONTROLLER hierarchy, or in its cgroup2 group.
cgroup_file() {
  local dir
  dir=$(find "/sys/fs/cgroup/$1" /sys/fs/cgroup/unified /sys/fs/cgroup -maxdepth 6 -type d \
        -name "warden-*-$2" 2>/dev/null | while read -r d; do [ -e "$d/$3" ] && echo "$d" && break; done)
  [ -n "$dir" ] || { echo "no cgroup with $3 for job $2"; return 1; }
  cat "$dir/$3"
}

# start_waiting ARGS...: runs a job with ARGS that says "ready" and then
# waits until the test writes to $T/go (a FIFO, bound into the job).
start_waiting() {
  mkfifo -m 0666 "$T/go"
  chmod 0755 "$T"
  run_bg "$@" --ro-bind "$T" /w -- /bin/sh -c 'echo ready; read x </w/go'
}

@test "flags: --chdir is the job's cwd; a missing one is refused clearly" {
  run "$W" run --chdir /usr/share -- /bin/pwd
  [ "$status" -eq 0 ]
  [ "$output" = /usr/share ]
  run "$W" run --chdir /no/such/dir -- /bin/pwd
  [ "$status" -eq 125 ]
  [[ "$output" == *'chdir("/no/such/dir")'* ]]
  [[ "$output" == *"does not exist in the sandbox"* ]]
  run "$W" run --chdir relative -- /bin/pwd
  [ "$status" -eq 125 ]
  [[ "$output" == *"--chdir"*"absolute"* ]]
}

@test "flags: --uid/--gid run the job as those ids where the policy allows them" {
  cat >"$T/ci.toml" <<'EOF'
extends = "default"
[identity]
allow_uids = ["1000-1999"]
allow_gids = ["1000-1999", 2500]
EOF
  run "$W" run --policy "$T/ci.toml" --uid 1234 --gid 2500 -- /bin/sh -c 'id -u; id -g; id -G'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 1234 ]
  [ "${lines[1]}" = 2500 ]
  [ "${lines[2]}" = 2500 ]
  run "$W" run --policy "$T/ci.toml" --uid 2000 -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"--uid 2000"*"identity.allow_uids"* ]]
  # The default policy allows none, and root never.
  run "$W" run --uid 1000 -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"identity.allow_uids"* ]]
  run "$W" run --uid 0 -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"host root"* ]]
}

@test "flags: --memory, --pids, --cpus are the job's cgroup limits" {
  start_waiting --job-id "flags-lim-$$" --memory 48M --pids 17 --cpus 0.5
  [ "$FIRST_LINE" = ready ]
  mem=$(cgroup_file memory "flags-lim-$$" memory.limit_in_bytes 2>/dev/null ||
        cgroup_file memory "flags-lim-$$" memory.max)
  [ "$mem" = $((48 << 20)) ]
  [ "$(cgroup_file pids "flags-lim-$$" pids.max)" = 17 ]
  quota=$(cgroup_file cpu "flags-lim-$$" cpu.cfs_quota_us 2>/dev/null ||
          cgroup_file cpu "flags-lim-$$" cpu.max)
  period=$(cgroup_file cpu "flags-lim-$$" cpu.cfs_period_us 2>/dev/null || echo "${quota#* }")
  [ "${quota%% *}" -eq $((period / 2)) ]
}

@test "flags: --pids none and --memory none remove the policy's limits" {
  start_waiting --job-id "flags-none-$$" --memory none --pids none
  [ "$FIRST_LINE" = ready ]
  # The default policy's 256 pids and 512M are gone: no cgroup value, or
  # the controller's "no limit".
  pids=$(cgroup_file pids "flags-none-$$" pids.max 2>/dev/null || echo max)
  [ "$pids" = max ]
  mem=$(cgroup_file memory "flags-none-$$" memory.limit_in_bytes 2>/dev/null ||
        cgroup_file memory "flags-none-$$" memory.max 2>/dev/null || echo max)
  [ "$mem" = max ] || [ "$mem" -gt $((1 << 40)) ]
}

@test "flags: a job over its --memory is killed as out of memory" {
  run "$W" run --memory 16M --result "$T/r.json" -- /usr/bin/python3 -c 'b = b"x" * (96 << 20)'
  [ "$status" -ne 0 ]
  [ "$(json "$T/r.json" status)" = oom ]
}

@test "flags: --tmp-size and --hostname" {
  run "$W" run --tmp-size 8M --hostname ci-box-1 -- /bin/sh -c 'hostname; df -k /tmp | awk "NR==2 {print \$2}"'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = ci-box-1 ]
  [ "${lines[1]}" = 8192 ]
  run "$W" run --hostname bad_name -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"--hostname"* ]]
}

@test "flags: --env-file in docker's format; --env wins" {
  printf '# build settings\n\nA=from file\nB=  spaced "quoted" \nPASSED\nC=file\n' >"$T/ci.env"
  PASSED=from-warden run "$W" run --env-file "$T/ci.env" --env C=flag -- /bin/sh -c 'echo "A=$A"; echo "B=$B|"; echo "PASSED=$PASSED"; echo "C=$C"'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "A=from file" ]
  [ "${lines[1]}" = 'B=  spaced "quoted" |' ]
  [ "${lines[2]}" = "PASSED=from-warden" ]
  [ "${lines[3]}" = "C=flag" ]
  printf '1BAD=x\n' >"$T/bad.env"
  run "$W" run --env-file "$T/bad.env" -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"bad.env:1"*"not a variable name"* ]]
  mkfifo "$T/fifo.env"
  run "$W" run --env-file "$T/fifo.env" -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"not a regular file"* ]]
}

@test "flags: --seccomp-profile replaces the policy's seccomp rules" {
  cat >"$T/p.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
EOF
  run "$W" run --seccomp-profile "$T/p.json" -- /bin/sh -c 'mkdir /tmp/d 2>&1; echo rc=$?'
  [ "$status" -eq 0 ]
  [[ "$output" == *"Permission denied"* ]]
  [[ "$output" == *"rc=1"* ]]
  printf '{"defaultAction": "SCMP_ACT_TRAP"}' >"$T/trap.json"
  run "$W" run --seccomp-profile "$T/trap.json" -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"--seccomp-profile"*"SCMP_ACT_TRAP"* ]]
}

@test "flags: --bind-owned is writable, and the job's files belong to the source's owner" {
  mkdir "$T/ws"
  chown 4321:4321 "$T/ws"
  run "$W" run --bind-owned "$T/ws" /work -- /bin/sh -c 'touch /work/made && echo ok'
  [ "$status" -eq 0 ]
  [ "$output" = ok ]
  [ "$(stat -c %u:%g "$T/ws/made")" = 4321:4321 ]
}

@test "flags: an unknown option says which and what was meant, on one line" {
  run "$W" run --timout 5 -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *'unknown option "--timout": did you mean --timeout?'* ]]
  run "$W" run --time 5 -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"did you mean --timeout?"* ]]
  run "$W" run --memory
  [ "$status" -eq 125 ]
  [[ "$output" == *"--memory needs a value (e.g. --memory 512M)"* ]]
}
