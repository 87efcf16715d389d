// VethSession against namespaces made here: a fake host (the test thread's
// own netns), a "server" netns behind it, and a parked child as the job.
#include <catch2/catch.hpp>

#include "net/lease.h"
#include "net/net.h"
#include "net/netlink.h"
#include "net_test_util.h"
#include "test_util.h"

namespace warden::net {
namespace {

using testing::FakeHost;
using testing::NetnsProcess;
using testing::ScopedEnv;

constexpr uint32_t kServerHost = 0xc0000201;  // 192.0.2.1 on the fake host
constexpr uint32_t kServerA = 0xc0000202;     // 192.0.2.2: resolver, allowed port 8001
constexpr uint32_t kServerB = 0xc0000203;     // 192.0.2.3: not allowed

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

#define REQUIRE_OK(expr)                              \
  do {                                                \
    ::warden::Status _s = (expr);                     \
    INFO(_s.ToString());                              \
    REQUIRE(_s.ok());                                 \
  } while (0)

}  // namespace

TEST_CASE("net: veth whitelist allows exactly the listed destinations", "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  warden::testing::TempDir state;
  ScopedEnv dir("WARDEN_NET_DIR", state.path());
  FakeHost host;
  REQUIRE(host.ok());
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
  auto session = VethSession::Prepare(spec, "job-whitelist");
  REQUIRE_OK(session.status());
  NetnsProcess job;
  REQUIRE(job.ok());
  REQUIRE_OK((*session)->AttachToChild(job.pid()));
  const int ns = job.netns();
  const std::string host_end = (*session)->host_address();

  // The sanity check first: the server is reachable at all from the host.
  CHECK(testing::TcpConnects(here->get(), "192.0.2.2", 8002));

  CHECK(testing::TcpConnects(ns, "192.0.2.2", 8001));
  CHECK_FALSE(testing::TcpConnects(ns, "192.0.2.2", 8002));
  CHECK_FALSE(testing::TcpConnects(ns, "192.0.2.3", 8001));
  CHECK(testing::UdpRoundTrip(ns, udp_dns->get(), "192.0.2.2", 53));
  CHECK_FALSE(testing::UdpRoundTrip(ns, udp_other->get(), "192.0.2.2", 5353, 300));
  CHECK_FALSE(testing::Pings(ns, "192.0.2.2"));
  CHECK_FALSE(testing::Pings(ns, "192.0.2.3"));

  // The host: only the whitelisted port of the veth's host end.
  CHECK(testing::TcpConnects(ns, host_end, 9000));
  CHECK_FALSE(testing::TcpConnects(ns, host_end, 9001));
  CHECK_FALSE(testing::TcpConnects(ns, "192.0.2.1", 9000));
  CHECK_FALSE(testing::TcpConnects(ns, "192.0.2.1", 9001));
  CHECK_FALSE(testing::Pings(ns, host_end));
  // 127.0.0.1 in the job is its own loopback, never the host's.
  CHECK_FALSE(testing::TcpConnects(ns, "127.0.0.1", 9002));

  REQUIRE_OK((*session)->Release());
  CHECK(testing::WardenLinks().empty());
  CHECK(testing::ListDir(state.path() + "/leases").empty());
  CHECK(testing::NftTables().find("warden_") == std::string::npos);
}

}  // namespace warden::net
