#!/usr/bin/env bats
# warden agent: the daemon, its API and CLI clients, and its promises
# (DESIGN.md invariants 2-4): acknowledged jobs are durable, no job runs
# twice or is lost, jobs outlive the agent and are re-adopted, nothing leaks.
# Every test runs its own agent on a scratch state directory and socket.

load helpers

A=${WARDEN_AGENT_BIN:-$BATS_TEST_DIRNAME/../build/warden-agent}

setup() {
  common_setup
  [ -x "$A" ] || skip "agent binary $A not built (run make)"
  chmod 755 "$T"
  S=$T/agent.sock
  ST=$T/state
  mkdir -p "$T/shared" "$T/cache" "$T/run"
  chmod 777 "$T/shared"
  write_config
  AGENT_PID=
}

teardown() {
  stop_agent_hard
  # Monitors of jobs still running (a failed test): kill them and what
  # they run, then let gc remove their cgroups and leases.
  local m
  for m in "$ST"/jobs/*/monitor; do
    [ -f "$m" ] || continue
    kill -9 "$(cut -d' ' -f1 "$m")" 2>/dev/null || true
  done
  "$W" gc >/dev/null 2>&1 || true
  if mountpoint -q "$ST" 2>/dev/null; then umount "$ST"; fi
  common_teardown
}

# write_config [EXTRA TOML...]: the agent's configuration for this test.
write_config() {
  {
    echo '[agent]'
    echo 'group = ""'
    echo '[launcher]'
    echo "state_dir = \"$T/run\""
    echo "cache_dir = \"$T/cache\""
    echo "policy_dir = \"$(cd "$BATS_TEST_DIRNAME/../policies" && pwd)\""
    echo '[monitor]'
    echo 'heartbeat_interval = "100ms"'
    echo 'hung_after = "2s"'
    printf '%s\n' "$@"
  } >"$T/agent.toml"
}

# start_agent [ENV=VALUE...]: starts the agent and returns once it sent
# READY=1 (integration/progs/notify_run.py), with AGENT_PID set.
start_agent() {
  local out
  out=$(env "$@" python3 "$PROGS/notify_run.py" "$T/agent.log" -- \
    "$W" agent --state-dir "$ST" --socket "$S" --config "$T/agent.toml" 3>&-) || {
    echo "agent did not start: $out"; cat "$T/agent.log"; return 1; }
  AGENT_PID=${out%% *}
}

# wait_pid_gone PID: waits for PID to exit (tail polls it; 60 s hang guard).
wait_pid_gone() {
  timeout 60 tail --pid="$1" -s 0.05 -f /dev/null
}

stop_agent() {
  [ -n "$AGENT_PID" ] || return 0
  kill -TERM "$AGENT_PID"
  wait_pid_gone "$AGENT_PID"
  AGENT_PID=
}

stop_agent_hard() {
  [ -n "${AGENT_PID:-}" ] || return 0
  kill -9 "$AGENT_PID" 2>/dev/null || true
  wait_pid_gone "$AGENT_PID" || true
  AGENT_PID=
}

wa() { "$W" "$1" --socket "$S" "${@:2}"; }

# job_state ID: the job's state from `warden status --json`.
job_state() { wa status "$1" --json | jq -r .state; }

@test "agent: submit, status, list, wait, logs and kill through the CLI" {
  start_agent
  run wa submit --json -- /bin/sh -c 'echo out-line; echo err-line >&2; exit 3'
  [ "$status" -eq 0 ]
  id=$(echo "$output" | jq -r .job_id)
  [[ "$id" =~ ^j[0-9a-f]{12}$ ]]
  run wa wait "$id"
  [ "$status" -eq 3 ]
  [ "$(job_state "$id")" = exited ]
  [ "$(wa status "$id" --json | jq -r .result.job_exit_code)" = 3 ]
  run wa logs "$id"
  [ "$output" = out-line ]
  run wa logs "$id" --stderr
  [ "$output" = err-line ]
  run wa list --json
  [ "$(echo "$output" | jq -r '.[].job_id')" = "$id" ]
  # kill: a running job dies of the signal asked for.
  id2=$(wa submit --json -- /bin/sh -c 'echo ready; exec sleep 600' | jq -r .job_id)
  for _ in $(seq 600); do [ "$(wa logs "$id2")" = ready ] && break; sleep 0.1; done
  run wa kill "$id2" -s TERM
  [ "$status" -eq 0 ]
  run wa wait "$id2"
  [ "$status" -eq 143 ]
  [ "$(job_state "$id2")" = signaled ]
  # submit --wait exits by warden run's exit contract.
  run wa submit --wait -- /bin/sh -c 'exit 7'
  [ "$status" -eq 7 ]
  run wa status j000000ffffff
  [ "$status" -eq 125 ]
  [[ "$output" == *"not found"* || "$output" == *"no job"* ]]
}

@test "agent: a queued job is cancelled by kill and never runs" {
  write_config '[scheduler]' 'hold = true'
  start_agent
  id=$(wa submit --json --bind "$T/shared" /shared -- /bin/sh -c 'echo ran >> /shared/ledger' | jq -r .job_id)
  [ "$(job_state "$id")" = queued ]
  wa kill "$id"
  run wa wait "$id"
  [ "$status" -eq 143 ]
  [ "$(job_state "$id")" = cancelled ]
  [ ! -e "$T/shared/ledger" ]
}

@test "agent: the same idempotency key gives the same job, also after a restart" {
  start_agent
  a=$(wa submit --json --idempotency-key k1 -- /bin/true | jq -r .job_id)
  b=$(wa submit --json --idempotency-key k1 -- /bin/true | jq -r .job_id)
  [ "$a" = "$b" ]
  c=$(wa submit --json --idempotency-key k2 -- /bin/true | jq -r .job_id)
  [ "$a" != "$c" ]
  stop_agent_hard
  start_agent
  d=$(wa submit --json --idempotency-key k1 -- /bin/true | jq -r .job_id)
  [ "$a" = "$d" ]
  [ "$(wa list --json | jq length)" -eq 2 ]
}

@test "agent: a second agent on the same state exits 125 and names the holder" {
  start_agent
  run "$W" agent --state-dir "$ST" --socket "$T/other.sock" --config "$T/agent.toml"
  [ "$status" -eq 125 ]
  [[ "$output" == *"pid $AGENT_PID"* ]]
}

@test "agent: a bad configuration key is exit 125 with file:line:col" {
  printf '[agent]\nstate_dri = "/x"\n' >"$T/bad.toml"
  run "$W" agent --state-dir "$ST" --socket "$S" --config "$T/bad.toml"
  [ "$status" -eq 125 ]
  [[ "$output" == *"bad.toml:2:"* ]]
  [[ "$output" == *state_dri* ]]
}

@test "agent: a client with no agent gets one line that says how to start it" {
  run "$W" list --socket "$T/none.sock"
  [ "$status" -eq 125 ]
  [[ "$output" == *"warden agent"* ]]
  [ "${#lines[@]}" -eq 1 ]
}

@test "agent: SIGTERM exits 0 and leaves running jobs running; a restart re-adopts them" {
  start_agent
  id=$(wa submit --json --bind "$T/shared" /shared -- /bin/sh -c \
    'echo up > /shared/up; while [ ! -e /shared/go ]; do sleep 0.05; done; exit 5' | jq -r .job_id)
  for _ in $(seq 600); do [ -e "$T/shared/up" ] && break; sleep 0.1; done
  [ -e "$T/shared/up" ]
  pid=$AGENT_PID
  kill -TERM "$pid"
  wait_pid_gone "$pid"
  AGENT_PID=
  grep -q 'stopping' "$T/agent.log"
  mon=$(cut -d' ' -f1 "$ST/jobs/$id/monitor")
  kill -0 "$mon"
  start_agent
  [ "$(job_state "$id")" = running ]
  touch "$T/shared/go"
  run wa wait "$id"
  [ "$status" -eq 5 ]
}

@test "agent: 20 running jobs survive SIGKILL of the agent and end with their own exit codes" {
  write_config '[scheduler]' 'max_running = 20'
  # Each job runs as a uid of its own: the ledger is everyone's.
  install -m 0666 /dev/null "$T/shared/ledger"
  start_agent
  declare -a ids
  for i in $(seq 0 19); do
    ids[$i]=$(wa submit --json --bind "$T/shared" /shared -- /bin/sh -c \
      'echo "$0" >> /shared/ledger; while [ ! -e /shared/go ]; do sleep 0.05; done; exit $(( $0 % 4 ))' "$i" |
      jq -r .job_id)
  done
  # Every job has begun (its ledger line), then the agent dies.
  for _ in $(seq 1200); do [ "$(wc -l <"$T/shared/ledger" 2>/dev/null || echo 0)" -ge 20 ] && break; sleep 0.1; done
  [ "$(wc -l <"$T/shared/ledger")" -eq 20 ]
  kill -9 "$AGENT_PID"
  wait_pid_gone "$AGENT_PID"
  AGENT_PID=
  start_agent
  # Every one of the 20 re-adopted (the recovery report's count).
  grep -q 're-adopt [0-9]* us adopted=20 ' "$T/agent.log"
  touch "$T/shared/go"
  for i in $(seq 0 19); do
    run wa wait "${ids[$i]}"
    [ "$status" -eq $((i % 4)) ]
  done
  # No id twice, none missing.
  [ "$(sort -n "$T/shared/ledger" | uniq | wc -l)" -eq 20 ]
  [ "$(wc -l <"$T/shared/ledger")" -eq 20 ]
}

@test "agent: a monitor SIGKILLed makes its job lost, its sandbox gone, nothing left" {
  start_agent
  tag=$((600000 + RANDOM))
  id=$(wa submit --json --bind "$T/shared" /shared -- /bin/sh -c "echo up > /shared/up; exec sleep $tag" | jq -r .job_id)
  for _ in $(seq 600); do [ -s "$ST/jobs/$id/monitor" ] && [ -s "$T/shared/up" ] && break; sleep 0.1; done
  mon=$(cut -d' ' -f1 "$ST/jobs/$id/monitor")
  pgrep -f "^sleep $tag\$" >/dev/null
  cgroups_before=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "warden-*-$id" 2>/dev/null | wc -l)
  [ "$cgroups_before" -gt 0 ]
  kill -9 "$mon"
  run wa wait "$id"
  [ "$status" -eq 125 ]
  [ "$(job_state "$id")" = lost ]
  [[ "$(wa status "$id" --json | jq -r .reason)" == *monitor* ]]
  # The sandbox died with its monitor (60 s hang guard).
  for _ in $(seq 600); do pgrep -f "^sleep $tag\$" >/dev/null || break; sleep 0.1; done
  # (`run` and its status: a bare `! cmd` cannot fail a bats test)
  run pgrep -f "^sleep $tag\$"
  [ "$status" -eq 1 ]
  # What the dead monitor's sandbox had (its cgroups) goes too, once the
  # sandbox is gone (60 s hang guard).
  for _ in $(seq 600); do
    [ "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "warden-*-$id" 2>/dev/null | wc -l)" -eq 0 ] && break
    sleep 0.1
  done
  [ "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "warden-*-$id" 2>/dev/null | wc -l)" -eq 0 ]
}

@test "agent: recover-only prints the recovery report with every phase" {
  start_agent
  wa submit --wait -- /bin/true
  stop_agent
  run sh -c '"$0" agent --state-dir "$1" --socket "$2" --config "$3" --recover-only --json 2>/dev/null' \
    "$W" "$ST" "$S" "$T/agent.toml"
  [ "$status" -eq 0 ]
  for phase in lock checkpoint "wal replay" re-adopt "collect results" "orphan scan" requeue; do
    echo "$output" | jq -e --arg p "$phase" '.phases | map(.name) | index($p) != null'
  done
}

@test "agent: a non-root client may not bind what it cannot open, nor touch another uid's job" {
  sed -i 's/^group = ""$/group = "nogroup"\nsocket_mode = "0666"/' "$T/agent.toml"
  start_agent
  mkdir -m 0700 "$T/private"
  run runuser -u nobody -- "$W" submit --socket "$S" --bind "$T/private" /p -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"$T/private"* ]]
  id=$(wa submit --json -- /bin/true | jq -r .job_id)
  run runuser -u nobody -- "$W" status --socket "$S" "$id"
  [ "$status" -eq 125 ]
  [[ "$output" == *"uid 0"* || "$output" == *"belongs"* ]]
  # It may tighten the policy's limits, never loosen them.
  run runuser -u nobody -- "$W" submit --socket "$S" --memory 4G -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"--memory"*"only tighten"* ]]
  run runuser -u nobody -- "$W" submit --socket "$S" --pids 100000 -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"--pids"*"only tighten"* ]]
  # And its own jobs work, with a tighter limit too.
  run runuser -u nobody -- "$W" submit --socket "$S" --memory 256M --wait -- /bin/sh -c 'exit 4'
  [ "$status" -eq 4 ]
}

@test "agent: malformed, unknown, truncated and oversized frames get their errors; the agent serves on" {
  start_agent
  raw() { python3 "$PROGS/agent_raw.py" "$S" "$@"; }
  run raw garbage
  [ "${lines[0]}" = "ok 4" ]
  [ "${lines[1]}" = "error BAD_REQUEST" ]
  [ "${lines[2]}" = "ok 12" ]
  run raw empty
  [ "${lines[1]}" = "error BAD_REQUEST" ]
  [ "${lines[2]}" = "ok 12" ]
  run raw oversized
  [ "${lines[1]}" = "error TOO_LARGE" ]
  [ "${lines[2]}" = "closed" ]
  run raw truncated
  [ "$status" -eq 0 ]
  run raw nohello
  [ "${lines[0]}" = "error BAD_REQUEST" ]
  [ "${lines[1]}" = "closed" ]
  run raw badversion
  [ "${lines[0]}" = "error VERSION_MISMATCH" ]
  run raw hello
  [ "${lines[1]}" = "ok 12" ]
  run wa submit --wait -- /bin/true
  [ "$status" -eq 0 ]
}

@test "agent: 1000 connections at once: the limit's error for the rest, then the next client is served" {
  write_config '[limits]' 'max_connections = 256' 'max_connections_per_uid = 256'
  start_agent
  run python3 "$PROGS/agent_raw.py" "$S" conns 1000
  [ "$status" -eq 0 ]
  [ "$output" = "served 256 refused 744 other 0" ]
  run python3 "$PROGS/agent_raw.py" "$S" hello
  [ "${lines[1]}" = "ok 12" ]
}

@test "agent: a uid that is neither root nor in the agent's group is refused with its error" {
  sed -i 's/^group = ""$/group = ""\nsocket_mode = "0666"/' "$T/agent.toml"
  start_agent
  run runuser -u nobody -- python3 "$PROGS/agent_raw.py" "$S" hello
  [ "${lines[0]}" = "error UNAUTHORIZED" ]
  run python3 "$PROGS/agent_raw.py" "$S" hello
  [ "${lines[1]}" = "ok 12" ]
}

# crash_cycle POINT: the agent is SIGKILLed at POINT while it handles one
# job; the client then retries its submit with the same key against a
# restarted agent. The job runs exactly once and ends with its own status.
crash_cycle() {
  local point=$1 key=k-$1 id
  install -m 0666 /dev/null "$T/shared/ledger"
  start_agent "WARDEN_FAULT=$point"
  wa submit --json --idempotency-key "$key" --bind "$T/shared" /shared -- \
    /bin/sh -c 'echo "$0" >> /shared/ledger; exit 3' "$point" >"$T/submit.out" 2>&1 || true
  # The point lies on this job's path: the agent dies there.
  wait_pid_gone "$AGENT_PID"
  AGENT_PID=
  start_agent
  id=$(wa submit --json --idempotency-key "$key" --bind "$T/shared" /shared -- \
    /bin/sh -c 'echo "$0" >> /shared/ledger; exit 3' "$point" | jq -r .job_id)
  run wa wait "$id"
  echo "point $point: wait gave $status ($output); ledger: $(cat "$T/shared/ledger" 2>/dev/null)"
  [ "$status" -eq 3 ]
  [ "$(grep -c "^$point\$" "$T/shared/ledger")" -eq 1 ]
  stop_agent
}

@test "agent: SIGKILL at every crash point of submit, start and exit loses and duplicates nothing" {
  for point in agent.submit.before_append agent.submit.after_durable \
    agent.start.after_starting agent.start.after_spawn agent.start.after_running \
    agent.exit.before_record agent.exit.after_record; do
    crash_cycle "$point"
  done
}

@test "agent: ENOSPC on the WAL refuses submits, keeps serving reads, loses nothing acknowledged" {
  mkdir "$ST"
  mount -t tmpfs -o size=4m,mode=0700 warden-agent-test "$ST" || skip "cannot mount a tmpfs here"
  write_config '[wal]' 'segment_bytes = 65536' '[scheduler]' 'hold = true'
  start_agent
  ids=()
  refused=0
  for i in $(seq 3000); do
    if out=$(wa submit --json --label n="$i" -- /bin/true 2>&1); then
      ids+=("$(echo "$out" | jq -r .job_id)")
    else
      refused=1
      echo "$out" | grep -qi 'space' || { echo "refused for another reason: $out"; false; }
      break
    fi
    # Fill the disk once some jobs are in.
    [ "$i" -eq 20 ] && { dd if=/dev/zero of="$ST/filler" bs=64k 2>/dev/null || true; }
  done
  [ "$refused" -eq 1 ]
  # Reads still work, and every acknowledged job is there.
  for id in "${ids[@]}"; do
    wa status "$id" --json >/dev/null
  done
  stop_agent_hard
  rm -f "$ST/filler"
  start_agent
  for id in "${ids[@]}"; do
    s=$(job_state "$id")
    [ -n "$s" ]
  done
  stop_agent
  umount "$ST"
}

@test "agent: a monitor that stops beating while it lives is killed and its job is lost: monitor hung" {
  start_agent
  tag=$((600000 + RANDOM))
  id=$(wa submit --json --bind "$T/shared" /shared -- /bin/sh -c "echo up > /shared/up; exec sleep $tag" | jq -r .job_id)
  for _ in $(seq 600); do [ -s "$ST/jobs/$id/monitor" ] && [ -s "$T/shared/up" ] && break; sleep 0.1; done
  mon=$(cut -d' ' -f1 "$ST/jobs/$id/monitor")
  pgrep -f "^sleep $tag\$" >/dev/null
  # Stopped, the monitor lives but beats no more (hung_after is 2 s here).
  kill -STOP "$mon"
  run wa wait "$id"
  [ "$status" -eq 125 ]
  [ "$(job_state "$id")" = lost ]
  [[ "$(wa status "$id" --json | jq -r .reason)" == *"monitor hung"* ]]
  wait_pid_gone "$mon"
  # The sandbox died with its monitor (60 s hang guard).
  for _ in $(seq 600); do pgrep -f "^sleep $tag\$" >/dev/null || break; sleep 0.1; done
  # (`run` and its status: a bare `! cmd` cannot fail a bats test)
  run pgrep -f "^sleep $tag\$"
  [ "$status" -eq 1 ]
}

@test "agent: WAL damage in the middle of a segment stops the agent with the segment, offset and repair command" {
  write_config '[scheduler]' 'hold = true'
  start_agent
  for i in $(seq 30); do wa submit --label n="$i" -- /bin/true >/dev/null; done
  # Killed: a clean stop would checkpoint and start an empty segment.
  stop_agent_hard
  seg=$(ls "$ST"/wal/wal-*.log | tail -1)
  # Damage a record of an early batch: later acknowledged batches follow it.
  printf 'XXXXXXXX' | dd of="$seg" bs=1 seek=200 conv=notrunc 2>/dev/null
  # (timeout: an agent that wrongly starts would serve for ever)
  run timeout 60 "$W" agent --state-dir "$ST" --socket "$S" --config "$T/agent.toml"
  [ "$status" -eq 125 ]
  [[ "$output" == *"$(basename "$seg")"* ]]
  [[ "$output" == *"--repair"* ]]
  run "$W" agent --state-dir "$ST" --socket "$S" --config "$T/agent.toml" --repair
  [ "$status" -eq 0 ]
  ls "$ST/wal/quarantine" | grep -q .
  start_agent
  wa list --json >/dev/null
}
