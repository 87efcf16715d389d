#include "mnt/idmap.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/file.h"

namespace warden::mnt {
namespace {

// The child that holds the user namespace open while warden writes its maps
// and opens it. Killed and reaped when this goes out of scope, so no path
// out of MakeIdmapUserns leaves it behind.
class NsHolder {
 public:
  explicit NsHolder(pid_t pid) : pid_(pid) {}
  NsHolder(const NsHolder&) = delete;
  NsHolder& operator=(const NsHolder&) = delete;
  ~NsHolder() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

}  // namespace

std::string FsTypeName(long f_type) {
  switch (static_cast<unsigned long>(f_type)) {
    case EXT4_SUPER_MAGIC: return "ext4";  // ext2 and ext3 share the number
    case XFS_SUPER_MAGIC: return "xfs";
    case BTRFS_SUPER_MAGIC: return "btrfs";
    case TMPFS_MAGIC: return "tmpfs";
    case PROC_SUPER_MAGIC: return "proc";
    case SYSFS_MAGIC: return "sysfs";
    case FUSE_SUPER_MAGIC: return "fuse";
    case OVERLAYFS_SUPER_MAGIC: return "overlay";
    case NFS_SUPER_MAGIC: return "nfs";
    case CGROUP2_SUPER_MAGIC: return "cgroup2";
    case CGROUP_SUPER_MAGIC: return "cgroup";
    case DEBUGFS_MAGIC: return "debugfs";
    case SQUASHFS_MAGIC: return "squashfs";
    default: break;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(f_type));
  return buf;
}

Result<base::UniqueFd> MakeIdmapUserns(uid_t from_uid, gid_t from_gid, uid_t to_uid,
                                       gid_t to_gid) {
  // The child only waits to be killed: it blocks on a pipe whose write end
  // warden holds, and exits at once should warden die first.
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe2(idmap userns gate)");
  base::UniqueFd gate_read(gate[0]);
  base::UniqueFd gate_write(gate[1]);
  long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) return Status::FromErrno(errno, "clone(CLONE_NEWUSER) for an idmapped bind");
  if (pid == 0) {
    ::close(gate[1]);
    char c;
    while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  NsHolder holder(static_cast<pid_t>(pid));
  gate_read.reset();
  const std::string proc = "/proc/" + std::to_string(pid);
  WARDEN_RETURN_IF_ERROR(base::WriteFileString(
      proc + "/uid_map", std::to_string(from_uid) + " " + std::to_string(to_uid) + " 1\n"));
  WARDEN_RETURN_IF_ERROR(base::WriteFileString(
      proc + "/gid_map", std::to_string(from_gid) + " " + std::to_string(to_gid) + " 1\n"));
  base::UniqueFd ns(::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return Status::FromErrno(errno, "open(\"" + proc + "/ns/user\")");
  return ns;
}

Status IdmapMountTree(int tree, int userns_fd, int source_fd, const std::string& source) {
  struct mount_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<__u64>(userns_fd);
  long r = ::syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
  if (r == 0) return Status::Ok();
  const int err = errno;
  if (err != EINVAL && err != EPERM && err != ENOSYS && err != EOPNOTSUPP) {
    return Status::FromErrno(err, "mount_setattr(owned bind \"" + source + "\", MOUNT_ATTR_IDMAP)");
  }
  struct statfs fs;
  std::string type = ::fstatfs(source_fd, &fs) == 0 ? FsTypeName(fs.f_type) : "unknown";
  const char* name = err == EINVAL ? "EINVAL" : err == EPERM ? "EPERM" : err == ENOSYS ? "ENOSYS" : "EOPNOTSUPP";
  return Status::Error(
      Code::kUnavailable,
      "owned bind \"" + source + "\": this kernel cannot idmap a mount of its " + type +
          " filesystem (mount_setattr(MOUNT_ATTR_IDMAP): " + name +
          "); put the directory on ext4, xfs, btrfs or tmpfs (Linux 6.3 or later for tmpfs), "
          "or use a plain --bind and make it writable for the job's uid");
}

}  // namespace warden::mnt
