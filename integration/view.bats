#!/usr/bin/env bats
# The job's view of the host: an allow-list (/usr, /etc, ...), bind sources
# opened once and bound through that fd, no host socket reachable, and
# warden's caches and state hidden.

load helpers
bats_require_minimum_version 1.5.0

setup() {
  common_setup
  MARK=warden-view-marker.$$.$RANDOM
  BAIT=
  BAIT_PID=
}
teardown() {
  [ -n "$BAIT_PID" ] && kill "$BAIT_PID" 2>/dev/null
  [ -n "$BAIT" ] && rm -rf "$BAIT"
  rm -f "/$MARK"
  common_teardown
}

# A unix socket listening in a new directory under /var/lib, as a host
# service's would be; returns once it listens (the listener says so).
start_bait() {
  BAIT=$(mktemp -d /var/lib/warden-bait.XXXXXX)
  chmod 0755 "$BAIT"
  mkfifo "$T/bait.ready"
  python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(8)
print("ready", flush=True)
while True: s.accept()[0].close()
' "$BAIT/sock" >"$T/bait.ready" 3>&- &
  BAIT_PID=$!
  local line
  read -r -t 60 line <"$T/bait.ready" || true
  [ "$line" = ready ]
}

# The job's own report on connecting to PATH: CONNECTED, or the errno name.
connect_probe() {
  echo 'import errno, socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("CONNECTED")
except OSError as e:
    print(errno.errorcode[e.errno])'
}

@test "view: the default view shows /usr and /etc, not the rest of the host" {
  touch "/$MARK"
  run "$W" run -- /bin/sh -c "ls /; ls /$MARK 2>&1; ls /home /root /var 2>&1; cat /etc/os-release | head -1"
  [ "$status" -eq 0 ]
  [[ "$output" == *usr* ]]
  [[ "$output" == *"/$MARK'"*"No such file"* ]]
  [[ "$output" == *"/home'"*"No such file"* ]]
  [[ "$output" == *"/var'"*"No such file"* ]]
  [[ "$output" == *NAME=* ]]
}

@test "view: /etc secrets are masked" {
  run "$W" run -- /bin/sh -c 'wc -c < /etc/shadow 2>&1; awk "\$5 == \"/etc/shadow\"" /proc/self/mountinfo | wc -l'
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = 1 ]
}

@test "attack bind: a source swapped for a symlink to / is refused, the host root never bound" {
  touch "/$MARK"
  mkdir -m 0777 "$T/work" "$T/work/in"
  echo inside > "$T/work/in/file"
  run "$W" run --bind "$T/work" /work --ro-bind "$T/work/in" /in -- /bin/sh -c 'cat /in/file; mv /work/in /work/old && ln -s / /work/in && echo swapped'
  [ "$status" -eq 0 ]
  [[ "$output" == *inside* ]]
  [[ "$output" == *swapped* ]]
  [ -L "$T/work/in" ]
  run "$W" run --bind "$T/work" /work --ro-bind "$T/work/in" /in -- /bin/sh -c "ls /in/$MARK && echo HOST-ROOT-VISIBLE"
  [[ "$output" != *HOST-ROOT-VISIBLE* ]]
  [ "$status" -eq 125 ]
  [[ "$output" == *symlink* ]]
}

@test "attack bind: a symlink swapped in between check and bind cannot redirect: the job sees what was checked" {
  mkdir -m 0777 "$T/work" "$T/work/in"
  echo first > "$T/work/in/file"
  # The job swaps the source while it runs: its own bind is not affected,
  # as it was made from the fd opened before the job started.
  run "$W" run --bind "$T/work" /work --ro-bind "$T/work/in" /in -- /bin/sh -c 'mv /work/in /work/old && mkdir /work/in && echo second > /work/in/file && cat /in/file'
  [ "$status" -eq 0 ]
  [ "$output" = first ]
}

@test "bind: / as a source is refused however it is reached" {
  run "$W" run --ro-bind / /host -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"host's root"* ]]
  mkdir "$T/trusted"
  chmod 0755 "$T" "$T/trusted"
  ln -s / "$T/trusted/root"
  run "$W" run --ro-bind "$T/trusted/root" /host -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"host's root"* ]]
  # usr/.. through the link is the host's / again: refused before the job
  # starts, for the '..', so the job never runs and sees nothing of /host.
  run "$W" run --ro-bind "$T/trusted/root/usr/.." /host -- /bin/sh -c 'echo JOB-RAN; ls -a /host'
  echo "$output"
  [ "$status" -eq 125 ]
  [[ "$output" == *"must not contain '..'"* ]]
  [[ "$output" != *JOB-RAN* ]]
}

@test "attack socket: a host socket under /var/lib is not reachable from the default view" {
  start_bait
  # The bait works: the host can connect to it.
  run python3 -c "$(connect_probe)" "$BAIT/sock"
  [ "$output" = CONNECTED ]
  run "$W" run -- python3 -c "$(connect_probe)" "$BAIT/sock"
  [ "$status" -eq 0 ]
  [ "$output" = ENOENT ]
}

@test "attack socket: a bound directory that holds a socket is refused, naming it" {
  start_bait
  run "$W" run --ro-bind "$BAIT" /bait -- python3 -c "$(connect_probe)" /bait/sock
  [ "$status" -eq 125 ]
  [[ "$output" == *"unix socket"*"$BAIT/sock"* ]]
  [[ "$output" != *CONNECTED* ]]
  # Deeper in the tree too.
  mkdir -p "$T/deep/a/b"
  python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/deep/a/b/s"
  run "$W" run --ro-bind "$T/deep" /deep -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *"$T/deep/a/b/s"* ]]
}

@test "state: a job cannot list warden's caches, nor the WARDEN_CACHE_DIR under a bind" {
  run "$W" run -- /bin/sh -c 'ls /var/cache/warden; ls /var/lib/warden'
  [[ "$output" == *"/var/cache/warden"*"No such file"* ]]
  # The whole host (an explicit choice) still hides them.
  printf 'extends = "default"\n[filesystem]\nrootfs = "/"\n' > "$T/whole.toml"
  mkdir -p /var/cache/warden
  run "$W" run --policy "$T/whole.toml" -- /bin/sh -c 'ls -A /var/cache/warden | wc -l'
  [ "$status" -eq 0 ]
  [ "$output" = 0 ]
  # A cache dir named by WARDEN_CACHE_DIR below a bound directory.
  mkdir -p "$T/share/cache"
  echo secret > "$T/share/cache/entry"
  WARDEN_CACHE_DIR="$T/share/cache" run "$W" run --ro-bind "$T/share" /share -- /bin/sh -c 'ls -A /share/cache | wc -l'
  [ "$status" -eq 0 ]
  [ "$output" = 0 ]
}

@test "view: rootfs = \"/\" is the explicit whole-host choice, with the masks" {
  touch "/$MARK"
  printf 'extends = "default"\n[filesystem]\nrootfs = "/"\n' > "$T/whole.toml"
  run "$W" run --policy "$T/whole.toml" -- /bin/sh -c "ls /$MARK; ls -A /root | wc -l"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "/$MARK" ]
  [ "${lines[1]}" = 0 ]
}

@test "view: the legacy mount path gives the same read-only view" {
  run env WARDEN_MOUNT_API=legacy "$W" run -- /bin/sh -c 'touch /usr/x 2>&1; touch /etc/x 2>&1; touch /y 2>&1; echo ok > /tmp/t && cat /tmp/t'
  [ "$status" -eq 0 ]
  [ "$(grep -c 'Read-only file system' <<<"$output")" -eq 3 ]
  [ "${lines[-1]}" = ok ]
}
