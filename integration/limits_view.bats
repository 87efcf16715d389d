#!/usr/bin/env bats
# The job sees its own limits (src/mnt/cgroup_view.h): its cgroups at
# /sys/fs/cgroup, read-only, and nothing above or beside them; its cpuset as
# its affinity. Every job gets a --job-id unique to this run.

load helpers

setup() {
  common_setup
  ID="bats$$-$BATS_TEST_NUMBER"
}

teardown() {
  [ -n "${RUN_PID:-}" ] && kill -9 "$RUN_PID" 2>/dev/null || true
  if [ -n "${RUN_PID:-}" ]; then wait "$RUN_PID" 2>/dev/null || true; fi
  [ -x "$W" ] && "$W" gc >/dev/null 2>&1 || true
  common_teardown || true
}

# policy 'TOML': a policy file on top of the default policy.
policy() {
  printf 'extends = "default"\n%b\n' "$1" >"$T/p.toml"
}

need_controller() {
  "$W" doctor 2>&1 | grep -qE "\[ok *\] cgroup $1 " ||
    skip "the $1 controller is not available on this host"
}

# v1 or hybrid: the host's /sys/fs/cgroup is not itself a cgroup2 mount.
need_v1() {
  [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] ||
    skip "this host is cgroup v2 only (the v1 view is not used here)"
  [ -d /sys/fs/cgroup/memory ] || skip "no v1 memory hierarchy at /sys/fs/cgroup/memory"
}

@test "limits view: v1: the job reads its own memory and pids limits at the usual paths" {
  need_v1
  need_controller memory
  need_controller pids
  policy '[cgroup]\nmemory = "64M"\npids = 32'
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- /bin/sh -c \
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 67108864 ]
  [ "${lines[1]}" = 32 ]
}

@test "limits view: v1: --memory 64M --pids 32 are what the job reads" {
  need_v1
  need_controller memory
  need_controller pids
  "$W" run --help 2>&1 | grep -q -- '--memory' || skip "this warden has no --memory flag"
  run "$W" run --memory 64M --pids 32 --job-id "$ID" -- /bin/sh -c \
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 67108864 ]
  [ "${lines[1]}" = 32 ]
}

@test "limits view: v1: /sys/fs/cgroup and every group in it are read-only" {
  need_v1
  need_controller memory
  policy '[cgroup]\nmemory = "64M"\n[namespaces]\nuser = true\n[identity]\nuid = 0\ngid = 0'
  # root inside a user namespace: only the read-only mounts stand in the way.
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- /bin/sh -c '
    for m in $(grep " /sys/fs/cgroup" /proc/self/mountinfo | cut -d" " -f5,6 | tr " " "|"); do
      echo "$m"
    done
    mkdir /sys/fs/cgroup/memory/x 2>/dev/null && echo WROTE-mkdir
    echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null && echo WROTE-limit
    touch /sys/fs/cgroup/new 2>/dev/null && echo WROTE-tmpfs
    cat /sys/fs/cgroup/memory/memory.limit_in_bytes'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" != *WROTE* ]]
  [[ "$output" == *"/sys/fs/cgroup|ro,"* ]]
  [[ "$output" == *"/sys/fs/cgroup/memory|ro,"* ]]
  # Every mount at or below /sys/fs/cgroup is read-only.
  ! grep -E '^/sys/fs/cgroup[^|]*\|rw' <<<"$output" || false
  [ "${lines[-1]}" = 67108864 ]
}

@test "limits view: v1: another job's group, warden's and the caller's are not visible" {
  need_v1
  need_controller memory
  policy '[cgroup]\nmemory = "64M"'
  run_bg --policy "$T/p.toml" --job-id "${ID}a" -- /bin/sh -c 'echo ready; exec sleep 600'
  [ -n "$(find /sys/fs/cgroup/memory -maxdepth 6 -type d -name "warden-*-${ID}a")" ]
  run "$W" run --policy "$T/p.toml" --job-id "${ID}b" -- /bin/sh -c '
    find /sys/fs/cgroup/ -mindepth 1 -maxdepth 3 -type d | sort
    echo procs: $(cat /sys/fs/cgroup/memory/cgroup.procs)'
  echo "$output"
  [ "$status" -eq 0 ]
  # Only the top of each of the job's own groups: no group below or beside.
  [[ "$output" != *warden-* ]]
  [[ "$output" != *"${ID}a"* ]]
  ! grep -E '^/sys/fs/cgroup/[^/]+/.' <<<"$output" || false
  # Its own group holds only its own processes (init, sh, cat).
  [[ "${lines[-1]}" =~ ^procs:\ 1( [0-9]+)+$ ]]
}

@test "limits view: v1: a hierarchy without a group of the job's is not shown" {
  need_v1
  need_controller memory
  # warden never places a job in the devices or name=systemd hierarchies,
  # nor (on a hybrid host) in the controller-less unified one: showing them
  # would show the caller's own groups there.
  run "$W" run --job-id "$ID" -- /bin/sh -c 'ls /sys/fs/cgroup'
  echo "$output"
  [ "$status" -eq 0 ]
  grep -qx memory <<<"$output"
  ! grep -qxE 'devices|systemd|unified|name=systemd' <<<"$output" || false
}

@test "limits view: v1: the cpu quota is the job's, with the host's aliases" {
  need_v1
  need_controller cpu
  policy '[cgroup]\ncpu = 0.5'
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- /bin/sh -c '
    cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us
    for l in /sys/fs/cgroup/*; do [ -L "$l" ] && echo "link ${l##*/} $(readlink "$l")"; done; true'
  echo "$output"
  [ "$status" -eq 0 ]
  quota=${lines[0]} period=${lines[1]}
  [ "$((quota * 2))" -eq "$period" ]
  # The same symlinks as the host has, for the groups shown.
  for l in /sys/fs/cgroup/*; do
    [ -L "$l" ] || continue
    t=$(readlink "$l")
    if grep -q "^link ${l##*/} " <<<"$output"; then
      grep -qx "link ${l##*/} $t" <<<"$output"
    fi
  done
}

@test "limits view: cpuset_cpus is the job's affinity (nproc, sched_getaffinity)" {
  need_controller cpuset
  [ "$(nproc --all)" -ge 2 ] || skip "one CPU: a cpuset cannot narrow it"
  policy '[cgroup]\ncpuset_cpus = "0"'
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- /bin/sh -c '
    nproc
    python3 -c "import os; print(sorted(os.sched_getaffinity(0)))" 2>/dev/null || echo "[0]"
    cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null || echo "no cpuset view"'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 1 ]
  [ "${lines[1]}" = "[0]" ]
  if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then [ "${lines[2]}" = 0 ]; fi
}

@test "limits view: node sees its memory limit (process.constrainedMemory)" {
  command -v node >/dev/null || skip "node is not installed"
  node -e 'process.exit(typeof process.constrainedMemory === "function" ? 0 : 1)' ||
    skip "node $(node --version) has no process.constrainedMemory (Node >= 19)"
  need_controller memory
  policy '[cgroup]\nmemory = "256M"'
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- \
    node -e 'console.log(process.constrainedMemory())'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = 268435456 ]
}

@test "limits view: node's availableParallelism follows the cpuset" {
  command -v node >/dev/null || skip "node is not installed"
  need_controller cpuset
  [ "$(nproc --all)" -ge 2 ] || skip "one CPU: a cpuset cannot narrow it"
  policy '[cgroup]\ncpuset_cpus = "0"'
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- \
    node -e 'console.log(require("os").availableParallelism())'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = 1 ]
}

@test "limits view: the JVM sees its memory, pids and cpu limits (-XshowSettings:system)" {
  command -v java >/dev/null || skip "java is not installed"
  need_controller memory
  need_controller pids
  policy '[cgroup]\nmemory = "256M"\npids = 256\ncpu = 0.5'
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- java -XshowSettings:system -version
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Memory Limit: 256.00M"* ]]
  [[ "$output" == *"Maximum Processes Limit: 256"* ]]
  if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
    [[ "$output" == *"CPU Quota: 50000us"* ]]
  fi
}

@test "limits view: v2: a read-only cgroup2 mount of the job's own namespace" {
  [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] ||
    skip "SKIPPED: this host is cgroup v1/hybrid; the v2 view (cgroup2 mount in the job's cgroup namespace) needs a v2-only host"
  need_controller memory
  policy '[cgroup]\nmemory = "64M"\npids = 32'
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- /bin/sh -c '
    cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max
    grep " /sys/fs/cgroup " /proc/self/mountinfo | cut -d" " -f4,6,9
    find /sys/fs/cgroup -mindepth 1 -type d | wc -l'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 67108864 ]
  [ "${lines[1]}" = 32 ]
  [[ "${lines[2]}" == "/ ro,"*" cgroup2" ]]
  [ "${lines[3]}" = 0 ]
}
