// The job's view of its own cgroups: what it finds at /sys/fs/cgroup, so
// that runtimes which size themselves from their limits (the JVM, Go, Node,
// Python's os.process_cpu_count) see the job's limits and not the host's.
//
// Two shapes, both read-only, both showing the job's own groups and nothing
// above or beside them (never warden's group, the caller's, or another
// job's):
//   - cgroup v2, the job started inside its cgroup and in a cgroup
//     namespace rooted there (clone3 CLONE_INTO_CGROUP|CLONE_NEWCGROUP): a
//     cgroup2 mount made by the sandbox's first process, which the kernel
//     roots at the namespace's root, i.e. the job's own cgroup;
//   - otherwise (v1 and hybrid hosts): a read-only tmpfs at /sys/fs/cgroup
//     holding a read-only bind of each of the job's own cgroup directories,
//     at the name its hierarchy has on the host (memory, pids, cpu,cpuacct,
//     cpuset, ...), and the host's symlinks to those names (cpu ->
//     cpu,cpuacct). A hierarchy in which the job has no group of its own
//     (v1 cpu without a cpu limit) is not shown at all: its namespace root
//     would be warden's own group.
// Where the sandbox's /sys could not be mounted (it is then an empty tmpfs)
// there is no /sys/fs/cgroup to show anything in, and the view is skipped.
#ifndef WARDEN_MNT_CGROUP_VIEW_H_
#define WARDEN_MNT_CGROUP_VIEW_H_

#include <string>
#include <utility>
#include <vector>

#include "mnt/mountinfo.h"
#include "proto/plan.h"
#include "warden/status.h"

namespace warden::mnt {

// Where the view goes inside the sandbox.
inline constexpr char kCgroupViewRoot[] = "/sys/fs/cgroup";
// Bounds on what is read from the host: symlinks in a cgroup root, and the
// job's directories.
inline constexpr size_t kMaxCgroupViewLinks = 64;
inline constexpr size_t kMaxCgroupViewDirs = 16;

// One step of the view, in order.
struct CgroupViewStep {
  enum class Kind {
    kMountCgroup2,  // mount cgroup2 at target (the job's cgroup namespace)
    kTmpfs,         // the view's tmpfs at target
    kBind,          // bind the host directory `source` at target
    kSymlink,       // symlink target -> link
    kReadOnly,      // remount the tmpfs at target read-only
  };
  Kind kind = Kind::kTmpfs;
  std::string target;  // inside the sandbox
  std::string source;  // kBind: the job's own cgroup directory on the host
  std::string link;    // kSymlink: the link's text (a sibling's name)
};

struct CgroupViewInput {
  // The job's cgroup directories (JobCgroup::Paths()): absolute host paths.
  std::vector<std::string> job_dirs;
  // The job was cloned into its cgroup and a cgroup namespace rooted there
  // (clone_into_fd() >= 0): every directory is on the one cgroup2 hierarchy.
  bool cloned_into_cgroup = false;
  // The host's mounts (/proc/self/mountinfo), to tell each directory's
  // hierarchy.
  std::vector<MountInfoEntry> mounts;
  // Symlinks found in the directories that hold the v1 hierarchy mounts
  // (usually just /sys/fs/cgroup): (absolute path of the link, its text).
  std::vector<std::pair<std::string, std::string>> links;
  // Destinations of the plan's binds and tmpfs mounts: an operator's own
  // mount at or below /sys/fs/cgroup (or at /sys, /sys/fs) wins, and no
  // view is made.
  std::vector<std::string> other_targets;
};

// The view's steps, from the input alone (no system calls): testable with
// fake hierarchies. Empty when there is nothing to show. Errors
// (kInvalidArgument) for a directory under no cgroup mount, a directory that
// is a hierarchy's root (a job never owns one), or two hierarchies that
// would share a name in the view.
Result<std::vector<CgroupViewStep>> PlanCgroupView(const CgroupViewInput& in);

// Appends the view for a job whose cgroup directories are `job_dirs` to the
// plan (after mnt::BuildMountPlan): reads the host's mounts and the symlinks
// beside its v1 hierarchies, opens each directory once and hands the child a
// detached copy of it (open_tree), like every other bind. Errors name the
// call and the path.
Status AddCgroupView(const std::vector<std::string>& job_dirs, bool cloned_into_cgroup,
                     launch::Plan* plan);

}  // namespace warden::mnt

#endif  // WARDEN_MNT_CGROUP_VIEW_H_
