// Messages the sandbox sends to the parent over the report pipe. Each is one
// fixed-size write (well under PIPE_BUF, so it is atomic).
#ifndef WARDEN_PROTO_REPORT_H_
#define WARDEN_PROTO_REPORT_H_

#include <sys/resource.h>

#include <cstdint>
#include <string>

namespace warden::launch {

// Setup steps, in the order the child performs them. Names are in
// StepName(); a failure report names the step and the errno.
enum class Step : int32_t {
  kNone = 0,
  kWaitRelease,
  kCgroupNamespace,
  kMountPrivate,
  kStaging,
  kGeneratedFile,
  kRootBind,
  kRootReadOnly,
  kMount,  // a mount step of a kind below that has no step of its own
  kPivotRoot,
  kDetachOldRoot,
  kHostname,
  kLoopback,
  kForkJob,
  kInitDropPrivileges,
  kSetsid,
  kStdio,
  kChdir,
  kRlimit,
  kSetgroups,
  kSetgid,
  kSetuid,
  kCapabilities,
  kSecurebits,
  kNoNewPrivs,
  kSeccomp,
  kExec,
  kJoinCgroup,
  kParentDeathSignal,
  kTraceJob,
  kMaskTemplate,
  // One per launch::MountStep::Kind, in its order.
  kMountTmpfs,
  kMountProc,
  kMountSysfs,
  kMountDevpts,
  kMountBind,
  kMountMask,
  kMountReadOnly,
  kMountSymlink,
  kMountRemount,
  kUsernsRoot,
  kControllingTerminal,
  kLast = kControllingTerminal,
};

const char* StepName(Step step);
// The step of that name (as StepName gives it), or kNone.
Step StepByName(const char* name);

inline constexpr uint32_t kReportMagic = 0x57445250;  // "WDRP"

struct Report {
  enum class Kind : int32_t {
    kSetupError = 1,  // a setup step failed: step, err, detail
    kExecError = 2,   // execve of the job failed: err (job exits 126/127)
    kFinished = 4,    // the job ended: wait_status, rusage of the whole tree
    kWarning = 8,     // a step that weakens no isolation did not work: step, err, call
  };
  uint32_t magic = kReportMagic;
  Kind kind = Kind::kSetupError;
  Step step = Step::kNone;
  int32_t err = 0;
  int32_t wait_status = 0;
  int32_t seccomp_syscall = -1;  // syscall that got the job killed, or -1
  int64_t user_usec = 0;
  int64_t sys_usec = 0;
  int64_t max_rss_kib = 0;
  char call[32] = {};     // the system call that failed, e.g. "openat2"
  char detail[192] = {};  // the path or mount target the step worked on
};

static_assert(sizeof(Report) == 272, "Report is a wire format: keep its size");
// "step 'mask': openat2(\"/etc/shadow\"): EACCES (Permission denied)": the
// step, the call and what it worked on, for messages and warnings.
std::string ChildErrorText(const Report& r);

static_assert(sizeof(Report) < 512, "Report must be written atomically to a pipe");

}  // namespace warden::launch

#endif  // WARDEN_PROTO_REPORT_H_
