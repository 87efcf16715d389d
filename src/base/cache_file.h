// Files of warden's on-disk caches (compiled seccomp programs, loaded
// policies): where they live, reading only files that nobody but their
// owner could have written or read, and atomic replacement.
//
// A cache file decides what a sandbox enforces, and a cached policy holds
// the policy's [env.set] secrets. So caches are private: directories 0700
// and files 0600, owned by the effective uid, reached without following a
// symlink. A directory or file that is not (another owner, a looser mode,
// a symlink) is never trusted: reads miss and writes refuse it. Files are
// written to an O_EXCL temp name and renamed, so readers see whole files.
#ifndef WARDEN_BASE_CACHE_FILE_H_
#define WARDEN_BASE_CACHE_FILE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "warden/status.h"

namespace warden::base {

// <cache_root>/<kind>; cache_root is HostConfig::cache_dir.
std::string CacheDir(const std::string& cache_root, std::string_view kind);

// The whole content of `path`, or nullopt when it is missing, untrusted
// (it or its directory) or outside [min_bytes, max_bytes]. `what` names the
// cache in the warnings logged for files that exist but are refused.
std::optional<std::string> ReadTrustedCacheFile(const std::string& path, size_t min_bytes,
                                                size_t max_bytes, std::string_view what);

// ReadTrustedCacheFile in two steps, for several files of one directory:
// the directory opened once (an invalid fd when it is missing or
// untrusted, with the same warnings), then each file read through it
// (nullopt for an invalid `dir_fd`; `dir` names it in warnings).
UniqueFd OpenTrustedCacheDir(const std::string& dir, std::string_view what);
std::optional<std::string> ReadTrustedCacheFileAt(int dir_fd, const std::string& dir,
                                                  const std::string& name, size_t min_bytes,
                                                  size_t max_bytes, std::string_view what);

// Stores `data` as <dir>/<name> (mode 0600), creating `dir` and its parent
// (the cache root) with mode 0700 if needed; no symlink in `dir` is followed. A directory of this user's
// that an older warden made 0755 is tightened to 0700; one owned by another
// user or writable by others is an error. When the directory then holds
// more than `max_entries` files, the ones least recently written are
// removed, so a cache never grows without bound.
Status WriteCacheFile(const std::string& dir, const std::string& name, std::string_view data,
                      size_t max_entries);

// Whether `s` is 64 lower-case hex digits (a SHA-256 key).
bool IsHexKey(std::string_view s);

}  // namespace warden::base

#endif  // WARDEN_BASE_CACHE_FILE_H_
