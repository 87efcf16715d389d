#!/usr/bin/env bash
# Fails when a module of src/ includes a header of a module above it, or of
# a sibling on its own layer. The order is read from src/layers.txt (one
# layer a line, lowest first); docs/modules.md explains it.
#   scripts/check-layers.sh [ROOT]    ROOT defaults to this checkout
# Checks src/*/*.{h,cc} and include/warden/*.h (as module "warden"); tests/
# may include anything. Exits 0 when every include goes down, 1 with one
# line per offending include otherwise, 2 when the layer file is unusable.
set -uo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
layers=$root/src/layers.txt
if [ ! -r "$layers" ]; then
  echo "check-layers: cannot read $layers" >&2
  exit 2
fi

files=()
for f in "$root"/src/*/*.h "$root"/src/*/*.cc "$root"/include/warden/*.h; do
  [ -f "$f" ] && files+=("${f#"$root"/}")
done
modules=()
for d in "$root"/src/*/; do
  modules+=("$(basename "$d")")
done

# awk reads the layer file, then the list of modules (from the tree), then
# every source file; FILENAME tells them apart.
cd "$root" || exit 2
awk -v layers="$layers" -v mods="${modules[*]}" '
  BEGIN {
    n = 0; bad = 0; includes = 0
    while ((getline line < layers) > 0) {
      sub(/#.*/, "", line)
      if (line ~ /^[ \t]*$/) continue
      n++
      k = split(line, names, /[ \t]+/)
      for (i = 1; i <= k; i++) {
        if (names[i] == "") continue
        if (names[i] in rank) {
          printf "check-layers: %s is placed twice in src/layers.txt\n", names[i]
          fatal = 1; exit 2
        }
        rank[names[i]] = n
      }
    }
    if (n == 0) { print "check-layers: src/layers.txt names no layer"; fatal = 1; exit 2 }
    k = split(mods, names, " ")
    for (i = 1; i <= k; i++) {
      if (!(names[i] in rank)) {
        printf "check-layers: src/%s/ is not placed in src/layers.txt: add it to the layer below its lowest user\n", names[i]
        bad++
      }
    }
  }
  FNR == 1 {
    split(FILENAME, parts, "/")
    self = (parts[1] == "include") ? "warden" : parts[2]
    nfiles++
  }
  /^[ \t]*#[ \t]*include[ \t]*["<]/ {
    line = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
    quoted = substr(line, 1, 1) == "\""
    path = substr(line, 2)
    sub(/[">].*/, "", path)
    if (index(path, "/") == 0) {
      # A quoted include names its module ("base/fd.h"); <foo.h> is a
      # system header.
      if (quoted) {
        printf "%s:%d: #include \"%s\" names no module: write \"<module>/%s\"\n", FILENAME, FNR, path, path
        bad++
      }
      next
    }
    target = path
    sub(/\/.*/, "", target)
    if (!(target in rank)) {
      if (quoted) {
        printf "%s:%d: #include \"%s\": %s is no module of src/layers.txt\n", FILENAME, FNR, path, target
        bad++
      }
      next
    }
    includes++
    if (target == self) next
    if (!(self in rank)) next  # reported above as unplaced
    if (rank[target] > rank[self]) {
      printf "%s:%d: %s (layer %d) includes %s (layer %d), a module above it: move what both need into a lower module\n", FILENAME, FNR, self, rank[self], path, rank[target]
      bad++
    } else if (rank[target] == rank[self]) {
      printf "%s:%d: %s includes %s, a sibling on its own layer %d: move what both need into a lower module\n", FILENAME, FNR, self, path, rank[self]
      bad++
    }
  }
  END {
    if (fatal) exit 2
    if (bad > 0) { printf "check-layers: %d include(s) break the module order of src/layers.txt\n", bad; exit 1 }
    printf "check-layers: %d module includes in %d files go down the order of src/layers.txt\n", includes, nfiles
  }
' "${files[@]}"
