// ParseAllow, ResolvConf, HostsFile: the text side of the network policy.
#include <string>
#include <vector>

#include "base/log.h"
#include "net/net.h"
#include "policy_data/parse_util.h"

namespace warden::net {
namespace {

// The grammar is the policy loader's (policy::ParseAllowEntry), so an entry
// that `warden policy check` accepts is one that a veth run accepts.
Result<AllowRule> ParseOne(const std::string& entry) {
  WARDEN_ASSIGN_OR_RETURN(policy::AllowEntry e, policy::ParseAllowEntry(entry));
  AllowRule rule;
  rule.kind = e.host ? AllowRule::Kind::kHost : AllowRule::Kind::kAddress;
  rule.address = e.address;
  rule.prefix_len = e.prefix_len;
  rule.port = e.port;
  switch (e.proto) {
    case policy::AllowEntry::Proto::kAny: rule.proto = AllowRule::Proto::kAny; break;
    case policy::AllowEntry::Proto::kTcp: rule.proto = AllowRule::Proto::kTcp; break;
    case policy::AllowEntry::Proto::kUdp: rule.proto = AllowRule::Proto::kUdp; break;
  }
  rule.text = entry;
  return rule;
}

// Host names and addresses go into /etc/hosts verbatim: allow only what a
// name or an address can contain, so an entry cannot add lines of its own.
bool SafeHostsToken(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (unsigned char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<AllowRule>> ParseAllow(const std::vector<std::string>& dests) {
  if (dests.size() > kMaxAllowRules) {
    return Status::Error(Code::kInvalidArgument,
                         "too many allow entries: " + std::to_string(dests.size()) +
                             " (at most " + std::to_string(kMaxAllowRules) + ")");
  }
  std::vector<AllowRule> rules;
  rules.reserve(dests.size());
  for (const std::string& d : dests) {
    WARDEN_ASSIGN_OR_RETURN(AllowRule r, ParseOne(d));
    rules.push_back(std::move(r));
  }
  return rules;
}

std::string ResolvConf(const NetworkSpec& spec) {
  std::string out;
  for (const std::string& server : spec.dns) {
    if (!SafeHostsToken(server)) {
      WLOG_WARN("", "resolv.conf: skipping unsafe resolver entry");
      continue;
    }
    out += "nameserver " + server + "\n";
  }
  return out;
}

std::string HostsFile(const NetworkSpec& spec, const std::string& host_address) {
  std::string out =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n";
  size_t count = 0;
  for (const auto& [name, address] : spec.hosts) {
    if (count++ >= kMaxHostsEntries) break;
    // In veth mode "host" always means the host end of the veth.
    if (!host_address.empty() && name == "host") continue;
    if (!SafeHostsToken(name) || !SafeHostsToken(address)) {
      WLOG_WARN("", "hosts: skipping unsafe entry");
      continue;
    }
    out += address + "\t" + name + "\n";
  }
  if (!host_address.empty() && SafeHostsToken(host_address)) {
    out += host_address + "\thost\n";
  }
  return out;
}

}  // namespace warden::net
