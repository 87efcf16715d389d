#!/usr/bin/env bats
# The agent's client commands without an agent: their help, their refusals
# before any connection, and the one line that says how to start the agent.
# Every failure of warden's own, usage errors included, exits 125.

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

@test "agent cli: every agent command prints its help and exits 0" {
  for cmd in submit status list wait kill logs; do
    run "$W" "$cmd" --help
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: warden $cmd"* ]]
    run "$W" help "$cmd"
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: warden $cmd"* ]]
  done
  run "$W" --help
  [[ "$output" == *"submit [options] -- CMD"* ]]
  [[ "$output" == *"logs ID [-f] [--stderr]"* ]]
}

@test "agent cli: no agent is one line that says how to start it, exit 125" {
  for args in "status job-1" "list" "wait job-1" "kill job-1" "logs job-1" "submit -- true"; do
    read -r -a words <<<"$args"
    run --separate-stderr "$W" "${words[0]}" --socket "$T/agent.sock" "${words[@]:1}"
    [ "$status" -eq 125 ]
    [ "$stderr" = "warden: no warden agent at $T/agent.sock (connect: ENOENT (No such file or directory)); start it with \`systemctl start warden-agent\` or \`warden agent\`" ]
    [ -z "$output" ]
  done
  WARDEN_AGENT_SOCKET=$T/env.sock run "$W" status job-1
  [ "$status" -eq 125 ]
  [[ "$output" == *"no warden agent at $T/env.sock "* ]]
  WARDEN_AGENT_SOCKET=relative.sock run "$W" status job-1
  [ "$status" -eq 125 ]
  [[ "$output" == *"WARDEN_AGENT_SOCKET=relative.sock"*"absolute"* ]]
}

@test "agent cli: usage errors exit 125 with a hint" {
  run "$W" submit --bogus -- true
  [ "$status" -eq 125 ]
  [[ "$output" == *'"--bogus"'*"see 'warden submit --help'"* ]]
  run "$W" submit --label novalue -- true
  [ "$status" -eq 125 ]
  [[ "$output" == *'--label "novalue" is not KEY=VALUE'* ]]
  # Run's options keep their values: "--wait" here is --env's (and refused
  # as one), not submit's own option.
  run "$W" submit --env --wait -- true
  [ "$status" -eq 125 ]
  [[ "$output" == *'--env'*'"--wait"'* ]]
  run "$W" status
  [ "$status" -eq 125 ]
  [[ "$output" == *"no job id"*"see 'warden status --help'"* ]]
  run "$W" status a b
  [ "$status" -eq 125 ]
  [[ "$output" == *'unexpected argument "b"'* ]]
  run "$W" list --bogus
  [ "$status" -eq 125 ]
  [[ "$output" == *'unknown option "--bogus"'* ]]
  run "$W" kill job-1 -s NOSUCH
  [ "$status" -eq 125 ]
  [[ "$output" == *"no such signal"* ]]
  run "$W" logs -x job-1
  [ "$status" -eq 125 ]
  [[ "$output" == *'unknown option "-x"'* ]]
}

@test "agent cli: submit refuses what only a foreground run can do, before looking for an agent" {
  for opt in "--pty" "--output-dir $T/out" "--result $T/r.json" "--env-pass HOME" "--job-id x"; do
    # shellcheck disable=SC2086
    run "$W" submit --socket "$T/agent.sock" $opt -- true
    [ "$status" -eq 125 ]
    [[ "$output" == *"${opt%% *}"*"not supported by submit"* ]]
    [[ "$output" != *"no warden agent"* ]]
  done
  [ ! -e "$T/out" ]
  [ ! -e "$T/r.json" ]
}

@test "agent cli: warden agent says when the agent's program is missing" {
  cp "$W" "$T/warden"
  run "$T/warden" agent --help
  [ "$status" -eq 125 ]
  [[ "$output" == *"$T/warden-agent is missing"* ]]
}
