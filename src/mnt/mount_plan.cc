#include "mnt/mount_plan.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/file.h"
#include "mnt/bind_source.h"
#include "mnt/idmap.h"
#include "mnt/mount_points.h"
#include "mnt/mountinfo.h"
#include "policy_data/parse_util.h"

namespace warden::mnt {
namespace {

// /proc paths hidden from every job, and /proc paths made read-only.
const char* const kProcMasked[] = {
    "/proc/kcore",     "/proc/sysrq-trigger", "/proc/timer_list", "/proc/keys",
    "/proc/key-users", "/proc/latency_stats", "/proc/sched_debug", "/proc/kmsg",
    "/proc/acpi",      "/proc/scsi",          "/proc/asound",     "/proc/kpagecount",
    "/proc/kpageflags", "/proc/kpagecgroup",  "/proc/config.gz",  nullptr};
const char* const kProcReadOnly[] = {"/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq",
                                     nullptr};

using launch::MountStep;
using Kind = launch::MountStep::Kind;

constexpr const char* kDevNodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

// Checks that `path` exists (the child opens it for real, in its own mount
// namespace); says what it is.
Result<struct stat> StatPath(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat(\"" + path + "\")");
  return st;
}

std::string SizeData(uint64_t bytes, const char* mode) {
  return "size=" + std::to_string(bytes) + ",mode=" + mode;
}

void Add(launch::Plan* plan, Kind kind, const std::string& target, unsigned long flags,
         const std::string& data = "", const std::string& source = "") {
  MountStep s;
  s.kind = kind;
  s.target = plan->Keep(target);
  s.data = data.empty() ? nullptr : plan->Keep(data);
  s.flags = flags;
  s.source = source.empty() ? nullptr : plan->Keep(source);
  s.what = s.target;
  plan->mounts.push_back(s);
}

// The legacy remount walk: without mount_setattr, a read-only remount
// changes one mount only, so each mount below `host_dir` (the rootfs, or a
// recursive bind's source) that a job can reach gets a remount step of its
// own at `inside` + its path below host_dir. Every one is required: a mount
// left writable is weaker isolation than asked, so a remount that fails
// (the mount vanished or moved meanwhile) stops the job.
Status AddLegacyRemounts(const std::vector<MountInfoEntry>& mounts, const std::string& host_dir,
                         const std::string& inside, launch::Plan* plan) {
  for (const MountInfoEntry* m : ReachableSubmounts(mounts, host_dir)) {
    unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV;
    if (m->HasOption("noexec")) flags |= MS_NOEXEC;
    std::string below = host_dir == "/" ? m->mount_point : m->mount_point.substr(host_dir.size());
    std::string target = inside == "/" ? below : inside + below;
    MountStep s;
    s.kind = Kind::kRemount;
    s.target = plan->Keep(target);
    s.flags = flags;
    s.what = s.target;
    plan->mounts.push_back(s);
  }
  return Status::Ok();
}

Result<std::vector<MountInfoEntry>> ReadMountInfo() {
  WARDEN_ASSIGN_OR_RETURN(std::string info, base::ReadFile("/proc/self/mountinfo", kMaxMountInfoBytes));
  Result<std::vector<MountInfoEntry>> parsed = ParseMountInfo(info);
  if (!parsed.ok()) {
    return Status::Error(parsed.status().code(),
                         "/proc/self/mountinfo: " + parsed.status().message() +
                             " (needed for the legacy remount walk)");
  }
  return parsed;
}

}  // namespace

namespace {

std::atomic<bool> force_legacy_mount_api{false};

}  // namespace

void ForceLegacyMountApi(bool force) { force_legacy_mount_api.store(force); }

bool HaveMountSetattr() {
  if (force_legacy_mount_api.load()) return false;
  // An invalid call tells ENOSYS (missing) from EINVAL/EBADF (present).
  long r = ::syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0);
  return !(r < 0 && errno == ENOSYS);
}

namespace {

// warden's own caches and state: never visible to a job, whatever the view
// or the binds (the policy cache holds other jobs' [env.set] values).
// `cache_dir` is the caller's HostConfig::cache_dir.
std::vector<std::string> StateDirs(const std::string& cache_dir) {
  std::vector<std::string> dirs = {"/var/cache/warden", "/var/lib/warden"};
  if (!cache_dir.empty() && cache_dir[0] == '/' && cache_dir != "/var/cache/warden") {
    dirs.push_back(cache_dir);
  }
  return dirs;
}

// True when `path` is `dir` or below it (both absolute, normalised).
bool AtOrBelow(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path.size() >= dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         (path.size() == dir.size() || path[dir.size()] == '/');
}

std::string Inside(const std::string& dest, const std::string& below) {
  return dest == "/" ? (below.empty() ? "/" : below) : dest + below;
}

class Planner {
 public:
  Planner(const Policy& policy, const std::string& cache_dir, launch::Plan* plan)
      : policy_(policy), plan_(plan) {
    for (const std::string& d : StateDirs(cache_dir)) {
      char real[PATH_MAX];
      if (::realpath(d.c_str(), real) != nullptr) state_real_.emplace_back(real);
    }
  }

  Result<const std::vector<MountInfoEntry>*> MountInfo() {
    if (!have_info_) {
      WARDEN_ASSIGN_OR_RETURN(info_, ReadMountInfo());
      have_info_ = true;
    }
    return &info_;
  }

  // One bind: the source is opened once here (bind_source.h says which
  // symlinks may be on its path), checked on that fd, and handed to the
  // child as a detached copy of its mounts, so nothing the job does to the
  // path between runs or meanwhile changes what is bound.
  Status Bind(const MountSpec& m, bool check_sockets) {
    if (m.owned) WARDEN_RETURN_IF_ERROR(CanIdmap(m));
    Result<base::UniqueFd> opened = OpenBindSource(m.source);
    if (!opened.ok()) {
      if (m.optional && opened.status().err() == ENOENT) return Status::Ok();
      return opened.take_status();
    }
    base::UniqueFd fd = std::move(opened.value());
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(bind source \"" + m.source + "\")");
    if ((m.expect_dev != 0 || m.expect_ino != 0) &&
        (st.st_dev != m.expect_dev || st.st_ino != m.expect_ino)) {
      return Status::Error(Code::kFailedPrecondition,
                           "bind source \"" + m.source + "\" changed since it was checked");
    }
    WARDEN_RETURN_IF_ERROR(CheckBindSource(fd.get(), st, m.source));
    const bool dir = S_ISDIR(st.st_mode);
    WARDEN_ASSIGN_OR_RETURN(std::string real, FdPathName(fd.get()));
    for (const std::string& state : state_real_) {
      if (AtOrBelow(real, state)) {
        return Status::Error(Code::kPermissionDenied,
                             "bind source \"" + m.source + "\" is inside warden's state (" + state +
                                 "), which no job may see; bind another directory");
      }
    }
    if (dir && check_sockets) WARDEN_RETURN_IF_ERROR(RefuseSockets(fd.get(), m.source));
    WARDEN_ASSIGN_OR_RETURN(base::UniqueFd tree, CloneMountTree(fd.get(), dir, m.source));
    if (m.owned) {
      // SRC's owner, as the fd warden checked says, becomes the job's ids
      // on this mount only; every other owner shows as the overflow id.
      // With a user namespace, the job's ids as the host sees them.
      const uint32_t host_base = policy_.user_namespace ? launch::kUsernsHostBase : 0;
      WARDEN_ASSIGN_OR_RETURN(base::UniqueFd userns,
                              MakeIdmapUserns(st.st_uid, st.st_gid, host_base + plan_->uid,
                                              host_base + plan_->gid));
      WARDEN_RETURN_IF_ERROR(IdmapMountTree(tree.get(), userns.get(), fd.get(), m.source));
    }
    // After the idmap, so a filesystem that cannot is named as such first.
    if (m.owned && (st.st_uid == 0 || st.st_gid == 0)) {
      // The job would make root's files on the host, set-id ones included.
      return Status::Error(Code::kPermissionDenied,
                           "owned bind \"" + m.source + "\": owned by uid " +
                               std::to_string(st.st_uid) + ", gid " + std::to_string(st.st_gid) +
                               ": what the job creates there would belong to root on the host; "
                               "chown it to the user whose files the job may make");
    }
    unsigned long flags = MS_NOSUID | MS_NODEV | (m.writable ? 0 : MS_RDONLY);
    Add(plan_, Kind::kBind, m.destination, flags);
    MountStep& step = plan_->mounts.back();
    step.recursive = dir;
    step.source_fd = plan_->KeepFd(std::move(tree));
    trees_.path_of_fd[step.source_fd] = real;
    if (dir && plan_->legacy_mount_api && !m.writable) {
      WARDEN_ASSIGN_OR_RETURN(const std::vector<MountInfoEntry>* info, MountInfo());
      WARDEN_RETURN_IF_ERROR(AddLegacyRemounts(*info, real, m.destination, plan_));
    }
    // The state directories below this source are masked where it shows.
    for (const std::string& state : state_real_) {
      if (dir && real != state && AtOrBelow(state, real)) {
        std::string below = real == "/" ? state : state.substr(real.size());
        Add(plan_, Kind::kMaskPath, Inside(m.destination, below), 0, "", "/dev/null");
      }
    }
    return Status::Ok();
  }

  // What an owned bind needs beyond a plain one. It is never degraded to a
  // plain writable bind: the job would write as its own uid into a tree
  // that belongs to someone else.
  Status CanIdmap(const MountSpec& m) const {
    const std::string what = "owned bind " + m.source + " -> " + m.destination;
    if (m.kind != MountSpec::Kind::kBind) {
      return Status::Error(Code::kInvalidArgument, what + ": only a bind can be owned");
    }
    if (plan_->legacy_mount_api) {
      return Status::Error(Code::kUnavailable,
                           what + ": idmapped binds need mount_setattr (Linux 5.12), which "
                                  "this host lacks or WARDEN_MOUNT_API=legacy turns off");
    }
    return Status::Ok();
  }

  HostTrees* trees() { return &trees_; }

  // One entry of the host view: a symlink is made again as a symlink (it
  // resolves inside the sandbox, so it cannot lead out of it); anything
  // else is bound read-only. Entries the host lacks are skipped.
  Status View(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return Status::FromErrno(errno, "lstat(view entry \"" + path + "\")");
    }
    if (S_ISLNK(st.st_mode)) {
      char text[PATH_MAX];
      ssize_t n = ::readlink(path.c_str(), text, sizeof text);
      if (n < 0) return Status::FromErrno(errno, "readlink(view entry \"" + path + "\")");
      if (static_cast<size_t>(n) >= sizeof text) return Status::FromErrno(ENAMETOOLONG, path);
      Add(plan_, Kind::kSymlink, path, 0, std::string(text, static_cast<size_t>(n)));
      return Status::Ok();
    }
    MountSpec m;
    m.source = path;
    m.destination = path;
    m.optional = true;
    // The view's trees are the distribution's (/usr, /etc): package-managed,
    // far too big to walk at every start, and not where services put
    // sockets (/run, /var, /tmp, which the view leaves out).
    return Bind(m, /*check_sockets=*/false);
  }

 private:
  const Policy& policy_;
  launch::Plan* plan_;
  HostTrees trees_;
  std::vector<std::string> state_real_;
  std::vector<MountInfoEntry> info_;
  bool have_info_ = false;
};

}  // namespace

Status BuildMountPlan(const Policy& policy, const std::vector<MountSpec>& extra,
                      launch::Plan* plan, const std::string& cache_dir) {
  plan->legacy_mount_api = !HaveMountSetattr();
  Planner planner(policy, cache_dir, plan);
  base::UniqueFd rootfs_fd;
  if (!policy.rootfs.empty()) {
    // An explicit rootfs (`rootfs = "/"` is the opt-in whole-host view):
    // bound read-only as "/", with the policy's masks.
    char real[PATH_MAX];
    if (::realpath(policy.rootfs.c_str(), real) == nullptr) {
      return Status::FromErrno(errno, "rootfs \"" + policy.rootfs + "\"");
    }
    plan->rootfs = plan->Keep(real);
    rootfs_fd.reset(::open(real, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfs_fd) return Status::FromErrno(errno, "open(rootfs \"" + std::string(real) + "\")");
    planner.trees()->rootfs_fd = rootfs_fd.get();
    planner.trees()->rootfs = real;
    if (plan->legacy_mount_api) {
      WARDEN_ASSIGN_OR_RETURN(const std::vector<MountInfoEntry>* mounts, planner.MountInfo());
      WARDEN_RETURN_IF_ERROR(AddLegacyRemounts(*mounts, real, "/", plan));
    }
  } else {
    // The host view: an empty root holding only the allow-listed host paths.
    plan->empty_root = true;
    for (const std::string& v : policy.view) WARDEN_RETURN_IF_ERROR(planner.View(v));
  }

  const std::string devnull = "/dev/null";

  // /proc: fresh, with the kernel's dangerous corners hidden or read-only.
  Add(plan, Kind::kProc, "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  for (const char* const* p = kProcMasked; *p; ++p) Add(plan, Kind::kMaskPath, *p, 0, "", devnull);
  for (const char* const* p = kProcReadOnly; *p; ++p) {
    Add(plan, Kind::kReadOnly, *p, MS_NOSUID | MS_NODEV | MS_NOEXEC);
  }

  // /dev: a small tmpfs holding only the harmless devices. The tmpfs is
  // nodev; the device binds on it cannot be, and are nosuid and noexec.
  Add(plan, Kind::kTmpfs, "/dev", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755");
  for (const char* node : kDevNodes) {
    const std::string host = std::string("/dev/") + node;
    Result<struct stat> st = StatPath(host);
    if (!st.ok()) {
      if (std::strcmp(node, "tty") == 0) continue;  // headless hosts may lack it
      return st.take_status();
    }
    Add(plan, Kind::kBind, host, MS_NOSUID | MS_NOEXEC, "", host);
  }
  Add(plan, Kind::kDevpts, "/dev/pts", MS_NOSUID | MS_NOEXEC,
      "newinstance,ptmxmode=0666,mode=0620");
  Add(plan, Kind::kSymlink, "/dev/ptmx", 0, "pts/ptmx");
  Add(plan, Kind::kTmpfs, "/dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC,
      SizeData(policy.shm_size_bytes, "1777"));
  Add(plan, Kind::kSymlink, "/dev/fd", 0, "/proc/self/fd");
  Add(plan, Kind::kSymlink, "/dev/stdin", 0, "/proc/self/fd/0");
  Add(plan, Kind::kSymlink, "/dev/stdout", 0, "/proc/self/fd/1");
  Add(plan, Kind::kSymlink, "/dev/stderr", 0, "/proc/self/fd/2");
  Add(plan, Kind::kRemount, "/dev", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);

  // /sys: a fresh read-only sysfs shows this network namespace, not the host's.
  Add(plan, Kind::kSysfs, "/sys", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  Add(plan, Kind::kMaskPath, "/sys/firmware", 0, "", devnull);
  Add(plan, Kind::kMaskPath, "/sys/kernel/debug", 0, "", devnull);
  Add(plan, Kind::kMaskPath, "/sys/kernel/security", 0, "", devnull);

  // /tmp: writable, size-limited.
  Add(plan, Kind::kTmpfs, "/tmp", MS_NOSUID | MS_NODEV, SizeData(policy.tmp_size_bytes, "1777"));

  for (const std::string& m : policy.mask) Add(plan, Kind::kMaskPath, m, 0, "", devnull);
  for (const std::string& d : StateDirs(cache_dir)) Add(plan, Kind::kMaskPath, d, 0, "", devnull);

  auto add_mount = [&](const MountSpec& m) -> Status {
    if (m.kind == MountSpec::Kind::kTmpfs) {
      unsigned long flags = MS_NOSUID | MS_NODEV | (m.writable ? 0 : MS_RDONLY);
      uint64_t size = m.size_bytes ? m.size_bytes : policy.tmp_size_bytes;
      Add(plan, Kind::kTmpfs, m.destination, flags, SizeData(size, "1777"));
      return Status::Ok();
    }
    return planner.Bind(m, /*check_sockets=*/true);
  };
  for (const MountSpec& m : policy.mounts) WARDEN_RETURN_IF_ERROR(add_mount(m));
  for (const MountSpec& m : extra) {
    // Library callers reach here without the CLI's parser: the same mount
    // rule as policies and --bind, so a "/" destination never hides the view.
    if (std::string problem = policy::MountProblem(m); !problem.empty()) {
      return Status::Error(Code::kInvalidArgument, "bind " + m.source + " -> " + m.destination +
                                                       ": " + problem);
    }
    WARDEN_RETURN_IF_ERROR(add_mount(m));
  }
  // Every missing mount point gets a tmpfs of warden's own to be made on.
  WARDEN_RETURN_IF_ERROR(PlaceMountPoints(planner.trees(), plan));
  // The child keeps one fd per step; say here, before anything starts, what
  // made the plan too long.
  if (plan->mounts.size() > launch::kMaxMountSteps) {
    return Status::Error(Code::kResourceExhausted,
                         std::to_string(plan->mounts.size()) + " mount steps, at most " +
                             std::to_string(launch::kMaxMountSteps) + " (" +
                             std::to_string(policy.mounts.size()) + " policy mounts, " +
                             std::to_string(extra.size()) + " --bind/--ro-bind" +
                             (plan->legacy_mount_api ? ", a remount per submount of the rootfs" : "") +
                             "): use fewer binds");
  }
  return Status::Ok();
}

}  // namespace warden::mnt
