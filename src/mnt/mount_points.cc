#include "mnt/mount_points.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "base/fd.h"
#include "mnt/bind_source.h"

namespace warden::mnt {
namespace {

using launch::MountStep;
using Kind = launch::MountStep::Kind;

// Steps that mount something at their target (and so hide what was there).
bool IsMount(Kind k) {
  switch (k) {
    case Kind::kSymlink:
    case Kind::kReadOnly:
    case Kind::kRemount:
      return false;
    default:
      return true;
  }
}

// Steps whose target the child creates when it is missing.
bool Creates(Kind k) {
  return k == Kind::kTmpfs || k == Kind::kProc || k == Kind::kSysfs || k == Kind::kDevpts ||
         k == Kind::kBind;
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& comps, size_t n) {
  if (n == 0) return "/";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "/" + comps[i];
  return out;
}

base::UniqueFd OpenBeneath(int dir, const char* name) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = ::syscall(SYS_openat2, dir, name, &how, sizeof how);
  } while (fd < 0 && errno == EINTR);
  return base::UniqueFd(static_cast<int>(fd));
}

class Placer {
 public:
  Placer(HostTrees* trees, launch::Plan* plan) : trees_(trees), plan_(plan) {}

  Status Run() {
    for (size_t i = 0; i < plan_->mounts.size(); ++i) {
      if (!Creates(plan_->mounts[i].kind)) continue;
      inserted_ = 0;
      WARDEN_RETURN_IF_ERROR(Place(i));
      i += inserted_;  // steps put before this one
    }
    // The tmpfs mounts made writable for their mount points are read-only
    // once every step is done.
    for (const auto& [target, flags] : final_read_only_) {
      MountStep s;
      s.kind = Kind::kRemount;
      s.target = target;
      s.flags = flags;
      s.what = target;
      plan_->mounts.push_back(s);
    }
    return Status::Ok();
  }

 private:
  // Makes sure the mount point of step i exists or can be made on a tmpfs
  // of warden's own.
  Status Place(size_t i) {
    const std::string target = plan_->mounts[i].target;
    const std::vector<std::string> comps = Split(target);
    // The step whose mount holds the path, component by component: the
    // latest mount at each prefix that comes after the one above it.
    long layer = -1;
    size_t layer_depth = 0;
    for (size_t d = 1; d <= comps.size(); ++d) {
      const std::string prefix = Join(comps, d);
      for (long j = static_cast<long>(i) - 1; j > layer; --j) {
        const MountStep& s = plan_->mounts[static_cast<size_t>(j)];
        if (IsMount(s.kind) && s.target != nullptr && prefix == s.target) {
          layer = j;
          layer_depth = d;
          break;
        }
      }
    }
    if (layer >= 0 && layer_depth == comps.size()) return Status::Ok();  // a mount is there
    if (layer < 0) {
      if (trees_->rootfs_fd < 0) return Status::Ok();  // the host view's root tmpfs
      return OnHost(i, -1, trees_->rootfs_fd, trees_->rootfs, comps, 0,
                    MS_RDONLY | MS_NOSUID | MS_NODEV);
    }
    MountStep& l = plan_->mounts[static_cast<size_t>(layer)];
    switch (l.kind) {
      case Kind::kTmpfs:
        if (l.flags & MS_RDONLY) {
          ReadOnlyAtEnd(l.target, l.flags);
          l.flags &= ~static_cast<unsigned long>(MS_RDONLY);
        }
        return Status::Ok();
      case Kind::kMaskPath:
        // The mask template is shared by every mask: a directory made on it
        // would show in all of them. This mask gets a tmpfs of its own.
        l.kind = Kind::kTmpfs;
        l.source = nullptr;
        l.data = plan_->Keep("size=64k,nr_inodes=1024,mode=0755");
        l.flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
        ReadOnlyAtEnd(l.target, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        return Place(static_cast<size_t>(layer));  // the masked path itself may be missing
      case Kind::kBind: {
        auto host = trees_->path_of_fd.find(l.source_fd);
        if (l.source_fd < 0 || host == trees_->path_of_fd.end()) return Status::Ok();
        return OnHost(i, layer, l.source_fd, host->second, comps, layer_depth, l.flags);
      }
      default:
        return Status::Ok();  // a kernel file system: the child refuses to write there
    }
  }

  void ReadOnlyAtEnd(const char* target, unsigned long flags) {
    for (const auto& [t, f] : final_read_only_) {
      if (std::strcmp(t, target) == 0) return;
    }
    final_read_only_.emplace_back(target, flags | MS_RDONLY);
  }

  // The layer is a host directory (`host` at tree fd `dir`, shown at
  // comps[0..start)): walks the rest of the destination there without
  // following anything, and covers the deepest directory that exists when
  // a component is missing. A symlink on the way is left to the child,
  // which follows it for a destination that exists and refuses to create
  // one through it.
  Status OnHost(size_t i, long layer, int dir, const std::string& host,
                const std::vector<std::string>& comps, size_t start, unsigned long flags) {
    base::UniqueFd holder;
    int cur = dir;
    std::string host_dir = host;
    for (size_t k = start; k < comps.size(); ++k) {
      base::UniqueFd next = OpenBeneath(cur, comps[k].c_str());
      if (!next) {
        if (errno != ENOENT) return Status::Ok();
        return Cover(i, layer, cur, host_dir, Join(comps, k), flags);
      }
      struct stat st;
      if (::fstat(next.get(), &st) != 0 || !S_ISDIR(st.st_mode)) return Status::Ok();
      holder = std::move(next);
      cur = holder.get();
      host_dir = host_dir == "/" ? "/" + comps[k] : host_dir + "/" + comps[k];
    }
    return Status::Ok();
  }

  // Covers `shown` (the sandbox path of host directory `host_dir`, open at
  // `dir`) with a tmpfs that binds each of its entries again, right after
  // the layer's own step so every later step (masks included) lands on it.
  Status Cover(size_t i, long layer, int dir, const std::string& host_dir,
               const std::string& shown, unsigned long flags) {
    const std::string dest = plan_->mounts[i].target;
    const std::string what = "destination " + dest + " does not exist; it would have to be made in the host directory " + host_dir;
    if (shown == "/") {
      return Status::Error(Code::kFailedPrecondition,
                           what + " (the root of `rootfs`), which warden never writes to and "
                                  "cannot cover: create it there, or choose a destination "
                                  "under an existing directory (/tmp, /opt, /mnt)");
    }
    if ((flags & MS_RDONLY) == 0) {
      // A tmpfs over a writable bind would take its writability away.
      return Status::Error(Code::kFailedPrecondition,
                           what + " (bound writable), which warden never writes to: create it "
                                  "there first (mkdir -p " + host_dir + "/...), or choose a "
                                  "destination outside the writable bind");
    }
    if (plan_->legacy_mount_api) {
      return Status::Error(Code::kUnavailable,
                           what + ", which warden never writes to; covering it needs "
                                  "mount_setattr (Linux 5.12): create the destination there "
                                  "or choose one under /tmp");
    }
    base::UniqueFd list(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!list) return Status::FromErrno(errno, "open(host directory \"" + host_dir + "\")");
    struct stat st;
    if (::fstat(list.get(), &st) != 0) return Status::FromErrno(errno, "fstat(\"" + host_dir + "\")");
    std::vector<std::string> names;
    alignas(struct dirent64) char buf[8192];
    for (;;) {
      long n = ::syscall(SYS_getdents64, list.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "getdents64(\"" + host_dir + "\")");
      if (n == 0) break;
      for (long off = 0; off < n;) {
        const auto* d = reinterpret_cast<const struct dirent64*>(buf + off);
        off += d->d_reclen;
        if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
        names.emplace_back(d->d_name);
        if (names.size() > kMaxCoverEntries) {
          return Status::Error(Code::kResourceExhausted,
                               what + ", which warden never writes to; it holds more than " +
                                   std::to_string(kMaxCoverEntries) +
                                   " entries, too many to bind again on a tmpfs: create the "
                                   "destination there or choose one under /tmp");
        }
      }
    }
    const std::string base = shown;
    std::vector<MountStep> steps;
    // The directory's mode and owner; in a user namespace the host's ids
    // mean nothing to the tmpfs (they are read in the job's namespace).
    char data[96];
    if (plan_->user_namespace) {
      std::snprintf(data, sizeof data, "size=1m,nr_inodes=1024,mode=%o", st.st_mode & 07777);
    } else {
      std::snprintf(data, sizeof data, "size=1m,nr_inodes=1024,mode=%o,uid=%u,gid=%u",
                    st.st_mode & 07777, st.st_uid, st.st_gid);
    }
    MountStep tmpfs;
    tmpfs.kind = Kind::kTmpfs;
    tmpfs.target = plan_->Keep(base);
    tmpfs.what = tmpfs.target;
    tmpfs.data = plan_->Keep(data);
    tmpfs.flags = MS_NOSUID | MS_NODEV | (flags & MS_NOEXEC);
    steps.push_back(tmpfs);
    for (const std::string& name : names) {
      const std::string host_entry = host_dir == "/" ? "/" + name : host_dir + "/" + name;
      base::UniqueFd fd = OpenBeneath(list.get(), name.c_str());
      if (!fd) {
        if (errno == ENOENT) continue;  // gone meanwhile
        return Status::FromErrno(errno, "openat2(\"" + host_entry + "\")");
      }
      struct stat est;
      if (::fstat(fd.get(), &est) != 0) return Status::FromErrno(errno, "fstat(\"" + host_entry + "\")");
      if (S_ISLNK(est.st_mode)) {
        // Made again as a symlink, which resolves in the sandbox.
        char text[PATH_MAX];
        ssize_t n = ::readlinkat(fd.get(), "", text, sizeof text);
        if (n < 0) return Status::FromErrno(errno, "readlinkat(\"" + host_entry + "\")");
        if (static_cast<size_t>(n) >= sizeof text) return Status::FromErrno(ENAMETOOLONG, host_entry);
        MountStep link;
        link.kind = Kind::kSymlink;
        link.target = plan_->Keep(base + "/" + name);
        link.what = link.target;
        link.data = plan_->Keep(std::string(text, static_cast<size_t>(n)));
        steps.push_back(link);
        continue;
      }
      // Sockets, FIFOs and devices are not bound again: the cover hides them.
      if (!S_ISDIR(est.st_mode) && !S_ISREG(est.st_mode)) continue;
      const bool is_dir = S_ISDIR(est.st_mode);
      WARDEN_ASSIGN_OR_RETURN(base::UniqueFd tree, CloneMountTree(fd.get(), is_dir, host_entry));
      MountStep bind;
      bind.kind = Kind::kBind;
      bind.target = plan_->Keep(base + "/" + name);
      bind.what = bind.target;
      bind.flags = flags;
      bind.recursive = is_dir;
      bind.source_fd = plan_->KeepFd(std::move(tree));
      trees_->path_of_fd[bind.source_fd] = host_entry;
      steps.push_back(bind);
    }
    const size_t pos = static_cast<size_t>(layer + 1);
    plan_->mounts.insert(plan_->mounts.begin() + static_cast<long>(pos), steps.begin(), steps.end());
    inserted_ += steps.size();
    ReadOnlyAtEnd(tmpfs.target, MS_RDONLY | MS_NOSUID | MS_NODEV | (flags & MS_NOEXEC));
    return Status::Ok();
  }

  HostTrees* trees_;
  launch::Plan* plan_;
  size_t inserted_ = 0;
  std::vector<std::pair<const char*, unsigned long>> final_read_only_;
};

}  // namespace

Status PlaceMountPoints(HostTrees* trees, launch::Plan* plan) {
  return Placer(trees, plan).Run();
}

}  // namespace warden::mnt
