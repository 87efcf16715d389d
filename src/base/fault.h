// Named crash points for crash-injecting test rigs.
//
// WARDEN_CRASH_POINT("wal.after_write") marks a place where a crash must be
// survivable. When SetCrashPoint armed "name" or "name:nth" (`warden` does
// so from WARDEN_FAULT, others through warden::ConfigureDiagnostics), the
// process sends itself SIGKILL at the nth hit (default 1) of that point.
// Disarmed, a crash point costs one relaxed load.
// Every name must be listed in KnownCrashPoints() (checked) and in
// docs/durability.md.
#ifndef WARDEN_BASE_FAULT_H_
#define WARDEN_BASE_FAULT_H_

#include <string>
#include <vector>

#include "warden/status.h"

namespace warden::base {

// Counts a hit of `name` and kills the process with SIGKILL when the armed
// spec selects this hit. Thread-safe.
void CrashPoint(const char* name);

// True when the armed crash point (SetCrashPoint) is `name`: code may then
// take a slower path that puts the crash point exactly where its name says
// (e.g. a write and its fdatasync submitted apart instead of as one chain).
// Thread-safe.
bool CrashPointArmed(const char* name);

// Every crash point compiled into warden, for test rigs that iterate them.
const std::vector<std::string>& KnownCrashPoints();

// Arms the crash point "name" or "name:nth" (nth >= 1), resetting the hit
// counter; "" disarms. kInvalidArgument, leaving the armed one, for a name
// not in KnownCrashPoints() or a bad count. Call before jobs start.
Status SetCrashPoint(const std::string& spec);
// SetCrashPoint's check alone.
Status CheckCrashPoint(const std::string& spec);

// The test-only fault point of the sandbox's child: "<step>" or
// "<step>:<errno>" (a step as launch::StepName names it) makes every launch
// fail that step of the child, after its call was made, with that errno
// (EIO by default); "" sets none. A fault never skips a step: it only makes
// the launch fail. The spec is checked by launch (warden::
// ConfigureDiagnostics, and each launch), which knows the steps. Set before
// jobs start.
void SetChildFaultSpec(const std::string& spec);
// The spec; "" when none is set.
std::string ChildFaultSpec();

// The test-only fault point of the launching process, in the same style:
// "<call>" or "<call>:<errno>" (a call as KnownParentFaultCalls() names it)
// fails that call, after it was made and worked, with that errno (EIO by
// default); "" sets none. A fault never skips a call: it only makes the
// launch fail. kInvalidArgument, leaving the spec as it was, for an unknown
// call or a bad errno. Set before jobs start.
Status SetParentFaultSpec(const std::string& spec);
// SetParentFaultSpec's check alone.
Status CheckParentFaultSpec(const std::string& spec);
// Every parent call that can be made to fail.
const std::vector<std::string>& KnownParentFaultCalls();
// The errno to report for parent call `call` (one of
// KnownParentFaultCalls(), checked): `err` when the call failed by itself
// (err != 0), else the injected errno when the spec names `call`, else 0.
int ParentCallErrno(const char* call, int err);

}  // namespace warden::base

#define WARDEN_CRASH_POINT(name) ::warden::base::CrashPoint(name)

#endif  // WARDEN_BASE_FAULT_H_
