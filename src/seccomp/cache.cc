#include "seccomp/cache.h"

#include <cstring>
#include <string_view>
#include <tuple>

#include "base/cache_file.h"
#include "base/hash.h"
#include "base/log.h"

namespace warden::seccomp {
namespace {

constexpr char kMagic[8] = {'W', 'D', 'N', 'B', 'P', 'F', '0', '1'};
constexpr size_t kHashHexBytes = 64;
constexpr size_t kDigestBytes = 32;
constexpr size_t kHeaderBytes = 8 + 4 + 4 + kHashHexBytes + kDigestBytes;
// Programs of other policies and older versions of a policy accumulate;
// this many are kept.
constexpr size_t kMaxEntries = 256;
static_assert(sizeof(sock_filter) == 8, "cache layout assumes 8-byte BPF instructions");

static_assert(kDigestBytes == std::tuple_size_v<base::Sha256Digest>);

}  // namespace

std::string CacheDirFor(const base::HostConfig& config) {
  return base::CacheDir(config.cache_dir, "seccomp");
}

std::string CachePath(const std::string& dir, const std::string& hash) {
  return dir + "/" + hash + ".bpf";
}

std::optional<std::vector<sock_filter>> ReadCache(const std::string& dir, const std::string& hash) {
  if (!base::IsHexKey(hash)) return std::nullopt;
  const std::string path = CachePath(dir, hash);
  std::optional<std::string> file = base::ReadTrustedCacheFile(
      path, kHeaderBytes + sizeof(sock_filter), kHeaderBytes + BPF_MAXINSNS * sizeof(sock_filter),
      "seccomp");
  if (!file) return std::nullopt;
  const std::string& data = *file;
  uint32_t count = 0;
  std::memcpy(&count, data.data() + 8, 4);
  const char* body = data.data() + kHeaderBytes;
  size_t body_len = data.size() - kHeaderBytes;
  bool ok = std::memcmp(data.data(), kMagic, 8) == 0 && count >= 1 && count <= BPF_MAXINSNS &&
            body_len == count * sizeof(sock_filter) &&
            std::memcmp(data.data() + 16, hash.data(), kHashHexBytes) == 0 &&
            std::memcmp(data.data() + 16 + kHashHexBytes,
                        base::Sha256(std::string_view(body, body_len)).data(), kDigestBytes) == 0;
  if (!ok) {
    WLOG_WARN("", "seccomp cache: ignoring corrupt " + path + "; rebuilding it");
    return std::nullopt;
  }
  std::vector<sock_filter> insns(count);
  std::memcpy(insns.data(), body, body_len);
  return insns;
}

Status WriteCache(const std::string& dir, const std::string& hash,
                  const std::vector<sock_filter>& insns) {
  if (!base::IsHexKey(hash) || insns.empty() || insns.size() > BPF_MAXINSNS) {
    return Status::Error(Code::kInternal, "seccomp cache: bad entry");
  }
  std::string data(kHeaderBytes, '\0');
  uint32_t count = static_cast<uint32_t>(insns.size());
  std::memcpy(data.data(), kMagic, 8);
  std::memcpy(data.data() + 8, &count, 4);
  std::memcpy(data.data() + 16, hash.data(), kHashHexBytes);
  size_t body_len = insns.size() * sizeof(sock_filter);
  std::string_view body(reinterpret_cast<const char*>(insns.data()), body_len);
  std::memcpy(data.data() + 16 + kHashHexBytes, base::Sha256(body).data(), kDigestBytes);
  data.append(body);
  return base::WriteCacheFile(dir, hash + ".bpf", data, kMaxEntries);
}

}  // namespace warden::seccomp
