#!/usr/bin/env bash
# Fails when the library reads or changes the process environment: only
# src/cli/ (the `warden` binary) and src/agent/agent_main.cc (the main() of
# build/warden-agent, which reads systemd's NOTIFY_SOCKET and WATCHDOG_*) may. Everything below it takes a
# base::HostConfig or warden::DiagnosticOptions, filled in by its caller.
#   scripts/check-no-env.sh [ROOT]    ROOT defaults to this checkout
# Looks at src/*/*.{h,cc} outside src/cli/ and include/warden/*.h for
# getenv, secure_getenv, setenv, putenv, unsetenv, clearenv and environ,
# outside comments. Exits 0 when there is none, 1 with one FILE:LINE line per
# use otherwise.
set -uo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

files=()
for f in src/*/*.h src/*/*.cc include/warden/*.h; do
  case $f in src/cli/* | src/agent/agent_main.cc) continue ;; esac
  [ -f "$f" ] && files+=("$f")
done
if [ "${#files[@]}" -eq 0 ]; then
  echo "check-no-env: no source files under $root/src" >&2
  exit 2
fi

# awk drops // comments and /* */ comments (also across lines) and string
# literals, then looks for the names as whole words.
awk '
  FNR == 1 { in_block = 0 }
  {
    line = $0
    out = ""
    while (length(line) > 0) {
      if (in_block) {
        end = index(line, "*/")
        if (end == 0) { line = ""; break }
        line = substr(line, end + 2); in_block = 0; continue
      }
      start = index(line, "/*"); slash = index(line, "//"); quote = index(line, "\"")
      first = 0
      if (start > 0) first = start
      if (slash > 0 && (first == 0 || slash < first)) first = slash
      if (quote > 0 && (first == 0 || quote < first)) first = quote
      if (first == 0) { out = out line; break }
      out = out substr(line, 1, first - 1)
      if (first == slash) break
      if (first == start) { line = substr(line, start + 2); in_block = 1; continue }
      # A string literal: skip to its closing quote (escapes honoured).
      rest = substr(line, quote + 1)
      while (match(rest, /^([^"\\]|\\.)*"/)) { rest = substr(rest, RLENGTH + 1); break }
      line = rest
    }
    if (out ~ /(^|[^A-Za-z0-9_])(getenv|secure_getenv|setenv|putenv|unsetenv|clearenv|environ)([^A-Za-z0-9_]|$)/) {
      printf "%s:%d: the library reads or changes the environment: %s\n", FILENAME, FNR, $0
      bad++
    }
  }
  END {
    if (bad > 0) {
      printf "check-no-env: %d use(s) of the environment outside src/cli/: take a base::HostConfig or warden::DiagnosticOptions from the caller instead\n", bad
      exit 1
    }
    printf "check-no-env: %d files, no environment access outside src/cli/\n", ARGC - 1
  }
' "${files[@]}"
