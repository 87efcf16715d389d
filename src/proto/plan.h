// The launch plan: everything the sandbox's child process needs, built by
// the parent before clone. Between clone and exec the child only walks this
// plan: it allocates nothing, takes no locks and logs nothing (STYLE rule 8).
// All strings are NUL-terminated and owned by the Plan's storage. The child
// runs on a copy-on-write copy of the parent's memory, so the Plan must stay
// alive and unchanged until Sandbox::Clone returns, and no longer (the
// contract launcher.h states).
#ifndef WARDEN_PROTO_PLAN_H_
#define WARDEN_PROTO_PLAN_H_

#include <linux/filter.h>
#include <sys/resource.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "base/fd.h"

namespace warden::launch {

// Host uid/gid range a user namespace maps sandbox ids 0..65535 onto
// (Sandbox::WriteIdMaps; an owned bind maps to the job's host ids too).
inline constexpr uint32_t kUsernsHostBase = 1u << 20;
inline constexpr uint32_t kUsernsRange = 65536;

// One filesystem step of the child, in order.
struct MountStep {
  enum class Kind : int {
    kTmpfs,        // mount a tmpfs at target with data (size, mode) and flags
    kProc,         // mount a fresh procfs at target
    kSysfs,        // mount a fresh sysfs read-only, or mask target if refused
    kDevpts,       // mount a new devpts instance at target
    kBind,         // bind the source at target (creating it on a tmpfs), remount flags
    kMaskPath,     // hide target: empty read-only tmpfs on a directory,
                   // /dev/null on a file; absent targets are skipped
    kReadOnly,     // bind target onto itself and remount read-only
    kSymlink,      // create symlink target -> data
    kRemount,      // change the flags of the mount at target
    kCgroup2,      // mount cgroup2 at target: the root of the child's cgroup
                   // namespace (mnt/cgroup_view.h)
  };
  Kind kind = Kind::kTmpfs;
  const char* source = nullptr; // host path (binds, masks); the child opens it
                                // in its own mount namespace before covering
                                // anything (a mount fd of the parent's
                                // namespace cannot be bound there)
  const char* target = nullptr; // path inside the new root, absolute
  const char* data = nullptr;   // mount data, or symlink text
  unsigned long flags = 0;      // MS_* flags applied to the finished mount
  bool recursive = false;       // bind: MS_REC and recursive attributes
  bool optional = false;        // a failure is skipped, not fatal
  const char* what = nullptr;   // step name in error reports
  int source_fd = -1;           // bind: a detached mount tree (open_tree
                                // OPEN_TREE_CLONE of the source the parent
                                // opened and checked), moved to target; then
                                // `source` is null. Owned by Plan::fds.
  const char* only_if = nullptr; // the step is skipped when this directory
                                 // is absent from the new root (the cgroup
                                 // view needs the /sys the child may have
                                 // had to leave empty)
};

struct RlimitStep {
  int resource;
  struct rlimit limit;
};

// A file the child writes into the staging tmpfs before the root exists,
// then binds read-only at target (e.g. /etc/resolv.conf).
struct GeneratedFile {
  const char* name;     // file name in the staging tmpfs
  const char* content;
  size_t content_len;
  const char* target;   // path inside the sandbox
};

// Most mount steps a plan may hold (the child keeps one fd per step).
inline constexpr size_t kMaxMountSteps = 256;

struct Plan {
  // Process to run.
  const char* const* argv = nullptr;
  const char* const* envp = nullptr;
  const char* path_env = nullptr;  // PATH used to look up argv[0]
  const char* cwd = "/";
  const char* hostname = "warden";

  // Namespaces and identity.
  bool user_namespace = false;
  bool new_cgroup_ns_after_release = false;  // unshare(CLONE_NEWCGROUP) after placement
  uint32_t uid = 65534;
  uint32_t gid = 65534;
  int cap_last_cap = 63;  // the kernel's, from caps::CapLastCap()

  // Filesystem.
  const char* rootfs = "/";
  // The root is an empty tmpfs that the plan's binds fill (the host view);
  // `rootfs` is then unused.
  bool empty_root = false;
  const char* staging_dir = "/tmp";  // host dir the staging tmpfs covers (in our ns)
  std::vector<MountStep> mounts;
  std::vector<GeneratedFile> generated;
  bool legacy_mount_api = false;  // force MS_REMOUNT walking instead of mount_setattr

  // Network inside the sandbox: bring lo up (loopback, veth).
  bool loopback_up = true;

  std::vector<RlimitStep> rlimits;

  // Seccomp program, loaded last before exec.
  std::vector<struct sock_filter> bpf;
  // Trace the job with ptrace so a seccomp kill can be attributed to a syscall.
  bool trace_seccomp_kills = false;

  // Output: fds the job gets as 0, 1, 2 (-1 keeps what it inherited).
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // --pty: stdin is a pty's slave, which the job takes as its controlling
  // terminal.
  bool controlling_tty = false;

  // Signals warden ignores (bit N-1 for signal N): the job resets them to
  // the default; caught ones are reset by exec. Set by the launcher.
  uint64_t ignored_signals = ~uint64_t{0};

  // Parent <-> child channels (set by the launcher).
  int release_read_fd = -1;
  int release_write_fd = -1;  // warden's end: the child closes its copy
  int report_write_fd = -1;
  bool die_with_parent = true;

  // v1 cgroups the child joins itself, before anything else, by writing
  // "0" to their `tasks` files (cgroup::JobCgroup::OpenSelfJoin says why):
  // each fd is owned by `fds`, the path names it in error reports.
  struct CgroupJoin {
    int fd;
    const char* path;
  };
  std::vector<CgroupJoin> cgroup_joins;

  // Where warden's argument and environment strings lie ([start, end) in
  // its memory, from /proc/self/stat; 0 when unknown). The sandbox's init
  // blanks its copy of them: its /proc/PID/cmdline, which every process in
  // the sandbox can read, must not show the operator's command line.
  uintptr_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;

  // Test-only fault point (base/fault.h): the child step (a launch::Step)
  // whose call is made to fail with fault_errno; 0 for none. Set only in
  // processes that enabled child faults (tests), never from the CLI.
  int fault_step = 0;
  int fault_errno = 0;

  // Storage that owns every string the pointers above refer to.
  std::deque<std::string> strings;
  std::deque<base::UniqueFd> fds;  // fds the steps name (MountStep::source_fd)
  std::vector<const char*> argv_vec;
  std::vector<const char*> envp_vec;

  int KeepFd(base::UniqueFd fd) {
    fds.push_back(std::move(fd));
    return fds.back().get();
  }
  const char* Keep(std::string s) {
    strings.push_back(std::move(s));
    return strings.back().c_str();
  }
};

}  // namespace warden::launch

#endif  // WARDEN_PROTO_PLAN_H_
