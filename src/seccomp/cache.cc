#include "seccomp/cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string_view>
#include <tuple>

#include "base/errno_text.h"
#include "base/fd.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"

namespace warden::seccomp {
namespace {

constexpr char kMagic[8] = {'W', 'D', 'N', 'B', 'P', 'F', '0', '1'};
constexpr size_t kHashHexBytes = 64;
constexpr size_t kDigestBytes = 32;
constexpr size_t kHeaderBytes = 8 + 4 + 4 + kHashHexBytes + kDigestBytes;
static_assert(sizeof(sock_filter) == 8, "cache layout assumes 8-byte BPF instructions");

static_assert(kDigestBytes == std::tuple_size_v<base::Sha256Digest>);

bool ValidHash(const std::string& hash) {
  if (hash.size() != kHashHexBytes) return false;
  for (char c : hash) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

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

}  // namespace

std::string DefaultCacheDir() {
  if (const char* env = std::getenv("WARDEN_CACHE_DIR"); env && *env) {
    return std::string(env) + "/seccomp";
  }
  return "/var/cache/warden/seccomp";
}

std::string CachePath(const std::string& dir, const std::string& hash) {
  return dir + "/" + hash + ".bpf";
}

std::optional<std::vector<sock_filter>> ReadCache(const std::string& dir, const std::string& hash) {
  if (!ValidHash(hash)) return std::nullopt;
  std::string path = CachePath(dir, hash);
  base::UniqueFd fd(base::RetryEintr(
      [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW); }));
  if (!fd) {
    if (errno != ENOENT) WLOG_DEBUG("", "seccomp cache: open(\"" + path + "\"): " + base::ErrnoText(errno));
    return std::nullopt;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    WLOG_WARN("", "seccomp cache: ignoring " + path + ": not owned by this user or writable by others");
    return std::nullopt;
  }
  constexpr size_t kMaxFile = kHeaderBytes + BPF_MAXINSNS * sizeof(sock_filter);
  if (st.st_size < static_cast<off_t>(kHeaderBytes + sizeof(sock_filter)) ||
      st.st_size > static_cast<off_t>(kMaxFile)) {
    WLOG_WARN("", "seccomp cache: ignoring " + path + ": bad size " + std::to_string(st.st_size));
    return std::nullopt;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = base::RetryEintr([&] { return ::read(fd.get(), data.data() + done, data.size() - done); });
    if (n <= 0) return std::nullopt;
    done += static_cast<size_t>(n);
  }
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
  if (!ValidHash(hash) || insns.empty() || insns.size() > BPF_MAXINSNS) {
    return Status::Error(Code::kInternal, "seccomp cache: bad entry");
  }
  WARDEN_RETURN_IF_ERROR(base::MakeDirs(dir, 0755));
  std::string data(kHeaderBytes, '\0');
  uint32_t count = static_cast<uint32_t>(insns.size());
  std::memcpy(data.data(), kMagic, 8);
  std::memcpy(data.data() + 8, &count, 4);
  std::memcpy(data.data() + 16, hash.data(), kHashHexBytes);
  size_t body_len = insns.size() * sizeof(sock_filter);
  std::string_view body(reinterpret_cast<const char*>(insns.data()), body_len);
  std::memcpy(data.data() + 16 + kHashHexBytes, base::Sha256(body).data(), kDigestBytes);
  data.append(body);

  std::random_device rd;
  std::string tmp = dir + "/." + hash + "." + std::to_string(::getpid()) + "." +
                    std::to_string(rd()) + ".tmp";
  base::UniqueFd fd(base::RetryEintr([&] {
    return ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  }));
  if (!fd) return Status::FromErrno(errno, "open(\"" + tmp + "\")");
  TempFileGuard guard(tmp);
  // umask may have cleared bits we want and cannot add write bits for
  // others; set the mode explicitly so readers' checks see 0644.
  if (::fchmod(fd.get(), 0644) != 0) return Status::FromErrno(errno, "fchmod(\"" + tmp + "\")");
  WARDEN_RETURN_IF_ERROR(base::WriteAll(fd.get(), data.data(), data.size(), tmp.c_str()));
  std::string path = CachePath(dir, hash);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::FromErrno(errno, "rename(\"" + tmp + "\" -> \"" + path + "\")");
  }
  guard.Release();
  return Status::Ok();
}

}  // namespace warden::seccomp
