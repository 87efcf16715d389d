#!/usr/bin/env bats
# warden run --net veth: the egress whitelist against a "remote" server in a
# netns this file creates, the host end, DNS files, and cleanup (also after
# SIGKILL + gc). Targets are only our own namespaces and interfaces.

load helpers

setup() {
  common_setup
  command -v ip >/dev/null || skip "needs iproute2 (ip) for the test topology"
  ID="bats$$-$BATS_TEST_NUMBER"
  # A /24 of the benchmarking range 198.18.0.0/15, picked per run so that
  # parallel runs do not collide; .1 on the host, .2 and .3 in the server.
  N=$(( ($$ + BATS_TEST_NUMBER) % 250 + 1 ))
  NET=198.18.$N
  NS="wtsrv$$x$BATS_TEST_NUMBER"
  LH="wts$(printf %x $$)h$BATS_TEST_NUMBER"
  LS="wts$(printf %x $$)s$BATS_TEST_NUMBER"
  mkfifo "$T/ready"
  ip netns add "$NS"
  ip link add "$LH" type veth peer name "$LS" netns "$NS"
  ip addr add "$NET.1/24" dev "$LH"
  ip link set "$LH" up
  ip -n "$NS" addr add "$NET.2/24" dev "$LS"
  ip -n "$NS" addr add "$NET.3/24" dev "$LS"
  ip -n "$NS" link set "$LS" up
  ip -n "$NS" link set lo up
  # TCP listeners on .2:8001, .2:8002 and .3:8001; a UDP echo on .2:53.
  ip netns exec "$NS" /usr/bin/python3 -c '
import socket, sys, threading, os
net = sys.argv[1]
def tcp(addr, port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.sendall(b"hello\n"); c.close()
def udp(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, port))
    while True:
        d, a = s.recvfrom(512); s.sendto(d, a)
for a, p in ((net + ".2", 8001), (net + ".2", 8002), (net + ".3", 8001)):
    threading.Thread(target=tcp, args=(a, p), daemon=True).start()
threading.Thread(target=udp, args=(net + ".2", 53), daemon=True).start()
open(sys.argv[2], "w").write("ready\n")
threading.Event().wait()
' "$NET" "$T/ready" &
  SERVER_PID=$!
  wait_ready "$T/ready"
}

# wait_ready FIFO: returns once a listener wrote "ready" to FIFO (after its
# listen() calls), or fails when it exits first.
wait_ready() {
  local line=
  read -r -t 120 line <"$1" || true
  [ "$line" = ready ] || { echo "the listener did not get ready"; return 1; }
}

teardown() {
  [ -n "${RUN_PID:-}" ] && kill -9 "$RUN_PID" 2>/dev/null || true
  [ -n "${HOST_PID:-}" ] && kill "$HOST_PID" 2>/dev/null || true
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "${NAT_SERVER_PID:-}" ] && kill "$NAT_SERVER_PID" 2>/dev/null || true
  [ -n "${LH:-}" ] && ip link del "$LH" 2>/dev/null || true
  [ -n "${NS:-}" ] && ip netns del "$NS" 2>/dev/null || true
  # A warden "host" of the test's own (nat_host_setup): its tables, links and
  # leases' netns go with it.
  [ -n "${HN:-}" ] && ip netns del "$HN" 2>/dev/null || true
  [ -x "$W" ] && "$W" gc >/dev/null 2>&1 || true
  common_teardown || true
}

# Connects from inside the sandbox with bash's /dev/tcp; prints the greeting.
tcp_probe() {  # HOST PORT
  echo "exec 3<>/dev/tcp/$1/$2 && head -c 6 <&3"
}

# refused HOST PORT: the last run was a tcp_probe of HOST:PORT that the
# whitelist refused: the job's own failure (bash's exit 1 and its connect
# error), not a warden failure (125) that would leave the port unreached too.
# Every port probed here has a listener, so a refusal is the firewall's.
refused() {
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"/dev/tcp/$1/$2: Connection refused"* ]]
  [[ "$output" != *hello* ]]
}

# Everything warden names after job $ID: link aliases, leases, nft tables.
leftovers() {
  ip -o link show 2>/dev/null | grep -F "job=$ID " || true
  grep -lsF "job=$ID" /run/warden/net/leases/* 2>/dev/null || true
  for t in $(nft list tables 2>/dev/null | awk '$2 == "ip" && $3 ~ /^warden_/ {print $3}'); do
    nft list table ip "$t" 2>/dev/null | grep -qF "job=$ID" && echo "nft table $t"
  done
  true
}

# Leases and tables are gone when warden exits; a finished job's veth pair
# goes with its netns, which the kernel tears down asynchronously (an RCU
# grace period or two). Waits up to 3 s for that, then lists what is left.
settled_leftovers() {
  local left
  for _ in $(seq 30); do
    left=$(leftovers)
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  echo "$left"
}

@test "net: an allowed TCP port is reachable; another port and another address are not" {
  run "$W" run --net veth --allow "$NET.2:8001/tcp" --job-id "$ID" -- /bin/bash -c "$(tcp_probe $NET.2 8001)"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *hello* ]]
  run "$W" run --net veth --allow "$NET.2:8001/tcp" --job-id "$ID" -- /bin/bash -c "$(tcp_probe $NET.2 8002)"
  refused "$NET.2" 8002
  run "$W" run --net veth --allow "$NET.2:8001/tcp" --job-id "$ID" -- /bin/bash -c "$(tcp_probe $NET.3 8001)"
  refused "$NET.3" 8001
  [ -z "$(settled_leftovers)" ]
}

@test "net: the host's addresses are unreachable unless host:PORT allows them" {
  port=$(( 20000 + $$ % 20000 ))
  mkfifo "$T/host_ready"
  /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
open(sys.argv[2], "w").write("ready\n")
while True:
    c, _ = s.accept(); c.sendall(b"hostok\n"); c.close()
' "$port" "$T/host_ready" &
  HOST_PID=$!
  wait_ready "$T/host_ready"
  # "host" resolves to the host end of the veth through /etc/hosts.
  run "$W" run --net veth --allow "host:$port" --job-id "$ID" -- /bin/bash -c "$(tcp_probe host $port)"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *hostok* ]]
  # The same service on the host's other address, and the host's loopback.
  run "$W" run --net veth --allow "host:$port" --job-id "$ID" -- /bin/bash -c "$(tcp_probe $NET.1 $port)"
  refused "$NET.1" "$port"
  # The sandbox's loopback is its own: nothing listens there.
  run "$W" run --net veth --allow "host:$port" --job-id "$ID" -- /bin/bash -c "$(tcp_probe 127.0.0.1 $port)"
  refused 127.0.0.1 "$port"
  # Without host:PORT, not even the veth's host end.
  run "$W" run --net veth --allow "$NET.2:8001" --job-id "$ID" -- /bin/bash -c "$(tcp_probe host $port)"
  refused host "$port"
  [ -z "$(settled_leftovers)" ]
}

@test "net: DNS servers from the policy are written and reachable on port 53 only" {
  printf 'extends = "default"\n[network]\nmode = "veth"\ndns = ["%s"]\n[network.hosts]\ndb = "%s"\n' "$NET.2" "$NET.3" >"$T/p.toml"
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- /bin/bash -c \
    "cat /etc/resolv.conf /etc/hosts; exec 3<>/dev/udp/$NET.2/53 && echo -n q >&3 && timeout 2 head -c 1 <&3 && echo UDPOK"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"nameserver $NET.2"* ]]
  [[ "$output" == *"$NET.3"*db* ]]
  [[ "$output" == *UDPOK* ]]
  run "$W" run --policy "$T/p.toml" --job-id "$ID" -- /bin/bash -c "$(tcp_probe $NET.2 8001)"
  refused "$NET.2" 8001
}

@test "net: the job cannot change its own rules" {
  command -v nft >/dev/null || skip "needs nft on the host"
  run "$W" run --net veth --allow "$NET.2:8001" --job-id "$ID" -- /bin/bash -c \
    "nft flush ruleset 2>&1; ip link set eth0 down 2>&1; $(tcp_probe $NET.2 8002) || echo STILL_BLOCKED"
  echo "$output"
  [[ "$output" == *STILL_BLOCKED* ]]
}

@test "net: veth jobs leave no link, lease or table behind, also after SIGKILL and gc" {
  for i in 1 2 3 4 5; do
    run "$W" run --net veth --allow "$NET.2:8001" --job-id "$ID" -- /bin/true
    [ "$status" -eq 0 ]
    # Nothing warden owns outlives it. (grep -l in a command substitution:
    # a failing `! grep` would not stop the test.)
    [ -z "$(grep -lsF "job=$ID" /run/warden/net/leases/* 2>/dev/null || true)" ]
  done
  [ -z "$(settled_leftovers)" ]
  # The lease and the table exist before the job runs, so before its first line.
  run_bg --net veth --allow "$NET.0/24:8001" --job-id "$ID" -- /bin/sh -c 'echo ready; exec /bin/sleep 60'
  [ "$FIRST_LINE" = ready ]
  grep -qsF "job=$ID" /run/warden/net/leases/*
  [ -n "$(leftovers)" ]
  kill -9 "$RUN_PID"
  wait "$RUN_PID" 2>/dev/null || true
  RUN_PID=
  run "$W" gc
  echo "$output"
  [ "$status" -eq 0 ]
  [ -z "$(settled_leftovers)" ]
}

# nat_host_setup: a network namespace HN that stands in for the host of a
# warden run inside it (wrapper $WN, with its own state directory), wired to
# the server namespace NS over 198.19.$N.0/24 (.1 in HN, .2 in NS), where a
# listener on .2:8003 answers "from <the peer's address>". Everything warden
# makes there (the shared NAT table, links) goes when teardown deletes HN.
nat_host_setup() {
  HN="wtnh$$x$BATS_TEST_NUMBER"
  local a="wtn$(printf %x $$)h$BATS_TEST_NUMBER" b="wtn$(printf %x $$)s$BATS_TEST_NUMBER"
  ip netns add "$HN"
  ip -n "$HN" link set lo up
  ip link add "$a" netns "$HN" type veth peer name "$b" netns "$NS"
  ip -n "$HN" addr add "198.19.$N.1/24" dev "$a"
  ip -n "$HN" link set "$a" up
  ip -n "$NS" addr add "198.19.$N.2/24" dev "$b"
  ip -n "$NS" link set "$b" up
  mkfifo "$T/nat_ready"
  ip netns exec "$NS" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8003)); s.listen(16)
open(sys.argv[2], "w").write("ready\n")
while True:
    c, peer = s.accept(); c.sendall(("from " + peer[0] + "\n").encode()); c.close()
' "198.19.$N.2" "$T/nat_ready" &
  NAT_SERVER_PID=$!
  wait_ready "$T/nat_ready"
  mkdir "$T/netstate"
  WN="$T/warden-in-hn"
  # nsenter, not ip netns exec: that one mounts a /sys of its own, without
  # the cgroup hierarchies warden needs.
  printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s env WARDEN_NET_DIR=%s %s "$@"\n' "$HN" "$T/netstate" "$W" >"$WN"
  chmod +x "$WN"
}

@test "net: jobs share one NAT table; a killed warden leaves nothing in it, gc removes it once unused" {
  command -v nft >/dev/null || skip "needs nft on the host"
  command -v nsenter >/dev/null || skip "needs nsenter (util-linux)"
  nat_host_setup
  # The job reaches the server through the shared table, masqueraded as HN.
  for i in 1 2; do
    run "$WN" run --net veth --allow "198.19.$N.2:8003/tcp" --job-id "$ID" -- /bin/bash -c \
      "exec 3<>/dev/tcp/198.19.$N.2/8003 && head -c 40 <&3"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"from 198.19.$N.1"* ]]
  done
  # The table outlives the jobs (nothing per job is made or deleted in it);
  # their leases are gone.
  run ip netns exec "$HN" nft list table ip warden_nat
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *'iifname "wd*" ip saddr @pools oifname != "wd*" masquerade'* ]]
  [ -z "$(ls "$T/netstate/leases")" ]
  # A live job's lease keeps it through gc.
  W="$WN" run_bg --net veth --allow "198.19.$N.2:8003/tcp" --job-id "$ID" -- /bin/sh -c 'echo ready; exec /bin/sleep 60'
  [ "$FIRST_LINE" = ready ]
  run "$WN" gc
  echo "$output"
  [ "$status" -eq 0 ]
  ip netns exec "$HN" nft list table ip warden_nat >/dev/null
  # Killed mid-job: the lease stays until gc, which then finds no job using
  # the table and removes it.
  kill -9 "$RUN_PID"
  wait "$RUN_PID" 2>/dev/null || true
  RUN_PID=
  [ -n "$(ls "$T/netstate/leases")" ]
  run "$WN" gc
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"lease "* ]]
  [[ "$output" == *"nft table ip warden_nat"* ]]
  [ -z "$(ls "$T/netstate/leases")" ]
  [ -z "$(ip netns exec "$HN" nft list tables)" ]
  # And the next job creates it again.
  run "$WN" run --net veth --allow "198.19.$N.2:8003/tcp" --job-id "$ID" -- /bin/bash -c \
    "exec 3<>/dev/tcp/198.19.$N.2/8003 && head -c 40 <&3"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"from 198.19.$N.1"* ]]
}
