#!/usr/bin/env bats
# libwarden.so and libwarden.a as embedding programs use them: installed
# with `make install PREFIX=...`, linked only through what pkg-config says,
# from C (examples/embed/jobs.c, tests/capi/misuse.c), C++ (jobs.cc) and
# Python (run.py, ctypes). Also what the shared library exports: the C
# functions and the public C++ API at version WARDEN_0, nothing internal.
#
# The build directory is the one WARDEN_BIN was built in.

load helpers

# A reason to skip every test, found once: bats cannot skip from setup_file.
embed_skip_reason() {
  [ -f "$BUILD_ABS/libwarden.so.0" ] ||
    { echo "$BUILD_ABS has no libwarden.so.0 (WARDEN_BIN is not a build of this tree, or a sanitizer build)"; return; }
  local tool
  for tool in make cc g++ pkg-config nm objdump readelf python3; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed"; return; }
  done
}

setup_file() {
  ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  BUILD_DIR=$(build_dir_of_bin "$ROOT")
  BUILD_ABS=$(dirname "${WARDEN_BIN:-$ROOT/build/warden}")
  EMBED_SKIP=$(embed_skip_reason)
  export EMBED_SKIP
  [ -z "$EMBED_SKIP" ] || return 0
  EMBED_T=$(mktemp -d /tmp/warden-embed.XXXXXX)
  PREFIX_DIR=$EMBED_T/prefix
  make_install "$ROOT" "$BUILD_DIR" "$EMBED_T/install.log" PREFIX="$PREFIX_DIR"
  export ROOT BUILD_DIR EMBED_T PREFIX_DIR
}

teardown_file() {
  if [ -n "${EMBED_T:-}" ]; then rm -rf "$EMBED_T"; fi
  return 0
}

setup() {
  [ -z "$EMBED_SKIP" ] || skip "SKIPPED: $EMBED_SKIP"
  T=$(mktemp -d /tmp/warden-it.XXXXXX)
  # The jobs' caches go with the test, not to /var/cache/warden.
  export WARDEN_CACHE_DIR=$T/cache
  mkdir "$WARDEN_CACHE_DIR"
}
teardown() { common_teardown; }

need_root() { [ "$(id -u)" -eq 0 ] || skip "SKIPPED: jobs need root"; }

# flags [--static]: what pkg-config says for the prefix install. With
# --static, -lwarden becomes -l:libwarden.a: the linker takes the archive
# only when told, the .so being in the same directory.
flags() {
  local f
  f=$(PKG_CONFIG_PATH=$PREFIX_DIR/lib/pkgconfig pkg-config "$@" --cflags --libs warden)
  if [ "${1:-}" = --static ]; then f=${f/-lwarden/-l:libwarden.a}; fi
  echo "$f"
}

# needed BINARY: the shared libraries it names (readelf's NEEDED entries).
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# The summary and every job's line of a jobs run (100 jobs, all ok).
check_jobs_output() {
  [ "$status" -eq 0 ] || { echo "$output" | tail -20; return 1; }
  [ "${lines[-1]}" = "100 jobs, 100 ok" ]
  [ "$(grep -c '^job [0-9]*: ok exit 0 output [0-9]*$' <<<"$output")" -eq 100 ]
}

@test "libwarden.so: soname libwarden.so.0, installed with its two links" {
  readelf -d "$ROOT/$BUILD_DIR/libwarden.so.0" | grep -q 'SONAME.*\[libwarden\.so\.0\]'
  [ "$(readlink "$PREFIX_DIR/lib/libwarden.so")" = libwarden.so.0 ]
  [ "$(readlink "$PREFIX_DIR/lib/libwarden.so.0")" = "libwarden.so.$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")" ]
  [ -f "$PREFIX_DIR/include/warden/warden.h" ]
  [ -f "$PREFIX_DIR/lib/libwarden.a" ]
  # Every library is shared, libmnl too (never warden's stand-in).
  needed "$ROOT/$BUILD_DIR/libwarden.so.0" | grep -qx 'libmnl.so.0'
}

@test "libwarden.so exports warden_* and the public warden:: API only, all at version WARDEN_0" {
  local so=$ROOT/$BUILD_DIR/libwarden.so.0
  run bash -c "nm -D --defined-only '$so' | awk '{ sub(/@.*/, \"\", \$3); print \$3 }' | c++filt"
  [ "$status" -eq 0 ]
  local syms=$output
  # Not vacuous: both interfaces are there.
  grep -qx 'warden_job_start' <<<"$syms"
  grep -qx 'warden_last_error' <<<"$syms"
  grep -q '^warden::Launcher::Create(' <<<"$syms"
  grep -q '^warden::Job::Wait()' <<<"$syms"
  # WARDEN_0 itself is the version node's own symbol.
  local bad
  bad=$(grep -v -e '^warden_[a-z_]*$' -e '^warden::[A-Z][A-Za-z]*[(:[]' -e '^WARDEN_0$' <<<"$syms" || true)
  [ -z "$bad" ] || { echo "unexpected exports: $bad"; return 1; }
  # No internal namespace (warden::base::..., launch, policy, ...), no libmnl,
  # toml++ or std:: instantiation.
  bad=$(grep -E '^warden::[a-z_]+::|^mnl_|^toml::|^(std::|typeinfo|vtable|VTT|guard variable)' \
    <<<"$syms" || true)
  [ -z "$bad" ] || { echo "internals exported: $bad"; return 1; }
  # Each defined dynamic symbol carries the version node.
  bad=$(objdump -T "$so" | grep -E ' (DF|DO) ' | grep -v -e '\*UND\*' -e ' WARDEN_0 ' || true)
  [ -z "$bad" ] || { echo "not at WARDEN_0: $bad"; return 1; }
  [ "$(objdump -T "$so" | grep -c ' WARDEN_0 ')" -ge 60 ]
}

@test "libwarden.a makes warden's internals local; the public API stays global" {
  local a=$ROOT/$BUILD_DIR/libwarden.a
  # The strong global definitions: the public API and nothing else. (Weak
  # ones are inline functions and templates, hidden but left global: the
  # final link may pick the program's own copy of each.)
  run bash -c "nm -g --defined-only '$a' 2>/dev/null | awk 'NF == 3 && \$2 ~ /^[TDBR]$/ { print \$3 }' | c++filt"
  [ "$status" -eq 0 ]
  local syms=$output
  grep -qx 'warden_job_start' <<<"$syms"
  grep -qx 'warden::Version()' <<<"$syms"
  local bad
  bad=$(grep -v -e '^warden_[a-z_]*$' -e '^warden::[A-Z][A-Za-z]*[(:[]' <<<"$syms" || true)
  [ -z "$bad" ] || { echo "internals global in the archive: $(head -5 <<<"$bad")"; return 1; }
  # Not vacuous: the internals are in the archive, as local symbols.
  nm --defined-only "$a" 2>/dev/null | c++filt | grep -q ' t warden::launch::'
}

@test "jobs.c, built with pkg-config --cflags --libs warden (libwarden.so), runs 100 jobs from 4 threads" {
  need_root
  cc -std=c11 -Wall -Werror -o "$T/jobs" "$ROOT/examples/embed/jobs.c" $(flags) -lpthread
  needed "$T/jobs" | grep -qx libwarden.so.0
  run env LD_LIBRARY_PATH="$PREFIX_DIR/lib" "$T/jobs"
  check_jobs_output
}

@test "jobs.c, built with pkg-config --static (libwarden.a), runs 100 jobs" {
  need_root
  cc -std=c11 -Wall -Werror -o "$T/jobs" "$ROOT/examples/embed/jobs.c" $(flags --static) -lpthread
  run needed "$T/jobs"
  [[ "$output" != *libwarden* ]] || { echo "linked the .so: $output"; return 1; }
  run "$T/jobs"
  check_jobs_output
}

@test "jobs.cc (the C++ API), built with pkg-config --cflags --libs warden, runs 100 jobs" {
  need_root
  g++ -std=c++20 -Wall -Werror -o "$T/jobs" "$ROOT/examples/embed/jobs.cc" $(flags)
  needed "$T/jobs" | grep -qx libwarden.so.0
  run env LD_LIBRARY_PATH="$PREFIX_DIR/lib" "$T/jobs"
  check_jobs_output
}

@test "jobs.cc, built with pkg-config --static, runs 100 jobs" {
  need_root
  g++ -std=c++20 -Wall -Werror -o "$T/jobs" "$ROOT/examples/embed/jobs.cc" $(flags --static)
  run needed "$T/jobs"
  [[ "$output" != *libwarden* ]]
  run "$T/jobs"
  check_jobs_output
}

@test "run.py runs jobs through ctypes and libwarden.so.0" {
  need_root
  run env LD_LIBRARY_PATH="$PREFIX_DIR/lib" python3 "$ROOT/examples/embed/run.py"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "libwarden "*", interface 0" ]]
  [[ "$output" == *"/bin/echo hello from a sandbox: ok exit 0 output 'hello from a sandbox\n'"* ]]
  [ "$(grep -c ': ok exit 0 output' <<<"$output")" -eq 3 ]
}

@test "misuse.c under ASan and UBSan: every misuse of the C interface is an error, not a crash" {
  local args=()
  [ "$(id -u)" -eq 0 ] || args=(--no-jobs)
  cc -std=c11 -Wall -Werror -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -o "$T/misuse" "$ROOT/tests/capi/misuse.c" $(flags)
  run env LD_LIBRARY_PATH="$PREFIX_DIR/lib" ASAN_OPTIONS=abort_on_error=0 "$T/misuse" "${args[@]}"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[-1]}" =~ ^misuse:\ [0-9]+\ checks,\ 0\ failed$ ]]
}
