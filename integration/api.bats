#!/usr/bin/env bats
# warden doctor --json and warden gc: the CLI prints what the public Doctor
# and Gc return, as JSON a script can read.

load helpers
bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

@test "api: doctor --json is one JSON document with the text report's checks and exit status" {
  run --separate-stderr "$W" doctor --json
  text_status=$("$W" doctor >"$T/text"; echo $?)
  [ "$status" -eq "$text_status" ]
  printf '%s\n' "$output" > "$T/doctor.json"
  python3 -m json.tool "$T/doctor.json" >/dev/null
  python3 - "$T/doctor.json" "$T/text" "$status" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
assert d["usable"] == (sys.argv[3] == "0"), d["usable"]
assert d["checks"], "no checks"
for c in d["checks"]:
    assert set(c) == {"section", "name", "ok", "required", "detail", "remedy"}, c
    assert c["name"] and c["name"] in text, c["name"]
    assert c["section"] + "\n" in text, c["section"]
PY
}

@test "api: doctor refuses arguments other than --json" {
  run "$W" doctor --json extra
  [ "$status" -eq 2 ]
  [[ "$output" == *'"extra"'*"warden doctor --help"* ]]
  run "$W" doctor --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--json"* ]]
}

@test "api: gc on a clean host removes nothing and exits 0" {
  "$W" gc >/dev/null
  run "$W" gc
  [ "$status" -eq 0 ]
  [ "$output" = "warden gc: removed 0 leftovers" ]
}
