#!/usr/bin/env bats
# `warden run` as a CI step uses it: scripts run by their "#!" line from
# their own directory, the policy picked by the program's name, a result
# that is always written and has a stream of its own, --stdin, subcommands
# that take --help and refuse what they do not know, and a copied binary
# that runs with the policies built into it.

load helpers
bats_require_minimum_version 1.5.0

setup() {
  common_setup
  # The job runs as another uid: the script's directory must be readable.
  chmod 755 "$T"
  mkdir "$T/proj"
  printf 'LIBV=from-lib\n' > "$T/proj/lib.sh"
  printf 'data-next-to-it\n' > "$T/proj/data.txt"
}
teardown() { common_teardown; }

@test "cli-ci: #!/bin/bash runs under bash (set -o pipefail), by suffix and as -- ./script" {
  printf '#!/bin/bash\nset -o pipefail\necho "bash=${BASH_VERSION:+yes} args=$*"\n' > "$T/proj/b.sh"
  run "$W" run "$T/proj/b.sh" one two
  [ "$status" -eq 0 ]
  [[ "$output" == *"bash=yes args=one two"* ]]
  chmod +x "$T/proj/b.sh"
  cd "$T/proj"
  run "$W" run -- ./b.sh three
  [ "$status" -eq 0 ]
  [[ "$output" == *"bash=yes args=three"* ]]
}

@test "cli-ci: #!/usr/bin/env bash and #!/bin/sh -e: the interpreter with its one argument" {
  printf '#!/usr/bin/env bash\nset -o pipefail\necho "env-bash=${BASH_VERSION:+yes}"\n' > "$T/proj/e.sh"
  run "$W" run "$T/proj/e.sh"
  [ "$status" -eq 0 ]
  [[ "$output" == *"env-bash=yes"* ]]
  # -e is passed: the script stops at the first failing command.
  printf '#!/bin/sh -e\nfalse\necho not-reached\n' > "$T/proj/f.sh"
  run "$W" run "$T/proj/f.sh"
  [ "$status" -eq 1 ]
  [[ "$output" != *"not-reached"* ]]
  # No "#!": the policy's interpreter (shell.toml: /bin/sh).
  printf 'echo "plain $0"\n' > "$T/proj/p.sh"
  run "$W" run "$T/proj/p.sh"
  [ "$status" -eq 0 ]
  [[ "$output" == *"plain $T/proj/p.sh"* ]]
}

@test "cli-ci: an interpreter the sandbox does not have: exit 127, naming it and what to do" {
  printf '#!/opt/warden-no-such/bash\necho ran\n' > "$T/proj/n.sh"
  run -127 "$W" run "$T/proj/n.sh"
  [[ "$output" == *"/opt/warden-no-such/bash"*"--ro-bind"* ]]
  [[ "$output" != *ran* ]]
  printf '#!/usr/bin/env warden-no-such-interp\necho ran\n' > "$T/proj/n2.sh"
  run -127 "$W" run "$T/proj/n2.sh"
  [[ "$output" == *"warden-no-such-interp"*"PATH"* ]]
}

@test "cli-ci: a script runs from its own directory: it sources ./lib.sh and reads data next to it" {
  printf '#!/bin/bash\nsource ./lib.sh\necho "lib=$LIBV data=$(cat data.txt) pwd=$PWD"\nif touch ./new 2>/dev/null; then echo wrote; fi\n' \
    > "$T/proj/s.sh"
  run "$W" run "$T/proj/s.sh"
  [ "$status" -eq 0 ]
  [[ "$output" == *"lib=from-lib data=data-next-to-it pwd=$T/proj"* ]]
  # Read-only: the job cannot change what lies next to the script.
  [[ "$output" != *wrote* ]]
  [ ! -e "$T/proj/new" ]
  # --chdir still decides the working directory.
  run "$W" run --chdir /usr "$T/proj/s.sh"
  [[ "$output" == *"pwd=/usr"* ]]
}

@test "cli-ci: a directory that cannot be bound (it holds a socket): only the script, with a warning" {
  python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/proj/agent.sock"
  printf '#!/bin/sh\necho "ran $0"; [ -e ./lib.sh ] || echo "no lib.sh"\n' > "$T/proj/w.sh"
  run "$W" run "$T/proj/w.sh"
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning:"*"$T/proj"*"socket"*"not visible"* ]]
  [[ "$output" == *"ran /tmp/w.sh"* ]]
  [[ "$output" == *"no lib.sh"* ]]
}

@test "cli-ci: -- python3 app.py gets the python policy; an explicit --policy wins" {
  [ -x /usr/bin/python3 ] || skip "SKIPPED: no /usr/bin/python3 on this host"
  run "$W" run --result "$T/r.json" -- python3 -c 'print("py")'
  [ "$status" -eq 0 ]
  [ "$(json "$T/r.json" policy.name)" = python ]
  run "$W" run --result "$T/r.json" -- node --version
  [ "$(json "$T/r.json" policy.name)" = node ]
  run "$W" run --result "$T/r.json" -- /bin/true
  [ "$(json "$T/r.json" policy.name)" = default ]
  run "$W" run --policy default --result "$T/r.json" -- python3 -c 'print("py")'
  [ "$status" -eq 0 ]
  [ "$(json "$T/r.json" policy.name)" = default ]
}

@test "cli-ci: every subcommand takes --help (stdout, exit 0) and refuses unknown arguments" {
  for cmd in run doctor gc version; do
    run --separate-stderr "$W" "$cmd" --help
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: warden $cmd"* ]]
    run --separate-stderr "$W" help "$cmd"
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: warden $cmd"* ]]
  done
  # gc --help must not collect anything.
  run "$W" gc --help
  [[ "$output" != *"warden gc: removed"* ]]
  run --separate-stderr "$W" help policy
  [ "$status" -eq 0 ]
  [[ "$output" == "usage: warden policy"* ]]
  for cmd in doctor gc version; do
    run "$W" "$cmd" foo
    [ "$status" -eq 2 ]
    [[ "$output" == *'"foo"'*"warden $cmd --help"* ]]
    run "$W" "$cmd" --frobnicate
    [ "$status" -eq 2 ]
  done
  run "$W" help no-such-command
  [ "$status" -eq 2 ]
  run "$W" no-such-command
  [ "$status" -eq 2 ]
  [ "${#lines[@]}" -eq 2 ]
}

@test "cli-ci: an unknown option is one line of error, then where to look; no usage dump" {
  run --separate-stderr "$W" run --timout 5 -- /bin/true
  [ "$status" -eq 125 ]
  [ "${#stderr_lines[@]}" -eq 2 ]
  [[ "${stderr_lines[0]}" == "warden: "*"--timout"* ]]
  [ "${stderr_lines[1]}" = "see 'warden run --help'" ]
  [[ "$stderr" != *usage:* ]]
}

@test "cli-ci: --result is written on a setup error: a bad flag, a bad policy" {
  run "$W" run --result "$T/r.json" --no-such-flag -- /bin/sh -c "touch $T/ran"
  [ "$status" -eq 125 ]
  [ ! -e "$T/ran" ]
  [ "$(json "$T/r.json" status)" = setup-error ]
  [ "$(json "$T/r.json" exit_code)" = 125 ]
  [[ "$(json "$T/r.json" error)" == *"--no-such-flag"* ]]
  rm "$T/r.json"
  run "$W" run --result="$T/r.json" --policy no-such-policy -- /bin/sh -c "touch $T/ran"
  [ "$status" -eq 125 ]
  [ "$(json "$T/r.json" status)" = setup-error ]
  [[ "$(json "$T/r.json" error)" == *"no-such-policy"* ]]
  rm "$T/r.json"
  printf 'extends = "default"\n[identity]\nhostname = "bad host"\n' > "$T/bad.toml"
  run "$W" run --policy "$T/bad.toml" --result "$T/r.json" -- /bin/true
  [ "$status" -eq 125 ]
  [[ "$(json "$T/r.json" error)" == *"bad.toml:3:"* ]]
  [ ! -e "$T/ran" ]
}

@test "cli-ci: --result - is refused unless --output-dir captures the job's stdout" {
  run "$W" run --result - -- /bin/echo job-output
  [ "$status" -eq 125 ]
  [[ "$output" == *"--result-fd"* ]]
  [[ "$output" != *job-output* ]]
  mkdir "$T/out"
  run --separate-stderr "$W" run --output-dir "$T/out" --result - -- /bin/echo job-output
  [ "$status" -eq 0 ]
  [ "$(printf '%s' "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = ok ]
  [ "$(cat "$T/out/stdout")" = job-output ]
}

@test "cli-ci: --result-fd N: the JSON on its own stream, which the job never holds" {
  run bash -c "'$W' run --result-fd 7 -- /bin/sh -c 'echo job-out; echo forged >&7 || echo no-fd-7' 7>'$T/r.json'"
  [ "$status" -eq 0 ]
  [[ "$output" == *job-out*no-fd-7* ]]
  [ "$(json "$T/r.json" status)" = ok ]
  # (`! grep` would not fail the test under bats' errexit.)
  run grep -c forged "$T/r.json"
  [ "$output" = 0 ]
  # Checked before the job runs.
  run "$W" run --result-fd 9 -- /bin/sh -c "touch $T/ran"
  [ "$status" -eq 125 ]
  [[ "$output" == *"--result-fd 9"* ]]
  [ ! -e "$T/ran" ]
  # A setup error goes there too.
  run bash -c "'$W' run --result-fd 7 --policy no-such-policy -- /bin/true 7>'$T/e.json'"
  [ "$status" -eq 125 ]
  [ "$(json "$T/e.json" status)" = setup-error ]
}

@test "cli-ci: --stdin FILE is the job's stdin; directories, devices and symlinks are refused" {
  printf 'line-one\nline-two\n' > "$T/in.txt"
  run "$W" run --stdin "$T/in.txt" -- /bin/cat
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'line-one\nline-two')" ]
  run "$W" run --stdin /dev/null -- /bin/cat
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  ln -s "$T/in.txt" "$T/link"
  # A directory of the path swapped for a symlink (a job that shares the
  # directory can do it): root must not follow it to a file elsewhere.
  mkdir "$T/secret" && echo root-only > "$T/secret/in.txt" && chmod 700 "$T/secret"
  ln -s "$T/secret" "$T/shared"
  for bad in "$T" /dev/kmsg "$T/link" "$T/shared/in.txt"; do
    run "$W" run --stdin "$bad" -- /bin/sh -c "touch $T/ran"
    [ "$status" -eq 125 ]
    [[ "$output" == *"--stdin"* ]]
    [ ! -e "$T/ran" ]
  done
  # A FIFO: the job reads what the writer sends.
  mkfifo "$T/fifo"
  printf 'through-fifo\n' > "$T/fifo" &
  run "$W" run --stdin "$T/fifo" -- /bin/cat
  wait
  [ "$status" -eq 0 ]
  [ "$output" = through-fifo ]
}

@test "cli-ci: a copied binary runs with its built-in policies; files on disk override them" {
  mkdir "$T/bin" "$T/empty" "$T/pol"
  cp "$W" "$T/bin/warden"
  [ -d /usr/local/share/warden/policies ] && echo "note: an installed policy dir exists"
  run env -u WARDEN_POLICY_DIR "$T/bin/warden" run -- /bin/true
  [ "$status" -eq 0 ]
  run env -u WARDEN_POLICY_DIR "$T/bin/warden" policy check python
  [ "$status" -eq 0 ]
  [[ "$output" == *"# policy: python"* ]]
  # A policy directory without the shipped files: the built-in ones.
  run env WARDEN_POLICY_DIR="$T/empty" "$T/bin/warden" run --result "$T/r.json" -- /bin/hostname
  [ "$status" -eq 0 ]
  [ "$output" = warden ]
  [ "$(json "$T/r.json" policy.name)" = default ]
  # A file on disk of the same name wins.
  sed 's/^hostname = .*/hostname = "from-disk"/' "$WARDEN_POLICY_DIR/default.toml" > "$T/pol/default.toml"
  run env WARDEN_POLICY_DIR="$T/pol" "$T/bin/warden" policy check default
  [ "$status" -eq 0 ]
  run env WARDEN_POLICY_DIR="$T/pol" "$T/bin/warden" run -- /bin/hostname
  [ "$status" -eq 0 ]
  [ "$output" = from-disk ]
  # ... also as the base of a built-in policy that extends it.
  run env WARDEN_POLICY_DIR="$T/pol" "$T/bin/warden" run --policy shell -- /bin/hostname
  [ "$output" = from-disk ]
}

@test "cli-ci: attack: a symlink planted as the script in a shared directory does not bind its target" {
  mkdir -m 0700 "$T/private"
  printf 'echo SECRET-LEAKED\n' > "$T/private/secret.sh"
  chmod 644 "$T/private/secret.sh"
  mkdir -m 1777 "$T/shared"
  ln -s "$T/private/secret.sh" "$T/shared/build.sh"
  run "$W" run "$T/shared/build.sh"
  [ "$status" -eq 125 ]
  [[ "$output" == *symlink* ]]
  [[ "$output" != *SECRET-LEAKED* ]]
}

@test "cli-ci: a directory as stdin is refused before the job starts" {
  run --separate-stderr "$W" run -- /bin/sh -c "touch $T/ran" < /
  [ "$status" -eq 125 ]
  [ "${#stderr_lines[@]}" -eq 1 ]
  [[ "${stderr_lines[0]}" == "warden: stdin: fd 0 is a directory"* ]]
  [ ! -e "$T/ran" ]
}
