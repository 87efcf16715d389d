// The policy cache: effective policies as the loader built them, so that a
// `warden run` does not parse TOML, walk the `extends` chain and expand
// syscall groups every time (about 1 ms of a 13 ms start on a small VM).
//
// An entry is <dir>/<key>.pol. The key is the SHA-256 of everything the
// loader's result depends on apart from the policies it extends: the cache
// format, warden's version, the file's path and name, the directory that
// `extends` names resolve in, and the SHA-256 of the file's content. The extended files
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

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/hash.h"
#include "base/host_config.h"
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

// <config.cache_dir>/policy.
std::string PolicyCacheDir(const base::HostConfig& config);

// The key holds the SHA-256 of the text, not the text, so that a text
// already hashed (a dependency of another entry) is not hashed again.
std::string PolicyCacheKey(const std::string& path, const std::string& name,
                           const std::string& policy_dir, std::string_view text);
std::string PolicyCacheKey(const std::string& path, const std::string& name,
                           const std::string& policy_dir, const base::Sha256Digest& text_sha256);

// Reads the entries of one cache directory for loads made together
// (choosing a policy by program name loads every shipped policy): the
// directory is opened once, and each dependency file is read and hashed
// once, so the entries read are checked against one snapshot of each file.
// Every check of ReadCachedPolicy is kept. Not for long-lived use: a
// dependency edited after its first read is not seen by this reader.
class CacheReader {
 public:
  explicit CacheReader(std::string dir);

  // The cached policy for `key`, or nullopt on a miss, a bad entry, or a
  // dependency whose content changed.
  std::optional<Policy> Read(const std::string& key);

  // SHA-256 of `text`, the content of `path`: remembered from an earlier
  // read of the same bytes, else computed (and remembered).
  base::Sha256Digest Digest(const std::string& path, std::string_view text);

  const std::string& dir() const { return dir_; }

 private:
  struct Snapshot {
    std::string text;
    base::Sha256Digest sha256;
  };
  // The content of `path` as first read by this reader; nullopt when it
  // could not be read.
  const std::optional<Snapshot>& File(const std::string& path);

  std::string dir_;
  bool dir_opened_ = false;
  base::UniqueFd dir_fd_;
  std::map<std::string, std::optional<Snapshot>> files_;
};

// CacheReader(dir).Read(key).
std::optional<Policy> ReadCachedPolicy(const std::string& dir, const std::string& key);

Status WriteCachedPolicy(const std::string& dir, const std::string& key, const Policy& policy,
                         const std::vector<Dependency>& deps);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_CACHE_H_
