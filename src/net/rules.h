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

// Name of the whitelist table inside the job's netns ("inet warden").
inline constexpr const char* kSandboxTable = "warden";

// The whitelist, for the job's netns. Order of the output chain:
// loopback and replies; resolvers; host:PORT; single-address (/32) entries;
// refuse the host's own addresses, the pool and 169.254.0.0/16; wider entries; refuse all
// else (TCP reset, ICMP admin-prohibited, so callers fail fast).
std::string SandboxRuleset(const SandboxRulesInput& in);

// Host table masquerading the sandbox's traffic that leaves the host.
std::string HostNatRuleset(const std::string& table, const std::string& comment,
                           const std::string& host_ifname, uint32_t sandbox_address);

// Deletes a table whether or not it exists (one transaction).
std::string DeleteTableCommands(const std::string& family, const std::string& table);

// Keeps [A-Za-z0-9._-], at most 64 bytes: text safe inside nft quotes,
// link aliases and lease files.
std::string SanitizeLabel(const std::string& s);

}  // namespace warden::net

#endif  // WARDEN_NET_RULES_H_
