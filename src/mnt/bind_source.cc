#include "mnt/bind_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

namespace warden::mnt {
namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's path walk

Status Refused(const std::string& path, const std::string& why) {
  return Status::Error(Code::kPermissionDenied, "bind source \"" + path + "\": " + why);
}

base::UniqueFd Open2(int dirfd, const char* path, int flags, unsigned long long resolve) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = static_cast<unsigned long long>(flags);
  how.resolve = resolve;
  long fd;
  do {
    fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  } while (fd < 0 && errno == EINTR);
  return base::UniqueFd(static_cast<int>(fd));
}

// Pushes the components of `text` onto `stack` so the first is on top.
void PushComponents(std::string_view text, std::vector<std::string>* stack) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('/', i);
    if (j == std::string_view::npos) j = text.size();
    if (j > i) parts.emplace_back(text.substr(i, j - i));
    i = j + 1;
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) stack->push_back(std::move(*it));
}

// The slow walk, one component at a time, for paths that hold symlinks.
Result<base::UniqueFd> WalkTrusted(const std::string& path) {
  base::UniqueFd cur(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!cur) return Status::FromErrno(errno, "open(\"/\")");
  std::vector<std::string> stack;
  PushComponents(path, &stack);
  int links = 0;
  while (!stack.empty()) {
    std::string comp = std::move(stack.back());
    stack.pop_back();
    if (comp == ".") continue;
    base::UniqueFd next = Open2(cur.get(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC,
                                RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (!next) return Status::FromErrno(errno, "bind source \"" + path + "\": openat2(\"" + comp + "\")");
    struct stat st;
    if (::fstat(next.get(), &st) != 0) return Status::FromErrno(errno, "fstat(bind source \"" + path + "\")");
    if (!S_ISLNK(st.st_mode)) {
      cur = std::move(next);
      continue;
    }
    struct stat dir;
    if (::fstat(cur.get(), &dir) != 0) return Status::FromErrno(errno, "fstat(bind source \"" + path + "\")");
    if (st.st_uid != 0 || dir.st_uid != 0 || (dir.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      return Refused(path, "\"" + comp +
                               "\" is a symlink where others than root can make or move one; "
                               "name the real path (warden follows only root's symlinks in "
                               "directories only root can write)");
    }
    if (++links > kMaxSymlinks) return Status::FromErrno(ELOOP, "bind source \"" + path + "\"");
    char target[PATH_MAX];
    ssize_t n = ::readlinkat(next.get(), "", target, sizeof target);
    if (n < 0) return Status::FromErrno(errno, "readlinkat(bind source \"" + path + "\", \"" + comp + "\")");
    if (static_cast<size_t>(n) >= sizeof target) return Status::FromErrno(ENAMETOOLONG, "bind source \"" + path + "\"");
    std::string_view text(target, static_cast<size_t>(n));
    if (!text.empty() && text[0] == '/') {
      cur.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!cur) return Status::FromErrno(errno, "open(\"/\")");
    }
    PushComponents(text, &stack);
  }
  return cur;
}

}  // namespace

Result<base::UniqueFd> OpenBindSource(const std::string& path) {
  if (path.empty() || path[0] != '/') return Refused(path, "not an absolute path");
  // The common case in one call: no symlink anywhere on the path.
  base::UniqueFd fd = Open2(AT_FDCWD, path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC,
                            RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (!fd) {
    if (errno != ELOOP) return Status::FromErrno(errno, "openat2(bind source \"" + path + "\")");
    return WalkTrusted(path);
  }
  // With O_PATH|O_NOFOLLOW a symlink in the last place opens as itself.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(bind source \"" + path + "\")");
  if (S_ISLNK(st.st_mode)) return WalkTrusted(path);
  return fd;
}

Status CheckBindSource(int fd, const struct stat& st, const std::string& path) {
  (void)fd;
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    return Refused(path, "not a directory or a regular file");
  }
  struct stat root;
  if (::stat("/", &root) != 0) return Status::FromErrno(errno, "stat(\"/\")");
  if (st.st_dev == root.st_dev && st.st_ino == root.st_ino) {
    return Refused(path, "is the host's root directory; bind what the job needs, not \"/\"");
  }
  return Status::Ok();
}

Status RefuseSockets(int fd, const std::string& path) {
  struct Frame {
    base::UniqueFd dir;
    std::string shown;
  };
  std::vector<Frame> todo;
  base::UniqueFd top(::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!top) return Status::FromErrno(errno, "open(bind source \"" + path + "\")");
  todo.push_back({std::move(top), path});
  size_t entries = 0;
  alignas(struct dirent64) char buf[8192];
  while (!todo.empty()) {
    Frame f = std::move(todo.back());
    todo.pop_back();
    const int depth = static_cast<int>(std::count(f.shown.begin() + static_cast<long>(path.size()),
                                                  f.shown.end(), '/'));
    for (;;) {
      long n = ::syscall(SYS_getdents64, f.dir.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "getdents64(\"" + f.shown + "\")");
      if (n == 0) break;
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<struct dirent64*>(buf + off);
        off += d->d_reclen;
        if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
        if (++entries > kMaxSocketScanEntries) {
          return Refused(path, "holds more than " + std::to_string(kMaxSocketScanEntries) +
                                   " entries, too many to check for unix sockets a job could "
                                   "connect to; bind a narrower directory");
        }
        unsigned char type = d->d_type;
        if (type == DT_UNKNOWN) {
          struct stat st;
          if (::fstatat(f.dir.get(), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
          type = S_ISSOCK(st.st_mode) ? DT_SOCK : S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
        }
        std::string shown = f.shown + "/" + d->d_name;
        if (type == DT_SOCK) {
          return Refused(path, "holds the unix socket \"" + shown +
                                   "\", which the job could connect to; bind a directory "
                                   "without sockets");
        }
        if (type != DT_DIR) continue;
        if (depth + 1 >= kMaxSocketScanDepth) {
          return Refused(path, "is deeper than " + std::to_string(kMaxSocketScanDepth) +
                                   " levels, too deep to check for unix sockets; bind a "
                                   "narrower directory");
        }
        base::UniqueFd sub(::openat(f.dir.get(), d->d_name,
                                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) {
          // A directory root cannot read is one the job cannot enter.
          if (errno == EACCES || errno == ENOENT) continue;
          return Status::FromErrno(errno, "open(\"" + shown + "\")");
        }
        todo.push_back({std::move(sub), std::move(shown)});
      }
    }
  }
  return Status::Ok();
}

Result<std::string> FdPathName(int fd) {
  char link[32];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char buf[PATH_MAX];
  ssize_t n = ::readlink(link, buf, sizeof buf);
  if (n < 0) return Status::FromErrno(errno, std::string("readlink(\"") + link + "\")");
  if (static_cast<size_t>(n) >= sizeof buf) return Status::FromErrno(ENAMETOOLONG, link);
  return std::string(buf, static_cast<size_t>(n));
}

Result<base::UniqueFd> CloneMountTree(int fd, bool recursive, const std::string& path) {
  unsigned flags = AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  long tree = ::syscall(SYS_open_tree, fd, "", flags);
  if (tree >= 0) return base::UniqueFd(static_cast<int>(tree));
  if (errno == ENOSYS) {
    return Status::Error(Code::kUnavailable,
                         "open_tree(bind source \"" + path +
                             "\"): ENOSYS: this kernel (before Linux 5.2) cannot bind a source "
                             "through the fd warden checked; run on a newer kernel");
  }
  return Status::FromErrno(errno, "open_tree(bind source \"" + path + "\", OPEN_TREE_CLONE)");
}

}  // namespace warden::mnt
