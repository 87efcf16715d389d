#include "base/safe_open.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/file.h"

namespace warden::base {
namespace {

// What a non-regular file is, for messages.
const char* KindOf(mode_t mode) {
  if (S_ISLNK(mode)) return "a symlink";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISREG(mode)) return "a regular file";
  return "not a regular file";
}

// Kernel pseudo file systems: a file written there is a kernel setting.
bool IsPseudoFs(const struct statfs& fs) {
  switch (static_cast<unsigned long>(fs.f_type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case BPF_FS_MAGIC:
    case SELINUX_MAGIC:
    case SMACK_MAGIC:
    case EFIVARFS_MAGIC:
      return true;
    default:
      return false;
  }
}

// Explains why openat(O_NOFOLLOW|O_DIRECTORY) of `comp` failed with `err`.
Status DirComponentError(int parent, const std::string& comp, const std::string& upto, int err) {
  struct stat st;
  if ((err == ELOOP || err == ENOTDIR) &&
      ::fstatat(parent, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return Status::Error(Code::kInvalidArgument,
                           "\"" + upto + "\" is a symlink: warden does not follow symlinks "
                           "here (one planted by a job would redirect root's writes); give "
                           "the real path");
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::Error(Code::kInvalidArgument, "\"" + upto + "\" is " +
                                                       KindOf(st.st_mode) +
                                                       ", not a directory");
    }
  }
  return Status::FromErrno(err, "openat(\"" + upto + "\", O_DIRECTORY|O_NOFOLLOW)");
}

}  // namespace

std::string RandomSuffix() {
  unsigned char b[8] = {};
  ssize_t n = RetryEintr([&] { return ::getrandom(b, sizeof b, 0); });
  // getrandom never fails for 8 bytes once the pool is ready; a temp name
  // is created with O_EXCL anyway, so predictability costs a retry, not safety.
  if (n != static_cast<ssize_t>(sizeof b)) {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t v = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(::getpid()) << 32);
    for (unsigned char& c : b) {
      c = static_cast<unsigned char>(v);
      v >>= 8;
    }
  }
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

PathParts SplitPath(const std::string& path) {
  size_t slash = path.rfind('/');
  PathParts p;
  if (slash == std::string::npos) {
    p.dir = ".";
    p.name = path;
  } else {
    p.dir = slash == 0 ? "/" : path.substr(0, slash);
    p.name = path.substr(slash + 1);
  }
  if (p.name == "." || p.name == "..") p.name.clear();
  return p;
}

namespace {

// Walks `path` from the directory `fd` (owned), one component at a time,
// as OpenDirNoFollow describes; `upto` is how `fd` is named in errors.
Result<UniqueFd> WalkDirNoFollow(UniqueFd fd, std::string upto, const std::string& path,
                                 const std::string& shown, bool create, mode_t mode) {
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    const std::string comp = path.substr(pos, end - pos);
    pos = end + 1;
    if (comp.empty() || comp == ".") continue;
    upto += "/" + comp;
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int next = RetryEintr([&] { return ::openat(fd.get(), comp.c_str(), flags); });
    if (next < 0 && errno == ENOENT && create) {
      if (::mkdirat(fd.get(), comp.c_str(), mode) != 0 && errno != EEXIST) {
        return Status::FromErrno(errno, "mkdirat(\"" + upto + "\")");
      }
      next = RetryEintr([&] { return ::openat(fd.get(), comp.c_str(), flags); });
    }
    if (next < 0) return DirComponentError(fd.get(), comp, upto, errno);
    fd.reset(next);
  }
  struct statfs fs;
  if (::fstatfs(fd.get(), &fs) != 0) return Status::FromErrno(errno, "fstatfs(\"" + shown + "\")");
  if (IsPseudoFs(fs)) {
    return Status::Error(Code::kInvalidArgument,
                         "\"" + shown + "\" is on a kernel pseudo file system (proc, sysfs, "
                         "cgroup...): choose a directory on a real file system");
  }
  return fd;
}

}  // namespace

Result<UniqueFd> OpenDirNoFollow(const std::string& path, bool create, mode_t mode) {
  if (path.empty()) return Status::Error(Code::kInvalidArgument, "empty directory path");
  const bool absolute = path[0] == '/';
  UniqueFd fd(RetryEintr(
      [&] { return ::open(absolute ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
  if (!fd) return Status::FromErrno(errno, std::string("open(\"") + (absolute ? "/" : ".") + "\")");
  return WalkDirNoFollow(std::move(fd), absolute ? "" : ".", path, path, create, mode);
}

Result<UniqueFd> OpenDirNoFollowAt(int dir_fd, const std::string& dir_name,
                                   const std::string& path, bool create, mode_t mode) {
  if (path.empty() || path[0] == '/') {
    return Status::Error(Code::kInvalidArgument, "not a relative directory path: \"" + path + "\"");
  }
  UniqueFd fd(RetryEintr([&] { return ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0); }));
  if (!fd) return Status::FromErrno(errno, "fcntl(\"" + dir_name + "\", F_DUPFD_CLOEXEC)");
  return WalkDirNoFollow(std::move(fd), dir_name, path, dir_name + "/" + path, create, mode);
}

Status CheckReplaceableFile(int dir_fd, const std::string& name, const std::string& shown) {
  if (name.empty()) {
    return Status::Error(Code::kInvalidArgument,
                         "\"" + shown + "\" names a directory: give a file name");
  }
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::FromErrno(errno, "fstatat(\"" + shown + "\")");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::Error(Code::kInvalidArgument,
                         "\"" + shown + "\" is " + KindOf(st.st_mode) +
                             ": warden replaces only a regular file there; remove it or "
                             "choose another path");
  }
  return Status::Ok();
}

Status ReplaceFileAt(int dir_fd, const std::string& name, std::string_view data, mode_t mode,
                     const std::string& shown, bool durable) {
  if (name.empty()) {
    return Status::Error(Code::kInvalidArgument,
                         "\"" + shown + "\" names a directory: give a file name");
  }
  const std::string tmp = "." + name.substr(0, 200) + "." + RandomSuffix() + ".tmp";
  UniqueFd fd(RetryEintr([&] {
    return ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode);
  }));
  if (!fd) return Status::FromErrno(errno, "openat(\"" + shown + "\" temp, O_CREAT|O_EXCL)");
  Status st = Status::Ok();
  // The mode is exact, whatever the umask.
  if (::fchmod(fd.get(), mode) != 0) st = Status::FromErrno(errno, "fchmod(\"" + shown + "\" temp)");
  if (st.ok()) st = WriteAll(fd.get(), data.data(), data.size(), shown.c_str());
  if (st.ok() && durable && ::fsync(fd.get()) != 0) {
    st = Status::FromErrno(errno, "fsync(\"" + shown + "\" temp)");
  }
  if (st.ok() && ::close(fd.release()) != 0) st = Status::FromErrno(errno, "close(\"" + shown + "\" temp)");
  if (st.ok() && ::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
    st = Status::FromErrno(errno, "renameat(temp -> \"" + shown + "\")");
  }
  if (!st.ok()) {
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return st;
  }
  // The new name is durable once its directory is.
  if (durable && ::fsync(dir_fd) != 0) {
    return Status::FromErrno(errno, "fsync(directory of \"" + shown + "\")");
  }
  return Status::Ok();
}

Result<UniqueFd> OpenOutputFileAt(int dir_fd, const std::string& name, mode_t mode,
                                  const std::string& shown) {
  auto refuse = [&](const std::string& why) {
    return Status::Error(Code::kInvalidArgument,
                         "\"" + shown + "\" " + why +
                             ": warden writes output only to a regular file it can own; "
                             "remove it or choose another output directory");
  };
  if (name.empty()) {
    return Status::Error(Code::kInvalidArgument,
                         "\"" + shown + "\" names a directory: give a file name");
  }
  // Look first: what is planted there is refused with a reason, though the
  // rename below would replace it (a directory it cannot).
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISREG(st.st_mode)) return refuse(std::string("is ") + KindOf(st.st_mode));
    if (st.st_nlink != 1) return refuse("has " + std::to_string(st.st_nlink) + " links");
  } else if (errno != ENOENT) {
    return Status::FromErrno(errno, "fstatat(\"" + shown + "\")");
  }
  // Never an existing file, even a regular one: whoever could write the
  // directory could have planted it, world-readable or kept open, to read
  // this run's output. A new file of warden's own, under a temp name made
  // with O_EXCL, is renamed over the name (renameat replaces a symlink or
  // anything else swapped in meanwhile, never follows it).
  const std::string tmp = "." + name.substr(0, 200) + "." + RandomSuffix() + ".tmp";
  UniqueFd fd(RetryEintr([&] {
    return ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode);
  }));
  if (!fd) return Status::FromErrno(errno, "openat(\"" + shown + "\" temp, O_CREAT|O_EXCL)");
  // The mode is exact, whatever the umask.
  if (::fchmod(fd.get(), mode) != 0) {
    const int err = errno;
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return Status::FromErrno(err, "fchmod(\"" + shown + "\" temp)");
  }
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) return refuse("is a directory");
    return Status::FromErrno(err, "renameat(temp -> \"" + shown + "\")");
  }
  return fd;
}

}  // namespace warden::base
