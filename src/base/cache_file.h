// Files of warden's on-disk caches (compiled seccomp programs, loaded
// policies): where they live, reading only files that nobody but their
// owner could have written, and atomic replacement.
//
// A cache file decides what a sandbox enforces, so one that another user
// could have written is never trusted: it must be a regular file owned by
// the effective uid and not writable by group or others. Files are written
// to a temp name and renamed, so readers see whole files only.
#ifndef WARDEN_BASE_CACHE_FILE_H_
#define WARDEN_BASE_CACHE_FILE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "warden/status.h"

namespace warden::base {

// $WARDEN_CACHE_DIR/<kind>, else /var/cache/warden/<kind>.
std::string CacheDir(std::string_view kind);

// The whole content of `path`, or nullopt when it is missing, untrusted or
// outside [min_bytes, max_bytes]. `what` names the cache in the warnings
// logged for files that exist but are refused.
std::optional<std::string> ReadTrustedCacheFile(const std::string& path, size_t min_bytes,
                                                size_t max_bytes, std::string_view what);

// Stores `data` as <dir>/<name> (mode 0644), creating `dir` if needed. When
// the directory then holds more than `max_entries` files, the ones least
// recently written are removed, so a cache never grows without bound.
Status WriteCacheFile(const std::string& dir, const std::string& name, std::string_view data,
                      size_t max_entries);

// Whether `s` is 64 lower-case hex digits (a SHA-256 key).
bool IsHexKey(std::string_view s);

}  // namespace warden::base

#endif  // WARDEN_BASE_CACHE_FILE_H_
