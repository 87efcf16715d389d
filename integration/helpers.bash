# Shared setup for warden's integration tests (bats). Every test gets its own
# temp dir, removed in teardown even when the test fails.

W=${WARDEN_BIN:-$BATS_TEST_DIRNAME/../build/warden}
PROGS=$BATS_TEST_DIRNAME/progs
export WARDEN_POLICY_DIR=${WARDEN_POLICY_DIR:-$BATS_TEST_DIRNAME/../policies}

common_setup() {
  [ "$(id -u)" -eq 0 ] || skip "integration tests need root"
  [ -x "$W" ] || skip "warden binary $W not built (run make)"
  T=$(mktemp -d /tmp/warden-it.XXXXXX)
}

common_teardown() {
  if [ -n "${RUN_OUT:-}" ]; then exec {RUN_OUT}<&-; RUN_OUT=; fi
  if [ -n "${T:-}" ]; then rm -rf "$T"; fi
}

# run_bg ARGS...: starts `warden run ARGS` in the background, with its stdout
# on a FIFO, and returns once the job has written its first line, which is
# left in FIRST_LINE. The job says itself when it is ready (a line on
# stdout), so a test waits for that event and not for a side effect or a
# sleep. RUN_PID is warden's pid; the rest of the job's stdout can be read
# from fd $RUN_OUT. Fails when the job ends without writing a line.
run_bg() {
  local fifo="$T/run_bg.$RANDOM"
  mkfifo "$fifo"
  # fd 3 is bats' own: a background process that holds it keeps bats waiting.
  "$W" run "$@" >"$fifo" 3>&- &
  RUN_PID=$!
  exec {RUN_OUT}<"$fifo"
  FIRST_LINE=
  # -t only guards against a hang; the wait ends with the job's first line.
  read -r -t 120 FIRST_LINE <&"$RUN_OUT" || true
  [ -n "$FIRST_LINE" ] || { echo "the job ended or hung before writing its first line"; return 1; }
}

# sandbox_pids NS: host pids of the processes in pid namespace NS (as
# /proc/PID/ns/pid reads, e.g. "pid:[4026532281]").
sandbox_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
  done
  true
}

# wait_gone NS: waits until no process is left in pid namespace NS; fails
# after 60 s (a hang guard, not a timing assertion).
wait_gone() {
  local _
  for _ in $(seq 600); do
    [ -z "$(sandbox_pids "$1")" ] && return 0
    sleep 0.1
  done
  echo "still in $1: $(sandbox_pids "$1")"
  return 1
}

# json FILE KEY: prints a top-level (or dotted) key of a JSON file.
json() {
  python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print("null" if v is None else v)' "$1" "$2"
}

# The build directory that WARDEN_BIN (default build/warden) was built in,
# relative to ROOT when it lies below it: what BUILD= names for make.
build_dir_of_bin() {
  local root=$1 dir
  dir=$(dirname "${WARDEN_BIN:-$root/build/warden}")
  case $dir in "$root"/*) dir=${dir#"$root"/} ;; esac
  echo "$dir"
}

# make_install ROOT BUILD_DIR LOG [VAR=VALUE...]: `make install` of that
# build with the given PREFIX/DESTDIR, its output in LOG, shown on failure.
# The suite may run under `make test`: its jobserver is not ours to use.
make_install() {
  local root=$1 build=$2 log=$3
  shift 3
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$root" --no-print-directory \
    BUILD="$build" install "$@" >"$log" 2>&1 || { cat "$log" >&3; return 1; }
}
