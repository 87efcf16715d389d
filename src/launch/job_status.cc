// Names of JobStatus values: the strings of the --result JSON's "status".

#include <string>
#include <string_view>

#include "warden/job.h"

namespace warden {

// The switch is the one table of names: -Wswitch (an error in this build)
// fails the build when an enumerator has no case, and ParseJobStatus walks
// the enumerators through it rather than keeping a second list.
const char* JobStatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kOk: return "ok";
    case JobStatus::kNonzero: return "nonzero";
    case JobStatus::kSignaled: return "signaled";
    case JobStatus::kTimeout: return "timeout";
    case JobStatus::kOom: return "oom";
    case JobStatus::kSeccompViolation: return "seccomp-violation";
    case JobStatus::kSetupError: return "setup-error";
    case JobStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

Result<JobStatus> ParseJobStatus(std::string_view name) {
  // The enumerators are 0, 1, ... in order (none has an explicit value), and
  // a scoped enum holds any int, so the first "unknown" ends the walk.
  std::string all;
  for (int i = 0;; ++i) {
    const auto status = static_cast<JobStatus>(i);
    const std::string_view n = JobStatusName(status);
    if (n == "unknown") break;
    if (name == n) return status;
    all += all.empty() ? "" : ", ";
    all += n;
  }
  // The name may be hostile bytes from a document: show a short, printable
  // copy of it.
  constexpr size_t kShown = 64;
  std::string shown;
  for (char c : name.substr(0, kShown)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (name.size() > kShown) shown += "...";
  return Status::Error(Code::kInvalidArgument,
                       "unknown job status \"" + shown + "\" (one of: " + all + ")");
}

}  // namespace warden
