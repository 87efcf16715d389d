// Internals of the policy loader: one Layer applies one TOML file to the
// State shared by all layers of an `extends` chain. Split across
// policy_load.cc (values, files, identity, env, limits) and
// policy_sections.cc (cgroup, seccomp, network).
#ifndef WARDEN_POLICY_LAYER_H_
#define WARDEN_POLICY_LAYER_H_

#include "policy/toml.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "policy/cache.h"
#include "policy_data/parse_util.h"  // kMaxDurationMs, kMaxSizeBytes
#include "warden/policy.h"

namespace warden::policy {

inline constexpr int kMaxExtendsDepth = 4;
inline constexpr size_t kMaxStringBytes = 4096;
inline constexpr size_t kMaxEnvValueBytes = 32768;
inline constexpr size_t kMaxListItems = 1024;
inline constexpr size_t kMaxInterpreterArgs = 16;
inline constexpr size_t kMaxMatchItems = 16;
inline constexpr size_t kMaxNetworkAllow = 256;
inline constexpr size_t kMaxDns = 8;
inline constexpr size_t kMaxHosts = 256;
inline constexpr size_t kMaxIdRanges = 64;

struct Loc {
  std::string file;
  int line = 1;
  int column = 1;
};

struct RuleMeta {
  bool action_explicit = false;
  Loc loc;
};

// Everything the layers accumulate before the final checks.
struct State {
  Policy p;
  std::vector<std::string> deny;   // seccomp.deny entries, groups unexpanded
  std::vector<std::string> allow;  // seccomp.allow entries, groups unexpanded
  std::vector<RuleMeta> rules;
  Loc uid_loc, gid_loc, allow_uids_loc, allow_gids_loc;
  std::vector<Dependency> deps;  // extended files, in the order read
  std::string policy_dir;        // where `extends` looks first
};

// A PolicyError status for `loc`.
Status ErrLoc(const Loc& loc, std::string message);
Loc LocOf(const toml::source_region& r, const std::string& file);
// "a string", "an integer", ... for messages.
const char* TypeName(const toml::node& n);
std::string Join(std::initializer_list<std::string_view> items);

class Layer {
 public:
  Layer(State* st, std::string file) : st_(*st), file_(std::move(file)) {}

  Status Apply(const toml::table& root, int depth);

 private:
  Status Err(const toml::node& n, std::string msg) const {
    return ErrLoc(At(n), std::move(msg));
  }
  Loc At(const toml::node& n) const { return LocOf(n.source(), file_); }

  Status CheckKeys(const toml::table& t, const std::string& section,
                   std::initializer_list<std::string_view> allowed) const;
  Result<const toml::table*> Table(const toml::node& n, const std::string& what) const;
  Result<std::string> String(const toml::node& n, const std::string& what,
                             size_t max_bytes = kMaxStringBytes) const;
  Result<bool> Bool(const toml::node& n, const std::string& what) const;
  Result<int64_t> Int(const toml::node& n, const std::string& what, int64_t min,
                      int64_t max) const;
  Result<uint64_t> Size(const toml::node& n, const std::string& what, bool unlimited_ok) const;
  Result<uint64_t> DurationMs(const toml::node& n, const std::string& what) const;
  Result<std::string> Path(const toml::node& n, const std::string& what) const;
  Result<std::vector<std::string>> StringList(const toml::node& n, const std::string& what,
                                              size_t max_items, size_t max_bytes) const;
  Result<uint64_t> ArgValue(const toml::node& n, const std::string& what) const;
  // An errno: a name ("ENOSYS") or 1..4095.
  Result<int> Errno(const toml::node& n, const std::string& what) const;

  Status Extends(const toml::node& n, int depth);
  Status Match(const toml::node& n);
  Status Interpreter(const toml::node& n);
  Status Namespaces(const toml::node& n);
  Status Filesystem(const toml::node& n);
  Status Mount(const toml::node& n);
  Status Identity(const toml::node& n);
  Status Env(const toml::node& n);
  Status Limits(const toml::node& n);
  Status Rlimits(const toml::node& n);
  Status Cgroup(const toml::node& n);
  Status Seccomp(const toml::node& n);
  Status Rule(const toml::node& n);
  Status Network(const toml::node& n);
  template <typename T, typename F>
  Status CgroupLimitOf(const toml::node& n, const std::string& what, CgroupLimit<T>* out,
                       F parse_value);

  State& st_;
  std::string file_;
};

}  // namespace warden::policy

#endif  // WARDEN_POLICY_LAYER_H_
