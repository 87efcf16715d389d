#include "net/rules.h"

#include <algorithm>

#include "net/netlink.h"

namespace warden::net {
namespace {

std::string Daddr(uint32_t address, int prefix_len) {
  return "ip daddr " + Cidr{address, prefix_len}.ToString();
}

// The protocol/port part of a match; "" when the entry covers everything.
std::string L4(AllowRule::Proto proto, uint16_t port) {
  const char* p = proto == AllowRule::Proto::kTcp ? "tcp"
                  : proto == AllowRule::Proto::kUdp ? "udp"
                                                    : nullptr;
  if (port == 0) return p ? std::string(" meta l4proto ") + p : std::string();
  std::string dport = std::to_string(port);
  if (p) return std::string(" ") + p + " dport " + dport;
  return " meta l4proto { tcp, udp } th dport " + dport;
}

}  // namespace

bool Cidr::Contains(uint32_t a) const {
  uint32_t mask = prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
  return (a & mask) == address;
}

std::string Cidr::ToString() const {
  std::string s = nl::FormatIpv4(address);
  if (prefix_len != 32) s += "/" + std::to_string(prefix_len);
  return s;
}

std::string SandboxRuleset(const SandboxRulesInput& in) {
  std::string r;
  r += "table inet " + std::string(kSandboxTable) + " {\n";
  r += "  chain refuse {\n";
  r += "    meta l4proto tcp reject with tcp reset\n";
  r += "    reject with icmpx type admin-prohibited\n";
  r += "  }\n";
  // Nothing may connect in: replies to the job's own connections only.
  r += "  chain input {\n";
  r += "    type filter hook input priority filter; policy drop;\n";
  r += "    iifname \"lo\" accept\n";
  r += "    ct state established,related accept\n";
  r += "  }\n";
  r += "  chain output {\n";
  r += "    type filter hook output priority filter; policy drop;\n";
  r += "    oifname \"lo\" accept\n";
  r += "    ct state established,related accept\n";
  for (uint32_t d : in.dns) {
    r += "    " + Daddr(d, 32) + " meta l4proto { tcp, udp } th dport 53 accept\n";
  }
  for (const AllowRule& a : in.allow) {
    if (a.kind != AllowRule::Kind::kHost) continue;
    r += "    " + Daddr(in.host_end, 32) + L4(a.proto, a.port) + " accept\n";
  }
  // A single address written out is an explicit choice, even when it is one
  // of the host's; wider entries never open the host or other sandboxes.
  for (const AllowRule& a : in.allow) {
    if (a.kind != AllowRule::Kind::kAddress || a.prefix_len != 32) continue;
    r += "    " + Daddr(a.address, 32) + L4(a.proto, a.port) + " accept\n";
  }
  // Link-local (cloud metadata services live at 169.254.169.254) is never a
  // destination a wide entry such as 0.0.0.0/0:80 should open by accident.
  const Cidr link_local{0xa9fe0000, 16};
  std::vector<uint32_t> host;
  for (uint32_t h : in.host_addresses) {
    // Loopback never leaves the job's netns; pool members are covered below.
    if ((h >> 24) == 127 || in.pool.Contains(h) || link_local.Contains(h)) continue;
    host.push_back(h);
  }
  std::sort(host.begin(), host.end());
  host.erase(std::unique(host.begin(), host.end()), host.end());
  std::string blocked = in.pool.ToString();
  if (!link_local.Contains(in.pool.address)) blocked += ", " + link_local.ToString();
  for (uint32_t h : host) blocked += ", " + nl::FormatIpv4(h);
  r += "    ip daddr { " + blocked + " } jump refuse\n";
  for (const AllowRule& a : in.allow) {
    if (a.kind != AllowRule::Kind::kAddress || a.prefix_len == 32) continue;
    r += "    " + Daddr(a.address, a.prefix_len) + L4(a.proto, a.port) + " accept\n";
  }
  r += "    jump refuse\n";
  r += "  }\n";
  r += "}\n";
  return r;
}

std::string HostNatRuleset(const std::string& table, const std::string& comment,
                           const std::string& host_ifname, uint32_t sandbox_address) {
  std::string r;
  r += "table ip " + table + " {\n";
  r += "  comment \"" + SanitizeLabel(comment) + "\"\n";
  r += "  chain postrouting {\n";
  r += "    type nat hook postrouting priority srcnat; policy accept;\n";
  r += "    ip saddr " + nl::FormatIpv4(sandbox_address) + " oifname != \"" + host_ifname +
       "\" masquerade\n";
  r += "  }\n";
  r += "}\n";
  return r;
}

std::string DeleteTableCommands(const std::string& family, const std::string& table) {
  return "add table " + family + " " + table + "\ndelete table " + family + " " + table + "\n";
}

std::string SanitizeLabel(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= 64) break;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '=';
    out += ok ? static_cast<char>(c) : '_';
  }
  return out;
}

}  // namespace warden::net
