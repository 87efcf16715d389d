#!/usr/bin/env bats
# libwarden.a as others link it: `make install` (DESTDIR, PREFIX), warden.pc,
# and a C++ program built only from what pkg-config says.
#
# The build directory is the one WARDEN_BIN was built in. Two installs: one
# staged (DESTDIR, PREFIX=/usr/local), whose layout and files are checked, and
# one to a real prefix in a temp dir, which pkg-config and the compiler use
# (a staged warden.pc names /usr/local, where nothing was installed).

load helpers

# A reason to skip every test, found once: bats cannot skip from setup_file.
pkg_skip_reason() {
  [ -f "$BUILD_ABS/libwarden.a" ] ||
    { echo "$BUILD_ABS has no libwarden.a (WARDEN_BIN is not a build of this tree)"; return; }
  local tool
  for tool in make g++ pkg-config nm objdump strip; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed"; return; }
  done
}

setup_file() {
  ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  BUILD_DIR=$(build_dir_of_bin "$ROOT")
  BUILD_ABS=$(dirname "${WARDEN_BIN:-$ROOT/build/warden}")
  PKG_SKIP=$(pkg_skip_reason)
  export PKG_SKIP
  [ -z "$PKG_SKIP" ] || return 0
  PKG_T=$(mktemp -d /tmp/warden-pkg.XXXXXX)
  STAGE=$PKG_T/stage
  PREFIX_DIR=$PKG_T/prefix
  make_install "$ROOT" "$BUILD_DIR" "$PKG_T/install-stage.log" DESTDIR="$STAGE" PREFIX=/usr/local
  make_install "$ROOT" "$BUILD_DIR" "$PKG_T/install-prefix.log" PREFIX="$PREFIX_DIR"
  VERSION=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")
  export ROOT BUILD_DIR PKG_T STAGE PREFIX_DIR VERSION
}

teardown_file() {
  if [ -n "${PKG_T:-}" ]; then rm -rf "$PKG_T"; fi
  return 0
}

setup() {
  [ -z "$PKG_SKIP" ] || skip "SKIPPED: $PKG_SKIP"
  T=$(mktemp -d /tmp/warden-it.XXXXXX)
}
teardown() { common_teardown; }

# build_prog NAME: compiles $T/NAME.cc with what `pkg-config ARGS warden`
# says, against the prefix install, into $T/NAME. With --static, -lwarden
# becomes -l:libwarden.a: the linker takes the archive over libwarden.so,
# which lies beside it, only when told.
build_prog() {
  local name=$1; shift
  local flags
  flags=$(PKG_CONFIG_PATH=$PREFIX_DIR/lib/pkgconfig pkg-config "$@" --cflags --libs warden)
  if [ "${1:-}" = --static ]; then flags=${flags/-lwarden/-l:libwarden.a}; fi
  g++ -std=c++20 -Wall -Werror -o "$T/$name" "$T/$name.cc" $flags
}

@test "make install DESTDIR PREFIX stages the binary, library, headers, warden.pc and policies" {
  local p=$STAGE/usr/local
  [ -x "$p/bin/warden" ]
  [ -f "$p/lib/libwarden.a" ]
  [ -f "$p/lib/libwarden.so.$VERSION" ]
  [ "$(readlink "$p/lib/libwarden.so.0")" = "libwarden.so.$VERSION" ]
  [ "$(readlink "$p/lib/libwarden.so")" = libwarden.so.0 ]
  [ -f "$p/include/warden/job.h" ]
  [ -f "$p/include/warden/warden.h" ]
  # The policies go with the documentation: in the policy directory they
  # would override the built-in ones, stale after an upgrade.
  [ -f "$p/share/doc/warden/policies/default.toml" ]
  [ ! -e "$p/share/warden/policies/default.toml" ]
  [ -f "$p/lib/pkgconfig/warden.pc" ]
  grep -qx 'prefix=/usr/local' "$p/lib/pkgconfig/warden.pc"
  grep -qx "Version: $VERSION" "$p/lib/pkgconfig/warden.pc"
  grep -q '^Requires.private:.*\blibmnl\b' "$p/lib/pkgconfig/warden.pc"
  run "$p/bin/warden" --version
  [ "$status" -eq 0 ]
  [ "$output" = "warden $VERSION" ]
}

@test "libwarden.a defines no mnl_* symbol: a real libmnl in the embedding process stays the one used" {
  local a
  for a in "$ROOT/$BUILD_DIR/libwarden.a" "$STAGE/usr/local/lib/libwarden.a"; do
    run bash -c "nm -g --defined-only '$a' 2>/dev/null | awk 'NF == 3 && \$3 ~ /^mnl_/ { print \$3 }'"
    [ "$status" -eq 0 ]
    [ -z "$output" ] || { echo "$a defines: $output"; return 1; }
    # Not vacuous: the archive does call libmnl, by name.
    nm -g --undefined-only "$a" 2>/dev/null | grep -q ' U mnl_'
  done
}

@test "the installed libwarden.a and warden carry no debug information" {
  local a=$STAGE/usr/local/lib/libwarden.a
  local built=$ROOT/$BUILD_DIR/libwarden.a
  run bash -c "objdump -h '$a' | grep -c '\.debug_'"
  [ "$output" = 0 ] || { echo "$a has $output .debug_ sections"; return 1; }
  run bash -c "objdump -h '$STAGE/usr/local/bin/warden' | grep -c '\.debug_'"
  [ "$output" = 0 ]
  run bash -c "objdump -h '$STAGE/usr/local/lib/libwarden.so.$VERSION' | grep -c '\.debug_'"
  [ "$output" = 0 ]
  # The stripped copy still links: symbols stay, only debug sections go.
  nm -g --defined-only "$a" 2>/dev/null | grep -q 'T _ZN6warden7VersionEv$'
  echo "# libwarden.a: $(stat -c %s "$built") bytes in $BUILD_DIR, $(stat -c %s "$a") installed" >&3
}

@test "pkg-config --static --cflags --libs warden links a C++ program that calls warden::Version()" {
  cat >"$T/version.cc" <<'EOF'
#include <cstdio>
#include <warden/job.h>
int main() { std::printf("%s\n", warden::Version()); }
EOF
  build_prog version --static
  # The archive, not libwarden.so: the program needs no libwarden at run time.
  run bash -c "readelf -d '$T/version' | grep NEEDED"
  [[ "$output" != *libwarden* ]] || { echo "linked the .so: $output"; return 1; }
  run "$T/version"
  [ "$status" -eq 0 ]
  [ "$output" = "$VERSION" ]
  # Whatever mnl_* functions the program calls are libmnl's, not copies.
  run bash -c "nm '$T/version' | awk 'NF == 3 && \$2 ~ /[TtWw]/ && \$3 ~ /^mnl_/ { print \$3 }'"
  [ -z "$output" ] || { echo "the program defines: $output"; return 1; }
}

@test "pkg-config --cflags --libs warden (not static) names the installed headers and library only" {
  run env PKG_CONFIG_PATH="$PREFIX_DIR/lib/pkgconfig" pkg-config --cflags --libs warden
  [ "$status" -eq 0 ]
  [[ " $output " == *" -I$PREFIX_DIR/include "* ]]
  [[ " $output " == *" -L$PREFIX_DIR/lib -lwarden "* ]]
  # The static dependencies are private: only --static adds them.
  [[ " $output " != *" -lseccomp "* ]]
  run env PKG_CONFIG_PATH="$PREFIX_DIR/lib/pkgconfig" pkg-config --static --libs warden
  [ "$status" -eq 0 ]
  local l
  for l in -lwarden -lseccomp -lcap -lnl-route-3 -lnl-3 -luring -lprotobuf-lite -lmd -lnftnl -lmnl -lisal; do
    [[ " $output " == *" $l "* ]] || { echo "--static lacks $l: $output"; return 1; }
  done
  run env PKG_CONFIG_PATH="$PREFIX_DIR/lib/pkgconfig" pkg-config --modversion warden
  [ "$output" = "$VERSION" ]
}

@test "as root, a program linked through pkg-config --static runs /bin/true through a Launcher" {
  [ "$(id -u)" -eq 0 ] || skip "SKIPPED: running a job needs root"
  cat >"$T/run_true.cc" <<'EOF'
#include <cstdio>
#include <warden/launcher.h>
// Its caches go where argv[1] says, never to /var/cache/warden.
int main(int argc, char** argv) {
  if (argc != 2) return 2;
  warden::LauncherOptions options;
  options.cache_dir = argv[1];
  auto launcher = warden::Launcher::Create(options);
  if (!launcher.ok()) {
    std::fprintf(stderr, "launcher: %s\n", launcher.status().ToString().c_str());
    return 2;
  }
  auto policy = (*launcher)->LoadPolicy("default");
  if (!policy.ok()) {
    std::fprintf(stderr, "policy: %s\n", policy.status().ToString().c_str());
    return 2;
  }
  warden::JobSpec spec;
  spec.policy = policy.value();
  spec.argv = {"/bin/true"};
  auto job = (*launcher)->Start(std::move(spec));
  if (!job.ok()) {
    std::fprintf(stderr, "Start: %s\n", job.status().ToString().c_str());
    return 3;
  }
  std::printf("exit %d\n", (*job)->Wait().exit_code);
  return 0;
}
EOF
  build_prog run_true --static
  local cache=$T/cache
  mkdir "$cache"
  run "$T/run_true" "$cache"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "exit 0" ]
  # The filter was compiled into the cache given, not the system's.
  [ -n "$(ls -A "$cache")" ]
}
