#include "mnt/child_mounts.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

#include "base/raw_syscall.h"
#include "base/trace.h"

// Runs in the sandbox's first process: system calls go through
// base/raw_syscall.h and report failures as -errno; errno is never read or
// written here. Each failure names its step, the call and the path.
namespace warden::mnt {
namespace {

namespace sys = base::sys;
using launch::ChildError;
using launch::Fail;
using launch::MountStep;
using launch::Step;

constexpr int kMaxGenerated = 8;

// A path buffer on the stack plus the fd it was resolved to.
struct Resolved {
  int fd = -1;
  char path[32];  // "/proc/self/fd/N"
  ~Resolved() {
    if (fd >= 0) sys::Close(fd);
  }
};

// -errno of a failed raw call.
int Err(long r) { return static_cast<int>(-r); }

long Openat2(int dirfd, const char* path, int flags, unsigned long long resolve) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = static_cast<unsigned long long>(flags);
  how.resolve = resolve;
  return sys::Raw(SYS_openat2, dirfd, sys::L(path), sys::L(&how), sizeof how);
}

// Opens `target` (absolute, inside the new root) as an O_PATH fd, resolving
// symlinks as if the new root were "/": a symlink in the image can never
// point a mount outside the sandbox. -errno on failure.
int OpenInRoot(int root_fd, const char* target) {
  while (*target == '/') ++target;
  if (*target == '\0') return static_cast<int>(sys::FcntlInt(root_fd, F_DUPFD_CLOEXEC, 0));
  long fd = Openat2(root_fd, target, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  return static_cast<int>(fd);
}

// st_dev of every tmpfs this process mounted for the new root (the host
// view's root tmpfs, the plan's tmpfs steps): the only file systems a
// missing mount point is ever created on. A bind's host directory, the mask
// template every mask shares and the kernel's file systems are never
// written to.
struct OwnTmpfs {
  dev_t devs[launch::kMaxMountSteps + 1];
  size_t n = 0;
  // st_dev of the new root's fd, read once (root_dev_ok) for every mount
  // point created below it.
  dev_t root_dev = 0;
  bool root_dev_ok = false;
  // The host view's root starts empty: a mount point is most often missing,
  // so creating walks the path first instead of probing it first.
  bool walk_first = false;
  void Add(int fd) {
    struct stat st;
    if (n < sizeof devs / sizeof devs[0] && sys::Fstat(fd, &st) == 0) devs[n++] = st.st_dev;
  }
  // Reads the root's st_dev; adds it when the root is one of our tmpfs.
  void SetRoot(int fd, bool own_root) {
    struct stat st;
    if (sys::Fstat(fd, &st) != 0) return;
    root_dev = st.st_dev;
    root_dev_ok = true;
    if (own_root && n < sizeof devs / sizeof devs[0]) devs[n++] = st.st_dev;
  }
  bool HasDev(dev_t dev) const {
    for (size_t i = 0; i < n; ++i) {
      if (devs[i] == dev) return true;
    }
    return false;
  }
};

// Opens one component `name` below the directory `dir`, never through a
// symlink or "..": a symlink (even as the last component) is ELOOP. *dev:
// the st_dev of what it opened (from the same fstat that checks it).
int OpenComponent(int dir, const char* name, dev_t* dev) {
  long fd = Openat2(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC,
                    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) return static_cast<int>(fd);
  struct stat st;
  if (long r = sys::Fstat(static_cast<int>(fd), &st); r < 0 || S_ISLNK(st.st_mode)) {
    sys::Close(static_cast<int>(fd));
    return r < 0 ? static_cast<int>(r) : -ELOOP;
  }
  *dev = st.st_dev;
  return static_cast<int>(fd);
}

// Creates `target` (absolute, inside the new root), as a directory or an
// empty file, with its missing parents, one component at a time from the
// root. Nothing on the way is a symlink (bind sources a job prepared may
// hold them), and a missing component is created only in a directory of
// one of warden's own tmpfs mounts, never on a host directory.
// Returns an O_PATH fd of the target or -errno, with *call.
int CreateInRoot(int root_fd, const char* target, bool directory, const OwnTmpfs& own,
                 const char** call) {
  char buf[4096];
  launch::CopyStr(buf, sizeof buf, target);
  // cur is root_fd (borrowed) until the first component is open; every fd
  // after it is ours. cur_dev_ok: cur_dev is known (the root's fstat may
  // have failed: then nothing is created in it).
  int cur = root_fd;
  dev_t cur_dev = own.root_dev;
  bool cur_dev_ok = own.root_dev_ok;
  auto release = [root_fd](int fd) {
    if (fd != root_fd) sys::Close(fd);
  };
  char* p = buf;
  while (*p == '/') ++p;
  while (*p) {
    char* name = p;
    while (*p && *p != '/') ++p;
    if (*p) *p++ = '\0';
    while (*p == '/') ++p;
    const bool last = *p == '\0';
    *call = "openat2(RESOLVE_NO_SYMLINKS)";
    dev_t next_dev = 0;
    int next = OpenComponent(cur, name, &next_dev);
    if (next == -ENOENT) {
      if (!cur_dev_ok || !own.HasDev(cur_dev)) {
        *call = "mkdirat(not warden's tmpfs)";
        release(cur);
        return -EROFS;
      }
      long r;
      if (!last || directory) {
        *call = "mkdirat";
        r = sys::Mkdirat(cur, name, 0755);
      } else {
        *call = "openat(O_CREAT|O_EXCL)";
        r = sys::Openat(cur, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (r >= 0) sys::Close(static_cast<int>(r));
      }
      if (r < 0 && r != -EEXIST) {
        release(cur);
        return static_cast<int>(r);
      }
      *call = "openat2(RESOLVE_NO_SYMLINKS)";
      next = OpenComponent(cur, name, &next_dev);
    }
    release(cur);
    if (next < 0) return next;
    cur = next;
    cur_dev = next_dev;
    cur_dev_ok = true;
  }
  if (cur == root_fd) {
    *call = "fcntl(F_DUPFD)";
    return static_cast<int>(sys::FcntlInt(root_fd, F_DUPFD_CLOEXEC, 0));
  }
  return cur;
}

// Resolves target, creating it (as a directory or a file) when missing.
// *call names the call that failed.
int ResolveTarget(int root_fd, const char* target, bool create, bool directory, Resolved* out,
                  const char** call, const OwnTmpfs* own = nullptr) {
  *call = "openat2";
  if (create && own != nullptr && own->walk_first) {
    // The walk opens what exists and creates what is missing; a path it
    // may not walk (a symlink on the way) is what the probe below would
    // have found, or nothing: the walk's error stands.
    out->fd = CreateInRoot(root_fd, target, directory, *own, call);
    if (out->fd < 0) {
      const char* walk_call = *call;
      const int walk_err = out->fd;
      out->fd = OpenInRoot(root_fd, target);
      if (out->fd < 0) {
        out->fd = walk_err;
        *call = walk_call;
      } else {
        *call = "openat2";
      }
    }
  } else {
    out->fd = OpenInRoot(root_fd, target);
    if (out->fd == -ENOENT && create && own != nullptr) {
      out->fd = CreateInRoot(root_fd, target, directory, *own, call);
    }
  }
  if (out->fd < 0) {
    int err = -out->fd;
    out->fd = -1;
    return err;
  }
  launch::FdPath(out->path, sizeof out->path, out->fd);
  return 0;
}

unsigned long long AttrsFromFlags(unsigned long flags) {
  unsigned long long a = 0;
  if (flags & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  return a;
}

// Applies read-only/nosuid/nodev/noexec to the mount at `fd`, and to every
// mount below it when recursive. mount_setattr (Linux 5.12) does the whole
// tree in one call; the legacy path remounts the top mount only, so the
// parent plans explicit kRemount steps for submounts in that mode.
int SetMountFlags(int fd, const char* fd_path, unsigned long flags, bool recursive, bool legacy,
                  const char** call) {
  *call = "mount_setattr";
  if (!legacy) {
    struct mount_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.attr_set = AttrsFromFlags(flags);
    unsigned int at = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    long r = sys::Raw(SYS_mount_setattr, fd, sys::L(""), at, sys::L(&attr), sizeof attr);
    if (r == 0) return 0;
    if (r != -ENOSYS) return Err(r);
  }
  *call = "mount(MS_REMOUNT)";
  if (long r = sys::Mount(nullptr, fd_path, nullptr, MS_REMOUNT | MS_BIND | flags, nullptr); r < 0) {
    return Err(r);
  }
  return 0;
}

bool IsDirectoryFd(int fd) {
  struct stat st;
  return sys::Fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

// O_PATH fds of the two mask templates in the staging tmpfs: an empty
// read-only tmpfs (for directories) and a bind of /dev/null (for files), both
// read-only, nosuid, nodev and noexec. Their "/proc/self/fd/N" paths are what
// masks bind from.
struct MaskTemplates {
  int dir_fd = -1;
  int file_fd = -1;
  char dir_path[32] = "";
  char file_path[32] = "";
  ~MaskTemplates() {
    if (dir_fd >= 0) sys::Close(dir_fd);
    if (file_fd >= 0) sys::Close(file_fd);
  }
};

constexpr unsigned long kMaskFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

// What a failed template reports as its path: the buffer that holds the
// full one is gone by the time the report is sent.
constexpr char kMaskDirName[] = "/(staging)/.mask-dir";
constexpr char kMaskFileName[] = "/(staging)/.mask-file";

// Creates the templates in the staging tmpfs. null_fd: /dev/null (O_PATH),
// or -1 when no file mask can be made (file masks then fail).
ChildError MakeMaskTemplates(const launch::Plan& plan, int null_fd, MaskTemplates* out) {
  char path[4096];
  size_t len = launch::CopyStr(path, sizeof path, plan.staging_dir);
  launch::AppendStr(path, sizeof path, len, "/.mask-dir");
  if (long r = sys::Mkdirat(AT_FDCWD, path, 0755); r < 0) {
    return Fail(Step::kMaskTemplate, Err(r), "mkdirat", kMaskDirName);
  }
  if (long r = Faulted(plan, Step::kMaskTemplate,
                       sys::Mount("tmpfs", path, "tmpfs", kMaskFlags, "size=4k,mode=0755"));
      r < 0) {
    return Fail(Step::kMaskTemplate, Err(r), "mount(tmpfs)", kMaskDirName);
  }
  long dir = sys::Open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return Fail(Step::kMaskTemplate, Err(dir), "open", kMaskDirName);
  out->dir_fd = static_cast<int>(dir);
  launch::FdPath(out->dir_path, sizeof out->dir_path, out->dir_fd);
  if (null_fd < 0) return {};

  launch::AppendStr(path, sizeof path, len, "/.mask-file");
  long f = sys::Open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (f < 0) return Fail(Step::kMaskTemplate, Err(f), "open(O_CREAT)", kMaskFileName);
  sys::Close(static_cast<int>(f));
  char src[32];
  launch::FdPath(src, sizeof src, null_fd);
  if (long r = sys::Mount(src, path, nullptr, MS_BIND, nullptr); r < 0) {
    return Fail(Step::kMaskTemplate, Err(r), "mount(MS_BIND /dev/null)", kMaskFileName);
  }
  long file = sys::Open(path, O_PATH | O_CLOEXEC);
  if (file < 0) return Fail(Step::kMaskTemplate, Err(file), "open", kMaskFileName);
  out->file_fd = static_cast<int>(file);
  launch::FdPath(out->file_path, sizeof out->file_path, out->file_fd);
  // The bind carries the flags of /dev; a mask needs none of them.
  const char* call = nullptr;
  int err = SetMountFlags(out->file_fd, out->file_path, kMaskFlags, false, plan.legacy_mount_api,
                          &call);
  if (err != 0) return Fail(Step::kMaskTemplate, err, call, kMaskFileName);
  return {};
}

// The step a mount step's failure is reported as.
Step StepOf(MountStep::Kind kind) {
  switch (kind) {
    case MountStep::Kind::kTmpfs: return Step::kMountTmpfs;
    case MountStep::Kind::kProc: return Step::kMountProc;
    case MountStep::Kind::kSysfs: return Step::kMountSysfs;
    case MountStep::Kind::kDevpts: return Step::kMountDevpts;
    case MountStep::Kind::kBind: return Step::kMountBind;
    case MountStep::Kind::kMaskPath: return Step::kMountMask;
    case MountStep::Kind::kReadOnly: return Step::kMountReadOnly;
    case MountStep::Kind::kSymlink: return Step::kMountSymlink;
    case MountStep::Kind::kRemount: return Step::kMountRemount;
    case MountStep::Kind::kCgroup2: return Step::kMount;
  }
  return Step::kMount;
}

ChildError DoStep(const launch::Plan& plan, int root_fd, const MountStep& s, int source_fd,
                  const MaskTemplates& masks, OwnTmpfs* own) {
  Resolved t;
  char src[32];
  int err = 0;
  const char* call = "openat2";  // the call that failed, for the report
  if (s.only_if != nullptr) {
    const int dir = OpenInRoot(root_fd, s.only_if);
    if (dir == -ENOENT) return {};
    if (dir < 0) return Fail(StepOf(s.kind), -dir, call, s.only_if);
    sys::Close(dir);
  }
  switch (s.kind) {
    case MountStep::Kind::kTmpfs:
      if ((err = ResolveTarget(root_fd, s.target, true, true, &t, &call, own))) break;
      call = "mount(tmpfs)";
      if (long r = sys::Mount("tmpfs", t.path, "tmpfs", s.flags, s.data); r < 0) {
        err = Err(r);
        break;
      }
      {
        // Mount points below it may be created on it.
        Resolved top;
        if ((err = ResolveTarget(root_fd, s.target, false, true, &top, &call))) break;
        own->Add(top.fd);
        call = "mount(tmpfs)";
      }
      break;
    case MountStep::Kind::kProc:
      if ((err = ResolveTarget(root_fd, s.target, true, true, &t, &call, own))) break;
      call = "mount(proc)";
      if (long r = sys::Mount("proc", t.path, "proc", s.flags, nullptr); r < 0) err = Err(r);
      break;
    case MountStep::Kind::kSysfs:
      if ((err = ResolveTarget(root_fd, s.target, true, true, &t, &call, own))) break;
      if (sys::Mount("sysfs", t.path, "sysfs", s.flags, nullptr) < 0) {
        // A sysfs we may not mount is hidden instead: the host's one would
        // show the host's network devices.
        call = "mount(tmpfs over sysfs)";
        long r = sys::Mount("tmpfs", t.path, "tmpfs", s.flags | MS_RDONLY, "size=4k,mode=0755");
        if (r < 0) err = Err(r);
      }
      break;
    case MountStep::Kind::kDevpts:
      if ((err = ResolveTarget(root_fd, s.target, true, true, &t, &call, own))) break;
      call = "mount(devpts)";
      if (long r = sys::Mount("devpts", t.path, "devpts", s.flags, s.data); r < 0) err = Err(r);
      break;
    case MountStep::Kind::kBind: {
      bool dir = IsDirectoryFd(source_fd);
      if ((err = ResolveTarget(root_fd, s.target, true, dir, &t, &call, own))) break;
      if (s.source_fd >= 0) {
        // The detached copy the parent made of the source it checked: moved
        // into place, never looked up by path again. With mount_setattr its
        // flags are set while it is still detached, so it is never attached
        // without them and need not be looked up again once moved.
        if (!plan.legacy_mount_api) {
          if ((err = SetMountFlags(source_fd, "", s.flags, s.recursive, false, &call))) break;
        }
        call = "move_mount";
        if (long r = sys::Raw(SYS_move_mount, source_fd, sys::L(""), t.fd, sys::L(""),
                              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
            r < 0) {
          err = Err(r);
          break;
        }
        if (!plan.legacy_mount_api) break;
      } else {
        launch::FdPath(src, sizeof src, source_fd);
        unsigned long bind = MS_BIND | (s.recursive ? MS_REC : 0);
        call = "mount(MS_BIND)";
        if (long r = sys::Mount(src, t.path, nullptr, bind, nullptr); r < 0) {
          err = Err(r);
          break;
        }
      }
      // Re-resolve: the fd we hold points below the new mount.
      Resolved top;
      if ((err = ResolveTarget(root_fd, s.target, false, dir, &top, &call))) break;
      err = SetMountFlags(top.fd, top.path, s.flags, s.recursive, plan.legacy_mount_api, &call);
      break;
    }
    case MountStep::Kind::kMaskPath: {
      // Masks and read-only steps change what exists; a missing path is
      // nothing to hide.
      if ((err = ResolveTarget(root_fd, s.target, false, false, &t, &call))) {
        if (err == ENOENT) return {};
        break;
      }
      const bool dir = IsDirectoryFd(t.fd);
      const char* from = dir ? masks.dir_path : masks.file_path;
      if ((dir ? masks.dir_fd : masks.file_fd) < 0) {
        err = source_fd < 0 ? ENOENT : EINVAL;  // no /dev/null to mask files with
        call = "open(/dev/null)";
        break;
      }
      call = "mount(MS_BIND mask)";
      if (long r = sys::Mount(from, t.path, nullptr, MS_BIND, nullptr); r < 0) err = Err(r);
      break;
    }
    case MountStep::Kind::kReadOnly: {
      if ((err = ResolveTarget(root_fd, s.target, false, true, &t, &call))) {
        if (err == ENOENT) return {};
        break;
      }
      call = "mount(MS_BIND|MS_REC)";
      if (long r = sys::Mount(t.path, t.path, nullptr, MS_BIND | MS_REC, nullptr); r < 0) {
        err = Err(r);
        break;
      }
      Resolved top;
      if ((err = ResolveTarget(root_fd, s.target, false, true, &top, &call))) break;
      err = SetMountFlags(top.fd, top.path, s.flags | MS_RDONLY, true, plan.legacy_mount_api,
                          &call);
      break;
    }
    case MountStep::Kind::kSymlink: {
      char buf[4096];
      launch::CopyStr(buf, sizeof buf, s.target);
      char* slash = std::strrchr(buf, '/');
      if (slash == nullptr) {
        err = EINVAL;
        break;
      }
      *slash = '\0';
      // A link at the top is made in the root fd itself: one component,
      // nothing to resolve.
      const bool top = buf[0] == '\0';
      int parent = top ? root_fd : OpenInRoot(root_fd, buf);
      if (parent < 0) {
        err = -parent;
        break;
      }
      call = "symlinkat";
      if (long r = sys::Symlinkat(s.data, parent, slash + 1); r < 0 && r != -EEXIST) err = Err(r);
      if (!top) sys::Close(parent);
      break;
    }
    case MountStep::Kind::kRemount:
      if ((err = ResolveTarget(root_fd, s.target, false, true, &t, &call))) break;
      call = "mount(MS_REMOUNT)";
      if (long r = sys::Mount(nullptr, t.path, nullptr, MS_REMOUNT | MS_BIND | s.flags, nullptr);
          r < 0) {
        err = Err(r);
      }
      break;
    case MountStep::Kind::kCgroup2:
      // The kernel roots a cgroup2 mount at the mounter's cgroup namespace:
      // the child was cloned into the job's cgroup and a namespace rooted
      // there, so this shows the job's own cgroup and nothing above it.
      if ((err = ResolveTarget(root_fd, s.target, false, true, &t, &call))) break;
      call = "mount(cgroup2)";
      if (long r = sys::Mount("cgroup2", t.path, "cgroup2", s.flags, nullptr); r < 0) err = Err(r);
      break;
  }
  const Step step = StepOf(s.kind);
  // The fault point fails the step after its calls were made, so a mask or
  // a read-only step it names has still been applied.
  err = launch::FaultedErr(plan, step, err);
  if (err != 0 && !s.optional) return Fail(step, err, call, s.target);
  return {};
}

}  // namespace

ChildError ChildBuildRoot(const launch::Plan& plan) {
  // Nothing we mount may propagate back to the host.
  if (long r = launch::Faulted(plan, Step::kMountPrivate,
                               sys::Mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr));
      r < 0) {
    return Fail(Step::kMountPrivate, Err(r), "mount(MS_REC|MS_PRIVATE)", "/");
  }
  // Sources are opened in this mount namespace, before the staging tmpfs
  // can hide any of them.
  const size_t n_steps = plan.mounts.size();
  if (n_steps > launch::kMaxMountSteps) {
    return Fail(Step::kMount, E2BIG, "plan", "more mount steps than the child takes");
  }
  // Steps naming the same source (every mask names /dev/null) share its fd.
  int source_fds[launch::kMaxMountSteps];
  bool owns_fd[launch::kMaxMountSteps];
  bool any_mask = false;
  for (size_t i = 0; i < n_steps; ++i) {
    const MountStep& s = plan.mounts[i];
    source_fds[i] = -1;
    owns_fd[i] = false;
    any_mask = any_mask || s.kind == MountStep::Kind::kMaskPath;
    if (s.source_fd >= 0) {
      source_fds[i] = s.source_fd;  // the plan's, closed at exec
      continue;
    }
    if (s.source == nullptr) continue;
    for (size_t j = 0; j < i && source_fds[i] < 0; ++j) {
      if (owns_fd[j] && std::strcmp(plan.mounts[j].source, s.source) == 0) {
        source_fds[i] = source_fds[j];
      }
    }
    if (source_fds[i] >= 0) continue;
    long fd = sys::Open(s.source, O_PATH | O_CLOEXEC);
    if (fd < 0 && !s.optional) return Fail(StepOf(s.kind), Err(fd), "open(O_PATH)", s.source);
    source_fds[i] = fd < 0 ? -1 : static_cast<int>(fd);
    owns_fd[i] = source_fds[i] >= 0;
  }
  long rootfs = plan.empty_root ? -1 : sys::Open(plan.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (!plan.empty_root && rootfs < 0) {
    return Fail(Step::kRootBind, Err(rootfs), "open(O_PATH)", plan.rootfs);
  }
  const int rootfs_fd = static_cast<int>(rootfs);
  // The staging tmpfs is the empty root we build on; it is only ever
  // visible in this mount namespace.
  if (long r = launch::Faulted(plan, Step::kStaging,
                               sys::Mount("tmpfs", plan.staging_dir, "tmpfs",
                                          MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=0700"));
      r < 0) {
    return Fail(Step::kStaging, Err(r), "mount(tmpfs)", plan.staging_dir);
  }
  // Generated files are written into the staging tmpfs before the root
  // covers it; O_PATH fds keep them reachable for the binds below.
  int gen_fds[kMaxGenerated];
  int n_gen = 0;
  for (const launch::GeneratedFile& g : plan.generated) {
    if (n_gen == kMaxGenerated) return Fail(Step::kGeneratedFile, E2BIG, "plan", g.target);
    char path[4096];
    size_t len = launch::CopyStr(path, sizeof path, plan.staging_dir);
    len = launch::AppendStr(path, sizeof path, len, "/");
    launch::AppendStr(path, sizeof path, len, g.name);
    long fl = launch::Faulted(plan, Step::kGeneratedFile,
                              sys::Open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644));
    if (fl < 0) return Fail(Step::kGeneratedFile, Err(fl), "open(O_CREAT)", g.target);
    const int f = static_cast<int>(fl);
    size_t off = 0;
    while (off < g.content_len) {
      long w = sys::Write(f, g.content + off, g.content_len - off);
      if (w == -EINTR) continue;
      if (w < 0) {
        sys::Close(f);
        return Fail(Step::kGeneratedFile, Err(w), "write", g.target);
      }
      off += static_cast<size_t>(w);
    }
    sys::Close(f);
    long g_fd = sys::Open(path, O_PATH | O_CLOEXEC);
    if (g_fd < 0) return Fail(Step::kGeneratedFile, Err(g_fd), "open(O_PATH)", g.target);
    gen_fds[n_gen] = static_cast<int>(g_fd);
    ++n_gen;
  }

  // Mask templates, made once and bound wherever a mask goes: a bind copies
  // its source mount's flags, so each mask is one mount call, and directory
  // masks share one superblock instead of a new tmpfs each.
  MaskTemplates masks;
  if (any_mask) {
    int null_fd = -1;
    for (size_t i = 0; i < n_steps && null_fd < 0; ++i) {
      if (plan.mounts[i].kind == MountStep::Kind::kMaskPath) null_fd = source_fds[i];
    }
    ChildError e = MakeMaskTemplates(plan, null_fd, &masks);
    if (e.failed()) return e;
  }

  char src[32];
  if (plan.empty_root) {
    // The host view's root: an empty tmpfs the steps fill, made read-only
    // once they are done.
    if (long r = launch::Faulted(plan, Step::kRootBind,
                                 sys::Mount("tmpfs", plan.staging_dir, "tmpfs", MS_NOSUID | MS_NODEV,
                                            "size=256k,nr_inodes=4096,mode=0755"));
        r < 0) {
      return Fail(Step::kRootBind, Err(r), "mount(tmpfs)", "/");
    }
  } else {
    launch::FdPath(src, sizeof src, rootfs_fd);
    if (long r = launch::Faulted(plan, Step::kRootBind,
                                 sys::Mount(src, plan.staging_dir, nullptr, MS_BIND | MS_REC, nullptr));
        r < 0) {
      return Fail(Step::kRootBind, Err(r), "mount(MS_BIND|MS_REC)", plan.rootfs);
    }
  }
  base::TracePhase("M root bound");
  long root = sys::Open(plan.staging_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return Fail(Step::kRootBind, Err(root), "open(O_PATH)", plan.staging_dir);
  const int root_fd = static_cast<int>(root);
  OwnTmpfs own;
  own.SetRoot(root_fd, plan.empty_root);
  own.walk_first = plan.empty_root;
  // The whole image is read-only, nosuid and nodev before anything is
  // mounted on top of it; the writable mounts that follow keep their own
  // flags. (Done before, not after, pivot_root for that reason.)
  char root_path[32];
  launch::FdPath(root_path, sizeof root_path, root_fd);
  const char* call = nullptr;
  int err = 0;
  if (!plan.empty_root) {
    err = launch::FaultedErr(plan, Step::kRootReadOnly,
                             SetMountFlags(root_fd, root_path, MS_RDONLY | MS_NOSUID | MS_NODEV,
                                           true, plan.legacy_mount_api, &call));
    if (err != 0) return Fail(Step::kRootReadOnly, err, call, "/");
  }

  base::TracePhase("M root ro");
  for (size_t i = 0; i < n_steps; ++i) {
    const MountStep& s = plan.mounts[i];
    if (s.source != nullptr && source_fds[i] < 0) continue;  // optional and missing
    ChildError e = DoStep(plan, root_fd, s, source_fds[i], masks, &own);
    if (e.failed()) return e;
  }
  for (size_t i = 0; i < n_steps; ++i) {
    if (owns_fd[i]) sys::Close(source_fds[i]);
  }
  if (rootfs_fd >= 0) sys::Close(rootfs_fd);
  for (int i = 0; i < n_gen; ++i) {
    MountStep s;
    s.kind = MountStep::Kind::kBind;
    s.target = plan.generated[static_cast<size_t>(i)].target;
    s.flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    s.what = s.target;
    ChildError e = DoStep(plan, root_fd, s, gen_fds[i], masks, &own);
    if (e.failed()) {
      // A file that cannot be created in the read-only image is reported
      // as such: the policy has to provide the destination.
      return e;
    }
    sys::Close(gen_fds[i]);
  }

  if (plan.empty_root) {
    // Only the root tmpfs itself: the mounts on it keep their own flags.
    err = launch::FaultedErr(plan, Step::kRootReadOnly,
                             SetMountFlags(root_fd, root_path, MS_RDONLY | MS_NOSUID | MS_NODEV,
                                           false, plan.legacy_mount_api, &call));
    if (err != 0) return Fail(Step::kRootReadOnly, err, call, "/");
  }
  base::TracePhase("M steps done");
  // pivot_root(".", ".") stacks the old root on top of the new one; the
  // detach below then removes it and every host mount with it.
  if (long r = sys::Fchdir(root_fd); r < 0) {
    return Fail(Step::kPivotRoot, Err(r), "fchdir", plan.staging_dir);
  }
  if (long r = launch::Faulted(plan, Step::kPivotRoot,
                               sys::Raw(SYS_pivot_root, sys::L("."), sys::L(".")));
      r < 0) {
    return Fail(Step::kPivotRoot, Err(r), "pivot_root", plan.staging_dir);
  }
  if (long r = launch::Faulted(plan, Step::kDetachOldRoot, sys::Umount2(".", MNT_DETACH)); r < 0) {
    return Fail(Step::kDetachOldRoot, Err(r), "umount2(MNT_DETACH)", "/");
  }
  if (long r = sys::Chdir("/"); r < 0) return Fail(Step::kDetachOldRoot, Err(r), "chdir", "/");
  sys::Close(root_fd);
  return {};
}

}  // namespace warden::mnt
