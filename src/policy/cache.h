// The policy cache: effective policies as the loader built them, so that a
// `warden run` does not parse TOML, walk the `extends` chain and expand
// syscall groups every time (about 1 ms of a 13 ms start on a small VM).
//
// An entry is <dir>/<key>.pol. The key is the SHA-256 of everything the
// loader's result depends on apart from the policies it extends: the cache
// format, warden's version, the file's path and name, the directory that
// `extends` names resolve in, and the file's content. The extended files
// are recorded in the entry with the SHA-256 of their content and read
// again on every hit, so editing any file of the chain is a miss. Only
// policies that load without error are cached.
//
// File layout: 8 bytes magic "WDNPOL01", 32 bytes SHA-256 of the rest, then
// the entry (EncodeEntry). Files that fail a check are misses and are
// overwritten; files someone else could have written are never read
// (base/cache_file.h).
//
// The entry encoding is warden's own, not protobuf: the cache exists to
// shorten start-up, and linking protobuf's runtime into the CLI for it cost
// more at every start (440 KB more code to map, 22 static constructors)
// than the cache saved.
#ifndef WARDEN_POLICY_CACHE_H_
#define WARDEN_POLICY_CACHE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "warden/policy.h"

namespace warden::policy {

// A file the loader read besides the one it was given.
struct Dependency {
  std::string path;
  base::Sha256Digest sha256;
};

struct CacheEntry {
  std::string key;  // the entry's own key, checked against its file name
  std::vector<Dependency> deps;
  Policy policy;
};

// The entry body: fields in a fixed order, unsigned integers as LEB128,
// strings and lists length-prefixed, doubles as their 8 bytes. The key's
// format tag changes whenever the layout does.
std::string EncodeEntry(const CacheEntry& entry);
// False for bytes EncodeEntry did not produce (truncated, trailing bytes,
// out-of-range values).
bool DecodeEntry(std::string_view body, CacheEntry* out);

// $WARDEN_CACHE_DIR/policy, else /var/cache/warden/policy.
std::string PolicyCacheDir();

std::string PolicyCacheKey(const std::string& path, const std::string& name,
                           const std::string& policy_dir, std::string_view text);

// The cached policy for `key`, or nullopt on a miss, a bad entry, or a
// dependency whose content changed.
std::optional<Policy> ReadCachedPolicy(const std::string& dir, const std::string& key);

Status WriteCachedPolicy(const std::string& dir, const std::string& key, const Policy& policy,
                         const std::vector<Dependency>& deps);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_CACHE_H_
