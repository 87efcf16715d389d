// Networking for sandboxes: the veth mode with an egress whitelist.
//
// Modes none and loopback need nothing from here: the launcher's child brings
// `lo` up (loopback) or leaves it down (none). In veth mode the launcher calls
// this library from the PARENT, in this order:
//
//   auto s = VethSession::Prepare(policy.network, job_id, config);  // before clone
//   ... clone3(CLONE_NEWNET ...), child blocks on the release pipe ...
//   s->AttachToChild(child_pid);  // child still blocked, all caps, new netns
//   ... release the child, wait for the job ...
//   s->Release();                 // or just destroy the session
//
// What a session owns, all named after the owner pid so that `warden gc` can
// find it after a crash (DESIGN.md invariant 4):
//   - a lease file under HostConfig::net_state_dir (default
//     /run/warden/net; the file in leases/),
//     written under a lock before anything else is created;
//   - a veth pair: host end "wd<pid:6 hex><slot:5 hex>0" (its ifalias says
//     "warden job=<id> owner=<pid>"), sandbox end "eth0" created directly in
//     the job's netns by AttachToChild;
//   - when an allowed destination lies beyond the host, a share of the
//     host's NAT table "ip warden_nat", which masquerades the pool (created
//     on first need, left for the next job, removed by `warden gc` once no
//     lease uses it: see nat.h), and net.ipv4.ip_forward=1 (left on: other
//     jobs may rely on it).
// The whitelist itself lives in the job's netns (table "inet warden"), so it
// disappears with the netns.
//
// Addresses: the pool is HostConfig::net_pool (default 10.213.0.0/16, prefix
// between /12 and /28); each job gets a /30 out of it: .1 host end, .2 sandbox.
//
// Thread safety: VethSession is not thread-safe; distinct sessions may be used
// from distinct threads. Prepare calls from many threads and processes are
// coordinated by a file lock.
#ifndef WARDEN_NET_NET_H_
#define WARDEN_NET_NET_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/doctor.h"
#include "base/host_config.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden::net {

inline constexpr size_t kMaxAllowRules = 256;
inline constexpr size_t kMaxAllowEntryBytes = 64;
inline constexpr size_t kMaxDnsServers = 8;
inline constexpr size_t kMaxHostsEntries = 256;

// One parsed `--allow` / `network.allow` entry.
struct AllowRule {
  enum class Kind { kAddress, kHost };  // kHost: "host:PORT", the veth host end
  enum class Proto { kAny, kTcp, kUdp };
  Kind kind = Kind::kAddress;
  uint32_t address = 0;  // IPv4, host byte order; 0 for kHost
  int prefix_len = 32;   // 0..32; host bits beyond it are zero
  uint16_t port = 0;     // 0: every port (and, with kAny, every protocol)
  Proto proto = Proto::kAny;
  std::string text;      // the entry as written, for messages
};

// Parses "ADDR[/PREFIX][:PORT][/tcp|/udp]" (IPv4) or "host:PORT[/tcp|/udp]".
// Errors are kInvalidArgument and name the offending entry.
Result<std::vector<AllowRule>> ParseAllow(const std::vector<std::string>& dests);

// Where the time of one session went, in microseconds (for benchmarks).
struct VethTimings {
  uint64_t prepare_lease_us = 0;    // lock, reclaim, host address dump, write lease
  uint64_t prepare_netlink_us = 0;  // netlink socket and netns handles
  uint64_t prepare_nft_us = 0;      // host NAT table ensured (0 when not needed)
  uint64_t attach_netlink_us = 0;   // veth create, addresses, links up, route
  uint64_t attach_nft_us = 0;       // whitelist inside the job's netns
  uint64_t release_us = 0;          // link delete, lease removal
};

class VethSession {
 public:
  // Validates the spec, allocates a lease and the addresses in the caller's
  // netns (which is remembered: later calls act on it from any thread), and
  // sets up NAT and forwarding when needed. Dead owners' leases (and their
  // links and tables) are reclaimed on the way. The veth pair is made by
  // AttachToChild: creating the sandbox end inside the job's netns is ~20 ms
  // cheaper than creating it here and moving it.
  // The pool and the lease directory come from `config`. Turning on the
  // host's net.ipv4.ip_forward is a change to the whole host: it appends a
  // warning to *warnings (logged when warnings is null), and fails with
  // kFailedPrecondition when config.may_change_sysctls is false.
  // Errors: kInvalidArgument (bad allow/dns entry, bad pool),
  // kResourceExhausted (pool full), kPermissionDenied
  // (not root), kFailedPrecondition (forwarding refused), others from
  // netlink/nftables. On error nothing is left behind.
  static Result<std::unique_ptr<VethSession>> Prepare(const NetworkSpec& spec,
                                                      const std::string& job_id,
                                                      const base::HostConfig& config,
                                                      std::vector<std::string>* warnings = nullptr);
  ~VethSession();  // Release(), errors logged.
  VethSession(const VethSession&) = delete;
  VethSession& operator=(const VethSession&) = delete;

  // Creates the veth pair with its sandbox end "eth0" in
  // /proc/<child_pid>/ns/net, configures and brings up the host end, and in
  // the job's netns installs the egress whitelist, then sets the address,
  // brings eth0 and lo up and adds the default route. Must be called once,
  // while the child is blocked and before it drops CAP_NET_ADMIN. On error
  // the job must not start (Release still cleans up).
  Status AttachToChild(pid_t child_pid);

  const std::string& host_address() const { return host_address_; }
  const std::string& sandbox_address() const { return sandbox_address_; }
  const std::string& host_interface() const { return host_ifname_; }
  int prefix_len() const { return 30; }
  const VethTimings& timings() const { return timings_; }

  // Removes the veth pair (if the end of the job's netns has not already)
  // and the lease (the shared NAT table stays for the next job). Idempotent; after an error a second
  // call retries what is left.
  Status Release();

 private:
  struct Impl;
  explicit VethSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string host_address_;
  std::string sandbox_address_;
  std::string host_ifname_;
  VethTimings timings_;
};

// The literal /etc/resolv.conf for the sandbox; "" when spec.dns is empty.
std::string ResolvConf(const NetworkSpec& spec);

// /etc/hosts: localhost lines, spec.hosts, and `host` -> host_address when
// host_address is not empty (veth mode). Entries with unsafe characters are
// skipped (the policy loader rejects them earlier).
std::string HostsFile(const NetworkSpec& spec, const std::string& host_address);

// Removes what dead owners left behind in the caller's netns and in
// config.net_state_dir: wd* links, leases, the shared NAT table once no lease uses it,
// warden_<pid>_* nft tables of older wardens. Appends one line per removed
// thing to *removed ("link wd...", "lease 12", "nft table ...").
Status Gc(const base::HostConfig& config, std::vector<std::string>* removed);

// veth support, nftables support, forwarding, address pool (config.net_pool),
// state directory (config.net_state_dir).
base::DoctorChecks DoctorChecks(const base::HostConfig& config);

}  // namespace warden::net

#endif  // WARDEN_NET_NET_H_
