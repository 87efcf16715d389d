#include "base/cache_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <string_view>
#include <utility>
#include <vector>

#include "base/errno_text.h"
#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "base/safe_open.h"

namespace warden::base {
namespace {

// A writer's temp file older than this was left by a writer that died.
constexpr int64_t kStaleTempNs = 60 * int64_t{1000000000};

// Removes the oldest entries of the directory `dir_fd` beyond
// `max_entries`, and temp files (".*.tmp") that writers killed mid-write
// left behind; temp files of writers in progress are younger than
// kStaleTempNs.
void Prune(int dir_fd, size_t max_entries) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  UniqueDir d(::fdopendir(fd));
  if (!d) {
    ::close(fd);
    return;
  }
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  const int64_t now_ns = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
  std::vector<std::pair<int64_t, std::string>> entries;  // (mtime ns, name)
  while (struct dirent* e = ::readdir(d.get())) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(::dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode)) continue;
    const int64_t mtime_ns =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (name[0] == '.') {
      if (name.ends_with(".tmp") && now_ns - mtime_ns > kStaleTempNs) {
        ::unlinkat(::dirfd(d.get()), e->d_name, 0);
      }
      continue;
    }
    entries.emplace_back(mtime_ns, e->d_name);
  }
  if (entries.size() <= max_entries) return;
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i < entries.size() - max_entries; ++i) {
    ::unlinkat(::dirfd(d.get()), entries[i].second.c_str(), 0);
  }
}

// Ours alone: owned by the effective uid, no permission bits for group or
// others.
bool Private(const struct stat& st) { return st.st_uid == ::geteuid() && (st.st_mode & 077) == 0; }

// Opens a cache directory without following symlinks, creating it 0700
// when `create`. One that is not private is not trusted, except one of ours
// that nobody else could write (an older warden made caches 0755): only we
// could have written what it holds, so it is tightened to 0700.
Result<UniqueFd> OpenCacheDir(const std::string& dir, bool create) {
  WARDEN_ASSIGN_OR_RETURN(UniqueFd fd, OpenDirNoFollow(dir, create, 0700));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(\"" + dir + "\")");
  if (Private(st)) return fd;
  if (st.st_uid == ::geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0) {
    if (::fchmod(fd.get(), 0700) != 0) {
      return Status::FromErrno(errno, "fchmod(\"" + dir + "\", 0700)");
    }
    WLOG_INFO("", "cache directory " + dir + " made private (0700)");
    return fd;
  }
  return Status::Error(Code::kPermissionDenied,
                       "cache directory " + dir +
                           " is owned by another user or writable by others: not trusted "
                           "(remove it; warden makes a new one with mode 0700)");
}

}  // namespace

std::string CacheDir(const std::string& cache_root, std::string_view kind) {
  return cache_root + "/" + std::string(kind);
}

bool IsHexKey(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

UniqueFd OpenTrustedCacheDir(const std::string& dir, std::string_view what) {
  Result<UniqueFd> fd = OpenCacheDir(dir, false);
  if (!fd.ok()) {
    // A directory refused as untrusted (no errno: a symlink, another
    // owner, open to others) is worth a warning; one this user cannot
    // open (a non-root user and root's cache) is an ordinary miss.
    const std::string msg = std::string(what) + " cache: " + fd.status().ToString();
    if (fd.status().err() == 0) {
      WLOG_WARN("", msg);
    } else if (fd.status().err() != ENOENT) {
      WLOG_DEBUG("", msg);
    }
    return UniqueFd();
  }
  return std::move(fd.value());
}

std::optional<std::string> ReadTrustedCacheFileAt(int dir_fd, const std::string& dir,
                                                  const std::string& name, size_t min_bytes,
                                                  size_t max_bytes, std::string_view what) {
  if (dir_fd < 0) return std::nullopt;
  const std::string path = dir + "/" + name;
  // O_NONBLOCK: a FIFO in the cache must not block the open.
  UniqueFd fd(RetryEintr([&] {
    return ::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  }));
  if (!fd) {
    if (errno != ENOENT) {
      WLOG_DEBUG("", std::string(what) + " cache: open(\"" + path + "\"): " + ErrnoText(errno));
    }
    return std::nullopt;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (!Private(st)) {
    WLOG_WARN("", std::string(what) + " cache: ignoring " + path +
                      ": not owned by this user, or open to group or others");
    return std::nullopt;
  }
  if (st.st_size < static_cast<off_t>(min_bytes) || st.st_size > static_cast<off_t>(max_bytes)) {
    WLOG_WARN("", std::string(what) + " cache: ignoring " + path + ": bad size " +
                      std::to_string(st.st_size));
    return std::nullopt;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = RetryEintr([&] { return ::read(fd.get(), data.data() + done, data.size() - done); });
    if (n <= 0) return std::nullopt;
    done += static_cast<size_t>(n);
  }
  return data;
}

std::optional<std::string> ReadTrustedCacheFile(const std::string& path, size_t min_bytes,
                                                size_t max_bytes, std::string_view what) {
  const PathParts parts = SplitPath(path);
  UniqueFd dir = OpenTrustedCacheDir(parts.dir, what);
  return ReadTrustedCacheFileAt(dir.get(), parts.dir, parts.name, min_bytes, max_bytes, what);
}

Status WriteCacheFile(const std::string& dir, const std::string& name, std::string_view data,
                      size_t max_entries) {
  // The cache root is made 0700 too. It need not be private itself: the
  // directory below it is checked through the fd that is then used.
  const PathParts parts = SplitPath(dir);
  WARDEN_RETURN_IF_ERROR(OpenDirNoFollow(parts.dir, true, 0700).status());
  WARDEN_ASSIGN_OR_RETURN(UniqueFd dir_fd, OpenCacheDir(dir, true));
  // An O_EXCL|O_NOFOLLOW temp file with the exact mode, renamed over the
  // entry. No fsync: an entry torn by a crash fails its digest, a miss.
  WARDEN_RETURN_IF_ERROR(
      ReplaceFileAt(dir_fd.get(), name, data, 0600, dir + "/" + name, /*durable=*/false));
  Prune(dir_fd.get(), max_entries);
  return Status::Ok();
}

}  // namespace warden::base
