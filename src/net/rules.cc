#include "net/rules.h"

#include <linux/netfilter.h>

#include <algorithm>

#include "net/netlink.h"

namespace warden::net {
namespace {

using L4 = NftRule::L4;
using Verdict = NftRule::Verdict;

NftRule::L4 L4Of(AllowRule::Proto proto) {
  switch (proto) {
    case AllowRule::Proto::kTcp: return L4::kTcp;
    case AllowRule::Proto::kUdp: return L4::kUdp;
    case AllowRule::Proto::kAny: break;
  }
  return L4::kAny;
}

// Accepts traffic to `to` for an allow entry's protocol and port: a port
// without a protocol means both TCP and UDP.
NftRule AcceptTo(Cidr to, AllowRule::Proto proto, uint16_t port) {
  NftRule r;
  r.daddr = {to};
  r.l4 = L4Of(proto);
  if (port != 0 && r.l4 == L4::kAny) r.l4 = L4::kTcpUdp;
  r.dport = port;
  return r;
}

NftRule JumpTo(const std::string& chain, std::vector<Cidr> daddr) {
  NftRule r;
  r.daddr = std::move(daddr);
  r.verdict = Verdict::kJump;
  r.jump = chain;
  return r;
}

std::string CidrList(const std::vector<Cidr>& cidrs) {
  if (cidrs.size() == 1) return cidrs[0].ToString();
  std::string s = "{ ";
  for (size_t i = 0; i < cidrs.size(); ++i) s += (i ? ", " : "") + cidrs[i].ToString();
  return s + " }";
}

}  // namespace

const std::vector<Cidr>& NeverDestinations() {
  static const std::vector<Cidr> kNever = {
      Cidr{0x00000000, 8},  // "this network": 0.0.0.0 means the local host
      Cidr{0xe0000000, 4},  // multicast (224.0.0.1 is every host on the link)
      Cidr{0xf0000000, 4},  // reserved, and the limited broadcast 255.255.255.255
  };
  return kNever;
}

std::string NftRuleText(const NftRule& r) {
  std::vector<std::string> parts;
  if (!r.iifname.empty()) parts.push_back("iifname \"" + r.iifname + "\"");
  if (r.ct_established) parts.push_back("ct state established,related");
  if (!r.saddr.empty()) parts.push_back("ip saddr " + CidrList(r.saddr));
  if (!r.saddr_set.empty()) parts.push_back("ip saddr @" + r.saddr_set);
  if (!r.daddr.empty()) parts.push_back("ip daddr " + CidrList(r.daddr));
  if (!r.oifname.empty()) {
    parts.push_back(std::string("oifname ") + (r.oifname_negate ? "!= " : "") + "\"" + r.oifname +
                    "\"");
  }
  const char* proto = r.l4 == L4::kTcp ? "tcp" : r.l4 == L4::kUdp ? "udp" : nullptr;
  if (r.dport != 0 && proto != nullptr) {
    parts.push_back(std::string(proto) + " dport " + std::to_string(r.dport));
  } else if (r.dport != 0) {
    parts.push_back("meta l4proto { tcp, udp } th dport " + std::to_string(r.dport));
  } else if (proto != nullptr) {
    parts.push_back(std::string("meta l4proto ") + proto);
  } else if (r.l4 == L4::kTcpUdp) {
    parts.push_back("meta l4proto { tcp, udp }");
  }
  switch (r.verdict) {
    case Verdict::kAccept: parts.push_back("accept"); break;
    case Verdict::kJump: parts.push_back("jump " + r.jump); break;
    case Verdict::kRejectTcpReset: parts.push_back("reject with tcp reset"); break;
    case Verdict::kRejectAdminProhibited:
      parts.push_back("reject with icmpx type admin-prohibited");
      break;
    case Verdict::kMasquerade: parts.push_back("masquerade"); break;
  }
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? " " : "") + parts[i];
  return s;
}

bool Cidr::Contains(uint32_t a) const {
  uint32_t mask = prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
  return (a & mask) == address;
}

std::string Cidr::ToString() const {
  std::string s = nl::FormatIpv4(address);
  if (prefix_len != 32) s += "/" + std::to_string(prefix_len);
  return s;
}

const NftHookSpec& NftHookOf(NftChain::Hook hook) {
  static const NftHookSpec kInput{"input", "filter", "filter", 0, NF_INET_LOCAL_IN};
  static const NftHookSpec kOutput{"output", "filter", "filter", 0, NF_INET_LOCAL_OUT};
  static const NftHookSpec kPostrouting{"postrouting", "nat", "srcnat", 100, NF_INET_POST_ROUTING};
  switch (hook) {
    case NftChain::Hook::kInput: return kInput;
    case NftChain::Hook::kOutput: return kOutput;
    case NftChain::Hook::kPostrouting:
    case NftChain::Hook::kNone: break;
  }
  return kPostrouting;
}

const char* NftFamilyName(NftFamily family) {
  return family == NftFamily::kIp ? "ip" : "inet";
}

std::string NftText(const NftTable& t) {
  std::string o = "table " + std::string(NftFamilyName(t.family)) + " " + t.name + " {\n";
  if (!t.comment.empty()) o += "  comment \"" + t.comment + "\"\n";
  for (const NftSet& s : t.sets) {
    o += "  set " + s.name + " {\n    type ipv4_addr\n    flags interval\n  }\n";
  }
  for (const NftChain& c : t.chains) {
    o += "  chain " + c.name + " {\n";
    if (c.hook != NftChain::Hook::kNone) {
      const NftHookSpec& h = NftHookOf(c.hook);
      o += std::string("    type ") + h.type + " hook " + h.hook + " priority " + h.priority +
           "; policy " + (c.policy_drop ? "drop" : "accept") + ";\n";
    }
    for (const NftRule& r : c.rules) o += "    " + NftRuleText(r) + "\n";
    o += "  }\n";
  }
  return o + "}\n";
}

NftTable SandboxTable(const SandboxRulesInput& in) {
  NftTable t;
  t.family = NftFamily::kInet;
  t.name = kSandboxTable;

  NftChain refuse{"refuse", NftChain::Hook::kNone, false, {}};
  NftRule reset;
  reset.l4 = L4::kTcp;
  reset.verdict = Verdict::kRejectTcpReset;
  refuse.rules.push_back(reset);
  NftRule prohibit;
  prohibit.verdict = Verdict::kRejectAdminProhibited;
  refuse.rules.push_back(prohibit);

  // Nothing may connect in: replies to the job's own connections only.
  NftRule replies;
  replies.ct_established = true;
  NftChain input{"input", NftChain::Hook::kInput, true, {}};
  NftRule from_lo;
  from_lo.iifname = "lo";
  input.rules = {from_lo, replies};

  NftChain output{"output", NftChain::Hook::kOutput, true, {}};
  NftRule to_lo;
  to_lo.oifname = "lo";
  output.rules = {to_lo, replies};
  // Broadcast, multicast and the reserved ranges reach every listener on
  // the link (the host's among them, bound to 0.0.0.0) and are never a
  // destination: refused before any entry, whatever the allow list says.
  output.rules.push_back(JumpTo("refuse", NeverDestinations()));
  for (uint32_t d : in.dns) {
    output.rules.push_back(AcceptTo(Cidr{d, 32}, AllowRule::Proto::kAny, 53));
  }
  // host:PORT is the one way to the host.
  for (const AllowRule& a : in.allow) {
    if (a.kind != AllowRule::Kind::kHost) continue;
    output.rules.push_back(AcceptTo(Cidr{in.host_end, 32}, a.proto, a.port));
  }
  // Every other address of the host (and of the pool: the host ends and the
  // other sandboxes) is refused before any entry, even a single address
  // written out.
  const Cidr link_local{0xa9fe0000, 16};
  std::vector<uint32_t> host;
  for (uint32_t h : in.host_addresses) {
    // Loopback never leaves the job's netns; pool members are covered by the
    // pool, and the never-destinations above.
    if ((h >> 24) == 127 || in.pool.Contains(h)) continue;
    bool never = false;
    for (const Cidr& c : NeverDestinations()) never |= c.Contains(h);
    if (!never) host.push_back(h);
  }
  std::sort(host.begin(), host.end());
  host.erase(std::unique(host.begin(), host.end()), host.end());
  std::vector<Cidr> blocked = {in.pool};
  for (uint32_t h : host) blocked.push_back(Cidr{h, 32});
  output.rules.push_back(JumpTo("refuse", blocked));
  // A single address written out is an explicit choice.
  for (const AllowRule& a : in.allow) {
    if (a.kind != AllowRule::Kind::kAddress || a.prefix_len != 32) continue;
    output.rules.push_back(AcceptTo(Cidr{a.address, 32}, a.proto, a.port));
  }
  // Link-local (cloud metadata services live at 169.254.169.254) is never a
  // destination a wide entry such as 0.0.0.0/0:80 should open by accident.
  if (!link_local.Contains(in.pool.address)) {
    output.rules.push_back(JumpTo("refuse", {link_local}));
  }
  for (const AllowRule& a : in.allow) {
    if (a.kind != AllowRule::Kind::kAddress || a.prefix_len == 32) continue;
    output.rules.push_back(AcceptTo(Cidr{a.address, a.prefix_len}, a.proto, a.port));
  }
  output.rules.push_back(JumpTo("refuse", {}));

  t.chains = {std::move(refuse), std::move(input), std::move(output)};
  return t;
}

std::string SandboxRuleset(const SandboxRulesInput& in) { return NftText(SandboxTable(in)); }

NftTable SharedNatTable() {
  NftTable t;
  t.family = NftFamily::kIp;
  t.name = kNatTable;
  t.comment = "warden-masquerade-for-veth-jobs-removed-by-warden-gc";
  t.sets = {NftSet{kNatPoolSet}};
  t.flush_chains = true;
  NftRule masq;
  // Only what came in through a warden veth, from a pool, and leaves
  // through another of the host's interfaces is rewritten: the host's own
  // traffic is never touched (not even from a range that was once a pool),
  // and neither is traffic between jobs.
  masq.iifname = "wd*";
  masq.saddr_set = kNatPoolSet;
  masq.oifname = "wd*";
  masq.oifname_negate = true;
  masq.verdict = Verdict::kMasquerade;
  t.chains = {NftChain{"postrouting", NftChain::Hook::kPostrouting, false, {masq}}};
  return t;
}

std::string SharedNatRuleset() { return NftText(SharedNatTable()); }

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
