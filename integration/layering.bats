#!/usr/bin/env bats
# The module order of src/layers.txt (docs/modules.md): every module includes
# only itself and modules below it. scripts/check-layers.sh enforces it; these
# tests run it on this tree, and on copies of it with a bad include planted,
# to show that each kind of upward include fails the check. No warden binary
# and no privilege needed.

bats_require_minimum_version 1.5.0

setup() {
  root=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  check=$root/scripts/check-layers.sh
  check_env=$root/scripts/check-no-env.sh
}

# A copy of the sources the check reads, in the test's own temp dir.
copy_tree() {
  copy=$BATS_TEST_TMPDIR/tree
  mkdir -p "$copy"
  cp -r "$root/src" "$root/include" "$copy/"
}

@test "layering: every include of src/ and include/warden/ goes down the module order" {
  run "$check"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"go down the order"* ]]
}

@test "layering: a kernel concern that includes launch/ fails the check" {
  copy_tree
  printf '#include "launch/launcher.h"\n' >>"$copy/src/mnt/mount_plan.h"
  run "$check" "$copy"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"src/mnt/mount_plan.h:"*"mnt (layer "*") includes launch/launcher.h"*"a module above it"* ]]
}

@test "layering: a module that includes a sibling on its own layer fails the check" {
  copy_tree
  printf '#include "policy/loader.h"\n' >>"$copy/src/seccomp/seccomp.cc"
  run "$check" "$copy"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"src/seccomp/seccomp.cc:"*"seccomp includes policy/loader.h, a sibling"* ]]
}

@test "layering: the child protocol leaf may not reach back into launch/" {
  copy_tree
  printf '#include <launch/child.h>\n' >>"$copy/src/proto/child_util.h"
  run "$check" "$copy"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"src/proto/child_util.h:"*"proto (layer "*") includes launch/child.h"* ]]
}

@test "layering: the public headers include no internal module" {
  copy_tree
  printf '#include "base/fd.h"\n' >>"$copy/include/warden/job.h"
  run "$check" "$copy"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"include/warden/job.h:"*"warden (layer 1) includes base/fd.h"* ]]
}

@test "layering: a module not placed in src/layers.txt fails the check" {
  copy_tree
  mkdir "$copy/src/unplaced"
  printf '#include "base/fd.h"\n' >"$copy/src/unplaced/unplaced.cc"
  run "$check" "$copy"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"src/unplaced/ is not placed in src/layers.txt"* ]]
}

@test "layering: an include that names no module fails the check" {
  copy_tree
  printf '#include "plan.h"\n' >>"$copy/src/mnt/mount_plan.h"
  run "$check" "$copy"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"src/mnt/mount_plan.h:"*"names no module"* ]]
}

# The warden command is built on the public API alone (include/warden/):
# scripts/check-cli-api.sh refuses any other include in src/cli/.
@test "layering: src/cli includes only the public API, its own headers and system headers" {
  run "$root/scripts/check-cli-api.sh"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"use only the public API"* ]]
}

@test "layering: an internal header included in src/cli fails the check, naming the line" {
  copy_tree
  local n
  n=$(($(wc -l <"$copy/src/cli/run_cmd.cc") + 1))
  printf '#include "base/fd.h"\n' >>"$copy/src/cli/run_cmd.cc"
  run "$root/scripts/check-cli-api.sh" "$copy"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"src/cli/run_cmd.cc:$n: #include \"base/fd.h\""*"public API"* ]]
}

@test "layering: an internal module included in src/cli as <module/...> fails the check" {
  copy_tree
  printf '#include <mnt/bind_source.h>\n' >>"$copy/src/cli/commands.h"
  run "$root/scripts/check-cli-api.sh" "$copy"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"src/cli/commands.h:"*"<mnt/bind_source.h>: mnt is an internal module"* ]]
}

@test "layering: the library outside src/cli/ reads no environment variable" {
  run "$check_env"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"no environment access outside src/cli/"* ]]
}

@test "layering: a getenv planted in the library fails the check, naming FILE:LINE" {
  copy_tree
  printf 'const char* Planted() { return std::getenv("WARDEN_PLANTED"); }\n' >>"$copy/src/net/gc.cc"
  local line
  line=$(wc -l <"$copy/src/net/gc.cc")
  run "$check_env" "$copy"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"src/net/gc.cc:$line: the library reads or changes the environment"* ]]
}

@test "layering: environ and setenv in the library fail the check; src/cli/ and comments do not" {
  copy_tree
  printf '// getenv is named in this comment only\n' >>"$copy/src/base/log.cc"
  printf 'int Planted() { return ::getenv("HOME") != nullptr; }\n' >>"$copy/src/cli/main.cc"
  run "$check_env" "$copy"
  echo "$output"
  [ "$status" -eq 0 ]
  printf 'extern char** environ;\n' >>"$copy/src/io/env.cc"
  printf 'void Planted() { ::setenv("A", "b", 1); }\n' >>"$copy/src/base/fault.cc"
  run "$check_env" "$copy"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"src/io/env.cc:"* ]]
  [[ "$output" == *"src/base/fault.cc:"* ]]
  [[ "$output" == *"2 use(s)"* ]]
}
