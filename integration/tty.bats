#!/usr/bin/env bats
# The operator's terminal: without --pty the job never holds it. A terminal
# on stdin becomes /dev/null for the job, and output to a terminal is relayed
# by warden through a pipe, so the job cannot read the terminal or change its
# settings, while what it prints still reaches the operator.

load helpers
bats_require_minimum_version 1.5.0

setup() {
  common_setup
  command -v python3 >/dev/null || skip "needs python3 (pty module)"
}
teardown() { common_teardown; }

# under_pty CMD...: runs CMD with a new pseudo-terminal as its stdin, stdout
# and stderr; what it writes to the terminal comes out on our stdout.
under_pty() {
  # timeout is a hang guard, not a barrier: a job that reads the operator's
  # terminal would otherwise wait on it for ever.
  timeout 120 python3 -c 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))' "$@"
}

# The job's probe: tcgetattr on each of its fds 0, 1, 2, printed one word each.
PROBE='
import errno, sys, termios
words = []
for fd in (0, 1, 2):
    try:
        termios.tcgetattr(fd)
        words.append("tty%d" % fd)
    except termios.error as e:
        words.append("notty%d" % fd if e.args[0] == errno.ENOTTY else "err%d" % fd)
print(" ".join(words))
sys.stderr.write("on-stderr\n")
'

@test "tty: the probe sees a terminal when run under the pty without warden" {
  run under_pty python3 -c "$PROBE"
  [ "$status" -eq 0 ]
  [[ "$output" == *"tty0 tty1 tty2"* ]]
}

@test "tty: the job holds none of warden's terminal fds, and its output still reaches the terminal" {
  run under_pty "$W" run -- python3 -c "$PROBE"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"notty0 notty1 notty2"* ]]
  [[ "$output" == *"on-stderr"* ]]
}

@test "tty: stdin on a terminal reads as empty for the job" {
  run under_pty "$W" run -- sh -c 'if read -r line; then echo "got:$line"; else echo eof; fi'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *eof* ]]
}

@test "tty: stdout that is not a terminal is handed over as it is" {
  run "$W" run -- python3 -c 'import os, stat; print(stat.S_ISFIFO(os.fstat(1).st_mode))'
  [ "$status" -eq 0 ]
  [[ "$output" == *True* ]]
}

@test "tty: --pty gives the job a terminal of its own as stdin, stdout and controlling terminal" {
  run "$W" run --pty -- sh -c 'test -t 0 && test -t 1 && echo tty'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *tty* ]]
  # tcgetpgrp answers only on the caller's controlling terminal.
  run "$W" run --pty -- python3 -c 'import os; print("ctty", os.tcgetpgrp(0) == os.getpgrp())'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"ctty True"* ]]
}

@test "tty: --pty relays warden's stdin to the job's terminal" {
  run "$W" run --pty -- sh -c 'read -r line && echo "got:$line"' <<<hello
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *got:hello* ]]
}

@test "tty: --pty under a terminal relays the job's output and leaves the terminal's settings as they were" {
  run under_pty sh -c 'before=$(stty -g); "$0" run --pty -- sh -c "test -t 0 && echo tty-in-job"; rc=$?; [ "$(stty -g)" = "$before" ] && echo restored; exit $rc' "$W"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *tty-in-job* ]]
  [[ "$output" == *restored* ]]
}

@test "tty: --pty with --output-dir is refused" {
  run "$W" run --pty --output-dir "$T/out" -- true
  [ "$status" -eq 125 ]
  [[ "$output" == *"--pty and --output-dir"* ]]
}

# winch_driver CMD...: runs CMD under a new pseudo-terminal of 20 rows and 50
# columns whose controlling process it is; once CMD prints "ready", resizes
# that terminal to 33x77 (the kernel sends SIGWINCH to CMD's foreground
# group), then prints everything CMD wrote until it exits.
winch_driver() {
  timeout 120 python3 - "$@" <<'PY'
import fcntl, os, pty, struct, sys, termios
def size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
pid, master = pty.fork()
if pid == 0:
    size(0, 20, 50)
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
resized = False
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not resized and b"ready" in out:
        size(master, 33, 77)
        resized = True
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
PY
}

@test "tty: --pty follows the operator's window size: at the start, and on SIGWINCH" {
  # The job waits for its SIGWINCH in `wait` (a trapped signal ends it), so
  # the size it reports is the one that came with the signal.
  run winch_driver "$W" run --pty -- sh -c 'echo "start $(stty size)"; trap "echo \"winch \$(stty size)\"; exit 0" WINCH; sleep 1000 & echo ready; wait'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"start 20 50"* ]]
  [[ "$output" == *"winch 33 77"* ]]
}
