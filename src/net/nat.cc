#include "net/nat.h"

#include <algorithm>
#include <cerrno>

#include "net/nft.h"

namespace warden::net {

Status NatEnsure(const Cidr& pool) {
  const std::string what = "add " + pool.ToString() + " to nft set ip " + kNatTable + " " +
                           kNatPoolSet;
  // The usual case: the table is there (with the pool), and nothing changes.
  Status st = NftAddIntervals(NftFamily::kIp, kNatTable, kNatPoolSet, {pool}, what);
  if (st.ok() || st.err() != ENOENT) return st;
  // The first job (or the first since gc): the table with the pool, in one
  // transaction that a concurrent creator cannot double.
  return NftInstallWithIntervals(SharedNatTable(), kNatPoolSet, {pool},
                                 "create nft table ip " + std::string(kNatTable) + " for " +
                                     pool.ToString());
}

Status NatGc(const std::vector<Lease>& live, uint64_t netns_id,
             std::vector<std::string>* removed) {
  for (const Lease& l : live) {
    if (l.netns_id == netns_id && l.shared_nat) return Status::Ok();
  }
  WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> tables, NftListTables(NftFamily::kIp));
  if (std::find(tables.begin(), tables.end(), kNatTable) == tables.end()) return Status::Ok();
  // Deleting the table costs an RCU grace period: paid here, once, rather
  // than by every job.
  WARDEN_RETURN_IF_ERROR(NftDeleteTable(NftFamily::kIp, kNatTable,
                                        "delete nft table ip " + std::string(kNatTable)));
  removed->push_back("nft table ip " + std::string(kNatTable));
  return Status::Ok();
}

}  // namespace warden::net
