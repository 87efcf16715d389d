// nft ruleset text for the two tables a veth session installs. Pure
// functions, so the exact rules can be unit-tested without root.
#ifndef WARDEN_NET_RULES_H_
#define WARDEN_NET_RULES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "net/net.h"

namespace warden::net {

struct Cidr {
  uint32_t address = 0;  // host byte order, no bits beyond prefix_len
  int prefix_len = 32;
  bool Contains(uint32_t a) const;
  std::string ToString() const;
};

struct SandboxRulesInput {
  std::vector<AllowRule> allow;
  std::vector<uint32_t> dns;      // resolvers: port 53 tcp+udp allowed
  uint32_t host_end = 0;          // target of "host:PORT" rules
  Cidr pool;                      // every sandbox and host end address
  std::vector<uint32_t> host_addresses;  // the host's own addresses
};

// An nftables table as data. rules.cc builds the two tables a veth session
// installs; nft.cc encodes one as a single nf_tables netlink transaction
// (libnftnl) and NftText renders it in nft syntax for messages and tests.
enum class NftFamily { kIp, kInet };

struct NftRule {
  enum class L4 { kAny, kTcp, kUdp, kTcpUdp };
  enum class Verdict { kAccept, kJump, kRejectTcpReset, kRejectAdminProhibited, kMasquerade };
  std::string iifname;          // "" = any; a trailing '*' matches a prefix
  std::string oifname;          // "" = any; a trailing '*' matches a prefix ("wd*")
  bool oifname_negate = false;  // oifname != ...
  bool ct_established = false;  // ct state established,related
  std::vector<Cidr> saddr;      // any of them; empty = any
  std::string saddr_set;        // "ip saddr @NAME": a set of the same table; "" = none
  std::vector<Cidr> daddr;      // any of them; empty = any
  L4 l4 = L4::kAny;
  uint16_t dport = 0;           // 0 = any; needs l4 != kAny
  Verdict verdict = Verdict::kAccept;
  std::string jump;             // the target chain of kJump
};

struct NftChain {
  // Base chains hook into the stack; a regular chain (kNone) is only jumped
  // to. The hook decides the rest (NftHookOf).
  enum class Hook { kNone, kInput, kOutput, kPostrouting };
  std::string name;
  Hook hook = Hook::kNone;
  bool policy_drop = false;  // base chains: what happens to unmatched packets
  std::vector<NftRule> rules;
};

// What a base chain's hook implies, in nft words and kernel numbers. warden
// needs filter chains on input and output and a source-NAT chain on
// postrouting, nothing else.
struct NftHookSpec {
  const char* hook;       // "input"
  const char* type;       // "filter" or "nat"
  const char* priority;   // "filter" or "srcnat"
  int priority_value;     // 0 or 100
  uint32_t hooknum;       // NF_INET_*
};
// Not for Hook::kNone.
const NftHookSpec& NftHookOf(NftChain::Hook hook);

// A named set of IPv4 address ranges (an interval set). Its elements are
// data, added apart from the table (nft.h).
struct NftSet {
  std::string name;
};

struct NftTable {
  NftFamily family = NftFamily::kInet;
  std::string name;
  std::string comment;  // SanitizeLabel'ed
  std::vector<NftSet> sets;
  std::vector<NftChain> chains;
  // Shared tables live on while processes come and go, and several may
  // install one at once: each install flushes the chains' rules and adds
  // them again in the same transaction, so the table ends with one copy of
  // them whoever installs it, and existing set elements are kept.
  bool flush_chains = false;
};

// "ip" or "inet".
const char* NftFamilyName(NftFamily family);
// One rule in nft syntax ("ip daddr 10.0.0.1 tcp dport 80 accept").
std::string NftRuleText(const NftRule& rule);
// The table in nft syntax (what `nft -f` would take).
std::string NftText(const NftTable& table);

// Name of the whitelist table inside the job's netns ("inet warden").
inline constexpr const char* kSandboxTable = "warden";

// Destinations no allow entry opens: 0.0.0.0/8, multicast 224.0.0.0/4 and
// 240.0.0.0/4 with the limited broadcast 255.255.255.255.
const std::vector<Cidr>& NeverDestinations();

// The whitelist, for the job's netns. Order of the output chain:
// loopback and replies; refuse NeverDestinations(); resolvers; host:PORT;
// refuse the pool and the host's own addresses (in.host_addresses, which
// should include the broadcast addresses of the host's subnets);
// single-address (/32) entries; refuse 169.254.0.0/16; wider entries; refuse
// all else (TCP reset, ICMP admin-prohibited, so callers fail fast).
NftTable SandboxTable(const SandboxRulesInput& in);
std::string SandboxRuleset(const SandboxRulesInput& in);  // NftText of it

// The host's NAT table, one for every veth job (and every warden process)
// in a netns: it masquerades packets that come in through a warden veth
// ("wd*") from the address pools in its set kNatPoolSet, and leave through
// another interface. It is created on first need, and removed by `warden gc` once no
// job uses it (nat.h). Only masquerading happens here: each job's egress
// whitelist lives in its own netns (SandboxTable) and refuses everything
// beyond the host that the job's allow list does not name, so masquerading
// the whole pool gives no job a destination it was not allowed.
inline constexpr const char* kNatTable = "warden_nat";
inline constexpr const char* kNatPoolSet = "pools";
NftTable SharedNatTable();
std::string SharedNatRuleset();  // NftText of it

// Keeps [A-Za-z0-9._-], at most 64 bytes: text safe inside nft quotes,
// link aliases and lease files.
std::string SanitizeLabel(const std::string& s);

}  // namespace warden::net

#endif  // WARDEN_NET_RULES_H_
