#!/usr/bin/env bats
# Files warden writes as root on the operator's behalf, attacked by the job
# through a work directory it shares with the operator: planted symlinks,
# FIFOs, devices and swapped directories must never redirect root's writes.

load helpers
bats_require_minimum_version 1.5.0

setup() {
  common_setup
  # The shared work dir: writable by whatever uid the job gets.
  mkdir -m 0777 "$T/work"
  echo precious > "$T/victim"
  chmod 0644 "$T/victim"
  mkdir "$T/victimdir"
}
teardown() { common_teardown; }

# Runs warden with the work dir bound at /work; a guard against a hang
# (the FIFO attack) without asserting any time.
wrun() { run timeout 120 "$W" run --bind "$T/work" /work "$@"; }

@test "attack --result: a symlink planted at FILE.tmp does not make root overwrite its target" {
  wrun --result "$T/work/result.json" -- /bin/sh -c "ln -s $T/victim /work/result.json.tmp"
  [ "$status" -eq 0 ]
  [ "$(cat "$T/victim")" = precious ]
  [ -f "$T/work/result.json" ] && [ ! -L "$T/work/result.json" ]
  [ "$(json "$T/work/result.json" status)" = ok ]
}

@test "attack --result: a symlink planted at FILE while the job runs is replaced, not followed" {
  wrun --result "$T/work/result.json" -- /bin/sh -c "ln -s $T/victim /work/result.json"
  [ "$status" -eq 0 ]
  [ "$(cat "$T/victim")" = precious ]
  [ ! -L "$T/work/result.json" ]
  [ "$(json "$T/work/result.json" status)" = ok ]
  # No temp file is left beside it.
  [ -z "$(find "$T/work" -name '.*.tmp')" ]
}

@test "attack --result: a symlink, FIFO, device or directory as FILE stops the run before the job" {
  ln -s "$T/victim" "$T/work/link.json"
  mkfifo "$T/work/fifo.json"
  mkdir "$T/work/dir.json"
  for target in "$T/work/link.json" "$T/work/fifo.json" "$T/work/dir.json" /dev/null \
                "$T/work/missing/r.json" /proc/sys/kernel/warden-result "$T/work/"; do
    wrun --result "$target" -- /bin/sh -c 'touch /work/ran'
    echo "target $target: status $status: $output"
    [ "$status" -eq 125 ]
    [[ "$output" == *"--result"* ]]
    [ ! -e "$T/work/ran" ]
  done
  [ "$(cat "$T/victim")" = precious ]
  [ -p "$T/work/fifo.json" ] && [ -L "$T/work/link.json" ] && [ -c /dev/null ]
}

@test "attack --result: a symlinked directory in the path is refused before the job" {
  ln -s "$T/victimdir" "$T/work/out"
  wrun --result "$T/work/out/r.json" -- /bin/sh -c 'touch /work/ran'
  [ "$status" -eq 125 ]
  [[ "$output" == *symlink* ]]
  [ ! -e "$T/work/ran" ]
  [ -z "$(ls -A "$T/victimdir")" ]
}

@test "--result - writes the JSON to stdout when --output-dir takes the job's, and only then" {
  wrun --result - --output-dir "$T/out" -- /bin/true
  [ "$status" -eq 0 ]
  [[ "$output" == *'"status"'* ]]
  wrun --result - -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$output" == *--result-fd* ]]
}

@test "attack --output-dir: out swapped for a symlink is refused, nothing is created at its target" {
  # The first run creates out/ (root's); the job renames it away (it may
  # write the work dir) and puts a symlink in its place.
  wrun --output-dir "$T/work/out" -- /bin/sh -c "mv /work/out /work/out.old && ln -s $T/victimdir /work/out"
  [ "$status" -eq 0 ]
  [ -L "$T/work/out" ]
  wrun --output-dir "$T/work/out" -- /bin/sh -c 'touch /work/ran; echo leaked'
  [ "$status" -eq 125 ]
  [[ "$output" == *symlink* ]]
  [ ! -e "$T/work/ran" ]
  [ -z "$(ls -A "$T/victimdir")" ]
}

@test "attack --output-dir: a symlink in the middle of the path is not followed" {
  ln -s "$T/victimdir" "$T/work/link"
  wrun --output-dir "$T/work/link/sub/out" -- /bin/true
  [ "$status" -eq 125 ]
  [ -z "$(ls -A "$T/victimdir")" ]
}

@test "attack --output-dir: a FIFO planted as out/stdout fails the run at once instead of hanging it" {
  wrun --output-dir "$T/work/out" -- /bin/sh -c 'mv /work/out /work/out.old && mkdir /work/out && mkfifo /work/out/stdout'
  [ "$status" -eq 0 ]
  [ -p "$T/work/out/stdout" ]
  wrun --output-dir "$T/work/out" -- /bin/sh -c 'touch /work/ran'
  [ "$status" -eq 125 ]
  [[ "$output" == *FIFO* ]]
  [ ! -e "$T/work/ran" ]
}

@test "attack --output-dir: symlinked or hard-linked out/stderr does not make root write its target" {
  wrun --output-dir "$T/work/out" -- /bin/sh -c "mv /work/out /work/out.old && mkdir /work/out && ln -s $T/victim /work/out/stderr"
  [ "$status" -eq 0 ]
  wrun --output-dir "$T/work/out" -- /bin/sh -c 'echo pwned >&2'
  [ "$status" -eq 125 ]
  [ "$(cat "$T/victim")" = precious ]
  # A hard link to a file the operator owns (made here as the job could on
  # a host without protected_hardlinks).
  rm "$T/work/out/stderr"
  ln "$T/victim" "$T/work/out/stderr"
  wrun --output-dir "$T/work/out" -- /bin/sh -c 'echo pwned >&2'
  [ "$status" -eq 125 ]
  [[ "$output" == *links* ]]
  [ "$(cat "$T/victim")" = precious ]
}

@test "--output-dir: made fresh, stdout and stderr are regular 0600 files with the job's output" {
  wrun --output-dir "$T/work/new/out" -- /bin/sh -c 'echo hello; echo oops >&2'
  [ "$status" -eq 0 ]
  [ "$(cat "$T/work/new/out/stdout")" = hello ]
  [ "$(cat "$T/work/new/out/stderr")" = oops ]
  [ "$(stat -c %a "$T/work/new/out/stdout")" = 600 ]
}

@test "default limits: policy check shows memory 512 MiB, pids 256 and one CPU for every shipped policy" {
  for p in default python node shell; do
    run "$W" policy check "$p"
    [ "$status" -eq 0 ]
    section=$(echo "$output" | sed -n '/^\[cgroup\]/,/^\[/p')
    echo "$p: $section"
    echo "$section" | grep -qx 'memory = 536870912'
    echo "$section" | grep -qx 'pids = 256'
    echo "$section" | grep -qx 'cpu = 1.0'
  done
}

@test "default limits: a fork bomb under the default policy stops at the pids limit" {
  # Children block on a pipe until the bomb's parent exits; the parent forks
  # until the kernel refuses and prints how many it made and the errno.
  run "$W" run --result "$T/r.json" -- /usr/bin/python3 -c '
import errno, os
r, w = os.pipe()
n = 0
err = 0
try:
    while n < 2000:
        if os.fork() == 0:
            os.close(w)
            os.read(r, 1)
            os._exit(0)
        n += 1
except OSError as e:
    err = e.errno
print(n, errno.errorcode.get(err, err))
'
  echo "$output"
  [ "$status" -eq 0 ]
  read -r made why <<< "$(echo "$output" | tail -1)"
  [ "$why" = EAGAIN ]
  # init, the bomb and its children: all within 256 tasks.
  [ "$made" -lt 256 ]
  [ "$made" -gt 200 ]
  peak=$(json "$T/r.json" cgroup.pids_peak)
  [ "$peak" -le 256 ]
}

@test "default limits: a memory bomb under the default policy is killed at 512 MiB" {
  # Touches 1 GiB in 64 MiB steps, reporting each step it survived.
  run "$W" run --result "$T/r.json" -- /usr/bin/python3 -c '
import sys
keep = []
for i in range(16):
    keep.append(b"x" * (64 << 20))
    print((i + 1) * 64, flush=True)
'
  echo "$output"
  [ "$status" -eq 137 ]
  [ "$(json "$T/r.json" status)" = oom ]
  # It never held more than the limit.
  last=$(echo "$output" | grep -E '^[0-9]+$' | tail -1)
  [ "${last:-0}" -le 512 ]
  peak=$(json "$T/r.json" cgroup.memory_peak_bytes)
  [ "$peak" -le $((512 << 20)) ]
}
