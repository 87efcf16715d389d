// VethSession against namespaces made here: a fake host (the test thread's
// own netns), a "server" netns behind it, and a parked child as the job.
#include <sys/capability.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "net/lease.h"
#include "net/net.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net_test_util.h"
#include "test_util.h"

namespace warden::net {
namespace {

using testing::VethTestHost;
using testing::NetnsProcess;

constexpr uint32_t kServerHost = 0xc0000201;  // 192.0.2.1 on the fake host
constexpr uint32_t kServerA = 0xc0000202;     // 192.0.2.2: resolver, allowed port 8001
constexpr uint32_t kServerB = 0xc0000203;     // 192.0.2.3: not allowed

// How long a check that must succeed may wait: TCP's first SYN retransmit
// comes after 1 s, so a SYN lost while a fresh link comes up (or to a busy
// host) made a 1 s check fail for the wrong reason. A check that succeeds
// returns as soon as it does; those that must fail keep the short default.
constexpr int kReachMs = 5000;

// Connects `server` to the calling thread's netns with 192.0.2.0/24.
Status WireServer(const NetnsProcess& server) {
  WARDEN_ASSIGN_OR_RETURN(nl::Socket host, nl::Socket::Open());
  WARDEN_RETURN_IF_ERROR(nl::CreateVeth(host, "wtsrv0", "wtsrv1", ""));
  WARDEN_RETURN_IF_ERROR(nl::AddAddress(host, "wtsrv0", kServerHost, 24));
  WARDEN_RETURN_IF_ERROR(nl::SetLinkUp(host, "wtsrv0"));
  WARDEN_RETURN_IF_ERROR(nl::MoveLinkToNetns(host, "wtsrv1", server.netns()));
  return RunInNetns(server.netns(), []() -> Status {
    WARDEN_ASSIGN_OR_RETURN(nl::Socket s, nl::Socket::Open());
    WARDEN_RETURN_IF_ERROR(nl::AddAddress(s, "wtsrv1", kServerA, 24));
    WARDEN_RETURN_IF_ERROR(nl::AddAddress(s, "wtsrv1", kServerB, 24));
    WARDEN_RETURN_IF_ERROR(nl::SetLinkUp(s, "lo"));
    return nl::SetLinkUp(s, "wtsrv1");
  });
}

}  // namespace

TEST_CASE("net: veth whitelist allows exactly the listed destinations", "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  VethTestHost env;
  REQUIRE(env.ok());
  NetnsProcess server;
  REQUIRE(server.ok());
  REQUIRE_OK(WireServer(server));

  auto tcp_a1 = testing::ListenTcp(server.netns(), "192.0.2.2", 8001);
  auto tcp_a2 = testing::ListenTcp(server.netns(), "192.0.2.2", 8002);
  auto tcp_b1 = testing::ListenTcp(server.netns(), "192.0.2.3", 8001);
  auto udp_dns = testing::BindUdp(server.netns(), "192.0.2.2", 53);
  auto udp_other = testing::BindUdp(server.netns(), "192.0.2.2", 5353);
  Result<base::UniqueFd> here = OpenCurrentNetns();
  REQUIRE(here.ok());
  auto host_allowed = testing::ListenTcp(here->get(), "0.0.0.0", 9000);
  auto host_other = testing::ListenTcp(here->get(), "0.0.0.0", 9001);
  auto host_lo = testing::ListenTcp(here->get(), "127.0.0.1", 9002);
  for (auto* r : {&tcp_a1, &tcp_a2, &tcp_b1, &udp_dns, &udp_other, &host_allowed, &host_other,
                  &host_lo}) {
    REQUIRE_OK(r->status());
  }

  NetworkSpec spec;
  spec.mode = NetworkSpec::Mode::kVeth;
  spec.allow = {"192.0.2.2:8001/tcp", "host:9000"};
  spec.dns = {"192.0.2.2"};
  auto session = testing::PrepareVeth(spec, "job-whitelist");
  REQUIRE_OK(session.status());
  NetnsProcess job;
  REQUIRE(job.ok());
  REQUIRE_OK((*session)->AttachToChild(job.pid()));
  const int ns = job.netns();
  const std::string host_end = (*session)->host_address();

  // The sanity check first: the server is reachable at all from the host.
  CHECK(testing::TcpConnects(here->get(), "192.0.2.2", 8002, kReachMs));

  CHECK(testing::TcpConnects(ns, "192.0.2.2", 8001, kReachMs));
  CHECK_FALSE(testing::TcpConnects(ns, "192.0.2.2", 8002));
  CHECK_FALSE(testing::TcpConnects(ns, "192.0.2.3", 8001));
  CHECK(testing::UdpRoundTrip(ns, udp_dns->get(), "192.0.2.2", 53, kReachMs));
  CHECK_FALSE(testing::UdpRoundTrip(ns, udp_other->get(), "192.0.2.2", 5353, 300));
  CHECK_FALSE(testing::Pings(ns, "192.0.2.2"));
  CHECK_FALSE(testing::Pings(ns, "192.0.2.3"));

  // The host: only the whitelisted port of the veth's host end.
  CHECK(testing::TcpConnects(ns, host_end, 9000, kReachMs));
  CHECK_FALSE(testing::TcpConnects(ns, host_end, 9001));
  CHECK_FALSE(testing::TcpConnects(ns, "192.0.2.1", 9000));
  CHECK_FALSE(testing::TcpConnects(ns, "192.0.2.1", 9001));
  CHECK_FALSE(testing::Pings(ns, host_end));
  // 127.0.0.1 in the job is its own loopback, never the host's.
  CHECK_FALSE(testing::TcpConnects(ns, "127.0.0.1", 9002));

  REQUIRE_OK((*session)->Release());
  CHECK(testing::WardenLinks().empty());
  CHECK(testing::ListDir(env.state_dir() + "/leases").empty());
  CHECK(testing::NftTablesOfJobs().find("warden_") == std::string::npos);
}

}  // namespace warden::net

namespace warden::net {
namespace {

// Everything warden-named in the fake host and the state directory.
std::string Leftovers(const std::string& state_dir) {
  std::string out;
  for (const std::string& l : testing::WardenLinks()) out += "link " + l + "\n";
  for (const std::string& f : testing::ListDir(state_dir + "/leases")) out += "lease " + f + "\n";
  std::string tables = testing::NftTablesOfJobs();
  if (tables.find("warden") != std::string::npos) out += tables;
  return out;
}

NetworkSpec VethSpec(std::vector<std::string> allow) {
  NetworkSpec spec;
  spec.mode = NetworkSpec::Mode::kVeth;
  spec.allow = std::move(allow);
  return spec;
}

}  // namespace

TEST_CASE("net: concurrent Prepare calls get distinct addresses", "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  VethTestHost env;
  REQUIRE(env.ok());
  constexpr int kThreads = 8;
  std::vector<std::unique_ptr<VethSession>> sessions(kThreads);
  std::vector<Status> errors(kThreads);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        auto s = testing::PrepareVeth(VethSpec({"192.0.2.0/24:80"}), "job-" + std::to_string(i));
        if (s.ok()) {
          sessions[i] = std::move(s.value());
        } else {
          errors[i] = s.take_status();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  std::set<std::string> addresses, interfaces;
  for (int i = 0; i < kThreads; ++i) {
    INFO(errors[i].ToString());
    REQUIRE(sessions[i] != nullptr);
    addresses.insert(sessions[i]->host_address());
    addresses.insert(sessions[i]->sandbox_address());
    interfaces.insert(sessions[i]->host_interface());
  }
  CHECK(addresses.size() == 2 * kThreads);
  CHECK(interfaces.size() == kThreads);
  CHECK(testing::ListDir(env.state_dir() + "/leases").size() == kThreads);
  std::vector<std::unique_ptr<NetnsProcess>> jobs;
  for (int i = 0; i < kThreads; ++i) {
    jobs.push_back(std::make_unique<NetnsProcess>());
    REQUIRE(jobs.back()->ok());
    REQUIRE_OK(sessions[i]->AttachToChild(jobs.back()->pid()));
  }
  CHECK(testing::WardenLinks().size() == kThreads);
  // Destruction is Release.
  sessions.clear();
  CHECK(Leftovers(env.state_dir()).empty());
}

TEST_CASE("net: 100 sequential veth sessions leave nothing behind", "[net][root][slow]") {
  WARDEN_REQUIRE_ROOT();
  VethTestHost env;
  REQUIRE(env.ok());
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto s = testing::PrepareVeth(VethSpec({"192.0.2.0/24:80/tcp", "198.51.100.7:53/udp",
                                            "host:8080"}),
                                  "seq-" + std::to_string(i));
    INFO("iteration " << i << ": " << s.status().ToString());
    REQUIRE(s.ok());
    NetnsProcess job;
    REQUIRE(job.ok());
    REQUIRE_OK((*s)->AttachToChild(job.pid()));
    seen.insert((*s)->sandbox_address());
    REQUIRE_OK((*s)->Release());
    REQUIRE_OK((*s)->Release());  // idempotent
    REQUIRE(Leftovers(env.state_dir()).empty());
  }
  // Freed leases are reused: the pool does not drain.
  CHECK(seen.size() == 1);
}

TEST_CASE("net: a pair the kernel is still removing keeps its addresses from new leases",
          "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  VethTestHost env;
  REQUIRE(env.ok());
  auto a = testing::PrepareVeth(VethSpec({"host:8080"}), "dying");
  REQUIRE_OK(a.status());
  const std::string a_link = (*a)->host_interface();
  const std::string a_addr = (*a)->sandbox_address();
  // The kernel removes the pair with the job's netns, some time after the
  // init exits. Holding the netns open keeps "still removing" true for as
  // long as the test needs it, instead of hoping to look before the kernel.
  base::UniqueFd held_netns;
  {
    NetnsProcess job;
    REQUIRE(job.ok());
    REQUIRE_OK((*a)->AttachToChild(job.pid()));
    const std::string ns = "/proc/" + std::to_string(job.pid()) + "/ns/net";
    held_netns.reset(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(held_netns.valid());
  }  // the job's init is gone; its netns (and the pair) live on through held_netns
  REQUIRE_OK((*a)->Release());
  CHECK(testing::ListDir(env.state_dir() + "/leases").empty());
  auto sock = nl::Socket::Open();
  REQUIRE_OK(sock.status());
  auto b = testing::PrepareVeth(VethSpec({"host:8080"}), "next");
  REQUIRE_OK(b.status());
  Result<bool> still = nl::LinkExists(*sock, a_link);
  REQUIRE_OK(still.status());
  REQUIRE(*still);
  CHECK((*b)->sandbox_address() != a_addr);
  REQUIRE_OK((*b)->Release());
  held_netns.reset();  // now the kernel may remove the pair
  // The kernel finishes on its own, without warden.
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    Result<bool> e = nl::LinkExists(*sock, a_link);
    REQUIRE_OK(e.status());
    gone = !*e;
    if (!gone) ::usleep(10000);
  }
  CHECK(gone);
  CHECK(Leftovers(env.state_dir()).empty());
}

TEST_CASE("net: a session released before attach or on error leaves nothing", "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  VethTestHost env;
  REQUIRE(env.ok());
  {
    auto s = testing::PrepareVeth(VethSpec({"192.0.2.1:80"}), "never-attached");
    REQUIRE_OK(s.status());
    CHECK(testing::ListDir(env.state_dir() + "/leases").size() == 1);
    CHECK(testing::NftTables().find("table ip warden_nat") != std::string::npos);
  }
  CHECK(Leftovers(env.state_dir()).empty());
  {
    auto s = testing::PrepareVeth(VethSpec({"192.0.2.1:80"}), "child-gone");
    REQUIRE_OK(s.status());
    pid_t dead = 0;
    {
      NetnsProcess job;
      REQUIRE(job.ok());
      dead = job.pid();
    }
    Status st = (*s)->AttachToChild(dead);
    CHECK_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains("configure the job's network") ||
                                 Catch::Contains("/ns/net"));
  }
  CHECK(Leftovers(env.state_dir()).empty());
  auto bad = testing::PrepareVeth(VethSpec({"192.0.2.1:99999"}), "bad");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalidArgument);
  {
    ::warden::testing::ScopedHostConfig pool(&base::HostConfig::net_pool, "192.0.2.0/24");
    nl::Socket sock = std::move(nl::Socket::Open().value());
    REQUIRE_OK(nl::CreateVeth(sock, "wttaken0", "wttaken1", ""));
    REQUIRE_OK(nl::AddAddress(sock, "wttaken0", 0xc0000209, 24));
    auto overlap = testing::PrepareVeth(VethSpec({}), "overlap");
    REQUIRE_FALSE(overlap.ok());
    CHECK_THAT(overlap.status().message(), Catch::Contains("overlaps 192.0.2.9 on wttaken0"));
    REQUIRE_OK(nl::DeleteLink(sock, "wttaken0"));
  }
  CHECK(Leftovers(env.state_dir()).empty());
}

TEST_CASE("net: without CAP_NET_ADMIN the job cannot change its rules", "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  VethTestHost env;
  REQUIRE(env.ok());
  auto s = testing::PrepareVeth(VethSpec({"host:9000"}), "caps");
  REQUIRE_OK(s.status());
  NetnsProcess job;
  REQUIRE(job.ok());
  REQUIRE_OK((*s)->AttachToChild(job.pid()));
  Result<base::UniqueFd> here = OpenCurrentNetns();
  REQUIRE(here.ok());
  auto other = testing::ListenTcp(here->get(), "0.0.0.0", 9001);
  REQUIRE_OK(other.status());
  REQUIRE_FALSE(testing::TcpConnects(job.netns(), (*s)->host_address(), 9001));

  // What the job would try once the launcher has dropped its capabilities.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setns(job.netns(), CLONE_NEWNET) != 0) ::_exit(10);
    cap_t none = cap_init();
    if (none == nullptr || cap_set_proc(none) != 0) ::_exit(11);
    int code = 0;
    if (NftDeleteTable(NftFamily::kInet, kSandboxTable, "drop the whitelist").ok()) code |= 1;
    Result<nl::Socket> sock = nl::Socket::Open();
    if (sock.ok() && nl::DeleteLink(*sock, "eth0").ok()) code |= 2;
    if (sock.ok() && nl::AddAddress(*sock, "eth0", 0xc0000201, 32).ok()) code |= 4;
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_FALSE(testing::TcpConnects(job.netns(), (*s)->host_address(), 9001));
}

TEST_CASE("net: gc and the next Prepare remove a dead owner's leftovers", "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  VethTestHost env;
  REQUIRE(env.ok());
  // Two owners that die with a prepared session: stand-ins for a SIGKILLed
  // `warden run`.
  // Their jobs outlive them (the test holds the jobs' netns), so the links
  // stay as well.
  NetnsProcess job1, job2, job3;
  REQUIRE(job1.ok());
  REQUIRE(job2.ok());
  REQUIRE(job3.ok());
  auto spawn_owner = [&](const char* job, pid_t job_pid) -> pid_t {
    int ready[2];
    if (::pipe(ready) != 0) return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      auto s = testing::PrepareVeth(VethSpec({"192.0.2.0/24:80"}), job);
      char c = s.ok() && (*s)->AttachToChild(job_pid).ok() ? 'y' : 'n';
      if (::write(ready[1], &c, 1) != 1) ::_exit(1);
      ::pause();
      ::_exit(0);
    }
    ::close(ready[1]);
    char c = 0;
    bool ok = pid > 0 && ::read(ready[0], &c, 1) == 1 && c == 'y';
    ::close(ready[0]);
    return ok ? pid : -1;
  };
  auto kill_owner = [](pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  };
  // Both alive at once, so that the second does not reclaim the first.
  pid_t first = spawn_owner("killed-1", job1.pid());
  pid_t second = spawn_owner("killed-2", job2.pid());
  kill_owner(first);
  kill_owner(second);
  REQUIRE(first > 0);
  REQUIRE(second > 0);
  CHECK(testing::WardenLinks().size() == 2);
  CHECK(testing::ListDir(env.state_dir() + "/leases").size() == 2);
  CHECK(testing::NftTables().find("table ip warden_nat") != std::string::npos);

  // A leftover without a lease (as if the lease file were lost) goes too.
  char orphan[16];
  std::snprintf(orphan, sizeof orphan, "wd%06x%05x0", static_cast<unsigned>(first), 0x777u);
  {
    nl::Socket sock = std::move(nl::Socket::Open().value());
    REQUIRE_OK(nl::CreateVeth(sock, orphan, std::string(orphan, 13) + "1", ""));
  }
  std::vector<std::string> removed;
  REQUIRE_OK(testing::GcNet(&removed));
  std::string all;
  for (const auto& r : removed) all += r + "\n";
  INFO(all);
  CHECK_THAT(all, Catch::Contains("job killed-1"));
  CHECK_THAT(all, Catch::Contains("job killed-2"));
  CHECK_THAT(all, Catch::Contains(std::string("link ") + orphan));
  // No lease uses the shared NAT table any more: gc removed it too.
  CHECK_THAT(all, Catch::Contains("nft table ip warden_nat"));
  CHECK(testing::NftTables().empty());
  CHECK(Leftovers(env.state_dir()).empty());
  removed.clear();
  REQUIRE_OK(testing::GcNet(&removed));
  CHECK(removed.empty());

  // The next Prepare reclaims as well, without a gc.
  pid_t third = spawn_owner("killed-3", job3.pid());
  kill_owner(third);
  REQUIRE(third > 0);
  {
    auto s = testing::PrepareVeth(VethSpec({}), "next-run");
    REQUIRE_OK(s.status());
    // Slot 0 was the dead owner's; it is free again and reused.
    CHECK((*s)->host_address() == "10.213.0.1");
    CHECK(testing::WardenLinks().empty());
    CHECK(testing::NftTablesOfJobs().empty());
  }
  CHECK(Leftovers(env.state_dir()).empty());
}

TEST_CASE("net: doctor reports veth and nftables", "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  base::DoctorChecks checks = DoctorChecks(warden::testing::HostConfig());
  std::map<std::string, base::DoctorCheck> by_name;
  for (const auto& c : checks) by_name[c.feature] = c;
  REQUIRE(by_name.count("network: veth") == 1);
  REQUIRE(by_name.count("network: nftables") == 1);
  REQUIRE(by_name.count("network: ip forwarding") == 1);
  INFO(by_name["network: veth"].detail);
  INFO(by_name["network: nftables"].detail);
  CHECK(by_name["network: veth"].ok);
  CHECK(by_name["network: nftables"].ok);
  CHECK_THAT(by_name["network: ip forwarding"].detail, Catch::Contains("ip_forward"));
  // The probes run in scratch namespaces: nothing shows up on the host.
  CHECK(testing::WardenLinks().empty());
}

}  // namespace warden::net

namespace warden::net {

// Where a veth job's setup time goes. Hidden: run it explicitly with
//   build/net/unit_tests "[net-bench]"
// The job stays alive through Release here, so release_live_job includes the
// synchronous pair delete (an RCU grace period); `warden run` releases after
// the job's init has exited and leaves the pair to the kernel.
TEST_CASE("net: veth timing split", "[.][net-bench][root]") {
  WARDEN_REQUIRE_ROOT();
  VethTestHost env;
  REQUIRE(env.ok());
  constexpr int kRuns = 50;
  using Clock = std::chrono::steady_clock;
  std::vector<uint64_t> lease, pnl, pnft, anl, anft, rel, fork_us, total;
  for (int i = 0; i < kRuns; ++i) {
    auto t0 = Clock::now();
    auto s = testing::PrepareVeth(
        VethSpec({"192.0.2.0/24:80/tcp", "198.51.100.7:53/udp", "host:8080"}), "bench");
    REQUIRE_OK(s.status());
    auto t1 = Clock::now();
    NetnsProcess job;
    REQUIRE(job.ok());
    auto t2 = Clock::now();
    REQUIRE_OK((*s)->AttachToChild(job.pid()));
    REQUIRE_OK((*s)->Release());
    auto t3 = Clock::now();
    const VethTimings& t = (*s)->timings();
    lease.push_back(t.prepare_lease_us);
    pnl.push_back(t.prepare_netlink_us);
    pnft.push_back(t.prepare_nft_us);
    anl.push_back(t.attach_netlink_us);
    anft.push_back(t.attach_nft_us);
    rel.push_back(t.release_us);
    fork_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(t2 - t1).count());
    total.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>((t1 - t0) + (t3 - t2)).count());
  }
  auto median = [](std::vector<uint64_t> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "BENCH net_veth_us runs=%d prepare_lease=%llu prepare_netlink=%llu prepare_nft=%llu "
      "attach_netlink=%llu attach_nft=%llu release_live_job=%llu total=%llu (job netns fork=%llu)\n",
      kRuns, (unsigned long long)median(lease), (unsigned long long)median(pnl),
      (unsigned long long)median(pnft), (unsigned long long)median(anl),
      (unsigned long long)median(anft), (unsigned long long)median(rel),
      (unsigned long long)median(total), (unsigned long long)median(fork_us));
  CHECK(Leftovers(env.state_dir()).empty());
}

}  // namespace warden::net
