#include "mnt/cgroup_view.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <set>

#include "base/file.h"
#include "mnt/bind_source.h"

namespace warden::mnt {
namespace {

using Kind = CgroupViewStep::Kind;

constexpr unsigned long kViewFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

// True when `path` is `dir` or below it (both absolute, normalised).
bool AtOrBelow(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path.size() >= dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         (path.size() == dir.size() || path[dir.size()] == '/');
}

bool IsCgroupFs(const MountInfoEntry& m) { return m.fs_type == "cgroup" || m.fs_type == "cgroup2"; }

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string Basename(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// A name the view can hold as one directory entry.
bool PlainName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

// The cgroup mount a job directory was made through: the deepest mount
// point above it, the last of equal ones (a later mount on the same place
// covers the earlier). Null when none is a cgroup mount.
const MountInfoEntry* HierarchyOf(const std::vector<MountInfoEntry>& mounts,
                                  const std::string& dir) {
  const MountInfoEntry* best = nullptr;
  for (const MountInfoEntry& m : mounts) {
    if (!AtOrBelow(dir, m.mount_point)) continue;
    if (best == nullptr || m.mount_point.size() >= best->mount_point.size()) best = &m;
  }
  return best != nullptr && IsCgroupFs(*best) ? best : nullptr;
}

// An operator's mount that the view would cover or that covers it.
bool ClashesWithView(const std::string& target) {
  return AtOrBelow(target, kCgroupViewRoot) || target == "/sys" || target == "/sys/fs";
}

}  // namespace

Result<std::vector<CgroupViewStep>> PlanCgroupView(const CgroupViewInput& in) {
  std::vector<CgroupViewStep> steps;
  if (in.job_dirs.empty()) return steps;
  if (in.job_dirs.size() > kMaxCgroupViewDirs) {
    return Status::Error(Code::kInvalidArgument,
                         "cgroup view: " + std::to_string(in.job_dirs.size()) +
                             " job cgroup directories, at most " +
                             std::to_string(kMaxCgroupViewDirs));
  }
  for (const std::string& t : in.other_targets) {
    if (ClashesWithView(t)) return steps;
  }
  if (in.cloned_into_cgroup) {
    // The child is in the job's cgroup and its namespace from clone on.
    steps.push_back({Kind::kMountCgroup2, kCgroupViewRoot, "", ""});
    return steps;
  }

  steps.push_back({Kind::kTmpfs, kCgroupViewRoot, "", ""});
  std::set<std::string> names;
  std::set<std::string> parents;  // where the host's hierarchies are mounted
  for (const std::string& dir : in.job_dirs) {
    if (dir.empty() || dir[0] != '/') {
      return Status::Error(Code::kInvalidArgument,
                           "cgroup view: job cgroup \"" + dir + "\" is not an absolute path");
    }
    const MountInfoEntry* h = HierarchyOf(in.mounts, dir);
    if (h == nullptr) {
      return Status::Error(Code::kInvalidArgument,
                           "cgroup view: job cgroup " + dir + " is under no cgroup mount");
    }
    // The job's own group is always below the hierarchy's root: showing the
    // root would show the whole host.
    if (dir == h->mount_point) {
      return Status::Error(Code::kInvalidArgument,
                           "cgroup view: job cgroup " + dir + " is the root of its hierarchy");
    }
    // The unified hierarchy of a hybrid host has no name of its own under
    // /sys/fs/cgroup when it is mounted there; systemd calls it "unified".
    std::string name = h->mount_point == kCgroupViewRoot ? "unified" : Basename(h->mount_point);
    if (!PlainName(name)) {
      return Status::Error(Code::kInvalidArgument, "cgroup view: hierarchy mounted at " +
                                                       h->mount_point + " has no usable name");
    }
    if (!names.insert(name).second) {
      return Status::Error(Code::kInvalidArgument,
                           "cgroup view: two of the job's cgroups belong in /sys/fs/cgroup/" +
                               name);
    }
    parents.insert(Dirname(h->mount_point));
    steps.push_back({Kind::kBind, std::string(kCgroupViewRoot) + "/" + name, dir, ""});
  }
  // The host's aliases (cpu -> cpu,cpuacct), for those the view holds.
  std::set<std::string> linked;
  for (const auto& [path, text] : in.links) {
    const std::string name = Basename(path);
    if (!parents.count(Dirname(path)) || !PlainName(name) || names.count(name)) continue;
    if (!names.count(text) || !linked.insert(name).second) continue;
    steps.push_back({Kind::kSymlink, std::string(kCgroupViewRoot) + "/" + name, "", text});
  }
  steps.push_back({Kind::kReadOnly, kCgroupViewRoot, "", ""});
  return steps;
}

namespace {

// Symlinks directly in `dir` (a cgroup root such as /sys/fs/cgroup), at
// most kMaxCgroupViewLinks. A directory that cannot be read has none.
Status ReadLinks(const std::string& dir, std::vector<std::pair<std::string, std::string>>* out) {
  const int fd = base::RetryEintr(
      [&] { return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); });
  if (fd < 0) {
    if (errno == ENOENT || errno == EACCES) return Status::Ok();
    return Status::FromErrno(errno, "open(\"" + dir + "\")");
  }
  base::UniqueDir d(::fdopendir(fd));
  if (!d) {
    const int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "fdopendir(\"" + dir + "\")");
  }
  size_t seen = 0;
  for (;;) {
    errno = 0;
    const struct dirent* e = ::readdir(d.get());
    if (e == nullptr) {
      if (errno != 0) return Status::FromErrno(errno, "readdir(\"" + dir + "\")");
      break;
    }
    if (e->d_type != DT_LNK) continue;
    if (++seen > kMaxCgroupViewLinks) {
      return Status::Error(Code::kResourceExhausted,
                           "cgroup view: more than " + std::to_string(kMaxCgroupViewLinks) +
                               " symlinks in " + dir);
    }
    char text[PATH_MAX];
    const ssize_t n = ::readlinkat(::dirfd(d.get()), e->d_name, text, sizeof text);
    if (n < 0) return Status::FromErrno(errno, "readlinkat(\"" + dir + "/" + e->d_name + "\")");
    if (static_cast<size_t>(n) >= sizeof text) continue;  // no hierarchy has such a name
    out->emplace_back(dir + "/" + e->d_name, std::string(text, static_cast<size_t>(n)));
  }
  return Status::Ok();
}

// The mounts the job's directories lie on, as far as the plan needs them
// (mount point and type). Found by walking up each directory to the first
// mount root (statx, Linux 5.8), which costs a few calls however many mounts
// the host has; without STATX_ATTR_MOUNT_ROOT, /proc/self/mountinfo is read
// instead. The directories are warden's own, made through these mounts.
Result<std::vector<MountInfoEntry>> HierarchyMounts(const std::vector<std::string>& dirs) {
  std::vector<MountInfoEntry> out;
  for (const std::string& dir : dirs) {
    std::string at = dir;
    for (;;) {
      struct statx stx;
      if (::statx(AT_FDCWD, at.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) != 0) {
        return Status::FromErrno(errno, "statx(\"" + at + "\")");
      }
      if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) {
        WARDEN_ASSIGN_OR_RETURN(std::string info,
                                base::ReadFile("/proc/self/mountinfo", kMaxMountInfoBytes));
        Result<std::vector<MountInfoEntry>> parsed = ParseMountInfo(info);
        if (!parsed.ok()) {
          return Status::Error(parsed.status().code(),
                               "/proc/self/mountinfo: " + parsed.status().message() +
                                   " (needed for the cgroup view)");
        }
        return parsed;
      }
      if ((stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) || at == "/") break;
      at = Dirname(at);
    }
    struct statfs fs;
    if (::statfs(at.c_str(), &fs) != 0) return Status::FromErrno(errno, "statfs(\"" + at + "\")");
    MountInfoEntry m;
    m.mount_point = at;
    m.fs_type = fs.f_type == CGROUP2_SUPER_MAGIC ? "cgroup2"
                : fs.f_type == CGROUP_SUPER_MAGIC ? "cgroup"
                                                   : "other";
    out.push_back(std::move(m));
  }
  return out;
}

// Opens a job's cgroup directory and makes the detached copy the child
// binds. It must be a directory on a cgroup filesystem: the view never binds
// anything else, whatever the path turned out to be.
Result<base::UniqueFd> CloneJobDir(const std::string& dir) {
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd fd, OpenBindSource(dir));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(\"" + dir + "\")");
  struct statfs fs;
  if (::fstatfs(fd.get(), &fs) != 0) return Status::FromErrno(errno, "fstatfs(\"" + dir + "\")");
  if (!S_ISDIR(st.st_mode) ||
      (fs.f_type != CGROUP_SUPER_MAGIC && fs.f_type != CGROUP2_SUPER_MAGIC)) {
    return Status::Error(Code::kFailedPrecondition,
                         "cgroup view: " + dir + " is not a cgroup directory");
  }
  return CloneMountTree(fd.get(), /*recursive=*/false, dir);
}

void Add(launch::Plan* plan, launch::MountStep::Kind kind, const std::string& target,
         unsigned long flags, const std::string& data = "") {
  launch::MountStep s;
  s.kind = kind;
  s.target = plan->Keep(target);
  s.data = data.empty() ? nullptr : plan->Keep(data);
  s.flags = flags;
  s.what = s.target;
  s.only_if = kCgroupViewRoot;
  plan->mounts.push_back(s);
}

}  // namespace

Status AddCgroupView(const std::vector<std::string>& job_dirs, bool cloned_into_cgroup,
                     launch::Plan* plan) {
  CgroupViewInput in;
  in.job_dirs = job_dirs;
  in.cloned_into_cgroup = cloned_into_cgroup;
  // The operator's mounts are binds and tmpfs; warden's own /sys is not one.
  for (const launch::MountStep& m : plan->mounts) {
    const bool operators = m.kind == launch::MountStep::Kind::kBind ||
                           m.kind == launch::MountStep::Kind::kTmpfs;
    if (operators && m.target != nullptr) in.other_targets.emplace_back(m.target);
  }
  if (!cloned_into_cgroup && !job_dirs.empty()) {
    WARDEN_ASSIGN_OR_RETURN(in.mounts, HierarchyMounts(job_dirs));
    std::set<std::string> roots;
    for (const std::string& dir : job_dirs) {
      if (const MountInfoEntry* h = HierarchyOf(in.mounts, dir)) roots.insert(Dirname(h->mount_point));
    }
    for (const std::string& r : roots) WARDEN_RETURN_IF_ERROR(ReadLinks(r, &in.links));
  }
  WARDEN_ASSIGN_OR_RETURN(std::vector<CgroupViewStep> steps, PlanCgroupView(in));
  using MK = launch::MountStep::Kind;
  for (const CgroupViewStep& s : steps) {
    switch (s.kind) {
      case Kind::kMountCgroup2:
        Add(plan, MK::kCgroup2, s.target, kViewFlags);
        break;
      case Kind::kTmpfs:
        // Made read-only by the kReadOnly step once the binds are on it.
        Add(plan, MK::kTmpfs, s.target, MS_NOSUID | MS_NODEV | MS_NOEXEC,
            "size=16k,nr_inodes=64,mode=0755");
        break;
      case Kind::kBind: {
        WARDEN_ASSIGN_OR_RETURN(base::UniqueFd tree, CloneJobDir(s.source));
        Add(plan, MK::kBind, s.target, kViewFlags);
        plan->mounts.back().source_fd = plan->KeepFd(std::move(tree));
        break;
      }
      case Kind::kSymlink:
        Add(plan, MK::kSymlink, s.target, 0, s.link);
        break;
      case Kind::kReadOnly:
        Add(plan, MK::kRemount, s.target, kViewFlags);
        break;
    }
  }
  if (plan->mounts.size() > launch::kMaxMountSteps) {
    return Status::Error(Code::kResourceExhausted,
                         std::to_string(plan->mounts.size()) + " mount steps with the cgroup "
                         "view, at most " + std::to_string(launch::kMaxMountSteps) +
                             ": use fewer binds");
  }
  return Status::Ok();
}

}  // namespace warden::mnt
