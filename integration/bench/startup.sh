#!/usr/bin/env bash
# Startup benchmark: warden run vs unshare vs bubblewrap (same isolation), the
# cost of cgroup limits, and veth networking against loopback. Prints medians
# and BENCH ratio lines.
#   integration/bench/startup.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
W="$root/$build/warden"
export WARDEN_POLICY_DIR="$root/policies"
runs=${BENCH_RUNS:-30}
tmp=$(mktemp -d /tmp/warden-bench.XXXXXX)
# warden's caches (seccomp programs, loaded policies) live with the run; the
# warm-up runs fill them, as any earlier run would on a real host.
export WARDEN_CACHE_DIR="$tmp/cache"
bwrap_cg=""
cleanup() {
  if [ -n "$bwrap_cg" ]; then
    for d in $bwrap_cg; do rmdir "$d" 2>/dev/null || true; done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

for tool in hyperfine bwrap unshare python3; do
  command -v $tool >/dev/null || { echo "startup: $tool is missing (run scripts/setup.sh)" >&2; exit 1; }
done

# The seccomp filter bubblewrap loads: a hand-written list of 35 syscalls
# that warden's default policy also denies (not exported from that policy),
# built once with libseccomp.
python3 - "$tmp/filter.bpf" <<'PY'
import ctypes, sys
# A minimal allow-all-but-deny filter is built with libseccomp via ctypes so
# bubblewrap pays for loading a filter of similar size to warden's.
lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_init.restype = ctypes.c_void_p
ctx = lib.seccomp_init(ctypes.c_uint32(0x7fff0000))  # SCMP_ACT_ALLOW
EPERM = 0x00050000 | 1
for name in [b"mount", b"umount2", b"unshare", b"setns", b"ptrace", b"bpf", b"keyctl", b"add_key",
             b"request_key", b"perf_event_open", b"userfaultfd", b"io_uring_setup", b"io_uring_enter",
             b"io_uring_register", b"kexec_load", b"kexec_file_load", b"init_module", b"finit_module",
             b"delete_module", b"reboot", b"swapon", b"swapoff", b"acct", b"open_by_handle_at",
             b"pivot_root", b"fsopen", b"fsmount", b"open_tree", b"move_mount", b"process_vm_readv",
             b"process_vm_writev", b"clock_settime", b"settimeofday", b"iopl", b"ioperm"]:
    nr = lib.seccomp_syscall_resolve_name(name)
    if nr >= 0:
        lib.seccomp_rule_add(ctypes.c_void_p(ctx), ctypes.c_uint32(EPERM), nr, 0)
fd = open(sys.argv[1], "wb")
lib.seccomp_export_bpf(ctypes.c_void_p(ctx), fd.fileno())
fd.close()
PY

# The VM's speed drifts over minutes, so the commands are timed in rounds,
# taking turns (BENCH_ROUNDS, default 3, of BENCH_RUNS/rounds runs each), and
# each figure is the median of all its runs.
rounds=${BENCH_ROUNDS:-3}
per_round=$(( (runs + rounds - 1) / rounds ))
hf() {  # name, command...: one round; the run times go to $tmp/NAME.times
  local name=$1; shift
  hyperfine -N --warmup 3 --runs "$per_round" --export-json "$tmp/$name.json" "$@" >/dev/null 2>&1 || \
  hyperfine --warmup 3 --runs "$per_round" --export-json "$tmp/$name.json" "$@" >/dev/null
  python3 -c 'import json,sys; print("\n".join(str(t) for t in json.load(open(sys.argv[1]))["results"][0]["times"]))' \
    "$tmp/$name.json" >> "$tmp/$name.times"
}
median() {  # name: the median of every run timed under that name, seconds
  [ -s "$tmp/$1.times" ] || return 0
  python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in open(sys.argv[1])))' "$tmp/$1.times"
}

# bubblewrap with warden's default namespaces: mount, pid, ipc, uts, net and
# cgroup, and no user namespace (--unshare-all, run as root, also makes a
# user namespace, which warden's default does not). What still differs:
# bwrap binds the whole / read-only where warden shows an allow-list of host
# directories; bwrap keeps uid 0 (its --uid needs a user namespace) where
# warden switches to the job's own uid; warden also sets rlimits.
bwrap_cmd="bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts --unshare-cgroup --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp --cap-drop ALL --die-with-parent --seccomp 9 /bin/true 9<$tmp/filter.bpf"
if [ "$(bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts --unshare-cgroup --ro-bind / / --proc /proc --dev /dev readlink /proc/self/ns/user)" != "$(readlink /proc/self/ns/user)" ]; then
  echo "startup: bwrap made a user namespace; the comparison would not be like with like" >&2
  exit 1
fi

# Limits: warden with memory and pids limits vs bubblewrap inside cgroups
# the script makes itself, below its own (v1: memory and pids where those
# hierarchies exist; v2: one group). hyperfine for that round runs from a
# subshell that has joined them, so bwrap starts in them with no extra
# exec (a `sh -c 'echo $$ > cgroup.procs; exec bwrap'` wrapper cost one).
printf 'extends = "default"\n[cgroup]\nmemory = "256M"\npids = 256\n' > "$tmp/limits.toml"
for ctl in memory pids; do
  own=$(awk -F: -v c=$ctl '$2 == c {print $3}' /proc/self/cgroup)
  [ -n "$own" ] && [ -d "/sys/fs/cgroup/$ctl$own" ] || continue
  cg="/sys/fs/cgroup/$ctl$own/warden-bench-$$"
  mkdir "$cg"; bwrap_cg="$bwrap_cg $cg"
  case $ctl in
    memory) echo $((256 << 20)) > "$cg/memory.limit_in_bytes" ;;
    pids) echo 256 > "$cg/pids.max" ;;
  esac
done
if [ -z "$bwrap_cg" ] && [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  own=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
  cg="/sys/fs/cgroup${own%/}/warden-bench-$$"
  mkdir "$cg"; bwrap_cg="$cg"
  echo 256M > "$cg/memory.max" 2>/dev/null || true; echo 256 > "$cg/pids.max" 2>/dev/null || true
fi
# One round of bwrap inside those cgroups; the subshell, and with it the
# hyperfine it starts, leaves them when it exits.
hf_bwrap_limits() {
  (
    for d in $bwrap_cg; do echo "$BASHPID" > "$d/cgroup.procs"; done
    hf bwrap_limits "$bwrap_cmd"
  )
}

# Networking against the default loopback mode: veth with only the host
# end allowed, and veth with destinations beyond the host (10.9.9.9:443 and
# a resolver), which need forwarding and the host's NAT table. The jobs run
# /bin/true: nothing is ever sent to those addresses.
veth=0
if "$W" run --net veth --allow host:8080 -- /bin/true >/dev/null 2>&1 &&
   "$W" run --net veth --allow 10.9.9.9:443/tcp --allow host:8080 -- /bin/true >/dev/null 2>&1; then
  veth=1
else
  echo "startup: veth mode does not work here (see warden doctor); no veth figures" >&2
fi

for ((r = 0; r < rounds; ++r)); do
  hf warden "$W run -- /bin/true"
  hf unshare "unshare -m -p -i -u -n -f /bin/true"
  hf bwrap "$bwrap_cmd"
  hf limits "$W run --policy $tmp/limits.toml -- /bin/true"
  [ -n "$bwrap_cg" ] && hf_bwrap_limits
  [ "$veth" = 1 ] && hf veth_host "$W run --net veth --allow host:8080 -- /bin/true"
  [ "$veth" = 1 ] && hf veth "$W run --net veth --allow 10.9.9.9:443/tcp --allow 198.51.100.8:53/udp --allow host:8080 -- /bin/true"
done
warden_ms=$(median warden)
unshare_ms=$(median unshare)
bwrap_ms=$(median bwrap)
limits_ms=$(median limits)
bwrap_limits_ms=$(median bwrap_limits)
veth_ms=$(median veth)
veth_host_ms=$(median veth_host)

# Where the veth time goes (lease, netlink, nft, teardown), from the hidden
# unit test that times VethSession's phases.
if [ "$veth" = 1 ] && [ -x "$root/$build/unit_tests" ]; then
  "$root/$build/unit_tests" "net: veth timing split" 2>/dev/null | grep '^BENCH net_veth_us' || true
fi

ms() { python3 -c "print(f'{float(\"$1\")*1000:.2f}')"; }
ratio() { python3 -c "print(f'{float(\"$1\")/float(\"$2\"):.3f}')"; }
echo "startup medians (ms): warden=$(ms "$warden_ms") unshare=$(ms "$unshare_ms") bwrap=$(ms "$bwrap_ms") warden+limits=$(ms "$limits_ms")${bwrap_limits_ms:+ bwrap+cgroup=$(ms "$bwrap_limits_ms")}"
echo "BENCH startup_warden_ms=$(ms "$warden_ms")"
echo "BENCH startup_vs_bwrap=$(ratio "$warden_ms" "$bwrap_ms")"
echo "BENCH startup_vs_unshare=$(ratio "$warden_ms" "$unshare_ms")"
echo "BENCH startup_limits_vs_nolimits=$(ratio "$limits_ms" "$warden_ms")"
# startup_veth_* : with a destination beyond the host in the whitelist.
[ -n "$veth_host_ms" ] && echo "BENCH startup_veth_host_only_ms=$(ms "$veth_host_ms")" && echo "BENCH startup_veth_host_only_vs_loopback=$(ratio "$veth_host_ms" "$warden_ms")"
[ -n "$veth_ms" ] && echo "BENCH startup_veth_ms=$(ms "$veth_ms")" && echo "BENCH startup_veth_vs_loopback=$(ratio "$veth_ms" "$warden_ms")"
[ -n "$bwrap_limits_ms" ] && echo "BENCH startup_limits_vs_bwrap_limits=$(ratio "$limits_ms" "$bwrap_limits_ms")"
exit 0
