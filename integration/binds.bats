#!/usr/bin/env bats
# Binds that just work: destinations that do not exist are created on a
# tmpfs warden controls (never on the host), and idmapped binds
# (`owned = true`, `--bind-owned`) give the job a workspace it owns.

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

# owned_policy SRC DEST: a policy file binding SRC at DEST, owned.
owned_policy() {
  cat >"$T/owned.toml" <<TOML
extends = "default"
[[filesystem.mount]]
source = "$1"
destination = "$2"
owned = true
TOML
  echo "$T/owned.toml"
}

# A workspace of uid/gid 1234 under DIR, holding one file of its own.
make_ws() {
  mkdir "$1/ws"
  echo data >"$1/ws/f"
  chown -R 1234:1234 "$1/ws"
  chmod 0755 "$1/ws"
}

@test "binds: an owned bind on ext4 (this host's /tmp) is the job's, and what it creates is the owner's" {
  make_ws "$T"
  run "$W" run --policy "$(owned_policy "$T/ws" /tmp/ws)" -- /bin/sh -c \
    'echo "me=$(id -u) dir=$(stat -c %u /tmp/ws) file=$(stat -c %u:%g /tmp/ws/f)"; echo new >/tmp/ws/created && echo WROTE'
  [ "$status" -eq 0 ]
  me=$(sed -n 's/^me=\([0-9]*\) .*/\1/p' <<<"$output")
  [ -n "$me" ] && [ "$me" != 1234 ]
  [[ "$output" == *"me=$me dir=$me file=$me:"* ]]
  [[ "$output" == *WROTE* ]]
  [ "$(stat -c %u:%g "$T/ws/created")" = 1234:1234 ]
}

@test "binds: a plain --bind of the same directory shows its owner, and the job cannot write there" {
  make_ws "$T"
  run "$W" run --bind "$T/ws" /tmp/ws -- /bin/sh -c \
    'echo "dir=$(stat -c %u /tmp/ws)"; echo new >/tmp/ws/created 2>/dev/null && echo WROTE; echo done'
  [ "$status" -eq 0 ]
  [[ "$output" == *"dir=1234"* ]]
  [[ "$output" != *WROTE* ]]
  [ ! -e "$T/ws/created" ]
}

@test "binds: an owned bind of a tmpfs directory" {
  mkdir "$T/mnt"
  # A tmpfs of this test's own, in a mount namespace that ends with it.
  run unshare -m --propagation private /bin/sh -c '
    mount -t tmpfs -o size=1m,mode=0755 warden-test "$1/mnt" || exit 90
    mkdir "$1/mnt/ws" && chown 1234:1234 "$1/mnt/ws" || exit 91
    "$2" run --policy "$3" -- /bin/sh -c "id -u; stat -c %u /tmp/ws; touch /tmp/ws/c" || exit $?
    stat -c "owner=%u" "$1/mnt/ws/c"' sh "$T" "$W" "$(owned_policy "$T/mnt/ws" /tmp/ws)"
  if [ "$status" -eq 125 ] && [[ "$output" == *"tmpfs filesystem"* ]]; then
    skip "this kernel cannot idmap tmpfs (before Linux 6.3): $output"
  fi
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "${lines[1]}" ]
  [[ "$output" == *owner=1234* ]]
}

@test "binds: an owned bind of a filesystem that cannot be idmapped (procfs) is refused, naming it" {
  run "$W" run --policy "$(owned_policy /proc/sys/fs /tmp/ws)" -- /bin/sh -c 'echo RAN'
  [ "$status" -eq 125 ]
  [[ "$output" == *"proc filesystem"*"MOUNT_ATTR_IDMAP"* ]]
  [[ "$output" != *RAN* ]]
}

@test "binds: --bind-owned SRC DEST on the command line" {
  make_ws "$T"
  run "$W" run --bind-owned "$T/ws" /work -- /bin/sh -c '[ "$(stat -c %u /work)" = "$(id -u)" ] && touch /work/c && echo OK'
  [ "$status" -eq 0 ]
  [[ "$output" == *OK* ]]
  [ "$(stat -c %u "$T/ws/c")" = 1234 ]
}

@test "binds: missing destinations are created, nested, in /tmp, /opt, under the absent /home, and as files" {
  mkdir "$T/src"
  echo hi >"$T/src/f"
  run "$W" run --bind "$T/src" /tmp/a/b/c --bind "$T/src" /opt/new \
    --bind "$T/src" /home/runner/work/x --bind "$T/src/f" /opt/files/f.txt -- /bin/sh -c \
    'cat /tmp/a/b/c/f /opt/new/f /home/runner/work/x/f /opt/files/f.txt; touch /opt/y 2>/dev/null && echo ROOT-WRITABLE; echo done'
  [ "$status" -eq 0 ]
  [ "$output" = "hi
hi
hi
hi
done" ]
}

@test "binds: a mount point below a writable host bind is never created on the host" {
  mkdir "$T/host" "$T/src"
  run "$W" run --bind "$T/host" /tmp/w --bind "$T/src" /tmp/w/sub/new -- /bin/echo RAN
  [ "$status" -eq 125 ]
  [[ "$output" != *RAN* ]]
  [[ "$output" == *"host directory $T/host"*"create it there"* ]]
  [ -z "$(ls -A "$T/host")" ]
}

@test "binds: a mount point is never created through a symlink in a bound directory" {
  mkdir "$T/shared" "$T/src"
  ln -s /dev/shm "$T/shared/link"
  run "$W" run --bind "$T/shared" /tmp/shared --bind "$T/src" /tmp/shared/link/x -- /bin/sh -c 'ls /dev/shm; echo RAN'
  [ "$status" -eq 125 ]
  [[ "$output" != *RAN* ]]
  [[ "$output" == *ELOOP* ]]
}

# A policy that shows the whole host (rootfs = "/"), with the default masks.
whole_host() {
  cat >"$T/whole.toml" <<TOML
extends = "default"
[filesystem]
rootfs = "/"
TOML
  echo "$T/whole.toml"
}

@test "binds: with rootfs = \"/\", destinations under read-only and masked directories are created on a tmpfs" {
  mkdir "$T/src"
  echo hi >"$T/src/f"
  [ -d /opt ] && [ -d /usr/local ] || skip "this host has no /opt or /usr/local"
  before_opt=$(ls -A /opt | md5sum)
  before_local=$(ls -A /usr/local | md5sum)
  before_home=$(ls -A /home 2>/dev/null | md5sum)
  local_entry=$(ls -A /usr/local | head -1)
  run "$W" run --policy "$(whole_host)" --bind "$T/src" /opt/new/deep --bind "$T/src" /home/runner/work/x \
    --bind "$T/src" /usr/local/new --ro-bind "$T/src/f" /opt/new.txt -- /bin/sh -c \
    "cat /opt/new/deep/f /home/runner/work/x/f /usr/local/new/f /opt/new.txt; ls /home; ls -A /usr/local | grep -qx '$local_entry' && echo KEPT; touch /usr/local/zz /opt/zz /home/zz 2>/dev/null || echo RO"
  [ "$status" -eq 0 ]
  [ "$output" = "hi
hi
hi
hi
runner
KEPT
RO" ]
  # Nothing was made on the host.
  [ "$(ls -A /opt | md5sum)" = "$before_opt" ]
  [ "$(ls -A /usr/local | md5sum)" = "$before_local" ]
  [ "$(ls -A /home 2>/dev/null | md5sum)" = "$before_home" ]
}

@test "binds: a new top-level directory with rootfs = \"/\" is refused, naming the host directory" {
  mkdir "$T/src"
  run "$W" run --policy "$(whole_host)" --bind "$T/src" "/warden-none-$$/x" -- /bin/echo RAN
  [ "$status" -eq 125 ]
  [[ "$output" == *"host directory / "* ]]
  [[ "$output" != *RAN* ]]
  [ ! -e "/warden-none-$$" ]
}

@test "binds: the host view's /usr/local gets a new directory, its entries still shown read-only" {
  mkdir "$T/src"
  echo hi >"$T/src/f"
  [ -d /usr/local/bin ] || skip "this host has no /usr/local/bin"
  run "$W" run --bind "$T/src" /usr/local/new -- /bin/sh -c \
    'cat /usr/local/new/f; [ -d /usr/local/bin ] && echo BIN; touch /usr/local/bin/zz 2>/dev/null || echo RO'
  [ "$status" -eq 0 ]
  [ "$output" = "hi
BIN
RO" ]
  [ ! -e /usr/local/new ]
}

@test "binds: covering a bound directory for a new mount point keeps warden's state in it hidden" {
  mkdir -p "$T/tree/pub" "$T/tree/cache" "$T/src"
  echo visible >"$T/tree/pub/p"
  run env WARDEN_CACHE_DIR="$T/tree/cache" "$W" run --ro-bind "$T/tree" /srv/t --bind "$T/src" /srv/t/new -- \
    /bin/sh -c 'cat /srv/t/pub/p; ls -A /srv/t/cache | wc -l; ls /srv/t'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = visible ]
  [ "${lines[1]}" = 0 ]
  [ -n "$(ls -A "$T/tree/cache")" ]
  [ ! -e "$T/tree/new" ]
}

@test "binds: an owned bind in a user namespace is the job's too" {
  make_ws "$T"
  cat >"$T/userns.toml" <<TOML
extends = "default"
[namespaces]
user = true
[[filesystem.mount]]
source = "$T/ws"
destination = "/tmp/ws"
owned = true
TOML
  run "$W" run --policy "$T/userns.toml" -- /bin/sh -c '[ "$(stat -c %u /tmp/ws)" = "$(id -u)" ] && touch /tmp/ws/c && echo OK'
  [ "$status" -eq 0 ]
  [[ "$output" == *OK* ]]
  [ "$(stat -c %u:%g "$T/ws/c")" = 1234:1234 ]
}

@test "binds: an owned bind of a root-owned directory is refused (the job would make root's files)" {
  mkdir "$T/rootws"
  run "$W" run --policy "$(owned_policy "$T/rootws" /tmp/ws)" -- /bin/sh -c 'touch /tmp/ws/x; echo RAN'
  [ "$status" -eq 125 ]
  [[ "$output" == *"belong to root"* ]]
  [[ "$output" != *RAN* ]]
  [ ! -e "$T/rootws/x" ]
}

@test "binds: a job cannot leave set-uid or set-gid files of the owner in an owned bind" {
  make_ws "$T"
  # Every way the job could set the bits: chmod, fchmod, fchmodat, and
  # creating the file with them (open, openat, mknod). Each must fail; the
  # plain chmod of the same file (no set-id bits) must work.
  run "$W" run --bind-owned "$T/ws" /work -- /usr/bin/python3 -c '
import os
out = []
def tr(name, f):
    try:
        f(); out.append(name + "=ok")
    except OSError as e:
        out.append(name + "=" + os.strerror(e.errno))
open("/work/a", "w").close()
tr("chmod-suid", lambda: os.chmod("/work/a", 0o4755))
tr("chmod-sgid", lambda: os.chmod("/work/a", 0o2755))
fd = os.open("/work/a", os.O_RDONLY)
tr("fchmod-suid", lambda: os.fchmod(fd, 0o4755))
dfd = os.open("/work", os.O_RDONLY)
tr("fchmodat-suid", lambda: os.chmod("a", 0o4755, dir_fd=dfd))
tr("open-suid", lambda: os.close(os.open("/work/b", os.O_CREAT | os.O_WRONLY, 0o4755)))
tr("openat-sgid", lambda: os.close(os.open("c", os.O_CREAT | os.O_WRONLY, 0o2755, dir_fd=dfd)))
tr("mknod-suid", lambda: os.mknod("/work/d", 0o104755))
# fchmodat2 (Linux 6.6, number 452 on x86_64), called by number: Python
# has no wrapper. ENOSYS on an older kernel is a refusal too.
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def fchmodat2():
    if libc.syscall(452, -100, b"/work/a", 0o4755, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
tr("fchmodat2-suid", fchmodat2)
tr("chmod-plain", lambda: os.chmod("/work/a", 0o755))
print(" ".join(out))'
  [ "$status" -eq 0 ]
  for c in chmod-suid chmod-sgid fchmod-suid fchmodat-suid open-suid openat-sgid mknod-suid; do
    [[ "$output" == *"$c=Operation not permitted"* ]] || { echo "$c: $output"; false; }
  done
  [[ "$output" == *"fchmodat2-suid=Operation not permitted"* || "$output" == *"fchmodat2-suid=Function not implemented"* ]]
  [[ "$output" == *"chmod-plain=ok"* ]]
  # Nothing on the host carries a set-id bit.
  [ -z "$(find "$T/ws" -perm /6000)" ]
}

@test "binds: an owned bind with io_uring allowed is refused" {
  make_ws "$T"
  cat >"$T/uring.toml" <<TOML
extends = "default"
[seccomp]
allow = ["io_uring_setup"]
[[filesystem.mount]]
source = "$T/ws"
destination = "/work"
owned = true
TOML
  run "$W" run --policy "$T/uring.toml" -- /bin/sh -c 'echo RAN'
  [ "$status" -eq 125 ]
  [[ "$output" == *io_uring_setup* ]]
  [[ "$output" != *RAN* ]]
}

@test "binds: under an owned bind io_uring stays closed when the deny action only logs" {
  make_ws "$T"
  # An OCI profile that allows everything and only logs: io_uring_setup
  # must still fail, or its opens would pass around the set-id rules.
  echo '{"defaultAction":"SCMP_ACT_LOG","syscalls":[]}' >"$T/log.json"
  run "$W" run --seccomp-profile "$T/log.json" --bind-owned "$T/ws" /work -- /usr/bin/python3 -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 4, params)
print("uring=" + ("fd" if fd >= 0 else os.strerror(ctypes.get_errno())))
try:
    os.close(os.open("/work/x", os.O_CREAT | os.O_WRONLY, 0o4755)); print("open=ok")
except OSError as e:
    print("open=" + e.strerror)'
  [ "$status" -eq 0 ]
  [[ "$output" == *"uring=Operation not permitted"* ]]
  [[ "$output" == *"open=Operation not permitted"* ]]
  [ -z "$(find "$T/ws" -perm /6000)" ]
}
