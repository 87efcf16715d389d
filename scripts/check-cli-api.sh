#!/usr/bin/env bash
# Fails when the warden command (src/cli/) includes an internal header: it
# is built on the public API alone (include/warden/), as any embedding
# program is, so that whatever it needs from the library is public,
# documented and stable. Allowed: "warden/..." (the public API), "cli/..."
# (its own files) and system headers (<...>) that are not a module of src/.
#   scripts/check-cli-api.sh [ROOT]    ROOT defaults to this checkout
# Exits 0 when every include is allowed, 1 with one line per offending
# include (FILE:LINE) otherwise, 2 when src/cli/ cannot be read.
set -uo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if [ ! -d "$root/src/cli" ]; then
  echo "check-cli-api: no directory $root/src/cli" >&2
  exit 2
fi

files=()
for f in "$root"/src/cli/*.h "$root"/src/cli/*.cc; do
  [ -f "$f" ] && files+=("${f#"$root"/}")
done
if [ ${#files[@]} -eq 0 ]; then
  echo "check-cli-api: src/cli/ holds no source file" >&2
  exit 2
fi
# The internal modules: <base/fd.h> is as internal as "base/fd.h".
modules=()
for d in "$root"/src/*/; do
  m=$(basename "$d")
  [ "$m" != cli ] && modules+=("$m")
done

cd "$root" || exit 2
awk -v mods="${modules[*]}" '
  BEGIN {
    bad = 0; includes = 0
    k = split(mods, names, " ")
    for (i = 1; i <= k; i++) internal[names[i]] = 1
  }
  FNR == 1 { nfiles++ }
  /^[ \t]*#[ \t]*include/ {
    line = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
    open = substr(line, 1, 1)
    path = substr(line, 2)
    sub(/[">].*/, "", path)
    includes++
    if (open == "\"") {
      if (path ~ /^(warden|cli)\/[^\/.][^\/]*$/) next
      printf "%s:%d: #include \"%s\": src/cli uses only the public API (\"warden/...\"), its own \"cli/...\" headers and system headers: make what it needs public in include/warden/\n", FILENAME, FNR, path
      bad++
    } else if (open == "<") {
      top = path
      sub(/\/.*/, "", top)
      if (!(top in internal)) next
      printf "%s:%d: #include <%s>: %s is an internal module; src/cli uses only the public API (\"warden/...\"): make what it needs public in include/warden/\n", FILENAME, FNR, path, top
      bad++
    } else {
      # A macro include cannot be checked: refused, fail closed.
      printf "%s:%d: #include %s: src/cli may include only literal \"warden/...\", \"cli/...\" and <system> headers\n", FILENAME, FNR, line
      bad++
    }
  }
  END {
    if (bad > 0) { printf "check-cli-api: %d include(s) of src/cli reach past the public API\n", bad; exit 1 }
    printf "check-cli-api: %d includes in %d files of src/cli use only the public API and system headers\n", includes, nfiles
  }
' "${files[@]}"
