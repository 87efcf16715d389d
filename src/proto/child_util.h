// Helpers for code that runs between clone and exec: no allocation, no
// locks, no stdio. Every function here is async-signal-safe.
#ifndef WARDEN_PROTO_CHILD_UTIL_H_
#define WARDEN_PROTO_CHILD_UTIL_H_

#include <cstddef>

#include "proto/plan.h"
#include "proto/report.h"

namespace warden::launch {

// Where a child step failed: the step, the errno, the system call that
// returned it and what that call worked on (a path, usually).
struct ChildError {
  Step step = Step::kNone;
  int err = 0;
  const char* call = nullptr;
  const char* detail = nullptr;
  bool failed() const { return step != Step::kNone; }
};

inline ChildError Fail(Step step, int err, const char* call, const char* detail = nullptr) {
  return ChildError{step, err, call, detail};
}

// The test-only fault point (base/fault.h, WARDEN_FAULT_CHILD_STEP): `r`,
// the result of the step's real call, or -errno of the fault when the plan
// arms one at `step` and the call worked. The call is always made: a fault
// makes a launch fail, it never skips a step.
inline long Faulted(const Plan& plan, Step step, long r) {
  return (r >= 0 && plan.fault_step == static_cast<int>(step)) ? -plan.fault_errno : r;
}
// The same for a step whose helpers return 0 or a positive errno.
inline int FaultedErr(const Plan& plan, Step step, int err) {
  return (err == 0 && plan.fault_step == static_cast<int>(step)) ? plan.fault_errno : err;
}

// Copies at most cap-1 bytes and terminates; returns the length written.
size_t CopyStr(char* dst, size_t cap, const char* src);
// Appends src at dst[len]; returns the new length (truncating at cap-1).
size_t AppendStr(char* dst, size_t cap, size_t len, const char* src);
// Formats "/proc/self/fd/<fd>" into buf (at least 32 bytes).
const char* FdPath(char* buf, size_t cap, int fd);

// Sends a report to the parent; ignores failure (the parent sees EOF).
void SendReport(int fd, const Report& report);
void SendError(int fd, Report::Kind kind, const ChildError& e);

}  // namespace warden::launch

#endif  // WARDEN_PROTO_CHILD_UTIL_H_
