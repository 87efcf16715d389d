// nftables over netlink (libnftnl + libmnl): installs, deletes and lists
// tables in the calling thread's netns (use RunInNetns to target another
// one). Each change is one nf_tables transaction: it applies whole or not at
// all. No nft text is parsed and no ruleset cache is fetched, which is what
// made libnftables cost several milliseconds per call.
#ifndef WARDEN_NET_NFT_H_
#define WARDEN_NET_NFT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "net/rules.h"
#include "warden/status.h"

namespace warden::net {

// Creates `table` (kept if it exists) with its chains and rules. `what`
// names the operation in errors. kPermissionDenied without CAP_NET_ADMIN.
Status NftInstall(const NftTable& table, const std::string& what);

// NftInstall, then `cidrs` added to the table's set `set`, all in one
// transaction.
Status NftInstallWithIntervals(const NftTable& table, const std::string& set,
                               const std::vector<Cidr>& cidrs, const std::string& what);

// Adds CIDRs to a set; those already in it are no error. Only adds, so it
// costs no RCU grace period (deleting an element, like deleting a table,
// waits for one: ~7-15 ms here). A missing table or set is an error with
// errno ENOENT (code kNotFound).
Status NftAddIntervals(NftFamily family, const std::string& table, const std::string& set,
                       const std::vector<Cidr>& cidrs, const std::string& what);

// Deletes a table and everything in it; a missing table is fine.
Status NftDeleteTable(NftFamily family, const std::string& name, const std::string& what);

// The names of the tables of `family`.
Result<std::vector<std::string>> NftListTables(NftFamily family);

}  // namespace warden::net

#endif  // WARDEN_NET_NFT_H_
