// PolicyToToml: the canonical effective policy. Its bytes are hashed, so the
// order and formatting here are part of the policy hash: keep them stable.
// The output loads back to the same policy (a unit test checks the round trip).
#include <charconv>
#include <cstdio>

#include "policy_data/parse_util.h"
#include "warden/policy.h"

namespace warden {
namespace {

using policy::SeccompActionName;
using policy::TomlQuote;

std::string List(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += TomlQuote(items[i]);
  }
  return out + "]";
}

// Values a TOML integer (int64) cannot hold are written as hex strings,
// which the loader accepts wherever such values can occur.
std::string U64(uint64_t v) {
  if (v <= static_cast<uint64_t>(INT64_MAX)) return std::to_string(v);
  char buf[32];
  std::snprintf(buf, sizeof buf, "\"0x%llx\"", static_cast<unsigned long long>(v));
  return buf;
}

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return v <= static_cast<uint64_t>(INT64_MAX) ? std::string(buf) : "\"" + std::string(buf) + "\"";
}

std::string RlimitSize(uint64_t v) { return v == ~0ull ? "\"unlimited\"" : U64(v); }

std::string Ms(uint64_t ms) { return "\"" + std::to_string(ms) + "ms\""; }

std::string Double(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, ec == std::errc() ? end : buf);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

const char* OpName(ArgCondition::Op op) {
  switch (op) {
    case ArgCondition::Op::kEq: return "eq";
    case ArgCondition::Op::kNe: return "ne";
    case ArgCondition::Op::kLt: return "lt";
    case ArgCondition::Op::kLe: return "le";
    case ArgCondition::Op::kGt: return "gt";
    case ArgCondition::Op::kGe: return "ge";
    case ArgCondition::Op::kMaskedEq: return "masked_eq";
  }
  return "eq";
}

template <typename T, typename F>
void Limit(std::string* out, const char* key, const CgroupLimit<T>& l, F fmt) {
  if (!l.value) return;
  *out += key;
  if (l.optional) {
    *out += " = { value = " + fmt(*l.value) + ", optional = true }\n";
  } else {
    *out += " = " + fmt(*l.value) + "\n";
  }
}

}  // namespace

std::string PolicyToToml(const Policy& p) {
  std::string o = "extends = \"none\"\n";
  o += "interpreter = " + List(p.interpreter) + "\n";
  o += "\n[match]\n";
  o += "suffixes = " + List(p.match_suffixes) + "\n";
  o += "interpreters = " + List(p.match_interpreters) + "\n";
  o += "\n[namespaces]\n";
  o += std::string("user = ") + (p.user_namespace ? "true" : "false") + "\n";
  o += "\n[filesystem]\n";
  if (p.rootfs.empty()) {
    o += "view = " + List(p.view) + "\n";
  } else {
    o += "rootfs = " + TomlQuote(p.rootfs) + "\n";
  }
  o += "mask = " + List(p.mask) + "\n";
  o += "tmp_size = " + U64(p.tmp_size_bytes) + "\n";
  o += "shm_size = " + U64(p.shm_size_bytes) + "\n";
  o += "cwd = " + TomlQuote(p.cwd) + "\n";
  for (const MountSpec& m : p.mounts) {
    o += "\n[[filesystem.mount]]\n";
    o += std::string("type = ") + (m.kind == MountSpec::Kind::kBind ? "\"bind\"" : "\"tmpfs\"") + "\n";
    if (m.kind == MountSpec::Kind::kBind) o += "source = " + TomlQuote(m.source) + "\n";
    o += "destination = " + TomlQuote(m.destination) + "\n";
    o += std::string("writable = ") + (m.writable ? "true" : "false") + "\n";
    o += std::string("optional = ") + (m.optional ? "true" : "false") + "\n";
    if (m.owned) o += "owned = true\n";
    if (m.kind == MountSpec::Kind::kTmpfs) o += "size = " + U64(m.size_bytes) + "\n";
  }
  o += "\n[identity]\n";
  o += "uid = " + std::to_string(p.uid) + "\n";
  o += "gid = " + std::to_string(p.gid) + "\n";
  // Only when set, so that the hashes of policies without them stay as
  // they were.
  for (const auto& [key, ranges] : {std::pair{"allow_uids", &p.allow_uids}, std::pair{"allow_gids", &p.allow_gids}}) {
    if (ranges->empty()) continue;
    std::vector<std::string> items;
    for (const IdRange& r : *ranges) items.push_back(policy::IdRangeString(r));
    o += std::string(key) + " = " + List(items) + "\n";
  }
  o += "hostname = " + TomlQuote(p.hostname) + "\n";
  o += "\n[env]\n";
  o += "path = " + TomlQuote(p.path) + "\n";
  o += "pass = " + List(p.env_pass) + "\n";
  o += "\n[env.set]\n";
  for (const auto& [k, v] : p.env) o += k + " = " + TomlQuote(v) + "\n";
  o += "\n[limits]\n";
  o += "wall_time = " + Ms(p.wall_time_ms) + "\n";
  o += "cpu_time = " + Ms(p.cpu_time_ms) + "\n";
  o += "kill_grace = " + Ms(p.kill_grace_ms) + "\n";
  o += "output_max = " + U64(p.output_max_bytes) + "\n";
  o += "\n[rlimits]\n";
  o += "nofile = " + std::to_string(p.rlimits.nofile) + "\n";
  o += "nproc = " + std::to_string(p.rlimits.nproc) + "\n";
  o += "fsize = " + RlimitSize(p.rlimits.fsize_bytes) + "\n";
  o += "stack = " + RlimitSize(p.rlimits.stack_bytes) + "\n";
  o += "core = " + RlimitSize(p.rlimits.core_bytes) + "\n";
  o += "\n[cgroup]\n";
  const CgroupSpec& c = p.cgroup;
  auto u = [](uint64_t v) { return U64(v); };
  auto s = [](const std::string& v) { return TomlQuote(v); };
  Limit(&o, "memory", c.memory_max_bytes, u);
  Limit(&o, "swap", c.memory_swap_max_bytes, u);
  Limit(&o, "pids", c.pids_max, u);
  Limit(&o, "cpu", c.cpu, [](double d) { return Double(d); });
  Limit(&o, "cpuset_cpus", c.cpuset_cpus, s);
  Limit(&o, "cpuset_mems", c.cpuset_mems, s);
  Limit(&o, "io", c.io_max, s);
  o += "\n[seccomp]\n";
  o += std::string("action = \"") + SeccompActionName(p.seccomp.deny_action) + "\"\n";
  // Only when not EPERM, so that the text (and the hash) of every policy
  // that does not set it stays as it was.
  if (p.seccomp.deny_action == SeccompAction::kErrno && p.seccomp.deny_errno != 1) {
    o += "errno = " + std::to_string(p.seccomp.deny_errno) + "\n";
  }
  o += "deny = [\n";
  for (const std::string& d : p.seccomp.deny) o += "  " + TomlQuote(d) + ",\n";
  o += "]\n";
  o += "allow = " + List(p.seccomp.allow) + "\n";
  for (const SyscallRule& r : p.seccomp.rules) {
    o += "\n[[seccomp.rule]]\n";
    o += "syscall = " + TomlQuote(r.syscall) + "\n";
    o += std::string("action = \"") + SeccompActionName(r.action) + "\"\n";
    if (r.action == SeccompAction::kErrno) o += "errno = " + std::to_string(r.errno_value) + "\n";
    o += "args = [";
    for (size_t i = 0; i < r.args.size(); ++i) {
      const ArgCondition& a = r.args[i];
      o += i ? ", " : "";
      o += "{ index = " + std::to_string(a.index) + ", op = \"" + OpName(a.op) + "\", value = " + Hex(a.value);
      if (a.op == ArgCondition::Op::kMaskedEq) o += ", mask = " + Hex(a.mask);
      o += " }";
    }
    o += "]\n";
  }
  o += "\n[network]\n";
  const char* mode = p.network.mode == NetworkSpec::Mode::kNone       ? "none"
                     : p.network.mode == NetworkSpec::Mode::kLoopback ? "loopback"
                                                                      : "veth";
  o += std::string("mode = \"") + mode + "\"\n";
  o += "allow = " + List(p.network.allow) + "\n";
  o += "dns = " + List(p.network.dns) + "\n";
  o += "\n[network.hosts]\n";
  for (const auto& [k, v] : p.network.hosts) o += TomlQuote(k) + " = " + TomlQuote(v) + "\n";
  return o;
}

}  // namespace warden
