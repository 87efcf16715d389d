#include "policy/cache.h"

#include <cmath>
#include <concepts>
#include <cstring>
#include <map>
#include <tuple>
#include <type_traits>
#include <vector>

#include "base/cache_file.h"
#include "base/file.h"
#include "base/log.h"

namespace warden::policy {
namespace {

constexpr char kMagic[8] = {'W', 'D', 'N', 'P', 'O', 'L', '0', '1'};
constexpr size_t kDigestBytes = 32;
constexpr size_t kHeaderBytes = sizeof kMagic + kDigestBytes;
constexpr size_t kMaxEntryBytes = 4 * kMaxPolicyBytes;
// Every edit of a policy makes a new entry; this many are kept.
constexpr size_t kMaxEntries = 256;
// Part of every key: changes whenever the entry layout or its meaning
// changes in a way warden's version does not capture.
constexpr char kKeyTag[] = "warden policy cache 5";

static_assert(kDigestBytes == std::tuple_size_v<base::Sha256Digest>);

// A field added to Policy must be added to its Fields() below and this size
// updated; the round-trip test checks every field.
static_assert(sizeof(Policy) == 1024, "struct Policy changed: update policy/cache.cc and this size");

// The last value of each enum the entry holds (the reader refuses larger).
template <typename E>
constexpr E kLast = E{};
template <>
constexpr MountSpec::Kind kLast<MountSpec::Kind> = MountSpec::Kind::kTmpfs;
template <>
constexpr SeccompAction kLast<SeccompAction> = SeccompAction::kLog;
template <>
constexpr ArgCondition::Op kLast<ArgCondition::Op> = ArgCondition::Op::kMaskedEq;
template <>
constexpr NetworkSpec::Mode kLast<NetworkSpec::Mode> = NetworkSpec::Mode::kVeth;

template <typename T, typename Want>
concept Is = std::same_as<std::remove_const_t<T>, Want>;

// Each struct's fields in entry order, written once for both directions:
// `f` is a Writer (objects are const) or a Reader (objects are filled).
template <typename F, Is<MountSpec> T>
void Fields(F& f, T& m) {
  f(m.kind), f(m.source), f(m.destination), f(m.writable), f(m.optional), f(m.size_bytes);
  f(m.owned);
}
template <typename F, Is<ArgCondition> T>
void Fields(F& f, T& a) {
  f(a.index), f(a.op), f(a.value), f(a.mask);
}
template <typename F, Is<SyscallRule> T>
void Fields(F& f, T& r) {
  f(r.syscall), f(r.action), f(r.errno_value), f(r.args);
}
template <typename F, Is<IdRange> T>
void Fields(F& f, T& r) {
  f(r.first), f(r.last);
}
template <typename F, Is<RlimitSpec> T>
void Fields(F& f, T& r) {
  f(r.nofile), f(r.nproc), f(r.fsize_bytes), f(r.stack_bytes), f(r.core_bytes);
}
template <typename F, Is<CgroupSpec> T>
void Fields(F& f, T& c) {
  f(c.memory_max_bytes), f(c.memory_swap_max_bytes), f(c.pids_max), f(c.cpu);
  f(c.cpuset_cpus), f(c.cpuset_mems), f(c.io_max);
}
template <typename F, Is<SeccompSpec> T>
void Fields(F& f, T& s) {
  f(s.deny), f(s.allow), f(s.rules), f(s.deny_action), f(s.deny_errno), f(s.unknown_errno);
}
template <typename F, Is<NetworkSpec> T>
void Fields(F& f, T& n) {
  f(n.mode), f(n.allow), f(n.dns), f(n.hosts);
}
template <typename F, Is<Policy> T>
void Fields(F& f, T& p) {
  f(p.name), f(p.source_path), f(p.hash), f(p.match_suffixes), f(p.match_interpreters);
  f(p.interpreter), f(p.user_namespace), f(p.rootfs), f(p.view), f(p.mask), f(p.mounts);
  f(p.tmp_size_bytes), f(p.shm_size_bytes), f(p.hostname), f(p.cwd), f(p.uid), f(p.gid);
  f(p.allow_uids), f(p.allow_gids);
  f(p.env), f(p.env_pass), f(p.path), f(p.wall_time_ms), f(p.cpu_time_ms), f(p.kill_grace_ms);
  f(p.output_max_bytes), f(p.rlimits), f(p.cgroup), f(p.seccomp), f(p.network);
}
template <typename F, Is<Dependency> T>
void Fields(F& f, T& d) {
  f(d.path), f(d.sha256);
}
template <typename F, Is<CacheEntry> T>
void Fields(F& f, T& e) {
  f(e.key), f(e.deps), f(e.policy);
}

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};
template <typename T>
struct IsLimit : std::false_type {};
template <typename T>
struct IsLimit<CgroupLimit<T>> : std::true_type {};

// Unsigned integers as LEB128, signed ones (errno values) as their 32-bit
// pattern, booleans as one byte, doubles as their 8 bytes, strings, lists
// and maps length-prefixed, cgroup limits as (set, [value], optional).
class Writer {
 public:
  template <typename T>
  void operator()(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      out_.push_back(v ? 1 : 0);
    } else if constexpr (std::is_enum_v<T>) {
      U(static_cast<uint64_t>(v));
    } else if constexpr (std::is_same_v<T, double>) {
      char b[sizeof v];
      std::memcpy(b, &v, sizeof v);
      out_.append(b, sizeof b);
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      static_assert(sizeof(T) <= sizeof(uint32_t));
      U(static_cast<uint32_t>(v));
    } else if constexpr (std::is_integral_v<T>) {
      U(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      S(v);
    } else if constexpr (std::is_same_v<T, base::Sha256Digest>) {
      S(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()));
    } else if constexpr (IsVector<T>::value) {
      U(v.size());
      for (const auto& e : v) (*this)(e);
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      U(v.size());
      for (const auto& [k, x] : v) S(k), S(x);
    } else if constexpr (IsLimit<T>::value) {
      (*this)(v.value.has_value());
      if (v.value) (*this)(*v.value);
      (*this)(v.optional);
    } else {
      Fields(*this, v);
    }
  }
  std::string Take() { return std::move(out_); }

 private:
  void U(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void S(std::string_view s) {
    U(s.size());
    out_.append(s);
  }
  std::string out_;
};

// Reads what Writer wrote, and only that: every value has one encoding, so
// decoding and encoding again gives the same bytes. The first malformed
// field makes ok() false and every later read a zero value.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool done() const { return ok_ && in_.empty(); }

  template <typename T>
  void operator()(T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      if (in_.empty() || static_cast<uint8_t>(in_[0]) > 1) return Fail();
      v = in_[0] == 1;
      in_.remove_prefix(1);
    } else if constexpr (std::is_enum_v<T>) {
      uint64_t n = U();
      if (n > static_cast<uint64_t>(kLast<T>)) return Fail();
      v = static_cast<T>(n);
    } else if constexpr (std::is_same_v<T, double>) {
      if (in_.size() < sizeof v) return Fail();
      std::memcpy(&v, in_.data(), sizeof v);
      in_.remove_prefix(sizeof v);
      if (!std::isfinite(v)) Fail();
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      uint32_t u = U32();
      std::memcpy(&v, &u, sizeof v);
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      v = U();
    } else if constexpr (std::is_integral_v<T>) {
      static_assert(sizeof(T) == sizeof(uint32_t));
      v = U32();
    } else if constexpr (std::is_same_v<T, std::string>) {
      v = S();
    } else if constexpr (std::is_same_v<T, base::Sha256Digest>) {
      std::string d = S();
      if (d.size() != v.size()) return Fail();
      std::memcpy(v.data(), d.data(), d.size());
    } else if constexpr (IsVector<T>::value) {
      v.resize(Count());
      for (auto& e : v) (*this)(e);
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      for (uint64_t n = Count(); ok_ && n > 0; --n) {
        std::string k = S();
        // Keys in increasing order, as Writer writes a std::map.
        if (!v.empty() && !(v.rbegin()->first < k)) return Fail();
        v.emplace_hint(v.end(), std::move(k), S());
      }
    } else if constexpr (IsLimit<T>::value) {
      bool set = false;
      (*this)(set);
      if (set) (*this)(v.value.emplace());
      (*this)(v.optional);
    } else {
      Fields(*this, v);
    }
  }

 private:
  uint64_t U() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return Fail(), 0;
      const uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      if (shift == 63 && b > 1) return Fail(), 0;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        // One form per value: a last byte of zero means a longer encoding
        // than Writer makes.
        if (b == 0 && shift > 0) return Fail(), 0;
        return v;
      }
    }
    return Fail(), 0;
  }
  uint32_t U32() {
    uint64_t v = U();
    if (v > UINT32_MAX) return Fail(), 0;
    return static_cast<uint32_t>(v);
  }
  std::string S() {
    uint64_t n = U();
    if (n > in_.size()) return Fail(), std::string();
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  // A count of items that take at least one byte each.
  uint64_t Count() {
    uint64_t n = U();
    if (n > in_.size()) return Fail(), 0;
    return n;
  }
  void Fail() {
    ok_ = false;
    in_ = {};
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

std::string EncodeEntry(const CacheEntry& entry) {
  Writer w;
  w(entry);
  return w.Take();
}

bool DecodeEntry(std::string_view body, CacheEntry* out) {
  Reader r(body);
  CacheEntry e;
  r(e);
  if (!r.done()) return false;
  *out = std::move(e);
  return true;
}

std::string PolicyCacheDir(const base::HostConfig& config) {
  return base::CacheDir(config.cache_dir, "policy");
}

std::string PolicyCacheKey(const std::string& path, const std::string& name,
                           const std::string& policy_dir, std::string_view text) {
  return PolicyCacheKey(path, name, policy_dir, base::Sha256(text));
}

std::string PolicyCacheKey(const std::string& path, const std::string& name,
                           const std::string& policy_dir, const base::Sha256Digest& text_sha256) {
  std::string in;
  in.reserve(sizeof kKeyTag + path.size() + name.size() + policy_dir.size() + 96);
  for (std::string_view part : {std::string_view(kKeyTag), std::string_view(WARDEN_VERSION),
                                std::string_view(path), std::string_view(name),
                                std::string_view(policy_dir)}) {
    in.append(part);
    in.push_back('\0');
  }
  in.append(base::HexOf(text_sha256.data(), text_sha256.size()));
  return base::Sha256Hex(in);
}

CacheReader::CacheReader(std::string dir) : dir_(std::move(dir)) {}

const std::optional<CacheReader::Snapshot>& CacheReader::File(const std::string& path) {
  auto it = files_.find(path);
  if (it != files_.end()) return it->second;
  std::optional<Snapshot> snap;
  if (Result<std::string> text = base::ReadFile(path, kMaxPolicyBytes); text.ok()) {
    const base::Sha256Digest digest = base::Sha256(text.value());
    snap = Snapshot{std::move(text.value()), digest};
  }
  return files_.emplace(path, std::move(snap)).first->second;
}

base::Sha256Digest CacheReader::Digest(const std::string& path, std::string_view text) {
  auto it = files_.find(path);
  if (it != files_.end() && it->second && it->second->text == text) return it->second->sha256;
  const base::Sha256Digest digest = base::Sha256(text);
  files_.insert_or_assign(path, Snapshot{std::string(text), digest});
  return digest;
}

std::optional<Policy> CacheReader::Read(const std::string& key) {
  if (!base::IsHexKey(key)) return std::nullopt;
  if (!dir_opened_) {
    dir_fd_ = base::OpenTrustedCacheDir(dir_, "policy");
    dir_opened_ = true;
  }
  const std::string name = key + ".pol";
  std::optional<std::string> file = base::ReadTrustedCacheFileAt(
      dir_fd_.get(), dir_, name, kHeaderBytes, kMaxEntryBytes, "policy");
  if (!file) return std::nullopt;
  std::string_view body(file->data() + kHeaderBytes, file->size() - kHeaderBytes);
  CacheEntry entry;
  bool ok = std::memcmp(file->data(), kMagic, sizeof kMagic) == 0 &&
            std::memcmp(file->data() + sizeof kMagic, base::Sha256(body).data(), kDigestBytes) == 0 &&
            DecodeEntry(body, &entry) && entry.key == key;
  if (!ok) {
    WLOG_WARN("", "policy cache: ignoring corrupt " + dir_ + "/" + name + "; rebuilding it");
    return std::nullopt;
  }
  for (const Dependency& d : entry.deps) {
    const std::optional<Snapshot>& f = File(d.path);
    if (!f || f->sha256 != d.sha256) {
      return std::nullopt;  // an extended policy changed: load again
    }
  }
  return std::move(entry.policy);
}

std::optional<Policy> ReadCachedPolicy(const std::string& dir, const std::string& key) {
  return CacheReader(dir).Read(key);
}

Status WriteCachedPolicy(const std::string& dir, const std::string& key, const Policy& policy,
                         const std::vector<Dependency>& deps) {
  if (!base::IsHexKey(key)) return Status::Error(Code::kInternal, "policy cache: bad key");
  const std::string body = EncodeEntry({key, deps, policy});
  std::string data(kMagic, sizeof kMagic);
  const base::Sha256Digest digest = base::Sha256(body);
  data.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  data.append(body);
  return base::WriteCacheFile(dir, key + ".pol", data, kMaxEntries);
}

}  // namespace warden::policy
