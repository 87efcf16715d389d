#include "proto/report.h"

#include <cstring>

#include "base/errno_text.h"

namespace warden::launch {

const char* StepName(Step step) {
  switch (step) {
    case Step::kNone: return "none";
    case Step::kWaitRelease: return "wait for release";
    case Step::kCgroupNamespace: return "cgroup namespace";
    case Step::kMountPrivate: return "make / private";
    case Step::kStaging: return "staging tmpfs";
    case Step::kGeneratedFile: return "write generated file";
    case Step::kRootBind: return "bind root";
    case Step::kRootReadOnly: return "make root read-only";
    case Step::kMount: return "mount";
    case Step::kPivotRoot: return "pivot_root";
    case Step::kDetachOldRoot: return "detach old root";
    case Step::kHostname: return "sethostname";
    case Step::kLoopback: return "bring up lo";
    case Step::kForkJob: return "fork job";
    case Step::kInitDropPrivileges: return "drop init privileges";
    case Step::kSetsid: return "setsid";
    case Step::kStdio: return "set up stdio";
    case Step::kChdir: return "chdir";
    case Step::kRlimit: return "setrlimit";
    case Step::kSetgroups: return "setgroups";
    case Step::kSetgid: return "setresgid";
    case Step::kSetuid: return "setresuid";
    case Step::kCapabilities: return "drop capabilities";
    case Step::kSecurebits: return "lock securebits";
    case Step::kNoNewPrivs: return "no_new_privs";
    case Step::kSeccomp: return "load seccomp filter";
    case Step::kExec: return "execve";
    case Step::kJoinCgroup: return "join the job's cgroups";
    case Step::kParentDeathSignal: return "parent-death signal";
    case Step::kTraceJob: return "trace job";
    case Step::kMaskTemplate: return "mask template";
    case Step::kMountTmpfs: return "tmpfs";
    case Step::kMountProc: return "proc";
    case Step::kMountSysfs: return "sysfs";
    case Step::kMountDevpts: return "devpts";
    case Step::kMountBind: return "bind";
    case Step::kMountMask: return "mask";
    case Step::kMountReadOnly: return "read-only";
    case Step::kMountSymlink: return "symlink";
    case Step::kMountRemount: return "remount";
    case Step::kUsernsRoot: return "become userns root";
    case Step::kControllingTerminal: return "controlling terminal";
  }
  return "unknown step";
}

Step StepByName(const char* name) {
  for (int i = 1; i <= static_cast<int>(Step::kLast); ++i) {
    const Step s = static_cast<Step>(i);
    if (std::strcmp(StepName(s), name) == 0) return s;
  }
  return Step::kNone;
}

std::string ChildErrorText(const Report& r) {
  std::string msg = std::string("step '") + StepName(r.step) + "': ";
  const std::string call(r.call, strnlen(r.call, sizeof r.call));
  const std::string detail(r.detail, strnlen(r.detail, sizeof r.detail));
  msg += call.empty() ? std::string("?") : call;
  // Paths are quoted; names (a prctl option, an interface) are not:
  // openat2("/etc/shadow"), prctl(PR_SET_PDEATHSIG), mount(tmpfs) "/dev".
  if (!detail.empty()) {
    const std::string d = detail[0] == '/' ? "\"" + detail + "\"" : detail;
    msg += call.find('(') == std::string::npos ? "(" + d + ")" : " " + d;
  }
  msg += ": " + base::ErrnoText(r.err);
  return msg;
}

}  // namespace warden::launch
