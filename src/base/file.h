// Small file helpers with bounded reads and errno-carrying errors.
#ifndef WARDEN_BASE_FILE_H_
#define WARDEN_BASE_FILE_H_

#include <dirent.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <string>

#include "base/c_ptr.h"
#include "warden/status.h"

namespace warden::base {

// Retries a syscall wrapper while it fails with EINTR.
template <typename F>
auto RetryEintr(F f) -> decltype(f()) {
  decltype(f()) r;
  do {
    r = f();
  } while (r == -1 && errno == EINTR);
  return r;
}

// Reads a whole file of at most max_bytes; a longer file is an error.
Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 16 << 20);

// Writes all of `data` to an open fd, retrying short writes and EINTR.
Status WriteAll(int fd, const void* data, size_t len, const char* what);

// Writes `data` to an existing file (for /proc and cgroup control files).
Status WriteFileString(const std::string& path, const std::string& data);

// An open directory stream, closed when it goes out of scope.
using UniqueDir = CPtr<DIR, ::closedir>;

// mkdir that accepts an existing directory (EEXIST).
Status MkdirIfMissing(const std::string& path, mode_t mode);
// mkdir -p: every missing component of `path`, each with `mode`.
Status MakeDirs(const std::string& path, mode_t mode);

}  // namespace warden::base

#endif  // WARDEN_BASE_FILE_H_
