// The host's shared NAT table (rules.h SharedNatTable): one per netns, for
// every veth job whose allow list reaches beyond the host.
//
// A table per job cost each such job nf_tables' RCU synchronisation when it
// was deleted (about 7 ms on an idle host). Deleting a set element costs the
// same grace period on this kernel, so jobs do not add and remove elements
// of their own either: the table masquerades the whole address pool, and a
// job's own work on it is one add-only transaction that ensures the pool is
// there (about 0.1 ms, no grace period). What each job may reach stays
// decided by the whitelist in its own netns.
//
// Lifecycle, all in the netns of the calling thread:
//   - a job records in its lease (Lease::shared_nat), under the lease lock,
//     that it uses the table BEFORE it calls NatEnsure, and its lease is
//     removed only after the job is over;
//   - NatEnsure adds the pool to the table's set; when the table is missing,
//     it creates it in one transaction that makes what is missing, flushes
//     the chain and adds the rule again (so concurrent creators leave one
//     rule), and adds the pool;
//   - NatGc, under the lease lock, deletes the table when no live lease of
//     this netns uses it. A starting job writes its lease under that lock
//     first, so gc never removes the table under a job that is starting or
//     running. (A job under another WARDEN_NET_DIR is not seen: jobs on one
//     host share one state directory, /run/warden/net by default.)
// A warden killed mid-job leaves nothing per job in the table: its lease
// (and link) are reclaimed as before, and then gc can remove the table.
#ifndef WARDEN_NET_NAT_H_
#define WARDEN_NET_NAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "net/lease.h"
#include "net/rules.h"
#include "warden/status.h"

namespace warden::net {

// Makes sure the shared table exists and masquerades `pool`. Errors from
// nf_tables name the operation.
Status NatEnsure(const Cidr& pool);

// Gc's part, to be called under the lease lock with the live leases:
// deletes the shared table of this netns (`netns_id`) when it exists and no
// live lease of this netns uses it. Appends "nft table ip warden_nat" to
// *removed when it does.
Status NatGc(const std::vector<Lease>& live, uint64_t netns_id,
             std::vector<std::string>* removed);

}  // namespace warden::net

#endif  // WARDEN_NET_NAT_H_
