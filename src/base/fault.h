// Named crash points for crash-injecting test rigs.
//
// WARDEN_CRASH_POINT("wal.after_write") marks a place where a crash must be
// survivable. When the environment variable WARDEN_FAULT is "name" or
// "name:nth", the process sends itself SIGKILL at the nth hit (default 1) of
// that point. Without WARDEN_FAULT a crash point costs one relaxed load.
// Every name must be listed in KnownCrashPoints() (checked) and in
// docs/durability.md.
#ifndef WARDEN_BASE_FAULT_H_
#define WARDEN_BASE_FAULT_H_

#include <string>
#include <vector>

namespace warden::base {

// Counts a hit of `name` and kills the process with SIGKILL when WARDEN_FAULT
// selects this hit. Thread-safe.
void CrashPoint(const char* name);

// True when WARDEN_FAULT names `name`: code may then take a slower path that
// puts the crash point exactly where its name says (e.g. a write and its
// fdatasync submitted apart instead of as one chain). Thread-safe.
bool CrashPointArmed(const char* name);

// Every crash point compiled into warden, for test rigs that iterate them.
const std::vector<std::string>& KnownCrashPoints();

// Re-reads WARDEN_FAULT and resets the hit counter. For a forked test child
// that sets the variable after the parent already read it.
void ReloadFaultConfig();

// The test-only fault point of the sandbox's child. Tests that call
// EnableChildFaults() make RunJob read WARDEN_FAULT_CHILD_STEP ("<step>" or
// "<step>:<errno>", a step as launch::StepName names it) and fail that step
// of the child, after its call was made, with that errno (EIO by default).
// A fault never skips a step: it only makes the launch fail. The warden
// binary never enables it, so the variable means nothing to it.
void EnableChildFaults();
// The spec, when enabled and set; nullptr otherwise.
const char* ChildFaultSpec();

// The test-only fault point of the launching process, in the same style.
// Tests that call EnableParentFaults() make the launcher read
// WARDEN_FAULT_PARENT_CALL ("<call>" or "<call>:<errno>", a call as
// KnownParentFaultCalls() names it) and fail that call, after it was made
// and worked, with that errno (EIO by default). A fault never skips a call:
// it only makes the launch fail. The warden binary never enables it.
void EnableParentFaults();
// Every parent call that can be made to fail.
const std::vector<std::string>& KnownParentFaultCalls();
// False, with *problem set, when faults are enabled and
// WARDEN_FAULT_PARENT_CALL names no known call or a bad errno; true
// otherwise (also when disabled). RunJob checks it before a launch, so that
// a typo in a test fails loudly.
bool ParentFaultSpecValid(std::string* problem);
// The errno to report for parent call `call` (one of
// KnownParentFaultCalls(), checked): `err` when the call failed by itself
// (err != 0), else the injected errno when the spec names `call`, else 0.
int ParentCallErrno(const char* call, int err);

}  // namespace warden::base

#define WARDEN_CRASH_POINT(name) ::warden::base::CrashPoint(name)

#endif  // WARDEN_BASE_FAULT_H_
