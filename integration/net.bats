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
open(sys.argv[2], "w").write("ready")
threading.Event().wait()
' "$NET" "$T/ready" &
  SERVER_PID=$!
  for _ in $(seq 50); do [ -e "$T/ready" ] && break; sleep 0.1; done
  [ -e "$T/ready" ]
}

teardown() {
  [ -n "${RUN_PID:-}" ] && kill -9 "$RUN_PID" 2>/dev/null || true
  [ -n "${HOST_PID:-}" ] && kill "$HOST_PID" 2>/dev/null || true
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "${LH:-}" ] && ip link del "$LH" 2>/dev/null || true
  [ -n "${NS:-}" ] && ip netns del "$NS" 2>/dev/null || true
  [ -x "$W" ] && "$W" gc >/dev/null 2>&1 || true
  common_teardown || true
}

# Connects from inside the sandbox with bash's /dev/tcp; prints the greeting.
tcp_probe() {  # HOST PORT
  echo "exec 3<>/dev/tcp/$1/$2 && head -c 6 <&3"
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
  [ "$status" -ne 0 ]
  [[ "$output" != *hello* ]]
  run "$W" run --net veth --allow "$NET.2:8001/tcp" --job-id "$ID" -- /bin/bash -c "$(tcp_probe $NET.3 8001)"
  [ "$status" -ne 0 ]
  [[ "$output" != *hello* ]]
  [ -z "$(leftovers)" ]
}

@test "net: the host's addresses are unreachable unless host:PORT allows them" {
  port=$(( 20000 + $$ % 20000 ))
  /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(b"hostok\n"); c.close()
' "$port" &
  HOST_PID=$!
  sleep 0.3
  # "host" resolves to the host end of the veth through /etc/hosts.
  run "$W" run --net veth --allow "host:$port" --job-id "$ID" -- /bin/bash -c "$(tcp_probe host $port)"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *hostok* ]]
  # The same service on the host's other address, and the host's loopback.
  run "$W" run --net veth --allow "host:$port" --job-id "$ID" -- /bin/bash -c "$(tcp_probe $NET.1 $port)"
  [ "$status" -ne 0 ]
  run "$W" run --net veth --allow "host:$port" --job-id "$ID" -- /bin/bash -c "$(tcp_probe 127.0.0.1 $port)"
  [ "$status" -ne 0 ]
  # Without host:PORT, not even the veth's host end.
  run "$W" run --net veth --allow "$NET.2:8001" --job-id "$ID" -- /bin/bash -c "$(tcp_probe host $port)"
  [ "$status" -ne 0 ]
  [ -z "$(leftovers)" ]
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
  [ "$status" -ne 0 ]
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
    # Nothing warden owns outlives it.
    ! grep -qsF "job=$ID" /run/warden/net/leases/*
  done
  [ -z "$(settled_leftovers)" ]
  "$W" run --net veth --allow "$NET.0/24:8001" --job-id "$ID" -- /bin/sleep 60 &
  RUN_PID=$!
  for _ in $(seq 50); do
    grep -qsF "job=$ID" /run/warden/net/leases/* && ip -o link show | grep -qF "job=$ID " && break
    sleep 0.1
  done
  [ -n "$(leftovers)" ]
  kill -9 "$RUN_PID"
  wait "$RUN_PID" 2>/dev/null || true
  RUN_PID=
  run "$W" gc
  echo "$output"
  [ "$status" -eq 0 ]
  [ -z "$(settled_leftovers)" ]
}
