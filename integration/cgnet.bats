#!/usr/bin/env bats
# Jobs stay inside the caller's cgroups (every v1 hierarchy), --cgroup-parent
# fails closed, the egress whitelist never opens broadcast, multicast or the
# host, and turning on ip_forward is visible and can be refused. Network
# traffic goes only to network namespaces these tests create (unshare -n):
# the "host" of those jobs is such a namespace, never the real host's.

load helpers

setup() {
  common_setup
  ID="cgnet$$-$BATS_TEST_NUMBER"
  CGS=()
}

teardown() {
  # Whatever a failed test left: its runs, then the job cgroups (gc walks
  # every hierarchy), then the cgroups this test made, emptied first.
  [ -n "${RUN_PID:-}" ] && kill -9 "$RUN_PID" 2>/dev/null || true
  [ -x "$W" ] && "$W" gc >/dev/null 2>&1 || true
  local cg p
  for cg in "${CGS[@]}"; do
    [ -d "$cg" ] || continue
    for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    find "$cg" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
    rmdir "$cg" 2>/dev/null || true
  done
  common_teardown || true
}

# own_cgroup CONTROLLER: our cgroup directory in that v1 hierarchy, or
# nothing when the controller is not a v1 hierarchy here.
own_cgroup() {
  local line mount
  line=$(grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" /proc/self/cgroup) || return 0
  mount=$(awk -v c="$1" '$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $5 }' /proc/self/mountinfo | head -1)
  [ -n "$mount" ] || return 0
  echo "$mount${line##*:}" | sed 's#/$##'
}

# test_cgroup CONTROLLER: makes a cgroup below ours in that hierarchy, sets
# CG to it and records it for teardown (not in a $(...) subshell, where the
# record would be lost); skips when there is no such hierarchy.
test_cgroup() {
  local own
  own=$(own_cgroup "$1")
  [ -n "$own" ] || skip "$1 is not a cgroup v1 hierarchy on this host"
  CG="$own/warden-test-$$-$BATS_TEST_NUMBER-$1"
  CGS+=("$CG")
  mkdir "$CG"
}

policy() {
  printf 'extends = "default"\n%b\n' "$1" >"$T/p.toml"
}

@test "cgnet: a --cgroup-parent that does not exist is exit 125 with the real remedy" {
  run "$W" run --cgroup-parent "warden-no-such-$$" --job-id "$ID" --result "$T/r.json" -- \
    /bin/sh -c 'echo JOB-RAN'
  echo "$output"
  [ "$status" -eq 125 ]
  [[ "$output" != *JOB-RAN* ]]
  [[ "$output" == *"warden-no-such-$$"* ]]
  [[ "$output" == *"mkdir -p"* ]]
  [[ "$output" != *"optional"* ]]
  [ "$(json "$T/r.json" status)" = setup-error ]
}

@test "cgnet: a --cgroup-parent that does not exist stops a job with limits too" {
  policy '[cgroup]\npids = 64'
  run "$W" run --policy "$T/p.toml" --cgroup-parent "warden-no-such-$$" --job-id "$ID" -- \
    /bin/sh -c 'echo JOB-RAN'
  echo "$output"
  [ "$status" -eq 125 ]
  [[ "$output" != *JOB-RAN* ]]
  [[ "$output" != *"optional = true"* ]]
}

@test "cgnet: a job started from a pids cgroup capped at 20 stays under the cap" {
  test_cgroup pids
  echo 20 >"$CG/pids.max"
  # The caller (this sh, then warden) runs in the capped cgroup; the job
  # tries 40 forks whose children wait on a pipe, and counts the ones that
  # worked.
  run /bin/sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
    "$W" run --job-id "$ID" --result "$T/r.json" -- /usr/bin/python3 -c '
import os
r, w = os.pipe()
n = 0
for i in range(40):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    n += 1
print("forks", n)'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(json "$T/r.json" status)" = ok ]
  forks=$(echo "$output" | awk '$1 == "forks" { print $2 }')
  [ -n "$forks" ]
  [ "$forks" -lt 20 ]
  # The job's pids cgroup, below the capped one, is gone.
  [ -z "$(find "$CG" -mindepth 1 -type d -name "warden-*-$ID")" ]
}

@test "cgnet: the job's v1 cpu cgroup is below the caller's cpu cgroup" {
  test_cgroup cpu
  policy '[cgroup]\ncpu = 0.5'
  mkfifo "$T/in" "$T/out"
  # The job says "ready" and waits for its stdin to close: while it waits,
  # its cgroups exist.
  /bin/sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
    "$W" run --policy "$T/p.toml" --job-id "$ID" --result "$T/r.json" -- \
    /bin/sh -c 'echo ready; read x; echo done' <"$T/in" >"$T/out" 3>&- &
  RUN_PID=$!
  exec {IN}>"$T/in"
  exec {OUT}<"$T/out"
  line=
  read -r -t 120 line <&"$OUT" || true
  [ "$line" = ready ]
  found=$(find "$CG" -mindepth 1 -maxdepth 1 -type d -name "warden-*-$ID")
  echo "found: $found"
  exec {IN}>&-
  wait "$RUN_PID"
  RUN_PID=
  exec {OUT}<&-
  [ -n "$found" ]
  [ "$(json "$T/r.json" status)" = ok ]
  [ -z "$(find "$CG" -mindepth 1 -type d -name "warden-*-$ID")" ]
}

@test "cgnet: gc finds the cgroups a killed warden left below another cgroup" {
  test_cgroup pids
  mkfifo "$T/out"
  /bin/sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
    "$W" run --job-id "$ID" -- /bin/sh -c 'echo ready; exec sleep 4243' >"$T/out" 3>&- &
  RUN_PID=$!
  exec {OUT}<"$T/out"
  line=
  read -r -t 120 line <&"$OUT" || true
  [ "$line" = ready ]
  [ -n "$(find "$CG" -mindepth 1 -maxdepth 1 -type d -name "warden-*-$ID")" ]
  kill -9 "$RUN_PID"
  wait "$RUN_PID" || true
  RUN_PID=
  exec {OUT}<&-
  # From our own cgroup, not the one that warden ran in.
  run "$W" gc
  echo "$output"
  [ "$status" -eq 0 ]
  [ -z "$(find "$CG" -mindepth 1 -type d -name "warden-*-$ID")" ]
}

# in_netns SCRIPT: runs bash SCRIPT in a new network namespace (lo up), which
# stands in for the host: the job's veth, listeners and sysctls are all there.
in_netns() {
  unshare --net /bin/bash -c 'ip link set lo up && exec /bin/bash "$@"' bash "$@"
}

@test "cgnet: with --allow 0.0.0.0/0 nothing reaches the host by broadcast, multicast or its addresses" {
  command -v unshare >/dev/null || skip "needs unshare (util-linux)"
  command -v ip >/dev/null || skip "needs iproute2 (ip)"
  PORT=$(( 20000 + $$ % 20000 ))
  CPORT=$(( PORT + 1 ))
  mkfifo "$T/ready"
  cat >"$T/listen.py" <<'PY'
import socket, sys
port, cport, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def udp(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p))
    return s
a, b = udp(port), udp(cport)
with open(ready, "w") as f:
    f.write("ready\n")
# The job's last packet goes to cport after every attack; it was sent from
# one CPU, so the attacks were processed (queued on a, or dropped) before it.
tag, _ = b.recvfrom(64)
print("control", tag.decode())
a.setblocking(False)
got = []
while True:
    try:
        d, src = a.recvfrom(256)
    except BlockingIOError:
        break
    got.append("%s from %s" % (d.decode(errors="replace"), src[0]))
print("received", len(got), got)
PY
  cat >"$T/job.py" <<'PY'
import os, socket, sys
port, cport = int(sys.argv[1]), int(sys.argv[2])
try:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
except OSError as e:
    print("affinity", e)
host = socket.gethostbyname("host")
q = host.split(".")
subnet_broadcast = ".".join(q[:3] + [str(int(q[3]) + 2)])
targets = ["255.255.255.255", "224.0.0.1", host, subnet_broadcast] + sys.argv[3:]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for t in targets:
    try:
        s.sendto(("attack " + t).encode(), (t, port))
        print("sent", t)
    except OSError as e:
        print("refused", t, e.strerror)
s.sendto(b"job", (host, cport))
print("control-sent")
PY
  # The job (uid nobody) reads job.py through a read-only bind.
  chmod 755 "$T"
  chmod 644 "$T/job.py"
  cat >"$T/run.sh" <<SH
set -u
# A host address on a subnet of its own, with its broadcast address.
extra=
ip link add wcgnet0 type veth peer name wcgnet1
ip addr add 192.0.2.1/24 dev wcgnet0
ip link set wcgnet1 up
ip link set wcgnet0 up
extra="192.0.2.1 192.0.2.255"
python3 "$T/listen.py" $PORT $CPORT "$T/ready" >"$T/listener.out" 2>&1 &
lpid=\$!
read -r line <"$T/ready"
"$W" run --net veth --allow 0.0.0.0/0 --allow host:$CPORT/udp --job-id "$ID" \
  --result "$T/r.json" --ro-bind "$T" /tmp/t -- /usr/bin/python3 /tmp/t/job.py $PORT $CPORT \$extra
echo "warden-exit \$?"
# Unblocks the listener when the job could not send its own control packet.
python3 -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"test", ("127.0.0.1", int(sys.argv[1])))' $CPORT
wait \$lpid
cat "$T/listener.out"
SH
  run in_netns "$T/run.sh"
  echo "$output"
  [[ "$output" == *"warden-exit 0"* ]]
  [ "$(json "$T/r.json" status)" = ok ]
  [[ "$output" == *control-sent* ]]
  [[ "$output" == *"refused 255.255.255.255"* ]]
  [[ "$output" == *"refused 224.0.0.1"* ]]
  [[ "$output" == *"refused 192.0.2.255"* ]]
  [[ "$output" == *"control job"* ]]
  [[ "$output" == *"received 0 []"* ]]
}

@test "cgnet: turning on ip_forward is a warning in the result, and WARDEN_NO_IP_FORWARD=1 refuses it" {
  command -v unshare >/dev/null || skip "needs unshare (util-linux)"
  cat >"$T/fwd.sh" <<SH
echo 0 >/proc/sys/net/ipv4/ip_forward
WARDEN_NO_IP_FORWARD=1 "$W" run --net veth --allow 192.0.2.0/24 --job-id "$ID-a" \
  --result "$T/refused.json" -- /bin/sh -c 'echo JOB-RAN'
echo "refused-exit \$? forward \$(cat /proc/sys/net/ipv4/ip_forward)"
"$W" run --net veth --allow 192.0.2.0/24 --job-id "$ID-b" --result "$T/r.json" -- /bin/true
echo "allowed-exit \$? forward \$(cat /proc/sys/net/ipv4/ip_forward)"
SH
  run in_netns "$T/fwd.sh"
  echo "$output"
  [[ "$output" == *"refused-exit 125 forward 0"* ]]
  [[ "$output" != *JOB-RAN* ]]
  [[ "$output" == *"WARDEN_NO_IP_FORWARD"* ]]
  [[ "$output" == *"allowed-exit 0 forward 1"* ]]
  # On stderr at the default level, and in the result.
  [[ "$output" == *"turned on net.ipv4.ip_forward"* ]]
  python3 -c 'import json,sys
w = json.load(open(sys.argv[1]))["warnings"]
sys.exit(0 if any("ip_forward" in x for x in w) else 1)' "$T/r.json"
}
