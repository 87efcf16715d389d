#!/usr/bin/env bats
# warden policy import-oci and the `warden policy` command line: OCI/Docker
# seccomp profiles become policies that load back to the same filter and
# hold in a real job.

load helpers
bats_require_minimum_version 1.5.0

DATA=$BATS_TEST_DIRNAME/data/oci

setup() { common_setup; }
teardown() { common_teardown; }

# seccomp_section FILE: the [seccomp] part of a policy TOML (up to [network]).
seccomp_section() {
  sed -n '/^\[seccomp\]$/,/^\[network\]$/p' "$1"
}

# docker_profile: the path of Docker's default profile as Debian ships it,
# or nothing (WARDEN_TEST_OCI_PROFILE_ROOT prefixes an unpacked .deb).
docker_profile() {
  local p=/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
  for f in "${WARDEN_TEST_OCI_PROFILE_ROOT:-}$p" "$p"; do
    [ -r "$f" ] && { echo "$f"; return; }
  done
  true
}

# podman_profile: the path of Podman's profile (containers-common), or nothing.
podman_profile() {
  local p
  for p in /usr/share/containers/seccomp.json \
           /usr/share/gocode/src/github.com/containers/common/pkg/seccomp/seccomp.json; do
    for f in "${WARDEN_TEST_OCI_PROFILE_ROOT:-}$p" "$p"; do
      [ -r "$f" ] && { echo "$f"; return; }
    done
  done
  true
}

@test "policy: --help of the command and of each subcommand prints usage and exits 0" {
  run "$W" policy --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"usage: warden policy check"* ]]
  [[ "$output" == *"import-oci"* ]]
  run "$W" policy check --help
  [ "$status" -eq 0 ]
  [[ "$output" == "usage: warden policy check FILE|NAME"* ]]
  run "$W" policy import-oci --help
  [ "$status" -eq 0 ]
  [[ "$output" == "usage: warden policy import-oci"* ]]
  run "$W" policy help import-oci
  [ "$status" -eq 0 ]
  [[ "$output" == "usage: warden policy import-oci"* ]]
}

@test "policy: unknown subcommands, options and extra arguments are one-line errors, exit 2" {
  for args in "frobnicate" "" "check" "check --bogus default" "check default extra" \
              "import-oci" "import-oci $DATA/allow-default.json --bogus" \
              "import-oci a.json b.json" "import-oci $DATA/allow-default.json --extends" \
              "import-oci $DATA/allow-default.json --force"; do
    # shellcheck disable=SC2086
    run --separate-stderr "$W" policy $args
    echo "args: $args -> $status: $stderr"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "warden policy"*"--help)" ]]
  done
}

@test "import-oci: writes a policy that policy check loads back to the same [seccomp]" {
  run --separate-stderr "$W" policy import-oci "$DATA/allow-default.json" -o "$T/p.toml"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ -f "$T/p.toml" ]
  "$W" policy check "$T/p.toml" > "$T/check.out"
  seccomp_section "$T/p.toml" > "$T/written"
  seccomp_section "$T/check.out" > "$T/loaded"
  grep -q '^syscall = "mkdir"$' "$T/written"
  grep -q '^errno = 13$' "$T/written"
  diff "$T/written" "$T/loaded"
  # stdout by default, the same text.
  run --separate-stderr "$W" policy import-oci "$DATA/allow-default.json"
  [ "$status" -eq 0 ]
  [ "$output" = "$(cat "$T/p.toml")" ]
}

@test "import-oci: --extends takes the rest of the policy from another base" {
  run "$W" policy import-oci "$DATA/allow-default.json" --extends python -o "$T/py.toml"
  [ "$status" -eq 0 ]
  grep -q '^suffixes = \[".py"\]' "$T/py.toml"
  run "$W" policy import-oci "$DATA/allow-default.json" --extends no-such-policy
  [ "$status" -eq 125 ]
  [[ "$output" == *"--extends no-such-policy"* ]]
}

@test "import-oci: an existing OUT, or a symlink planted there, is never overwritten without --force" {
  echo keep > "$T/victim"
  ln -s "$T/victim" "$T/link.toml"
  echo old > "$T/p.toml"
  run "$W" policy import-oci "$DATA/allow-default.json" -o "$T/p.toml"
  [ "$status" -eq 125 ]
  [[ "$output" == *"exists; pass --force"* ]]
  [ "$(cat "$T/p.toml")" = old ]
  run "$W" policy import-oci "$DATA/allow-default.json" -o "$T/link.toml"
  [ "$status" -eq 125 ]
  [ "$(cat "$T/victim")" = keep ]
  # --force replaces the link itself, never what it points to.
  run "$W" policy import-oci "$DATA/allow-default.json" -o "$T/link.toml" --force
  [ "$status" -eq 0 ]
  [ "$(cat "$T/victim")" = keep ]
  [ ! -L "$T/link.toml" ]
  "$W" policy check "$T/link.toml" > /dev/null
  run "$W" policy import-oci "$DATA/allow-default.json" -o "$T/p.toml" --force
  [ "$status" -eq 0 ]
  "$W" policy check "$T/p.toml" > /dev/null
  [ -z "$(find "$T" -name '.warden-import-*')" ]
}

@test "import-oci: what warden cannot honour is refused with the JSON path, and nothing is written" {
  run "$W" policy import-oci "$DATA/trap.json" -o "$T/p.toml"
  [ "$status" -eq 125 ]
  [[ "$output" == *"trap.json: syscalls[1].action: SCMP_ACT_TRAP"* ]]
  [ ! -e "$T/p.toml" ]
  mkfifo "$T/fifo.json"
  run "$W" policy import-oci "$T/fifo.json"
  [ "$status" -eq 125 ]
  [[ "$output" == *"not a regular file"* ]]
}

@test "import-oci: a job under the imported policy gets the profile's verdicts" {
  "$W" policy import-oci "$DATA/allow-default.json" -o "$T/p.toml" 2>/dev/null
  run "$W" run --policy "$T/p.toml" -- /bin/true
  [ "$status" -eq 0 ]
  run "$W" run --policy "$T/p.toml" -- /bin/mkdir /tmp/d
  [ "$status" -ne 0 ]
  [[ "$output" == *"Permission denied"* ]]
  run "$W" run --policy "$T/p.toml" -- /bin/sh -c ': > /tmp/f && /bin/chmod 600 /tmp/f'
  echo "$output"
  # SCMP_ACT_KILL_PROCESS: SIGSYS.
  [ "$status" -eq 159 ]
}

@test "import-oci: Docker's default profile runs true and denies what it denies" {
  profile=$(docker_profile)
  [ -n "$profile" ] || skip "SKIPPED: Docker's profile not installed (golang-github-docker-docker-dev)"
  "$W" policy import-oci "$profile" -o "$T/docker.toml" 2>/dev/null
  "$W" policy check "$T/docker.toml" > "$T/check.out"
  diff <(seccomp_section "$T/docker.toml") <(seccomp_section "$T/check.out")
  run "$W" run --policy "$T/docker.toml" -- /bin/true
  [ "$status" -eq 0 ]
  run "$W" run --policy "$T/docker.toml" -- /usr/bin/python3 - < "$PROGS/syscalls.py"
  echo "$output"
  [ "$status" -eq 0 ]
  # clone3: the profile's own ERRNO(ENOSYS) entry; unshare, bpf, mount:
  # defaultAction's EPERM (their allow entries need capabilities).
  [[ "$output" == *"getpid OK"* ]]
  [[ "$output" == *"clone3 ENOSYS"* ]]
  [[ "$output" == *"unshare EPERM"* ]]
  [[ "$output" == *"bpf EPERM"* ]]
  [[ "$output" == *"mount EPERM"* ]]
}

@test "import-oci: Podman's profile denies with its ENOSYS default, and --seccomp-profile takes it as it is" {
  profile=$(podman_profile)
  [ -n "$profile" ] || skip "SKIPPED: Podman's profile not installed (golang-github-containers-common-dev)"
  "$W" policy import-oci "$profile" -o "$T/podman.toml" 2>/dev/null
  # defaultErrnoRet 38 is the deny action's errno, not a rule per syscall.
  [ "$(seccomp_section "$T/podman.toml" | head -3)" = "$(printf '[seccomp]\naction = "errno"\nerrno = 38')" ]
  "$W" policy check "$T/podman.toml" > "$T/check.out"
  diff <(seccomp_section "$T/podman.toml") <(seccomp_section "$T/check.out")
  run "$W" run --policy "$T/podman.toml" -- /bin/true
  [ "$status" -eq 0 ]
  run "$W" run --policy "$T/podman.toml" -- /usr/bin/python3 - < "$PROGS/syscalls.py"
  echo "$output"
  [ "$status" -eq 0 ]
  # Unlisted: ENOSYS; its EPERM entries for a job without capabilities:
  # EPERM (setns too, which its list of allowed calls also names).
  [[ "$output" == *"getpid OK"* ]]
  [[ "$output" == *"add_key ENOSYS"* ]]
  [[ "$output" == *"io_uring_setup ENOSYS"* ]]
  [[ "$output" == *"kexec_load EPERM"* ]]
  [[ "$output" == *"bpf EPERM"* ]]
  [[ "$output" == *"setns EPERM"* ]]
  # personality: the listed values only; any other falls through to ENOSYS.
  run "$W" run --seccomp-profile "$profile" -- /usr/bin/python3 -c '
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
for v in (0xffffffff, 0x0400000):
    r = libc.personality(ctypes.c_ulong(v))
    print(hex(v), "OK" if r != -1 else errno.errorcode[ctypes.get_errno()])'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"0xffffffff OK"* ]]
  [[ "$output" == *"0x400000 ENOSYS"* ]]
}
