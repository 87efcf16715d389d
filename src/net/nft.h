// nftables over netlink (libnftnl + libmnl): installs, deletes and lists
// tables in the calling thread's netns (use RunInNetns to target another
// one). Each change is one nf_tables transaction: it applies whole or not at
// all. No nft text is parsed and no ruleset cache is fetched, which is what
// made libnftables cost several milliseconds per call.
#ifndef WARDEN_NET_NFT_H_
#define WARDEN_NET_NFT_H_

#include <string>
#include <vector>

#include "net/rules.h"
#include "warden/status.h"

namespace warden::net {

// Creates `table` (kept if it exists) with its chains and rules. `what`
// names the operation in errors. kPermissionDenied without CAP_NET_ADMIN.
Status NftInstall(const NftTable& table, const std::string& what);

// Deletes a table and everything in it; a missing table is fine.
Status NftDeleteTable(NftFamily family, const std::string& name, const std::string& what);

// The names of the tables of `family`.
Result<std::vector<std::string>> NftListTables(NftFamily family);

}  // namespace warden::net

#endif  // WARDEN_NET_NFT_H_
