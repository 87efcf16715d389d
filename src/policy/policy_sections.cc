// [cgroup], [seccomp] and [network] sections of a policy layer.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>

#include "policy/layer.h"
#include "policy_data/parse_util.h"
#include "policy_data/syscall_groups.h"

namespace warden::policy {

template <typename T, typename F>
Status Layer::CgroupLimitOf(const toml::node& n, const std::string& what, CgroupLimit<T>* out,
                            F parse_value) {
  const toml::node* value = &n;
  CgroupLimit<T> limit;
  if (const toml::table* t = n.as_table()) {
    WARDEN_RETURN_IF_ERROR(CheckKeys(*t, what, {"value", "optional"}));
    value = t->get("value");
    if (!value) return Err(n, what + " table needs value = ...");
    if (const toml::node* o = t->get("optional")) {
      WARDEN_ASSIGN_OR_RETURN(limit.optional, Bool(*o, what + ".optional"));
    }
  }
  // "none" removes the limit, a base policy's included.
  if (const toml::value<std::string>* s = value->as_string(); s && s->get() == "none") {
    *out = CgroupLimit<T>{};
    return Status::Ok();
  }
  WARDEN_ASSIGN_OR_RETURN(T v, parse_value(*value));
  limit.value = std::move(v);
  *out = std::move(limit);
  return Status::Ok();
}

Status Layer::Cgroup(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[cgroup]"));
  WARDEN_RETURN_IF_ERROR(CheckKeys(
      *t, "[cgroup]", {"memory", "swap", "pids", "cpu", "cpuset_cpus", "cpuset_mems", "io"}));
  CgroupSpec& c = st_.p.cgroup;
  auto size = [this](const char* what, uint64_t min) {
    return [this, what, min](const toml::node& v) -> Result<uint64_t> {
      WARDEN_ASSIGN_OR_RETURN(uint64_t b, Size(v, what, false));
      if (b < min) return Err(v, std::string(what) + " must be at least " + std::to_string(min) + " bytes");
      return b;
    };
  };
  auto cpuset = [this](const char* what) {
    return [this, what](const toml::node& v) -> Result<std::string> {
      WARDEN_ASSIGN_OR_RETURN(std::string s, String(v, what, 256));
      bool ok = !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
        return std::isdigit(static_cast<unsigned char>(ch)) || ch == ',' || ch == '-';
      });
      if (!ok) return Err(v, std::string(what) + " \"" + s.substr(0, 64) + "\" must be a list like \"0-3,6\"");
      return s;
    };
  };
  if (const toml::node* v = t->get("memory")) {
    WARDEN_RETURN_IF_ERROR(CgroupLimitOf(*v, "cgroup.memory", &c.memory_max_bytes, size("cgroup.memory", kMinMemoryBytes)));
  }
  if (const toml::node* v = t->get("swap")) {
    WARDEN_RETURN_IF_ERROR(CgroupLimitOf(*v, "cgroup.swap", &c.memory_swap_max_bytes, size("cgroup.swap", 0)));
  }
  if (const toml::node* v = t->get("pids")) {
    WARDEN_RETURN_IF_ERROR(CgroupLimitOf(*v, "cgroup.pids", &c.pids_max,
                                         [this](const toml::node& x) -> Result<uint64_t> {
                                           WARDEN_ASSIGN_OR_RETURN(int64_t i, Int(x, "cgroup.pids", 1, kMaxPids));
                                           return static_cast<uint64_t>(i);
                                         }));
  }
  if (const toml::node* v = t->get("cpu")) {
    WARDEN_RETURN_IF_ERROR(CgroupLimitOf(*v, "cgroup.cpu", &c.cpu, [this](const toml::node& x) -> Result<double> {
      double d = 0;
      if (const toml::value<double>* f = x.as_floating_point()) d = f->get();
      else if (const toml::value<int64_t>* i = x.as_integer()) d = static_cast<double>(i->get());
      else return Err(x, std::string("cgroup.cpu must be a number of CPUs like 0.5 or 2, or \"none\", not ") + TypeName(x));
      if (std::string problem = CpusProblem(d); !problem.empty()) return Err(x, "cgroup.cpu " + problem);
      return d;
    }));
  }
  if (const toml::node* v = t->get("cpuset_cpus")) {
    WARDEN_RETURN_IF_ERROR(CgroupLimitOf(*v, "cgroup.cpuset_cpus", &c.cpuset_cpus, cpuset("cgroup.cpuset_cpus")));
  }
  if (const toml::node* v = t->get("cpuset_mems")) {
    WARDEN_RETURN_IF_ERROR(CgroupLimitOf(*v, "cgroup.cpuset_mems", &c.cpuset_mems, cpuset("cgroup.cpuset_mems")));
  }
  if (const toml::node* v = t->get("io")) {
    WARDEN_RETURN_IF_ERROR(CgroupLimitOf(*v, "cgroup.io", &c.io_max, [this](const toml::node& x) -> Result<std::string> {
      WARDEN_ASSIGN_OR_RETURN(std::string s, String(x, "cgroup.io", 4096));
      bool ok = !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == ':' || ch == '=' || ch == ' ' || ch == '\n';
      });
      if (!ok) {
        return Err(x, "cgroup.io must be io.max lines like \"8:0 rbps=1048576 wbps=max\"");
      }
      return s;
    }));
  }
  return Status::Ok();
}

Status Layer::Seccomp(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[seccomp]"));
  WARDEN_RETURN_IF_ERROR(CheckKeys(*t, "[seccomp]", {"deny", "allow", "action", "errno", "rule"}));
  if (const toml::node* v = t->get("action")) {
    WARDEN_ASSIGN_OR_RETURN(std::string a, String(*v, "seccomp.action", 16));
    std::optional<SeccompAction> action = ParseSeccompAction(a);
    if (!action || *action == SeccompAction::kAllow) {
      return Err(*v, "seccomp.action \"" + a + "\" must be \"errno\" (seccomp.errno, default EPERM), \"kill\" or \"log\"");
    }
    st_.p.seccomp.deny_action = *action;
  }
  // Read after this layer's action: the action in effect so far must be
  // "errno". A later layer that sets another action drops it (Finish).
  if (const toml::node* v = t->get("errno")) {
    if (st_.p.seccomp.deny_action != SeccompAction::kErrno) {
      return Err(*v, "seccomp.errno needs seccomp.action = \"errno\" (the action in effect is \"" +
                         std::string(SeccompActionName(st_.p.seccomp.deny_action)) + "\")");
    }
    WARDEN_ASSIGN_OR_RETURN(st_.p.seccomp.deny_errno, Errno(*v, "seccomp.errno"));
  }
  for (const char* key : {"deny", "allow"}) {
    const toml::node* v = t->get(key);
    if (!v) continue;
    const toml::array* a = v->as_array();
    if (!a) return Err(*v, std::string("seccomp.") + key + " must be an array of strings, not " + TypeName(*v));
    std::vector<std::string>& out = std::string_view(key) == "deny" ? st_.deny : st_.allow;
    for (const toml::node& e : *a) {
      WARDEN_ASSIGN_OR_RETURN(std::string name, String(e, std::string("seccomp.") + key + " entry", 64));
      if (name.starts_with("@")) {
        if (!FindSyscallGroup(name)) {
          return Err(e, "unknown syscall group \"" + name + "\"; groups are: " + SyscallGroupNames());
        }
      } else if (SyscallNumber(name) < 0) {
        return Err(e, "unknown syscall \"" + name + "\" (not an x86_64 syscall known to libseccomp; groups start with '@')");
      }
      if (out.size() >= kMaxListItems) return Err(e, std::string("seccomp.") + key + " has too many entries");
      out.push_back(std::move(name));
    }
  }
  if (const toml::node* v = t->get("rule")) {
    const toml::array* a = v->as_array();
    if (!a) return Err(*v, "seccomp.rule must be an array of tables ([[seccomp.rule]]), not " + std::string(TypeName(*v)));
    for (const toml::node& r : *a) WARDEN_RETURN_IF_ERROR(Rule(r));
  }
  return Status::Ok();
}

Status Layer::Rule(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[[seccomp.rule]] entry"));
  WARDEN_RETURN_IF_ERROR(CheckKeys(*t, "[[seccomp.rule]]", {"syscall", "action", "errno", "args"}));
  if (st_.p.seccomp.rules.size() >= kMaxSyscallRules) {
    return Err(n, "more than " + std::to_string(kMaxSyscallRules) + " [[seccomp.rule]] entries");
  }
  SyscallRule rule;
  RuleMeta meta{false, At(n)};
  const toml::node* sc = t->get("syscall");
  if (!sc) return Err(n, "[[seccomp.rule]] needs syscall = \"name\"");
  WARDEN_ASSIGN_OR_RETURN(rule.syscall, String(*sc, "rule syscall", 64));
  if (SyscallNumber(rule.syscall) < 0) {
    return Err(*sc, "unknown syscall \"" + rule.syscall + "\" (rules take one x86_64 syscall name, not a group)");
  }
  rule.action = st_.p.seccomp.deny_action;
  if (const toml::node* v = t->get("action")) {
    WARDEN_ASSIGN_OR_RETURN(std::string a, String(*v, "rule action", 16));
    std::optional<SeccompAction> action = ParseSeccompAction(a);
    if (!action) {
      return Err(*v, "rule action \"" + a + "\" must be \"errno\", \"kill\", \"log\" or \"allow\"");
    }
    rule.action = *action;
    meta.action_explicit = true;
  }
  if (const toml::node* v = t->get("errno")) {
    if (rule.action != SeccompAction::kErrno || !meta.action_explicit) {
      return Err(*v, "errno needs action = \"errno\" in the same rule");
    }
    WARDEN_ASSIGN_OR_RETURN(rule.errno_value, Errno(*v, "errno"));
  }
  if (const toml::node* v = t->get("args")) {
    const toml::array* a = v->as_array();
    if (!a) return Err(*v, "args must be an array of tables like [{ index = 0, op = \"eq\", value = 1 }]");
    if (a->size() > 6) return Err(*v, "a rule compares at most 6 arguments");
    for (const toml::node& c : *a) {
      WARDEN_ASSIGN_OR_RETURN(const toml::table* ct, Table(c, "args entry"));
      WARDEN_RETURN_IF_ERROR(CheckKeys(*ct, "args entry", {"index", "op", "value", "mask"}));
      ArgCondition cond;
      const toml::node* idx = ct->get("index");
      const toml::node* op = ct->get("op");
      const toml::node* val = ct->get("value");
      if (!idx || !op || !val) return Err(c, "args entry needs index, op and value");
      WARDEN_ASSIGN_OR_RETURN(int64_t i, Int(*idx, "args index", 0, 5));
      cond.index = static_cast<unsigned>(i);
      for (const ArgCondition& prev : rule.args) {
        if (prev.index == cond.index) {
          return Err(*idx, "argument " + std::to_string(i) +
                               " is compared twice in one rule; libseccomp allows one comparison per argument, so split it into two rules");
        }
      }
      WARDEN_ASSIGN_OR_RETURN(std::string ops, String(*op, "args op", 16));
      static constexpr std::pair<std::string_view, ArgCondition::Op> kOps[] = {
          {"eq", ArgCondition::Op::kEq}, {"ne", ArgCondition::Op::kNe},
          {"lt", ArgCondition::Op::kLt}, {"le", ArgCondition::Op::kLe},
          {"gt", ArgCondition::Op::kGt}, {"ge", ArgCondition::Op::kGe},
          {"masked_eq", ArgCondition::Op::kMaskedEq}};
      bool found = false;
      for (auto& [name, o] : kOps) {
        if (name == ops) {
          cond.op = o;
          found = true;
        }
      }
      if (!found) return Err(*op, "op \"" + ops + "\" must be one of eq, ne, lt, le, gt, ge, masked_eq");
      WARDEN_ASSIGN_OR_RETURN(cond.value, ArgValue(*val, "args value"));
      const toml::node* mask = ct->get("mask");
      if (cond.op == ArgCondition::Op::kMaskedEq) {
        if (!mask) return Err(c, "op \"masked_eq\" needs mask = ...");
        WARDEN_ASSIGN_OR_RETURN(cond.mask, ArgValue(*mask, "args mask"));
      } else if (mask) {
        return Err(*mask, "mask is only allowed with op = \"masked_eq\"");
      }
      if (rule.action == SeccompAction::kAllow && cond.op != ArgCondition::Op::kEq &&
          cond.op != ArgCondition::Op::kNe && cond.op != ArgCondition::Op::kMaskedEq) {
        return Err(*op, "rules with action = \"allow\" support only eq, ne and masked_eq");
      }
      rule.args.push_back(cond);
    }
  }
  if (rule.action == SeccompAction::kAllow && rule.args.empty()) {
    return Err(n, "an \"allow\" rule needs args; to allow a syscall outright, list it in seccomp.allow");
  }
  st_.p.seccomp.rules.push_back(std::move(rule));
  st_.rules.push_back(std::move(meta));
  return Status::Ok();
}

Status Layer::Network(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[network]"));
  WARDEN_RETURN_IF_ERROR(CheckKeys(*t, "[network]", {"mode", "allow", "dns", "hosts"}));
  NetworkSpec& net = st_.p.network;
  if (const toml::node* v = t->get("mode")) {
    WARDEN_ASSIGN_OR_RETURN(std::string m, String(*v, "network.mode", 16));
    std::optional<NetworkSpec::Mode> mode = ParseNetworkMode(m);
    if (!mode) return Err(*v, "network.mode \"" + m + "\" must be \"none\", \"loopback\" or \"veth\"");
    net.mode = *mode;
  }
  if (const toml::node* v = t->get("allow")) {
    const toml::array* a = v->as_array();
    WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> allow,
                            StringList(*v, "network.allow", kMaxNetworkAllow, 255));
    for (size_t i = 0; i < allow.size(); ++i) {
      // Every entry is parsed here, as a veth run parses it, so that
      // `policy check` refuses what the run would.
      Result<AllowEntry> entry = ParseAllowEntry(allow[i]);
      if (!entry.ok()) {
        return Err(a && a->get(i) ? *a->get(i) : *v, "network." + entry.status().message());
      }
      if (std::find(net.allow.begin(), net.allow.end(), allow[i]) == net.allow.end()) {
        net.allow.push_back(allow[i]);
      }
    }
    if (net.allow.size() > kMaxNetworkAllow) return Err(*v, "network.allow has too many entries");
  }
  if (const toml::node* v = t->get("dns")) {
    WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> dns, StringList(*v, "network.dns", kMaxDns, 64));
    for (const std::string& d : dns) {
      if (!IsIpAddress(d)) return Err(*v, "network.dns entry \"" + d + "\" must be an IPv4 or IPv6 address");
    }
    net.dns = std::move(dns);
  }
  if (const toml::node* v = t->get("hosts")) {
    WARDEN_ASSIGN_OR_RETURN(const toml::table* hosts, Table(*v, "network.hosts"));
    for (auto&& [k, val] : *hosts) {
      std::string name(k.str());
      if (!IsValidHostname(name)) {
        return ErrLoc(LocOf(k.source(), file_), "network.hosts: \"" + name.substr(0, 64) + "\" is not a valid host name");
      }
      WARDEN_ASSIGN_OR_RETURN(std::string addr, String(val, "network.hosts." + name, 64));
      if (!IsIpAddress(addr)) return Err(val, "network.hosts." + name + " must be an IPv4 or IPv6 address");
      net.hosts[name] = addr;
      if (net.hosts.size() > kMaxHosts) return Err(val, "network.hosts has too many entries");
    }
  }
  return Status::Ok();
}

}  // namespace warden::policy
