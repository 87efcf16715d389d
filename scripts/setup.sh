#!/usr/bin/env bash
# Installs every Debian package warden's build, tests, demo and benchmarks
# need. Idempotent: installs only what is missing and says what it installs.
#   scripts/setup.sh [--quiet] [--fuzz]
# --fuzz adds clang and its libFuzzer runtime, which only `make fuzz` needs.
set -euo pipefail

quiet=0 fuzz=0
for a in "$@"; do
  case $a in
    --quiet) quiet=1 ;;
    --fuzz) fuzz=1 ;;
    *) echo "setup: unknown option $a" >&2; exit 2 ;;
  esac
done

packages=(
  # build
  g++ make pkg-config protobuf-compiler
  libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev liburing-dev
  libprotobuf-dev libtomlplusplus-dev nlohmann-json3-dev libnftnl-dev libmnl-dev
  libmd-dev libisal-dev
  # tests
  catch2 bats iproute2 nftables procps util-linux python3 nodejs
  # benchmarks
  bubblewrap hyperfine
)
if [ $fuzz -eq 1 ]; then
  # coverage-guided fuzzing: clang with -fsanitize=fuzzer (libclang_rt.fuzzer)
  packages+=(clang libclang-rt-14-dev)
fi

root=$(cd "$(dirname "$0")/.." && pwd)

# Test data, not installed: the seccomp profiles that Docker and Podman ship
# (about 1 MB each), unpacked from their Debian packages without their
# dependencies, for the tests of OCI profile import. Without them those
# tests say SKIPPED.
oci_profiles() {
  local dest="$root/build/test-data/oci" tmp d
  [ -e "$dest/.done" ] && return 0
  [ "$(id -u)" -eq 0 ] || return 0
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get download -qq golang-github-docker-docker-dev \
          golang-github-containers-common-dev >/dev/null 2>&1); then
    rm -rf "$tmp"
    echo "setup: could not download Docker's and Podman's seccomp profiles; their tests will be skipped" >&2
    return 0
  fi
  mkdir -p "$dest"
  for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$dest"; done
  touch "$dest/.done"
  rm -rf "$tmp"
  [ $quiet -eq 1 ] || echo "setup: unpacked Docker's and Podman's seccomp profiles into $dest"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  [ $quiet -eq 1 ] || echo "setup: all ${#packages[@]} packages are installed"
  oci_profiles
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run 'sudo scripts/setup.sh' to install them" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are absent or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  apt-get update -qq
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/warden-setup.log 2>&1; then
  # Stale lists are the usual cause; refresh once and retry.
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/warden-setup.log 2>&1 || {
    echo "setup: apt-get install failed; see /tmp/warden-setup.log" >&2
    tail -20 /tmp/warden-setup.log >&2
    exit 1
  }
fi
rm -f /tmp/warden-setup.log
echo "setup: installed ${#missing[@]} package(s)"
oci_profiles
