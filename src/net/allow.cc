// ParseAllow, ResolvConf, HostsFile: the text side of the network policy.
#include <cstdlib>
#include <string>
#include <vector>

#include "base/log.h"
#include "net/net.h"
#include "net/netlink.h"

namespace warden::net {
namespace {

Status Bad(const std::string& entry, const std::string& why) {
  return Status::Error(Code::kInvalidArgument, "allow entry \"" + entry + "\": " + why);
}

// Strict decimal parse: digits only, value within [lo, hi].
bool ParseNumber(const std::string& s, long lo, long hi, long* out) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  long v = std::strtol(s.c_str(), nullptr, 10);
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

Result<AllowRule> ParseOne(const std::string& entry) {
  if (entry.empty()) return Bad(entry, "empty entry");
  if (entry.size() > kMaxAllowEntryBytes) {
    return Bad(entry.substr(0, kMaxAllowEntryBytes) + "...",
               "longer than " + std::to_string(kMaxAllowEntryBytes) + " bytes");
  }
  AllowRule rule;
  rule.text = entry;
  std::string rest = entry;
  auto ends_with = [&](const char* suffix) {
    std::string sfx(suffix);
    return rest.size() > sfx.size() && rest.compare(rest.size() - sfx.size(), sfx.size(), sfx) == 0;
  };
  if (ends_with("/tcp")) {
    rule.proto = AllowRule::Proto::kTcp;
    rest.resize(rest.size() - 4);
  } else if (ends_with("/udp")) {
    rule.proto = AllowRule::Proto::kUdp;
    rest.resize(rest.size() - 4);
  }
  size_t colon = rest.find(':');
  if (colon != std::string::npos) {
    if (rest.find(':', colon + 1) != std::string::npos) {
      return Bad(entry, "more than one ':' (IPv6 destinations are not supported)");
    }
    long port = 0;
    if (!ParseNumber(rest.substr(colon + 1), 1, 65535, &port)) {
      return Bad(entry, "port \"" + rest.substr(colon + 1) + "\" is not a number in 1..65535");
    }
    rule.port = static_cast<uint16_t>(port);
    rest.resize(colon);
  }
  if (rest == "host") {
    if (rule.port == 0) return Bad(entry, "\"host\" needs a port: host:PORT");
    rule.kind = AllowRule::Kind::kHost;
    return rule;
  }
  size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    long prefix = 0;
    if (!ParseNumber(rest.substr(slash + 1), 0, 32, &prefix)) {
      return Bad(entry, "prefix \"/" + rest.substr(slash + 1) +
                            "\" is not a number in 0..32 (or a protocol other than tcp/udp)");
    }
    rule.prefix_len = static_cast<int>(prefix);
    rest.resize(slash);
  }
  Result<uint32_t> addr = nl::ParseIpv4(rest);
  if (!addr.ok()) {
    return Bad(entry, "\"" + rest + "\" is not an IPv4 address (expected ADDR[/PREFIX][:PORT]"
                      "[/tcp|/udp] or host:PORT)");
  }
  uint32_t mask = rule.prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - rule.prefix_len);
  if ((*addr & ~mask) != 0) {
    return Bad(entry, "address has bits set beyond the prefix (did you mean " +
                          nl::FormatIpv4(*addr & mask) + "/" + std::to_string(rule.prefix_len) +
                          "?)");
  }
  rule.address = *addr;
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
