#!/usr/bin/env bats
# The documentation says what the binary does: every `warden run` option that
# `warden run --help` lists is in the README's options table, the man page
# and the bash completion, and every option those name is one the binary
# accepts. A flag added without its documentation (or documented and gone)
# fails here.

load helpers
bats_require_minimum_version 1.5.0

ROOT=$BATS_TEST_DIRNAME/..

setup() {
  [ -x "$W" ] || skip "warden binary $W not built (run make)"
}

# The long options `warden run --help` prints, one per line.
help_options() {
  "$W" run --help | grep -oE -- '(^|[ ,])--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+' | sort -u
}

@test "docs: every warden run option is in the README, the man page and the completion" {
  opts=$(help_options)
  [ "$(echo "$opts" | wc -l)" -ge 20 ]
  missing=
  for o in $opts; do
    grep -q -- "\`$o" "$ROOT/README.md" || missing+=" README:$o"
    # roff spells a dash \-.
    grep -q -- "$(echo "$o" | sed 's/-/\\\\-/g')" "$ROOT/docs/warden.1" || missing+=" man:$o"
    grep -qw -- "$o" "$ROOT/scripts/warden-completion.bash" || missing+=" completion:$o"
  done
  [ -z "$missing" ] || { echo "undocumented:$missing"; false; }
}

@test "docs: every option the README, man page and completion name for run exists" {
  opts=$(help_options)
  named=$( (sed -n '/^### `warden run` options/,/^## /p' "$ROOT/README.md" | grep -oE -- '^\| `--[a-z-]+|, `--[a-z-]+' ;
            sed -n '/^\.SH RUN OPTIONS/,/^\.SH EXIT/p' "$ROOT/docs/warden.1" | sed 's/\\-/-/g' | grep -oE -- '--[a-z][a-z-]+' ;
            sed -n '/^    run)/,/^    policy)/p' "$ROOT/scripts/warden-completion.bash" | grep -oE -- '--[a-z][a-z-]+') |
          grep -oE -- '--[a-z-]+' | sort -u)
  stale=
  for o in $named; do
    echo "$opts" | grep -qx -- "$o" || stale+=" $o"
  done
  [ -z "$stale" ] || { echo "documented but not in 'warden run --help':$stale"; false; }
}

@test "docs: the man page renders without warnings" {
  command -v man >/dev/null || skip "man is not installed"
  run --separate-stderr env MANWIDTH=80 man --warnings -l "$ROOT/docs/warden.1"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ] || { echo "$stderr"; false; }
}

@test "docs: the bash completion completes run's options and policy names" {
  command -v bash >/dev/null || skip "bash is not installed"
  out=$(bash -c "source '$ROOT/scripts/warden-completion.bash'
    COMP_WORDS=(warden run --me); COMP_CWORD=2; _warden; echo \"\${COMPREPLY[*]}\"
    COMP_WORDS=(warden run --policy py); COMP_CWORD=3; _warden; echo \"\${COMPREPLY[*]}\"")
  [[ "$out" == *--memory* ]]
  [[ "$out" == *python* ]]
}
