#!/usr/bin/env bats
# warden run: isolation, privilege, seccomp, process model, exit contract.

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() {
  if [ -n "${RUN_PID:-}" ]; then kill -9 "$RUN_PID" 2>/dev/null || true; fi
  common_teardown
}

@test "run: writes to /, /usr and /etc fail; /tmp is writable" {
  run "$W" run -- /bin/sh -c 'for d in / /usr /etc; do touch $d/warden-probe 2>/dev/null && echo "WROTE $d"; done; echo x > /tmp/f && cat /tmp/f'
  [ "$status" -eq 0 ]
  [[ "$output" != *WROTE* ]]
  [[ "$output" == *x* ]]
  [ ! -e /warden-probe ] && [ ! -e /usr/warden-probe ] && [ ! -e /etc/warden-probe ]
}

@test "run: the /tmp size limit holds" {
  run "$W" run -- /bin/sh -c 'dd if=/dev/zero of=/tmp/big bs=1M count=100 2>&1; echo rc=$?'
  [[ "$output" == *"No space left on device"* ]]
  [[ "$output" == *"rc=1"* ]]
}

@test "run: every mount is nosuid and nodev (device binds excepted), root read-only" {
  run "$W" run -- /bin/cat /proc/self/mountinfo
  [ "$status" -eq 0 ]
  # Fields: 5 = mount point, 6 = per-mount options.
  bad=$(echo "$output" | awk '$5 !~ /^\/dev\/(null|zero|full|random|urandom|tty)$/ && ($6 !~ /nosuid/ || $6 !~ /nodev/) {print $5}' | grep -v '^/dev/pts$' || true)
  [ -z "$bad" ] || { echo "mounts without nosuid/nodev: $bad"; false; }
  root=$(echo "$output" | awk '$5 == "/" {print $6}' | tail -1)
  [[ "$root" == ro,* ]]
}

@test "run: capability sets are empty, no_new_privs, seccomp filter, non-root ids" {
  run "$W" run -- /bin/sh -c 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status; id -u; id -g; id -G'
  [ "$status" -eq 0 ]
  for c in CapInh CapPrm CapEff CapBnd CapAmb; do
    echo "$output" | grep -qE "^$c:[[:space:]]+0000000000000000$"
  done
  echo "$output" | grep -qE '^NoNewPrivs:[[:space:]]+1$'
  echo "$output" | grep -qE '^Seccomp:[[:space:]]+2$'
  # A uid/gid of the job's own from WARDEN_UID_RANGE (integration/uid_lease.bats).
  [ "${lines[7]}" -ge 2000000 ]
  [ "${lines[7]}" -le 2065535 ]
  [ "${lines[8]}" = "${lines[7]}" ]
  [ "${lines[9]}" = "${lines[7]}" ]
}

@test "run: host processes are invisible and cannot be signalled" {
  sleep 30 & victim=$!
  run "$W" run -- /bin/sh -c "ls /proc | grep -cE '^[0-9]+\$'; kill -0 $victim 2>&1 || echo cannot-signal; kill -TERM 1 2>&1 || echo cannot-signal-init"
  kill $victim
  [ "$status" -eq 0 ]
  [ "${lines[0]}" -le 4 ]
  [[ "$output" == *cannot-signal* ]]
  [[ "$output" == *cannot-signal-init* ]]
}

@test "run: the only network interface is lo" {
  run "$W" run -- /bin/sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; ls /sys/class/net'
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'lo\nlo')" ]
}

@test "run: every denied syscall family fails with EPERM or ENOSYS" {
  run "$W" run -- /usr/bin/python3 - < "$PROGS/syscalls.py"
  echo "$output"
  [ "$status" -eq 0 ]
  n=0
  while read -r name err; do
    case "$name" in
      getpid) [ "$err" = OK ] ;;
      unknown_1000|clone3) [ "$err" = ENOSYS ] ;;
      *) [ "$err" = EPERM ] || [ "$err" = ENOSYS ] || { echo "$name got $err"; false; } ;;
    esac
    n=$((n + 1))
  done <<< "$output"
  [ "$n" -ge 30 ]
}

@test "run: no fd above 2 is open and the environment holds only what was given" {
  exec 7>/dev/null
  SECRET=leak run "$W" run --env FOO=bar --env-pass HOME_MARK -- /bin/sh -c 'ls /proc/self/fd; echo ---; env | sort'
  exec 7>&-
  [ "$status" -eq 0 ]
  fds=$(echo "$output" | sed '/^---$/,$d' | sort -n | tr '\n' ' ')
  # ls opens one fd of its own for the listing.
  [ "$fds" = "0 1 2 3 " ]
  envs=$(echo "$output" | sed '1,/^---$/d' | cut -d= -f1 | tr '\n' ' ')
  [[ "$envs" != *SECRET* ]]
  [[ "$output" == *FOO=bar* ]]
  [[ "$output" == *PATH=* ]]
}

@test "run: a timeout kills a process tree that ignores SIGTERM (exit 124)" {
  # A duration no other process on the host is sleeping: pgrep below must
  # find only what this test started.
  nap="100$$"
  run "$W" run --timeout 1s --result "$T/r.json" -- /bin/sh -c \
    "trap '' TERM; (trap '' TERM; sleep $nap) & sleep $nap"
  [ "$status" -eq 124 ]
  [ "$(json "$T/r.json" status)" = timeout ]
  run pgrep -f "sleep $nap"
  [ "$status" -eq 1 ]
}

@test "run: orphaned grandchildren are reaped by init" {
  # Two orphans that exit at once; the job waits for the event itself (their
  # /proc entries go only once init has reaped them). Were they never
  # reaped, the job would hang until its timeout (124).
  run "$W" run --timeout 60s -- /bin/sh -c '(/bin/true & echo $! >/tmp/a); (/bin/true & echo $! >/tmp/b)
    for p in $(cat /tmp/a /tmp/b); do while [ -e /proc/$p ]; do :; done; done; echo reaped'
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = reaped ]
}

@test "run: exit codes follow the contract" {
  run "$W" run -- /bin/sh -c 'exit 3'
  [ "$status" -eq 3 ]
  run "$W" run -- /bin/sh -c 'kill -TERM $$'
  [ "$status" -eq 143 ]
  run "$W" run -- /bin/sh -c 'kill -KILL $$'
  [ "$status" -eq 137 ]
  run -127 "$W" run -- /nonexistent/prog
  [ "$status" -eq 127 ]
  [[ "$output" == *"/nonexistent/prog"* ]]
  run -127 "$W" run -- no-such-command-xyz
  [ "$status" -eq 127 ]
  [[ "$output" == *"no-such-command-xyz"* ]]
  run "$W" run -- /etc/passwd
  [ "$status" -eq 126 ]
}

@test "run: the result JSON has the documented fields" {
  run "$W" run --result "$T/r.json" -- /bin/sh -c 'exit 5'
  [ "$status" -eq 5 ]
  [ "$(json "$T/r.json" status)" = nonzero ]
  [ "$(json "$T/r.json" exit_code)" = 5 ]
  for k in signal wall_ms cpu_user_ms cpu_sys_ms max_rss_kib version policy.hash policy.name; do
    json "$T/r.json" "$k" >/dev/null
  done
  # Picked by the program's name: sh is shell.toml's.
  [ "$(json "$T/r.json" policy.name)" = shell ]
  [ "$(json "$T/r.json" max_rss_kib)" -gt 0 ]
}

@test "run: SIGTERM to warden reaches the job" {
  # "ready" comes once the trap is set.
  run_bg -- /bin/sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'
  [ "$FIRST_LINE" = ready ]
  kill -TERM "$RUN_PID"
  wait "$RUN_PID" || rc=$?
  RUN_PID=
  rest=$(cat <&"$RUN_OUT")
  [ "${rc:-0}" -eq 7 ]
  [ "$rest" = got-term ]
}

@test "run: the sandbox dies with warden run (SIGKILL)" {
  # The job names its pid namespace; the host finds the sandbox's processes
  # by it (a command-line match would also find warden's own argv).
  run_bg -- /bin/sh -c 'readlink /proc/self/ns/pid; exec /bin/sleep 4242'
  ns=$FIRST_LINE
  [[ "$ns" == pid:* ]]
  [ -n "$(sandbox_pids "$ns")" ]
  kill -KILL "$RUN_PID"
  wait "$RUN_PID" || true
  RUN_PID=
  wait_gone "$ns"
}

@test "run: a warden killed right after clone leaves no sandbox behind" {
  # The child may not have set its parent-death signal yet: it must see the
  # release pipe without writers and give up.
  for i in 1 2 3; do
    run env WARDEN_FAULT=launch.after_clone "$W" run -- /bin/sh -c 'sleep 4343'
    [ "$status" -eq 137 ]
  done
  for i in $(seq 50); do pgrep -f "sleep 4343" >/dev/null || break; sleep 0.1; done
  ! pgrep -f "sleep 4343" >/dev/null
}

@test "run: python3 and node scripts run under their policies" {
  run "$W" run --result "$T/py.json" "$BATS_TEST_DIRNAME/../examples/hello.py"
  [ "$status" -eq 0 ]
  [[ "$output" == *"hello from inside warden"* ]]
  [ "$(json "$T/py.json" policy.name)" = python ]
  command -v node >/dev/null || skip "node is not installed"
  run "$W" run --result "$T/js.json" "$BATS_TEST_DIRNAME/../examples/hello.js"
  [ "$status" -eq 0 ]
  [[ "$output" == *"hello from node inside warden"* ]]
  [ "$(json "$T/js.json" policy.name)" = node ]
}

@test "run: a script under a hidden path is bound in and runs" {
  printf 'print("from tmp", 6*7)\n' > "$T/s.py"
  # $T is 0700: the job cannot read the directory, so only the script is
  # bound (with a warning on stderr).
  run --separate-stderr "$W" run "$T/s.py"
  [ "$status" -eq 0 ]
  [ "$output" = "from tmp 42" ]
}

@test "run: a broken policy gets a file:line error and exit 125" {
  printf 'extends = "default"\n[filesystem]\ntmp_size = "lots"\n' > "$T/bad.toml"
  run "$W" run --policy "$T/bad.toml" -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"$T/bad.toml:3:"* ]]
}

@test "run: host unix sockets under /run and /var/tmp are unreachable" {
  sock_dir=$(mktemp -d /var/tmp/warden-it.XXXXXX)
  python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); time.sleep(20)' "$sock_dir/s.sock" &
  lpid=$!
  for i in $(seq 50); do [ -S "$sock_dir/s.sock" ] && break; sleep 0.1; done
  run "$W" run -- /usr/bin/python3 -c 'import socket,sys
for p in sys.argv[1:]:
    try:
        socket.socket(socket.AF_UNIX).connect(p); print("CONNECTED", p)
    except OSError as e:
        print("refused", p, e.strerror)' "$sock_dir/s.sock" /run/systemd/private /var/run/dbus/system_bus_socket
  kill $lpid; rm -rf "$sock_dir"
  [ "$status" -eq 0 ]
  [[ "$output" != *CONNECTED* ]]
  [ "$(echo "$output" | grep -c refused)" -eq 3 ]
}

@test "run: --ro-bind and --bind take bubblewrap's arguments" {
  mkdir "$T/ro" "$T/rw"; echo hi > "$T/ro/f"; chmod 777 "$T/rw"
  run "$W" run --ro-bind "$T/ro" /mnt --bind "$T/rw" /srv -- /bin/sh -c 'cat /mnt/f; touch /mnt/g 2>/dev/null && echo ROWRITE; echo out > /srv/o'
  [ "$status" -eq 0 ]
  [[ "$output" == *hi* ]]
  [[ "$output" != *ROWRITE* ]]
  [ "$(cat "$T/rw/o")" = out ]
}

@test "run: --output-dir captures stdout and stderr with a size limit" {
  printf 'extends = "default"\n[limits]\noutput_max = "1K"\n' > "$T/p.toml"
  run "$W" run --policy "$T/p.toml" --output-dir "$T/out" --result "$T/r.json" -- /bin/sh -c 'echo to-out; echo to-err >&2; head -c 5000 /dev/zero'
  [ "$status" -eq 0 ]
  grep -q to-out "$T/out/stdout"
  [ "$(cat "$T/out/stderr")" = to-err ]
  [ "$(stat -c %s "$T/out/stdout")" -eq 1024 ]
  [ "$(json "$T/r.json" stdout_truncated)" = True ]
}

@test "run: a seccomp kill reports seccomp-violation and the syscall" {
  printf 'extends = "default"\n[seccomp]\naction = "kill"\n' > "$T/kill.toml"
  run "$W" run --policy "$T/kill.toml" --result "$T/r.json" -- /usr/bin/python3 -c 'import ctypes; ctypes.CDLL(None).syscall(165, 0, 0, 0, 0, 0)'
  [ "$status" -eq 159 ]
  [ "$(json "$T/r.json" status)" = seccomp-violation ]
  [ "$(json "$T/r.json" seccomp_syscall)" = mount ]
}

@test "run: without root, exit 125 says root is needed" {
  command -v setpriv >/dev/null || skip "setpriv (util-linux) missing"
  run setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all --bounding-set=-all "$W" run -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"needs root"* ]]
}

@test "run: cpu time limit ends a busy loop" {
  printf 'extends = "default"\n[limits]\ncpu_time = "1s"\n' > "$T/cpu.toml"
  run "$W" run --policy "$T/cpu.toml" --result "$T/r.json" -- /bin/sh -c 'while :; do :; done'
  [ "$status" -eq 152 ] || [ "$status" -eq 137 ]
  [ "$(json "$T/r.json" status)" = signaled ]
}

@test "doctor: reports every feature and succeeds here" {
  run "$W" doctor
  [ "$status" -eq 0 ]
  for f in "mount namespace" "pid namespace" "network namespace" "user namespace" seccomp io_uring; do
    [[ "$output" == *"$f"* ]] || { echo "missing $f"; false; }
  done
}

@test "policy check: prints the effective policy and rejects a bad one" {
  run "$W" policy check default
  [ "$status" -eq 0 ]
  [[ "$output" == *"65534"* ]]
  printf '[filesystem]\nbogus_key = 1\n' > "$T/bad.toml"
  run "$W" policy check "$T/bad.toml"
  [ "$status" -eq 125 ]
  [[ "$output" == *"$T/bad.toml:2:"* ]]
}

@test "run: the legacy remount path (no mount_setattr) gives the same read-only root" {
  run env WARDEN_MOUNT_API=legacy "$W" run -- /bin/sh -c 'touch /usr/warden-probe 2>/dev/null && echo WROTE; awk "\$5 == \"/\" {print \$6}" /proc/self/mountinfo | tail -1; echo x > /tmp/f && echo tmp-ok'
  [ "$status" -eq 0 ]
  [[ "$output" != *WROTE* ]]
  [[ "${lines[0]}" == ro,* ]]
  [ "${lines[1]}" = tmp-ok ]
  run env WARDEN_MOUNT_API=legacy "$W" doctor
  [[ "$output" == *"WARDEN_MOUNT_API=legacy"* ]]
}

@test "run: a policy with a user namespace maps the job outside host root" {
  [ "$(cat /proc/sys/user/max_user_namespaces)" -gt 0 ] || skip "user namespaces are disabled on this host"
  printf 'extends = "default"\n[namespaces]\nuser = true\n' > "$T/userns.toml"
  run "$W" run --policy "$T/userns.toml" -- /bin/sh -c 'id -u; cat /proc/self/uid_map; grep CapEff /proc/self/status; touch /etc/x 2>/dev/null && echo WROTE; echo ok'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 65534 ]
  [[ "${lines[1]}" == *"0    1048576      65536"* ]]
  [[ "$output" != *WROTE* ]]
  [ "${lines[-1]}" = ok ]
}

@test "build: warden is a static PIE that loads no shared library" {
  # ld.so and every library it loads cost each run their mapping, relocations
  # and page faults; the Makefile links all of them in (a stray -lfoo that
  # only ships shared fails that link), and PIE keeps the binary's address
  # random.
  command -v readelf >/dev/null || skip "readelf (binutils) is not installed"
  run readelf -lhdW "$W"
  [ "$status" -eq 0 ]
  [[ "$output" == *"DYN (Position-Independent Executable file)"* ]]
  [[ "$output" != *INTERP* ]]
  [[ "$output" != *"(NEEDED)"* ]]
  [[ "$output" == *"Flags: NOW PIE"* ]]
  [[ "$output" == *GNU_RELRO* ]]
}
