// Gc (leftovers of dead owners) and the `warden doctor` checks for networking.
#include <unistd.h>

#include <string>
#include <vector>

#include "base/file.h"
#include "net/lease.h"
#include "net/nat.h"
#include "net/net.h"
#include "net/netlink.h"
#include "net/netns.h"
#include "net/nft.h"
#include "net/rules.h"

namespace warden::net {
namespace {

bool LiveLeaseFor(const std::vector<Lease>& live, pid_t pid, uint32_t slot) {
  for (const Lease& l : live) {
    if (l.owner.pid == pid && l.slot == slot) return true;
  }
  return false;
}

// Owner gone, and no live lease names it. A live pid keeps its things even
// without a lease: it may belong to a process using another state directory.
bool Abandoned(const std::vector<Lease>& live, pid_t pid, uint32_t slot) {
  return !LiveLeaseFor(live, pid, slot) && !PidAlive(pid);
}

}  // namespace

Status Gc(const base::HostConfig& config, std::vector<std::string>* removed) {
  std::vector<std::string> local;
  if (removed == nullptr) removed = &local;
  WARDEN_ASSIGN_OR_RETURN(nl::Socket sock, nl::Socket::Open());
  WARDEN_ASSIGN_OR_RETURN(uint64_t netns_id, CurrentNetnsId());
  std::vector<std::string> reclaimed, nat_removed;
  // The shared NAT table is looked at under the lease lock: a job writes
  // its lease under that lock before it uses the table, so the table is
  // never removed under a job that is starting.
  WARDEN_ASSIGN_OR_RETURN(
      std::vector<Lease> live,
      ReclaimDeadLeases(
          config.net_state_dir, netns_id, [&sock](const Lease& l) { return CleanupLease(sock, l); }, &reclaimed,
          [&](const std::vector<Lease>& leases) {
            return NatGc(leases, netns_id, &nat_removed).Wrap("gc");
          }));
  removed->insert(removed->end(), reclaimed.begin(), reclaimed.end());
  removed->insert(removed->end(), nat_removed.begin(), nat_removed.end());

  Status result;
  WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> links, nl::ListLinkNames(sock));
  for (const std::string& name : links) {
    pid_t pid = 0;
    uint32_t slot = 0;
    if (!ParseIfname(name, &pid, &slot) || !Abandoned(live, pid, slot)) continue;
    Status st = nl::DeleteLink(sock, name);
    if (st.ok()) {
      removed->push_back("link " + name);
    } else if (result.ok()) {
      result = std::move(st);
    }
  }

  Result<std::vector<std::string>> tables = NftListTables(NftFamily::kIp);
  if (!tables.ok()) return tables.take_status().Wrap("gc");
  for (const std::string& name : *tables) {
    pid_t pid = 0;
    uint32_t slot = 0;
    if (!ParseNatTable(name, &pid, &slot) || !Abandoned(live, pid, slot)) continue;
    Status st = NftDeleteTable(NftFamily::kIp, name, "delete nft table ip " + name);
    if (st.ok()) {
      removed->push_back("nft table ip " + name);
    } else if (result.ok()) {
      result = std::move(st);
    }
  }
  return result;
}

base::DoctorChecks DoctorChecks(const base::HostConfig& config) {
  base::DoctorChecks checks;
  const bool root = ::geteuid() == 0;

  base::DoctorCheck veth;
  veth.feature = "network: veth";
  Status st = RunInNewNetns([]() -> Status {
    WARDEN_ASSIGN_OR_RETURN(nl::Socket s, nl::Socket::Open());
    WARDEN_RETURN_IF_ERROR(nl::CreateVeth(s, "warden-probe0", "warden-probe1", ""));
    WARDEN_RETURN_IF_ERROR(nl::AddAddress(s, "warden-probe0", 0x0a000001, 30));
    return nl::SetLinkUp(s, "warden-probe0");
  });
  veth.ok = st.ok();
  veth.detail = st.ok() ? "veth pairs over netlink (libnl-route-3), probed in a scratch netns"
                        : st.ToString();
  veth.fix = root ? "load the veth module (modprobe veth)" : "run warden as root";
  checks.push_back(veth);

  base::DoctorCheck nft;
  nft.feature = "network: nftables";
  st = RunInNewNetns([]() -> Status {
    SandboxRulesInput in;
    in.pool = Cidr{0x0a000000, 16};
    in.host_end = 0x0a000001;
    in.dns = {0x0a000001};
    WARDEN_RETURN_IF_ERROR(NftInstall(SandboxTable(in), "whitelist probe"));
    return NatEnsure(Cidr{0x0a000000, 16});
  });
  nft.ok = st.ok();
  nft.detail = st.ok() ? "nf_tables over netlink (libnftnl): inet filter with conntrack and reject, ip nat masquerade of an address-range set"
                       : st.ToString();
  nft.fix = root ? "enable nf_tables, nf_conntrack, nf_reject and nft_masq in the kernel"
                 : "run warden as root";
  checks.push_back(nft);

  base::DoctorCheck fwd;
  fwd.feature = "network: ip forwarding";
  Result<std::string> v = base::ReadFile("/proc/sys/net/ipv4/ip_forward", 64);
  fwd.ok = v.ok();
  if (v.ok()) {
    bool on = !v->empty() && (*v)[0] == '1';
    fwd.detail = on ? "net.ipv4.ip_forward=1"
                    : "net.ipv4.ip_forward=0; warden sets it to 1 when a veth job allows "
                      "destinations beyond the host";
  } else {
    fwd.detail = v.status().ToString();
  }
  fwd.fix = "check that /proc/sys/net/ipv4/ip_forward is readable";
  checks.push_back(fwd);

  base::DoctorCheck pool;
  pool.feature = "network: address pool";
  Result<Pool> p = PoolFromConfig(config);
  if (!p.ok()) {
    pool.detail = p.status().ToString();
    pool.fix = "set the address pool (WARDEN_NET_POOL) to A.B.C.D/N with N in 12..28";
  } else {
    pool.ok = true;
    pool.detail = p->cidr.ToString() + " (" + std::to_string(p->slots()) +
                  " concurrent veth jobs), state in " + config.net_state_dir;
    Result<nl::Socket> s = nl::Socket::Open();
    Result<std::vector<nl::Ipv4Address>> addrs =
        s.ok() ? nl::ListIpv4Addresses(*s) : Result<std::vector<nl::Ipv4Address>>(s.status());
    std::string overlap = addrs.ok() ? PoolOverlap(*p, *addrs) : "";
    if (!overlap.empty()) {
      pool.ok = false;
      pool.detail = overlap;
      pool.fix = "set the address pool (WARDEN_NET_POOL) to an unused range";
    }
  }
  checks.push_back(pool);
  return checks;
}

}  // namespace warden::net
