#include "base/cache_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "base/errno_text.h"
#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"

namespace warden::base {
namespace {

// Removes a temp file unless it was renamed into place.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

// A writer's temp file older than this was left by a writer that died.
constexpr int64_t kStaleTempNs = 60 * int64_t{1000000000};

// Removes the oldest entries of `dir` beyond `max_entries`, and temp files
// (".*.tmp") that writers killed mid-write left behind; temp files of
// writers in progress are younger than kStaleTempNs.
void Prune(const std::string& dir, size_t max_entries) {
  UniqueDir d(::opendir(dir.c_str()));
  if (!d) return;
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

}  // namespace

std::string CacheDir(std::string_view kind) {
  if (const char* env = std::getenv("WARDEN_CACHE_DIR"); env && *env) {
    return std::string(env) + "/" + std::string(kind);
  }
  return "/var/cache/warden/" + std::string(kind);
}

bool IsHexKey(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<std::string> ReadTrustedCacheFile(const std::string& path, size_t min_bytes,
                                                size_t max_bytes, std::string_view what) {
  UniqueFd fd(RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW); }));
  if (!fd) {
    if (errno != ENOENT) {
      WLOG_DEBUG("", std::string(what) + " cache: open(\"" + path + "\"): " + ErrnoText(errno));
    }
    return std::nullopt;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    WLOG_WARN("", std::string(what) + " cache: ignoring " + path +
                      ": not owned by this user or writable by others");
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

Status WriteCacheFile(const std::string& dir, const std::string& name, std::string_view data,
                      size_t max_entries) {
  WARDEN_RETURN_IF_ERROR(MakeDirs(dir, 0755));
  std::random_device rd;
  std::string tmp = dir + "/." + name + "." + std::to_string(::getpid()) + "." +
                    std::to_string(rd()) + ".tmp";
  UniqueFd fd(RetryEintr([&] {
    return ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  }));
  if (!fd) return Status::FromErrno(errno, "open(\"" + tmp + "\")");
  TempFileGuard guard(tmp);
  // umask may have cleared bits we want and cannot add write bits for
  // others; set the mode explicitly so readers' checks see 0644.
  if (::fchmod(fd.get(), 0644) != 0) return Status::FromErrno(errno, "fchmod(\"" + tmp + "\")");
  WARDEN_RETURN_IF_ERROR(WriteAll(fd.get(), data.data(), data.size(), tmp.c_str()));
  std::string path = dir + "/" + name;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::FromErrno(errno, "rename(\"" + tmp + "\" -> \"" + path + "\")");
  }
  guard.Release();
  Prune(dir, max_entries);
  return Status::Ok();
}

}  // namespace warden::base
