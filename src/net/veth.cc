// VethSession: one job's veth pair, addresses, whitelist and NAT.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>

#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "net/lease.h"
#include "net/nat.h"
#include "net/net.h"
#include "net/netlink.h"
#include "net/netns.h"
#include "net/nft.h"
#include "net/rules.h"

namespace warden::net {
namespace {

constexpr const char* kSandboxIfname = "eth0";
constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";

uint64_t ElapsedUs(std::chrono::steady_clock::time_point since) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - since)
                                   .count());
}

bool IsHostAddress(const std::vector<uint32_t>& host, uint32_t a) {
  for (uint32_t h : host) {
    if (h == a) return true;
  }
  return false;
}

// True once the process behind `pidfd` has exited.
bool Exited(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

}  // namespace

struct VethSession::Impl {
  std::string job_id;
  std::string state_dir;  // the lease's directory, for Release
  Pool pool;
  Lease lease;
  nl::Socket sock;            // bound to the host netns for its whole life
  base::UniqueFd host_netns;  // for nft calls made from other threads
  uint64_t host_netns_id = 0;
  SandboxRulesInput rules;
  std::string alias;  // "warden job=<id> owner=<pid>": link ifalias, table comment
  bool lease_held = false;
  bool link_created = false;

  bool attached = false;
  base::UniqueFd job_pidfd;  // the job's init, to know when its netns dies

  // Runs fn in the host netns: directly when the calling thread is there.
  Status InHostNetns(const std::function<Status()>& fn) {
    Result<uint64_t> here = CurrentNetnsId();
    if (here.ok() && *here == host_netns_id) return fn();
    return RunInNetns(host_netns.get(), fn);
  }
};

VethSession::VethSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

VethSession::~VethSession() {
  Status st = Release();
  if (!st.ok()) WLOG_ERROR(impl_->job_id, "network release: " + st.ToString());
}

Result<std::unique_ptr<VethSession>> VethSession::Prepare(const NetworkSpec& spec,
                                                          const std::string& job_id,
                                                          const base::HostConfig& config,
                                                          std::vector<std::string>* warnings) {
  using Clock = std::chrono::steady_clock;
  auto impl = std::make_unique<Impl>();
  impl->job_id = job_id;
  impl->state_dir = config.net_state_dir;
  WARDEN_ASSIGN_OR_RETURN(impl->rules.allow, ParseAllow(spec.allow));
  if (spec.dns.size() > kMaxDnsServers) {
    return Status::Error(Code::kInvalidArgument,
                         "too many dns servers: " + std::to_string(spec.dns.size()) +
                             " (at most " + std::to_string(kMaxDnsServers) + ")");
  }
  for (const std::string& d : spec.dns) {
    Result<uint32_t> a = nl::ParseIpv4(d);
    if (!a.ok()) return a.take_status().Wrap("dns server");
    impl->rules.dns.push_back(*a);
  }
  WARDEN_ASSIGN_OR_RETURN(impl->pool, PoolFromConfig(config));
  impl->rules.pool = impl->pool.cidr;

  VethTimings t;
  auto start = Clock::now();
  WARDEN_ASSIGN_OR_RETURN(impl->sock, nl::Socket::Open());
  WARDEN_ASSIGN_OR_RETURN(impl->host_netns, OpenCurrentNetns());
  WARDEN_ASSIGN_OR_RETURN(impl->host_netns_id, CurrentNetnsId());
  t.prepare_netlink_us = ElapsedUs(start);

  // Under the lease lock, after dead owners' pairs are gone: one address
  // dump gives the host's addresses (blocked unless allowed, and whether
  // traffic leaves the host) and the pool slots still on a link (a finished
  // job's pair the kernel is tearing down, see Release), kept out of the
  // new lease.
  start = Clock::now();
  const nl::Socket& sock = impl->sock;
  SandboxRulesInput& rules = impl->rules;
  const Pool& pool = impl->pool;
  auto scan_host = [&sock, &rules, &pool]() -> Result<HostSlots> {
    WARDEN_ASSIGN_OR_RETURN(std::vector<nl::Ipv4Address> host_addrs,
                            nl::ListIpv4Addresses(sock));
    std::string overlap = PoolOverlap(pool, host_addrs);
    if (!overlap.empty()) {
      return Status::Error(Code::kFailedPrecondition,
                           "address pool " + overlap + "; set WARDEN_NET_POOL to an unused range");
    }
    HostSlots out;
    rules.host_addresses.clear();
    for (const nl::Ipv4Address& a : host_addrs) {
      rules.host_addresses.push_back(a.address);
      // The host also takes its subnets' broadcast addresses as its own.
      if (a.prefix_len > 0 && a.prefix_len < 31) {
        rules.host_addresses.push_back(a.address | (~uint32_t{0} >> a.prefix_len));
      }
      if (pool.cidr.Contains(a.address)) out.busy.push_back(pool.SlotOf(a.address));
    }
    // A single host address in the allow list would be refused by the
    // whitelist: say so rather than run a job that cannot reach it.
    for (const AllowRule& r : rules.allow) {
      if (r.kind == AllowRule::Kind::kAddress && r.prefix_len == 32 &&
          IsHostAddress(rules.host_addresses, r.address)) {
        return Status::Error(Code::kInvalidArgument,
                             "allow entry \"" + r.text + "\" is an address of this host; "
                             "the host is reached only through host:PORT entries");
      }
    }
    // Traffic leaves the host (and needs forwarding and NAT) unless every
    // allowed destination is one of the host's own addresses.
    for (const AllowRule& r : rules.allow) {
      if (r.kind == AllowRule::Kind::kAddress) out.nat = true;
    }
    for (uint32_t d : rules.dns) {
      if (!IsHostAddress(rules.host_addresses, d)) out.nat = true;
    }
    return out;
  };
  WARDEN_ASSIGN_OR_RETURN(
      impl->lease, AcquireLease(impl->state_dir, pool, impl->host_netns_id, job_id,
                                [&sock](const Lease& l) { return CleanupLease(sock, l); },
                                scan_host, nullptr));
  impl->lease_held = true;
  t.prepare_lease_us = ElapsedUs(start);

  const Lease& lease = impl->lease;
  uint32_t host_end = impl->pool.HostEnd(lease.slot);
  impl->rules.host_end = host_end;
  impl->alias =
      "warden job=" + SanitizeLabel(job_id) + " owner=" + std::to_string(lease.owner.pid);
  std::unique_ptr<VethSession> session(new VethSession(std::move(impl)));
  session->host_address_ = nl::FormatIpv4(host_end);
  session->sandbox_address_ = nl::FormatIpv4(session->impl_->pool.SandboxEnd(lease.slot));
  session->host_ifname_ = lease.HostIfname();
  Impl& s = *session->impl_;

  // From here on the session's destructor undoes whatever was done. The
  // pair itself is made in AttachToChild, with the sandbox end created
  // directly in the job's netns: moving a link between namespaces costs the
  // kernel an RCU grace period (~20 ms), creating it there does not.
  if (lease.shared_nat) {
    start = Clock::now();
    Result<std::string> fwd = base::ReadFile(kIpForward, 64);
    if (!fwd.ok() || fwd->empty() || (*fwd)[0] != '1') {
      // A change to the whole host, which outlives the job: the host may
      // forbid it, and otherwise it is reported where the operator looks.
      if (!config.may_change_sysctls) {
        return Status::Error(
            Code::kFailedPrecondition,
            "this job's allow list reaches beyond the host, which needs "
            "net.ipv4.ip_forward=1, and warden may not change host sysctls here "
            "(WARDEN_NO_IP_FORWARD=1, or a Launcher without may_change_sysctls): enable "
            "forwarding on the host yourself (sysctl -w net.ipv4.ip_forward=1), allow warden "
            "to change it (unset WARDEN_NO_IP_FORWARD), or allow only host:PORT destinations");
      }
      WARDEN_RETURN_IF_ERROR(base::WriteFileString(kIpForward, "1")
                                 .Wrap("enable net.ipv4.ip_forward for destinations beyond the host (or "
                                       "allow only host:PORT destinations, which need no forwarding)"));
      const std::string note =
          std::string("warden turned on net.ipv4.ip_forward on this host (it was off) for "
                      "destinations beyond the host; it stays on after the job. Set "
                      "WARDEN_NO_IP_FORWARD=1 to make such jobs fail instead");
      if (warnings != nullptr) {
        warnings->push_back(note);
      } else {
        WLOG_WARN(job_id, note);
      }
    }
    // The host's shared NAT table (nat.h): nothing is made or deleted per
    // job, which would cost an RCU grace period, and Release has nothing to
    // undo; the lease, written first, keeps gc from removing the table.
    WARDEN_RETURN_IF_ERROR(NatEnsure(s.pool.cidr));
    t.prepare_nft_us = ElapsedUs(start);
  }
  session->timings_ = t;
  return session;
}

Status VethSession::AttachToChild(pid_t child_pid) {
  using Clock = std::chrono::steady_clock;
  Impl& s = *impl_;
  if (!s.lease_held || s.attached) {
    return Status::Error(Code::kFailedPrecondition,
                         "AttachToChild: session is released or already attached");
  }
  s.attached = true;
  auto start = Clock::now();
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd netns, OpenNetnsOfPid(child_pid));
  s.job_pidfd.reset(base::PidfdOpen(child_pid));
  const std::string host_if = s.lease.HostIfname();
  // Marked before the attempt: a failed create may still have made the link.
  s.link_created = true;
  WARDEN_RETURN_IF_ERROR(nl::CreateVeth(s.sock, host_if, kSandboxIfname, s.alias, netns.get())
                             .Wrap("create veth " + host_if + " into the job's netns"));
  WARDEN_RETURN_IF_ERROR(nl::AddAddress(s.sock, host_if, s.rules.host_end, 30));
  WARDEN_RETURN_IF_ERROR(nl::SetLinkUp(s.sock, host_if));
  uint32_t sandbox = s.pool.SandboxEnd(s.lease.slot);
  uint64_t nft_us = 0;
  const NftTable whitelist = SandboxTable(s.rules);
  Status st = RunInNetns(netns.get(), [&]() -> Status {
    WARDEN_ASSIGN_OR_RETURN(nl::Socket job, nl::Socket::Open());
    WARDEN_RETURN_IF_ERROR(nl::AddAddress(job, kSandboxIfname, sandbox, 30));
    // The whitelist goes in before any interface comes up: there is never a
    // moment when the job's netns can send unfiltered.
    auto nft_start = Clock::now();
    WARDEN_RETURN_IF_ERROR(NftInstall(whitelist, "install egress whitelist"));
    nft_us = ElapsedUs(nft_start);
    WARDEN_RETURN_IF_ERROR(nl::SetLinkUp(job, "lo"));
    WARDEN_RETURN_IF_ERROR(nl::SetLinkUp(job, kSandboxIfname));
    return nl::AddDefaultRoute(job, kSandboxIfname, s.rules.host_end);
  });
  uint64_t total = ElapsedUs(start);
  timings_.attach_nft_us = nft_us;
  timings_.attach_netlink_us = total - nft_us;
  return std::move(st).Wrap("configure the job's network (pid " + std::to_string(child_pid) +
                            ")");
}

Status VethSession::Release() {
  if (!impl_) return Status::Ok();
  auto start = std::chrono::steady_clock::now();
  Impl& s = *impl_;
  Status result;
  if (s.link_created && s.job_pidfd && Exited(s.job_pidfd.get())) {
    // The job's netns died with its init, and the kernel is removing the
    // pair with it. Deleting it as well, or waiting for it, costs an RCU
    // grace period (20-30 ms here) for nothing warden still owns: the
    // addresses stay busy for new leases while the link exists (see
    // Prepare), and gc removes a link of a dead owner should one remain.
    s.link_created = false;
  }
  if (s.link_created) {
    // Deleting the host end removes the pair (the peer is in the job's netns).
    Status st = nl::DeleteLink(s.sock, s.lease.HostIfname());
    if (st.ok()) {
      s.link_created = false;
    } else {
      result = std::move(st).Wrap("delete veth " + s.lease.HostIfname());
    }
  }
  // The lease goes last, and only when everything it names is gone: until
  // then Gc (after this process ends) can still find the leftovers.
  if (s.lease_held && !s.link_created) {
    Status st = RemoveLease(s.state_dir, s.lease.slot);
    if (st.ok()) {
      s.lease_held = false;
    } else if (result.ok()) {
      result = std::move(st);
    }
  }
  timings_.release_us = ElapsedUs(start);
  return result;
}

}  // namespace warden::net
