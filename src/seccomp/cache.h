// On-disk cache of compiled seccomp programs: <dir>/<spec hash>.bpf.
//
// File layout (little endian, native x86_64):
//   8  bytes  magic "WDNBPF01"
//   4  bytes  instruction count (1..BPF_MAXINSNS)
//   4  bytes  zero
//   64 bytes  spec hash, lower-case hex (must equal the file name's)
//   32 bytes  SHA-256 of the instruction bytes
//   count * 8 bytes of struct sock_filter
// Files are written to a temp name and renamed, so readers see whole files
// only; a file that fails any check is treated as a miss and overwritten.
#ifndef WARDEN_SECCOMP_CACHE_H_
#define WARDEN_SECCOMP_CACHE_H_

#include <linux/filter.h>

#include <optional>
#include <string>
#include <vector>

#include "base/host_config.h"
#include "warden/status.h"

namespace warden::seccomp {

// <config.cache_dir>/seccomp.
std::string CacheDirFor(const base::HostConfig& config);

// The cached program for `hash`, or nullopt on a miss or a bad file. Files
// not owned by the effective uid, or writable by group or others, are not
// trusted (a filter someone else could have written is no filter).
std::optional<std::vector<sock_filter>> ReadCache(const std::string& dir, const std::string& hash);

// Creates `dir` if needed and stores the program atomically.
Status WriteCache(const std::string& dir, const std::string& hash,
                  const std::vector<sock_filter>& insns);

// Path of the cache file for `hash` in `dir`.
std::string CachePath(const std::string& dir, const std::string& hash);

}  // namespace warden::seccomp

#endif  // WARDEN_SECCOMP_CACHE_H_
