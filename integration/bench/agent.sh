#!/usr/bin/env bash
# The agent's figures (issue "warden agent"), each measured in this run:
#
#   agent_submit_per_s_64     durable submits acknowledged per second from 64
#                             concurrent clients (agent_bench submit: one
#                             connection each, back to back, for 3 s), with
#                             the scheduler held (`--hold`): nothing starts,
#                             so this is the API, the WAL's group commit and
#                             its fdatasync. Target >= 20000.
#   agent_vs_run_jobs_per_s   /bin/true jobs completed per second through the
#                             agent (`warden submit --wait`, 4 clients, each a
#                             process per job like xargs') / through `warden
#                             run` under `xargs -P4`, same count, same policy,
#                             same run. Target >= 0.9.
#   agent_recovery_100k_ms    exec to READY=1 of an agent whose state holds
#                             100,000 finished and 1,000 queued jobs (written
#                             by agent_bench fill, then checkpointed by one
#                             start and clean stop of the agent, as a
#                             long-running agent would have). Held, so that
#                             the queued jobs do not start. Target < 100.
#   agent_readopt_200_ms      exec to READY=1 of an agent restarted after
#                             SIGKILL while 200 jobs run (`sleep`): every one
#                             re-adopted. Target < 100.
#   monitor_private_kib       Private_Dirty (smaps_rollup) plus page tables
#                             (VmPTE) of one running job's monitor.
#                             Target <= 512.
#
#   integration/bench/agent.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
W="$root/$build/warden"
bench="$root/$build/bench/agent_bench"
notify="$root/integration/progs/notify_run.py"
for f in "$W" "$root/$build/warden-agent" "$bench"; do
  [ -x "$f" ] || { echo "agent.sh: $f missing; run 'make BUILD=$build all benchbins'" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "agent.sh: needs root (the agent runs jobs)" >&2; exit 1; }

T=$(mktemp -d /tmp/warden-agent-bench.XXXXXX)
AGENT_PID=
cleanup() {
  if [ -n "$AGENT_PID" ]; then kill -9 "$AGENT_PID" 2>/dev/null || true; fi
  if mountpoint -q "$T/s3" 2>/dev/null; then umount "$T/s3"; fi
  local m
  for m in "$T"/*/jobs/*/monitor; do
    [ -f "$m" ] && kill -9 "$(cut -d' ' -f1 "$m")" 2>/dev/null || true
  done
  "$W" gc >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT

config() {  # config FILE [TOML LINES...]
  local f=$1; shift
  {
    echo '[agent]'; echo 'group = ""'
    echo '[launcher]'
    echo "state_dir = \"$T/run\""; echo "cache_dir = \"$T/cache\""
    echo "policy_dir = \"$root/policies\""
    printf '%s\n' "$@"
  } >"$f"
}

# start STATE SOCKET CONFIG [ARGS...]: starts an agent; sets AGENT_PID and
# READY_MS, the milliseconds from its exec to READY=1.
start() {
  local out
  out=$(python3 "$notify" "$T/agent.log" -- "$root/$build/warden-agent" --state-dir "$1" \
    --socket "$2" --config "$3" "${@:4}") || { echo "agent.sh: agent did not start: $out" >&2; cat "$T/agent.log" >&2; exit 1; }
  AGENT_PID=${out%% *}
  READY_MS=${out#* }
}
stop() {  # stop [SIGNAL]
  kill "-${1:-TERM}" "$AGENT_PID"
  timeout 60 tail --pid="$AGENT_PID" -s 0.02 -f /dev/null
  AGENT_PID=
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }

mkdir -p "$T/run" "$T/cache"

# --- submits per second, 64 clients, held scheduler
config "$T/submit.toml" '[limits]' 'max_queued = 1000000' 'max_queued_per_uid = 1000000' \
  'max_connections_per_uid = 256'
start "$T/s1" "$T/s1.sock" "$T/submit.toml" --hold
line=$("$bench" submit "$T/s1.sock" 64 3)
echo "agent_bench: $line"
stop
echo "BENCH agent_submit_per_s_64=$(echo "$line" | sed -n 's/.*per_s=\([0-9.]*\).*/\1/p')"

# --- jobs per second: agent vs warden run, 4 at a time
n=${BENCH_AGENT_JOBS:-200}
config "$T/jobs.toml" '[scheduler]' 'max_running = 4'
start "$T/s2" "$T/s2.sock" "$T/jobs.toml"
export WARDEN_CACHE_DIR=$T/cache WARDEN_POLICY_DIR=$root/policies
# One warm-up of each path, so that the seccomp cache and page cache are warm for both.
"$W" submit --socket "$T/s2.sock" --policy default --wait -- /bin/true >/dev/null
"$W" run --policy default -- /bin/true
t0=$(date +%s.%N)
seq "$n" | xargs -P4 -I{} "$W" submit --socket "$T/s2.sock" --policy default --wait -- /bin/true >/dev/null
t1=$(date +%s.%N)
seq "$n" | xargs -P4 -I{} "$W" run --policy default -- /bin/true
t2=$(date +%s.%N)
stop
agent_rate=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
run_rate=$(awk -v n="$n" -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", n / (b - a) }')
echo "agent.sh: $n jobs: agent $agent_rate/s, warden run $run_rate/s"
echo "BENCH agent_jobs_per_s=$agent_rate"
echo "BENCH run_jobs_per_s=$run_rate"
echo "BENCH agent_vs_run_jobs_per_s=$(ratio "$agent_rate" "$run_rate")"

# --- recovery with 100,000 finished and 1,000 queued jobs
config "$T/rec.toml"
# On a tmpfs of its own: making and removing 100,000 job directories on the
# host's file system again and again (every run) makes ext4's inode
# allocator slow for minutes, which is not what this measures. The figure
# is CPU-bound either way (the files are in the page cache).
mkdir -m 0700 "$T/s3"
mount -t tmpfs -o size=2g,mode=0700 warden-agent-bench "$T/s3"
"$bench" fill "$T/s3" "${BENCH_AGENT_FINISHED:-100000}" "${BENCH_AGENT_QUEUED:-1000}"
start "$T/s3" "$T/s3.sock" "$T/rec.toml" --hold   # replays the records, checkpoints at stop
stop
sync
start "$T/s3" "$T/s3.sock" "$T/rec.toml" --hold
ms=$READY_MS
stop
grep 'recovery:' "$T/agent.log" | tail -1 | sed 's/^/agent.sh: /'
echo "BENCH agent_recovery_100k_ms=$ms"

# --- re-adoption of 200 running jobs, and a monitor's memory
config "$T/adopt.toml" '[scheduler]' 'max_running = 200'
start "$T/s4" "$T/s4.sock" "$T/adopt.toml"
for i in $(seq 200); do
  "$W" submit --socket "$T/s4.sock" --policy default -- /bin/sleep 600 >/dev/null
done
# Every job running: its monitor has written its identity and `began`.
for _ in $(seq 1200); do
  r=$("$W" list --socket "$T/s4.sock" --state running --json | jq length)
  [ "$r" -ge 200 ] && break
  sleep 0.1
done
echo "agent.sh: $r jobs running"
mon=$(cut -d' ' -f1 "$(ls "$T"/s4/jobs/*/monitor | head -1)")
kib=$(awk '/^Private_Dirty:/ { d = $2 } END { print d }' "/proc/$mon/smaps_rollup")
pte=$(awk '/^VmPTE:/ { print $2 }' "/proc/$mon/status")
echo "agent.sh: monitor $mon: Private_Dirty ${kib} KiB, VmPTE ${pte} KiB, $(awk '/^VmRSS:/ { print $2 }' "/proc/$mon/status") KiB RSS"
stop KILL
start "$T/s4" "$T/s4.sock" "$T/adopt.toml"
ms=$READY_MS
grep 'recovery:' "$T/agent.log" | tail -1 | sed 's/^/agent.sh: /'
echo "BENCH agent_readopt_200_ms=$ms"
echo "BENCH monitor_private_kib=$((kib + pte))"
for id in $("$W" list --socket "$T/s4.sock" --state running --json | jq -r '.[].job_id'); do
  "$W" kill --socket "$T/s4.sock" "$id" >/dev/null
done
for id in $("$W" list --socket "$T/s4.sock" --json | jq -r '.[].job_id'); do
  "$W" wait --socket "$T/s4.sock" "$id" >/dev/null || true
done
stop
