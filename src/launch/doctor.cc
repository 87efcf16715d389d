#include "launch/doctor.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/errno_text.h"
#include "caps/privileges.h"
#include "mnt/mount_plan.h"

namespace warden::launch {
namespace {

// Tries unshare(flags) in a forked child; returns 0 or the errno.
int TryUnshare(int flags) {
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) ::_exit(::unshare(flags) == 0 ? 0 : (errno & 0xff));
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
}

}  // namespace

base::DoctorChecks DoctorChecks(const base::HostConfig&) {
  base::DoctorChecks out;
  {
    Status st = caps::CheckLaunchPrivileges();
    out.push_back({"privileges", st.ok(), true,
                   st.ok() ? "running with the capabilities warden run needs" : st.ToString(),
                   "run warden as root"});
  }
  const struct {
    const char* name;
    int flag;
    bool required;
  } kNs[] = {
      {"mount namespace", CLONE_NEWNS, true},   {"pid namespace", CLONE_NEWPID, true},
      {"ipc namespace", CLONE_NEWIPC, true},    {"uts namespace", CLONE_NEWUTS, true},
      {"network namespace", CLONE_NEWNET, true}, {"cgroup namespace", CLONE_NEWCGROUP, true},
      {"user namespace", CLONE_NEWUSER, false},
  };
  for (const auto& ns : kNs) {
    int err = TryUnshare(ns.flag);
    std::string fix = ns.flag == CLONE_NEWUSER
                          ? "only policies with user_namespace = true need it; check "
                            "/proc/sys/user/max_user_namespaces and kernel.unprivileged_userns_clone"
                          : "the kernel or a container profile forbids it: run warden on the host "
                            "or allow unshare/clone in the container's seccomp profile";
    out.push_back({ns.name, err == 0, ns.required,
                   err == 0 ? "unshare works" : "unshare failed: " + base::ErrnoText(err), fix});
  }
  {
    struct clone_args_probe {
      uint64_t v[11];
    } a;
    std::memset(&a, 0, sizeof a);
    // An invalid size gets EINVAL from a kernel that has clone3, ENOSYS otherwise.
    long r = ::syscall(SYS_clone3, &a, 1);
    bool ok = !(r < 0 && errno == ENOSYS);
    out.push_back({"clone3", ok, false,
                   ok ? "available (CLONE_INTO_CGROUP possible)" : "missing: clone(2) is used instead",
                   "Linux 5.7 or newer starts jobs directly in their cgroup"});
  }
  {
    bool ok = mnt::HaveMountSetattr();
    out.push_back({"mount_setattr", ok, false,
                   ok ? "available: read-only root in one call"
                      : "missing or WARDEN_MOUNT_API=legacy: every submount is remounted",
                   "Linux 5.12 or newer"});
  }
  {
    struct open_how how;
    std::memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT;
    long fd = ::syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
    bool ok = fd >= 0;
    if (ok) ::close(static_cast<int>(fd));
    out.push_back({"openat2", ok, true,
                   ok ? "available: mount targets resolve inside the sandbox root"
                      : "missing: " + base::ErrnoText(errno),
                   "Linux 5.6 or newer is required"});
  }
  return out;
}

}  // namespace warden::launch
