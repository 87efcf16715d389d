# Helpers for the agent's integration tests (agent.bats): an agent on a
# scratch state directory and socket, stopped, killed and cleaned up.
# Load after helpers (common_setup makes $T):
#
#   load helpers
#   load agent_helpers
#   setup() { common_setup; agent_setup; }
#   teardown() { agent_cleanup; common_teardown; }
#
#   agent_start                      # waits until it answers
#   id=$("$W" submit --socket "$AGENT_SOCK" -- true)
#   agent_kill9; agent_start         # a crash and a restart
#   agent_stop                       # SIGTERM; $AGENT_STATUS is its exit status
#
# Everything lives under $T/agent: the state directory, the socket, the
# config, the launcher's leases and caches, and the agent's log
# ($AGENT_LOG, shown when it fails to start). agent_cleanup removes what
# the agent and its monitors made outside it: it kills the monitors (their
# jobs die with them) and removes the cgroups that appeared under this
# shell's own cgroups while the test ran.

# agent_setup: names the scratch paths (nothing runs yet) and notes the
# cgroups that exist now, so that cleanup removes only those made after.
agent_setup() {
  AGENT_DIR=$T/agent
  AGENT_STATE=$AGENT_DIR/state
  AGENT_SOCK=$AGENT_DIR/agent.sock
  AGENT_CONF=$AGENT_DIR/agent.toml
  AGENT_LOG=$AGENT_DIR/agent.log
  AGENT_PID=
  AGENT_STATUS=
  mkdir -p "$AGENT_DIR"
  agent_cgroup_dirs | sort >"$AGENT_DIR/cgroups.before"
}

# agent_config [TOML...]: writes $AGENT_CONF for the scratch paths; each
# argument is one more line of TOML ("[scheduler]", "max_running = 2"),
# appended as given. agent_start writes the default one when none exists.
agent_config() {
  {
    echo '[agent]'
    echo "state_dir = \"$AGENT_STATE\""
    echo "socket = \"$AGENT_SOCK\""
    echo 'group = ""'
    echo '[launcher]'
    echo "launcher_state_dir = \"$AGENT_DIR/run\""
    echo "cache_dir = \"$AGENT_DIR/cache\""
    echo "policy_dir = \"$WARDEN_POLICY_DIR\""
    echo "net_state_dir = \"$AGENT_DIR/run/net\""
    echo "uid_state_dir = \"$AGENT_DIR/run/uid\""
    local line
    for line in "$@"; do echo "$line"; done
  } >"$AGENT_CONF"
}

# agent_start [ARGS...]: starts `warden agent` in the background on the
# scratch paths (ARGS added), and returns once it answers a request
# (agent_wait_ready). AGENT_PID is its pid.
agent_start() {
  [ -n "${AGENT_DIR:-}" ] || { echo "agent_start: call agent_setup first"; return 1; }
  [ -z "${AGENT_PID:-}" ] || { echo "agent_start: an agent runs already ($AGENT_PID)"; return 1; }
  [ -f "$AGENT_CONF" ] || agent_config
  # fd 3 is bats' own: a background process that holds it keeps bats waiting.
  "$W" agent --state-dir "$AGENT_STATE" --socket "$AGENT_SOCK" --config "$AGENT_CONF" "$@" \
    >>"$AGENT_LOG" 2>&1 3>&- &
  AGENT_PID=$!
  AGENT_STATUS=
  agent_wait_ready
}

# agent_wait_ready: polls `warden list` until the agent answers. Fails (and
# shows the agent's log) when the agent exits first, or after 60 s: a hang
# guard, not a timing assertion; the wait ends when the agent answers.
agent_wait_ready() {
  local _
  for _ in $(seq 600); do
    if ! kill -0 "$AGENT_PID" 2>/dev/null; then
      AGENT_STATUS=0
      wait "$AGENT_PID" || AGENT_STATUS=$?
      AGENT_PID=
      echo "the agent exited ($AGENT_STATUS) before it answered; its log:"
      cat "$AGENT_LOG"
      return 1
    fi
    "$W" list --socket "$AGENT_SOCK" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the agent ($AGENT_PID) did not answer on $AGENT_SOCK within 60 s; its log:"
  cat "$AGENT_LOG"
  return 1
}

# agent_stop: SIGTERM, then waits for the agent to exit; AGENT_STATUS is
# its exit status. Running jobs keep running (their monitors outlive it).
agent_stop() {
  [ -n "${AGENT_PID:-}" ] || return 0
  kill -TERM "$AGENT_PID" 2>/dev/null || true
  AGENT_STATUS=0
  wait "$AGENT_PID" || AGENT_STATUS=$?
  AGENT_PID=
}

# agent_kill9: SIGKILL, as a crash; the monitors and their jobs go on.
agent_kill9() {
  [ -n "${AGENT_PID:-}" ] || return 0
  kill -KILL "$AGENT_PID" 2>/dev/null || true
  AGENT_STATUS=0
  wait "$AGENT_PID" || AGENT_STATUS=$?
  AGENT_PID=
}

# agent_monitor_pids: the pids of `warden monitor` processes of this
# agent's state directory (its argument list names it).
agent_monitor_pids() {
  local p args
  for p in /proc/[0-9]*; do
    args=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    case " $args" in
      *" monitor $AGENT_STATE "*) echo "${p#/proc/}" ;;
    esac
  done
  true
}

# agent_cgroup_dirs: every cgroup directory below this shell's own, in each
# hierarchy (v1 controllers and the v2 tree), one path a line.
agent_cgroup_dirs() {
  local line ctrl path dir
  while IFS= read -r line; do
    ctrl=${line#*:}
    path=${ctrl#*:}
    ctrl=${ctrl%%:*}
    case $ctrl in
      "") dir=/sys/fs/cgroup/unified$path; [ -d "$dir" ] || dir=/sys/fs/cgroup$path ;;
      name=*) dir=/sys/fs/cgroup/${ctrl#name=}$path ;;
      *) dir=/sys/fs/cgroup/$ctrl$path; [ -d "$dir" ] || dir=/sys/fs/cgroup/${ctrl%%,*}$path ;;
    esac
    [ -d "$dir" ] && find "$dir" -mindepth 1 -type d -name 'warden-*' 2>/dev/null
  done </proc/self/cgroup
  true
}

# agent_cleanup: for teardown, after a pass or a failure alike. Kills the
# agent if it runs, then its monitors (their jobs die with them: the
# parent-death signal), waits until they are gone, kills what is left in
# the warden cgroups that appeared since agent_setup and removes them
# (deepest first), and collects leases and interfaces with `warden gc`.
# Fails (after cleaning up all it can) when something could not be
# removed, naming it.
agent_cleanup() {
  [ -n "${AGENT_DIR:-}" ] || return 0
  local left= pid cg _ procs
  agent_kill9
  for pid in $(agent_monitor_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  for _ in $(seq 300); do
    [ -z "$(agent_monitor_pids)" ] && break
    sleep 0.1
  done
  [ -z "$(agent_monitor_pids)" ] || left+=" monitors:$(agent_monitor_pids | tr '\n' ' ')"
  agent_cgroup_dirs | sort >"$AGENT_DIR/cgroups.after"
  # Longest paths first: children before their parents.
  for cg in $(comm -13 "$AGENT_DIR/cgroups.before" "$AGENT_DIR/cgroups.after" | awk '{ print length, $0 }' |
              sort -rn | cut -d' ' -f2-); do
    for _ in $(seq 100); do
      procs=$(cat "$cg/cgroup.procs" 2>/dev/null)
      for pid in $procs; do kill -KILL "$pid" 2>/dev/null || true; done
      rmdir "$cg" 2>/dev/null && break
      [ -d "$cg" ] || break
      sleep 0.1
    done
    [ -d "$cg" ] && left+=" cgroup:$cg"
  done
  WARDEN_NET_DIR=$AGENT_DIR/run/net WARDEN_UID_DIR=$AGENT_DIR/run/uid \
    "$W" gc >"$AGENT_DIR/gc.log" 2>&1 || true
  AGENT_DIR=
  [ -z "$left" ] || { echo "agent_cleanup could not remove:$left"; return 1; }
}
