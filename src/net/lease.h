// Address leases: which /30 of the pool belongs to which warden process.
//
// State lives in a directory the caller names (HostConfig::net_state_dir,
// default /run/warden/net): a `lock` file
// taken with flock() around every change, and one file per lease in
// `leases/<slot>` (key=value lines). Leases are written before the things
// they name are created and removed after those are gone, so a crash at any
// point leaves a lease that Gc or the next Acquire can follow to the
// leftovers. Owners are identified by pid and process start time, so a
// reused pid does not keep a dead owner's lease alive.
#ifndef WARDEN_NET_LEASE_H_
#define WARDEN_NET_LEASE_H_

#include <dirent.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/host_config.h"
#include "base/owner.h"
#include "net/netlink.h"
#include "net/rules.h"
#include "warden/status.h"

namespace warden::net {

// The names in the open directory `d` (`dir` names it in errors), without
// "." and "..": kIoError-like errno status when readdir fails,
// kResourceExhausted past the lease limit.
Result<std::vector<std::string>> ReadLeaseNames(DIR* d, const std::string& dir);

// Owners of leases (base/owner.h), named here for the network's callers.
using base::Owner;
using base::OwnerAlive;
using base::PidAlive;
using base::SelfOwner;

struct Pool {
  Cidr cidr;
  uint32_t slots() const { return uint32_t{1} << (32 - cidr.prefix_len - 2); }
  uint32_t HostEnd(uint32_t slot) const { return cidr.address + slot * 4 + 1; }
  uint32_t SandboxEnd(uint32_t slot) const { return cidr.address + slot * 4 + 2; }
  // The slot whose /30 holds `address` (which must be in the pool).
  uint32_t SlotOf(uint32_t address) const { return (address - cidr.address) / 4; }
};
inline constexpr const char* kDefaultPool = "10.213.0.0/16";
// Parses "A.B.C.D/N" with N in 12..28; kInvalidArgument names the value.
Result<Pool> ParsePool(const std::string& text);
// config.net_pool, or kDefaultPool when it is empty.
Result<Pool> PoolFromConfig(const base::HostConfig& config);
// The pool must be warden's alone: another interface in it would make the
// sandbox's routes (and the host block list) wrong. Describes the first of
// `addrs` in the pool that is not on a warden link, as "POOL overlaps ADDR on
// IFNAME"; "" when there is none.
std::string PoolOverlap(const Pool& pool, const std::vector<nl::Ipv4Address>& addrs);

struct Lease {
  uint32_t slot = 0;
  Owner owner;
  uint64_t netns_id = 0;  // inode of the netns holding the links and tables
  // The job's traffic leaves the host through the shared NAT table (nat.h),
  // which gc keeps while this lease lives.
  bool shared_nat = false;
  // A NAT table of its own, NatTable(): what wardens made before the shared
  // table. Read from leases such a warden left behind, never written.
  bool nat = false;
  std::string job_id;

  // Names derived from owner and slot (at most 15 bytes for links).
  std::string HostIfname() const;
  std::string PeerIfname() const;
  std::string NatTable() const;
};

// Parses a link name "wd<pid:6 hex><slot:5 hex><0|1>"; false if not ours.
bool ParseIfname(const std::string& name, pid_t* pid, uint32_t* slot);
// Parses a table name "warden_<pid>_<slot>"; false if not ours.
bool ParseNatTable(const std::string& name, pid_t* pid, uint32_t* slot);

// Called under the lock for each dead lease in this netns: remove its link
// and table. On error the lease stays (its slot is not reused).
using CleanupFn = std::function<Status(const Lease&)>;

// The usual CleanupFn: deletes the lease's link (the host end of a veth;
// the peer goes with it) and an old-style NAT table, in the netns of
// `sock`, which must be the calling thread's. (The shared NAT table holds
// nothing per job: NatGc decides about it.)
Status CleanupLease(const nl::Socket& sock, const Lease& lease);

// What the caller learns about the host while it holds the lease lock.
struct HostSlots {
  std::vector<uint32_t> busy;  // slots held by no lease but still on a link
  bool nat = false;            // the job's traffic leaves the host (shared_nat)
};
using HostScanFn = std::function<Result<HostSlots>()>;

// Every function below works on the leases in `state_dir`.

// Takes the lowest free slot for the calling process. Under the lock, dead
// owners' leases are cleaned up and freed first (their descriptions are
// appended to *reclaimed when it is not null), then `scan_host` says which
// slots are still busy and whether the lease needs NAT.
Result<Lease> AcquireLease(const std::string& state_dir, const Pool& pool, uint64_t netns_id,
                           const std::string& job_id, const CleanupFn& cleanup,
                           const HostScanFn& scan_host, std::vector<std::string>* reclaimed);
// Removes a lease file (missing is fine).
Status RemoveLease(const std::string& state_dir, uint32_t slot);

// Cleans up and removes every dead owner's lease (as AcquireLease does on
// its way) and returns the live ones, for Gc's scan of links and tables.
// `under_lock`, when given, is called with the live leases before the lock
// is dropped: no lease can be taken while it runs.
using UnderLockFn = std::function<Status(const std::vector<Lease>& live)>;
Result<std::vector<Lease>> ReclaimDeadLeases(const std::string& state_dir, uint64_t netns_id,
                                             const CleanupFn& cleanup,
                                             std::vector<std::string>* reclaimed,
                                             const UnderLockFn& under_lock = nullptr);

}  // namespace warden::net

#endif  // WARDEN_NET_LEASE_H_
