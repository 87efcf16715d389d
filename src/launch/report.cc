#include "launch/report.h"

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
  }
  return "unknown step";
}

}  // namespace warden::launch
