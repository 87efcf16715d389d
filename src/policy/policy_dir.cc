// Finding policies: the shipped directory, NAME|FILE resolution, and picking
// a policy for a script by suffix or shebang.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "policy/builtin_policies.h"
#include "policy/cache.h"
#include "policy/loader.h"
#include "policy/policy_dir.h"
#include "policy/shebang.h"
#include "warden/policy.h"

namespace warden {
namespace {

constexpr size_t kMaxShippedPolicies = 64;

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Stem(const std::string& path) {
  std::string base = Basename(path);
  if (base.size() > 5 && base.ends_with(".toml")) base.resize(base.size() - 5);
  return base;
}

// Shipped policy names: those in `dir` and the built-in ones, sorted,
// bounded.
std::vector<std::string> ShippedPolicyNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const policy::BuiltinPolicy& b : policy::BuiltinPolicies()) names.push_back(b.name);
  base::UniqueDir d(::opendir(dir.c_str()));
  while (d && names.size() < kMaxShippedPolicies) {
    struct dirent* e = ::readdir(d.get());
    if (e == nullptr) break;
    std::string n = e->d_name;
    if (!n.ends_with(".toml")) continue;
    std::string stem = n.substr(0, n.size() - 5);
    if (!policy::IsValidPolicyName(stem)) continue;
    names.push_back(stem);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

// "python3.11" matches "python3"; "python3" matches "python3".
bool InterpreterMatches(const std::string& program, const std::string& wanted) {
  if (!program.starts_with(wanted)) return false;
  return std::all_of(program.begin() + static_cast<long>(wanted.size()), program.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

// The interpreter name from a "#!" line: "/usr/bin/env -S python3 -u" gives
// "python3"; "" when there is none.
std::string ShebangInterpreter(const std::string& program_path) {
  base::UniqueFd fd(base::RetryEintr(
      [&] { return ::open(program_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); }));
  if (!fd) return "";
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  char buf[policy::kShebangMaxBytes];
  ssize_t n = base::RetryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
  if (n <= 0) return "";
  std::optional<policy::Shebang> s = policy::ParseShebang(std::string_view(buf, static_cast<size_t>(n)));
  return s ? policy::ShebangProgramName(*s) : "";
}

}  // namespace

namespace policy {

std::string PolicyDirectoryFor(const std::string& configured) {
  if (!configured.empty()) return configured;
  static const char kInstalled[] = "/usr/local/share/warden/policies";
  if (IsDir(kInstalled)) return kInstalled;
  // In a source tree the binary is build/warden (or a test binary one level
  // deeper), so look for policies/ a few levels up from it.
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<size_t>(n));
    for (int up = 0; up < 4; ++up) {
      size_t slash = dir.rfind('/');
      if (slash == std::string::npos || slash == 0) break;
      dir.resize(slash);
      std::string candidate = dir + "/policies";
      if (IsFile(candidate + "/default.toml")) return candidate;
    }
  }
  return kInstalled;
}

Result<Policy> LoadPolicyStringIn(const std::string& toml, const std::string& name,
                                  const base::HostConfig& config) {
  return LoadFromText(toml, name, Stem(name), PolicyDirectoryFor(config.policy_dir));
}

}  // namespace policy

namespace {

// A policy from its text, read from `path` (a file, or a built-in policy's
// BuiltinPolicyPath), with the policy directory `policy_dir` (it is part
// of the cache key: `extends` names resolve there). `cache` reads the
// policy cache; loads made together share one.
Result<Policy> LoadPolicyText(const std::string& path, const std::string& name,
                              const std::string& text, bool builtin, const std::string& policy_dir,
                              policy::CacheReader& cache) {
  // A policy that loaded before, from the same files, comes from the cache.
  // Built-in policies are not cached: their text is in the binary, and an
  // entry could not tell whether it still matched.
  const std::string& cache_dir = cache.dir();
  std::string key;
  if (!builtin) {
    key = policy::PolicyCacheKey(path, name, policy_dir, cache.Digest(path, text));
    if (std::optional<Policy> cached = cache.Read(key)) {
      return *std::move(cached);
    }
  }
  std::vector<policy::Dependency> deps;
  WARDEN_ASSIGN_OR_RETURN(Policy p, policy::LoadFromText(text, path, name, policy_dir, &deps));
  if (!builtin) p.source_path = path;
  const bool on_disk = !builtin && std::none_of(deps.begin(), deps.end(), [](const auto& d) {
    return d.path.starts_with(policy::kBuiltinPathPrefix);
  });
  if (on_disk) {
    if (Status st = policy::WriteCachedPolicy(cache_dir, key, p, deps); !st.ok()) {
      // Not an error: the next load parses again.
      WLOG_DEBUG("", "policy cache: " + st.ToString());
    }
  }
  return p;
}

Result<Policy> LoadPolicyFileWith(const std::string& path, const std::string& policy_dir,
                                  policy::CacheReader& cache) {
  Result<std::string> text = base::ReadFile(path, kMaxPolicyBytes);
  if (!text.ok()) {
    if (text.status().code() == Code::kResourceExhausted) return policy::PolicyTooLarge(path);
    return text.take_status().Wrap("load policy");
  }
  return LoadPolicyText(path, Stem(path), text.value(), false, policy_dir, cache);
}

// ResolvePolicy with the shipped policies in `dir`, reading the policy
// cache through `cache`.
Result<Policy> ResolvePolicyWith(const std::string& name_or_file, const std::string& dir,
                                 policy::CacheReader& cache) {
  if (name_or_file.find('/') != std::string::npos || name_or_file.ends_with(".toml")) {
    return LoadPolicyFileWith(name_or_file, dir, cache);
  }
  Result<policy::ShippedPolicyText> text =
      policy::IsValidPolicyName(name_or_file)
          ? policy::ReadShippedPolicy(dir, name_or_file)
          : Result<policy::ShippedPolicyText>(Status::Error(Code::kNotFound, "not a policy name"));
  if (!text.ok()) {
    if (text.status().code() != Code::kNotFound) return text.take_status().Wrap("load policy");
    std::string known;
    for (const std::string& n : ShippedPolicyNames(dir)) known += (known.empty() ? "" : ", ") + n;
    return Status::Error(Code::kNotFound,
                         "policy \"" + name_or_file.substr(0, 64) + "\" not found in " + dir +
                             " or built in (shipped policies: " + (known.empty() ? "none" : known) +
                             "; pass a path to use a file, or set WARDEN_POLICY_DIR)");
  }
  return LoadPolicyText(text->path, name_or_file, text->text, text->builtin, dir, cache);
}

}  // namespace

namespace policy {

Result<Policy> LoadPolicyFileIn(const std::string& path, const base::HostConfig& config) {
  CacheReader cache(PolicyCacheDir(config));
  return LoadPolicyFileWith(path, PolicyDirectoryFor(config.policy_dir), cache);
}

Result<Policy> ResolvePolicyIn(const std::string& name_or_file, const base::HostConfig& config) {
  CacheReader cache(PolicyCacheDir(config));
  return ResolvePolicyWith(name_or_file, PolicyDirectoryFor(config.policy_dir), cache);
}

}  // namespace policy

namespace policy {

const BuiltinPolicy* FindBuiltinPolicy(std::string_view name) {
  for (const BuiltinPolicy& b : BuiltinPolicies()) {
    if (name == b.name) return &b;
  }
  return nullptr;
}

std::string BuiltinPolicyPath(std::string_view name) {
  return std::string(kBuiltinPathPrefix) + std::string(name) + ".toml";
}

Result<ShippedPolicyText> ReadShippedPolicy(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name + ".toml";
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    Result<std::string> text = base::ReadFile(path, kMaxPolicyBytes);
    if (!text.ok()) {
      if (text.status().code() == Code::kResourceExhausted) return PolicyTooLarge(path);
      return text.take_status();
    }
    return ShippedPolicyText{path, std::move(text.value()), false};
  } else if (errno != ENOENT) {
    return Status::FromErrno(errno, "stat(\"" + path + "\")");
  }
  if (const BuiltinPolicy* b = FindBuiltinPolicy(name)) {
    return ShippedPolicyText{BuiltinPolicyPath(name), std::string(b->text, b->size), true};
  }
  return Status::Error(Code::kNotFound, "policy \"" + name + "\" is neither in " + dir +
                                            " nor built in");
}

}  // namespace policy

namespace policy {

Result<Policy> PolicyForProgramIn(const std::string& program_path,
                                  const base::HostConfig& config) {
  // Every shipped policy is loaded (its [match] tables may be inherited
  // through `extends`), most from the cache: one reader opens the cache
  // directory once, and reads and hashes the policies they extend once.
  CacheReader cache(PolicyCacheDir(config));
  const std::string dir = PolicyDirectoryFor(config.policy_dir);
  std::vector<Policy> shipped;
  for (const std::string& name : ShippedPolicyNames(dir)) {
    if (name == "default") continue;
    WARDEN_ASSIGN_OR_RETURN(Policy p, ResolvePolicyWith(name, dir, cache));
    shipped.push_back(std::move(p));
  }
  std::string base = Basename(program_path);
  for (const Policy& p : shipped) {
    for (const std::string& suffix : p.match_suffixes) {
      if (base.size() > suffix.size() && base.ends_with(suffix)) return p;
    }
  }
  std::string interp = ShebangInterpreter(program_path);
  // A program that is itself an interpreter ("python3 app.py") gets that
  // interpreter's policy too.
  for (const std::string& name : {interp, base}) {
    if (name.empty()) continue;
    for (const Policy& p : shipped) {
      for (const std::string& wanted : p.match_interpreters) {
        if (InterpreterMatches(name, wanted)) return p;
      }
    }
  }
  return ResolvePolicyWith("default", dir, cache);
}

}  // namespace policy

}  // namespace warden
