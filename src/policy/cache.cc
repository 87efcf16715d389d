#include "policy/cache.h"

#include <cmath>
#include <cstring>
#include <map>
#include <tuple>

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
constexpr char kKeyTag[] = "warden policy cache 1";

static_assert(kDigestBytes == std::tuple_size_v<base::Sha256Digest>);

// A field added to Policy must be added to Encode and Decode below and this
// size updated; the round-trip test checks that both agree.
static_assert(sizeof(Policy) == 944, "struct Policy changed: update policy/cache.cc and this size");

class Writer {
 public:
  void U(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void B(bool v) { out_.push_back(v ? 1 : 0); }
  void D(double v) {
    char b[sizeof v];
    std::memcpy(b, &v, sizeof v);
    out_.append(b, sizeof b);
  }
  void S(std::string_view s) {
    U(s.size());
    out_.append(s);
  }
  void Strings(const std::vector<std::string>& v) {
    U(v.size());
    for (const std::string& s : v) S(s);
  }
  void Map(const std::map<std::string, std::string>& m) {
    U(m.size());
    for (const auto& [k, v] : m) {
      S(k);
      S(v);
    }
  }
  template <typename E>
  void Enum(E e) {
    U(static_cast<uint64_t>(e));
  }
  template <typename T, typename F>
  void Limit(const CgroupLimit<T>& l, F put) {
    B(l.value.has_value());
    if (l.value) put(*l.value);
    B(l.optional);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what Writer wrote, and only that: every value has one encoding, so
// decoding and encoding again gives the same bytes. The first malformed
// field makes ok() false and every later read return a zero value.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }

  uint64_t U() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return Fail();
      const uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      if (shift == 63 && b > 1) return Fail();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        // One form per value: a last byte of zero means a longer encoding
        // than Writer makes.
        return b == 0 && shift > 0 ? Fail() : v;
      }
    }
    return Fail();
  }
  uint32_t U32() {
    uint64_t v = U();
    return v > UINT32_MAX ? static_cast<uint32_t>(Fail()) : static_cast<uint32_t>(v);
  }
  int I32() {
    // Stored as the unsigned 32-bit pattern.
    uint32_t v = U32();
    int out;
    std::memcpy(&out, &v, sizeof out);
    return out;
  }
  bool B() {
    if (in_.empty() || static_cast<uint8_t>(in_[0]) > 1) return Fail() != 0;
    bool v = in_[0] == 1;
    in_.remove_prefix(1);
    return v;
  }
  double D() {
    double v = 0;
    if (in_.size() < sizeof v) return static_cast<double>(Fail());
    std::memcpy(&v, in_.data(), sizeof v);
    in_.remove_prefix(sizeof v);
    return std::isfinite(v) ? v : static_cast<double>(Fail());
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
    return n > in_.size() ? Fail() : n;
  }
  std::vector<std::string> Strings() {
    std::vector<std::string> v(Count());
    for (std::string& s : v) s = S();
    return v;
  }
  std::map<std::string, std::string> Map() {
    std::map<std::string, std::string> m;
    for (uint64_t n = Count(); ok_ && n > 0; --n) {
      std::string k = S();
      // Keys in increasing order, as Writer writes a std::map.
      if (!m.empty() && !(m.rbegin()->first < k)) return Fail(), m;
      m.emplace_hint(m.end(), std::move(k), S());
    }
    return m;
  }
  template <typename E>
  E Enum(E last) {
    uint64_t v = U();
    if (v > static_cast<uint64_t>(last)) Fail();
    return ok_ ? static_cast<E>(v) : E{};
  }
  template <typename T, typename F>
  CgroupLimit<T> Limit(F get) {
    CgroupLimit<T> l;
    if (B()) l.value = get();
    l.optional = B();
    return l;
  }

 private:
  uint64_t Fail() {
    ok_ = false;
    in_ = {};
    return 0;
  }
  std::string_view in_;
  bool ok_ = true;
};

void Encode(const Policy& p, Writer* w) {
  w->S(p.name);
  w->S(p.source_path);
  w->S(p.hash);
  w->Strings(p.match_suffixes);
  w->Strings(p.match_interpreters);
  w->Strings(p.interpreter);
  w->B(p.user_namespace);
  w->S(p.rootfs);
  w->Strings(p.mask);
  w->U(p.mounts.size());
  for (const MountSpec& m : p.mounts) {
    w->Enum(m.kind);
    w->S(m.source);
    w->S(m.destination);
    w->B(m.writable);
    w->B(m.optional);
    w->U(m.size_bytes);
  }
  w->U(p.tmp_size_bytes);
  w->U(p.shm_size_bytes);
  w->S(p.hostname);
  w->S(p.cwd);
  w->U(p.uid);
  w->U(p.gid);
  w->Map(p.env);
  w->Strings(p.env_pass);
  w->S(p.path);
  w->U(p.wall_time_ms);
  w->U(p.cpu_time_ms);
  w->U(p.kill_grace_ms);
  w->U(p.output_max_bytes);
  const RlimitSpec& rl = p.rlimits;
  for (uint64_t v : {rl.nofile, rl.nproc, rl.fsize_bytes, rl.stack_bytes, rl.core_bytes}) w->U(v);

  const CgroupSpec& cg = p.cgroup;
  auto u = [w](uint64_t v) { w->U(v); };
  auto s = [w](const std::string& v) { w->S(v); };
  w->Limit(cg.memory_max_bytes, u);
  w->Limit(cg.memory_swap_max_bytes, u);
  w->Limit(cg.pids_max, u);
  w->Limit(cg.cpu, [w](double v) { w->D(v); });
  w->Limit(cg.cpuset_cpus, s);
  w->Limit(cg.cpuset_mems, s);
  w->Limit(cg.io_max, s);

  const SeccompSpec& sc = p.seccomp;
  w->Strings(sc.deny);
  w->Strings(sc.allow);
  w->U(sc.rules.size());
  for (const SyscallRule& r : sc.rules) {
    w->S(r.syscall);
    w->Enum(r.action);
    w->U(static_cast<uint32_t>(r.errno_value));
    w->U(r.args.size());
    for (const ArgCondition& a : r.args) {
      w->U(a.index);
      w->Enum(a.op);
      w->U(a.value);
      w->U(a.mask);
    }
  }
  w->Enum(sc.deny_action);
  w->U(static_cast<uint32_t>(sc.unknown_errno));

  const NetworkSpec& net = p.network;
  w->Enum(net.mode);
  w->Strings(net.allow);
  w->Strings(net.dns);
  w->Map(net.hosts);
}

void Decode(Reader* r, Policy* p) {
  p->name = r->S();
  p->source_path = r->S();
  p->hash = r->S();
  p->match_suffixes = r->Strings();
  p->match_interpreters = r->Strings();
  p->interpreter = r->Strings();
  p->user_namespace = r->B();
  p->rootfs = r->S();
  p->mask = r->Strings();
  p->mounts.resize(r->Count());
  for (MountSpec& m : p->mounts) {
    m.kind = r->Enum(MountSpec::Kind::kTmpfs);
    m.source = r->S();
    m.destination = r->S();
    m.writable = r->B();
    m.optional = r->B();
    m.size_bytes = r->U();
  }
  p->tmp_size_bytes = r->U();
  p->shm_size_bytes = r->U();
  p->hostname = r->S();
  p->cwd = r->S();
  p->uid = r->U32();
  p->gid = r->U32();
  p->env = r->Map();
  p->env_pass = r->Strings();
  p->path = r->S();
  p->wall_time_ms = r->U();
  p->cpu_time_ms = r->U();
  p->kill_grace_ms = r->U();
  p->output_max_bytes = r->U();
  RlimitSpec& rl = p->rlimits;
  for (uint64_t* v : {&rl.nofile, &rl.nproc, &rl.fsize_bytes, &rl.stack_bytes, &rl.core_bytes}) {
    *v = r->U();
  }

  CgroupSpec& cg = p->cgroup;
  auto u = [r] { return r->U(); };
  auto s = [r] { return r->S(); };
  cg.memory_max_bytes = r->Limit<uint64_t>(u);
  cg.memory_swap_max_bytes = r->Limit<uint64_t>(u);
  cg.pids_max = r->Limit<uint64_t>(u);
  cg.cpu = r->Limit<double>([r] { return r->D(); });
  cg.cpuset_cpus = r->Limit<std::string>(s);
  cg.cpuset_mems = r->Limit<std::string>(s);
  cg.io_max = r->Limit<std::string>(s);

  SeccompSpec& sc = p->seccomp;
  sc.deny = r->Strings();
  sc.allow = r->Strings();
  sc.rules.resize(r->Count());
  for (SyscallRule& rule : sc.rules) {
    rule.syscall = r->S();
    rule.action = r->Enum(SeccompAction::kLog);
    rule.errno_value = r->I32();
    rule.args.resize(r->Count());
    for (ArgCondition& a : rule.args) {
      a.index = r->U32();
      a.op = r->Enum(ArgCondition::Op::kMaskedEq);
      a.value = r->U();
      a.mask = r->U();
    }
  }
  sc.deny_action = r->Enum(SeccompAction::kLog);
  sc.unknown_errno = r->I32();

  NetworkSpec& net = p->network;
  net.mode = r->Enum(NetworkSpec::Mode::kVeth);
  net.allow = r->Strings();
  net.dns = r->Strings();
  net.hosts = r->Map();
}

std::string EntryPath(const std::string& dir, const std::string& key) {
  return dir + "/" + key + ".pol";
}

}  // namespace

std::string EncodeEntry(const CacheEntry& entry) {
  Writer w;
  w.S(entry.key);
  w.U(entry.deps.size());
  for (const Dependency& d : entry.deps) {
    w.S(d.path);
    w.S(std::string_view(reinterpret_cast<const char*>(d.sha256.data()), d.sha256.size()));
  }
  Encode(entry.policy, &w);
  return w.Take();
}

bool DecodeEntry(std::string_view body, CacheEntry* out) {
  Reader r(body);
  CacheEntry e;
  e.key = r.S();
  e.deps.resize(r.Count());
  for (Dependency& d : e.deps) {
    d.path = r.S();
    std::string digest = r.S();
    if (digest.size() != d.sha256.size()) return false;
    std::memcpy(d.sha256.data(), digest.data(), digest.size());
  }
  Decode(&r, &e.policy);
  if (!r.done()) return false;
  *out = std::move(e);
  return true;
}

std::string PolicyCacheDir() { return base::CacheDir("policy"); }

std::string PolicyCacheKey(const std::string& path, const std::string& name,
                           const std::string& policy_dir, std::string_view text) {
  std::string in;
  in.reserve(sizeof kKeyTag + path.size() + name.size() + policy_dir.size() + text.size() + 16);
  for (std::string_view part : {std::string_view(kKeyTag), std::string_view(WARDEN_VERSION),
                                std::string_view(path), std::string_view(name),
                                std::string_view(policy_dir)}) {
    in.append(part);
    in.push_back('\0');
  }
  in.append(text);
  return base::Sha256Hex(in);
}

std::optional<Policy> ReadCachedPolicy(const std::string& dir, const std::string& key) {
  if (!base::IsHexKey(key)) return std::nullopt;
  const std::string path = EntryPath(dir, key);
  std::optional<std::string> file =
      base::ReadTrustedCacheFile(path, kHeaderBytes, kMaxEntryBytes, "policy");
  if (!file) return std::nullopt;
  std::string_view body(file->data() + kHeaderBytes, file->size() - kHeaderBytes);
  CacheEntry entry;
  bool ok = std::memcmp(file->data(), kMagic, sizeof kMagic) == 0 &&
            std::memcmp(file->data() + sizeof kMagic, base::Sha256(body).data(), kDigestBytes) == 0 &&
            DecodeEntry(body, &entry) && entry.key == key;
  if (!ok) {
    WLOG_WARN("", "policy cache: ignoring corrupt " + path + "; rebuilding it");
    return std::nullopt;
  }
  for (const Dependency& d : entry.deps) {
    Result<std::string> text = base::ReadFile(d.path, kMaxPolicyBytes);
    if (!text.ok() || base::Sha256(text.value()) != d.sha256) {
      return std::nullopt;  // an extended policy changed: load again
    }
  }
  return std::move(entry.policy);
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
