// nftables over netlink, in scratch network namespaces: what NftInstall
// sends is accepted by the kernel, a bad table changes nothing, deletes are
// idempotent.
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "net/netns.h"
#include "net/nft.h"
#include "net/rules.h"
#include "net_test_util.h"
#include "test_util.h"

namespace warden::net {
namespace {

bool HasTable(NftFamily family, const std::string& name) {
  Result<std::vector<std::string>> names = NftListTables(family);
  return names.ok() && std::find(names->begin(), names->end(), name) != names->end();
}

TEST_CASE("nft: the whitelist and the NAT table install, list and delete", "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  Status st = RunInNewNetns([]() -> Status {
    SandboxRulesInput in;
    in.pool = Cidr{0x0ad50000, 16};
    in.host_end = 0x0ad50001;
    in.dns = {0xc6336401};
    in.host_addresses = {0xc0000201, 0x7f000001};
    Result<std::vector<AllowRule>> allow =
        ParseAllow({"192.0.2.0/24:80/tcp", "192.0.2.9:22", "host:9000/udp", "0.0.0.0/0"});
    if (!allow.ok()) return allow.take_status();
    in.allow = *allow;
    WARDEN_RETURN_IF_ERROR(NftInstall(SandboxTable(in), "whitelist"));
    NftTable nat = SharedNatTable();
    nat.name = "warden_1_0";
    WARDEN_RETURN_IF_ERROR(NftInstall(nat, "nat"));
    if (!HasTable(NftFamily::kInet, kSandboxTable) || !HasTable(NftFamily::kIp, "warden_1_0")) {
      return Status::Error(Code::kInternal, "installed tables are not listed");
    }
    if (HasTable(NftFamily::kIp, kSandboxTable)) {
      return Status::Error(Code::kInternal, "the inet table is listed as ip");
    }
    // Installing again keeps the table (and adds the rules once more).
    WARDEN_RETURN_IF_ERROR(NftInstall(SandboxTable(in), "whitelist again"));
    for (int i = 0; i < 2; ++i) {
      WARDEN_RETURN_IF_ERROR(NftDeleteTable(NftFamily::kIp, "warden_1_0", "delete nat"));
      WARDEN_RETURN_IF_ERROR(NftDeleteTable(NftFamily::kInet, kSandboxTable, "delete whitelist"));
    }
    if (HasTable(NftFamily::kInet, kSandboxTable) || HasTable(NftFamily::kIp, "warden_1_0")) {
      return Status::Error(Code::kInternal, "deleted tables are still listed");
    }
    return Status::Ok();
  });
  REQUIRE_OK(st);
}

TEST_CASE("nft: a rejected table leaves nothing and names the bad rule", "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  std::string message;
  bool left = true;
  Status st = RunInNewNetns([&]() -> Status {
    NftTable t;
    t.family = NftFamily::kInet;
    t.name = "warden_bad";
    NftRule ok;
    ok.oifname = "lo";
    NftRule bad;
    bad.verdict = NftRule::Verdict::kJump;
    bad.jump = "nowhere";  // no such chain: the kernel refuses the batch
    t.chains = {NftChain{"output", NftChain::Hook::kOutput, true, {ok, bad}}};
    Status install = NftInstall(t, "bad table");
    if (install.ok()) return Status::Error(Code::kInternal, "a jump to a missing chain was accepted");
    message = install.ToString();
    left = HasTable(NftFamily::kInet, "warden_bad");
    return Status::Ok();
  });
  REQUIRE_OK(st);
  INFO(message);
  CHECK_THAT(message, Catch::Contains("bad table: chain output rule 2 (jump nowhere)"));
  CHECK_FALSE(left);
}

TEST_CASE("nft: rules render as nft syntax", "[net]") {
  std::string text = SharedNatRuleset();
  CHECK_THAT(text, Catch::Contains("table ip warden_nat {"));
  CHECK_THAT(text, Catch::Contains("set pools {\n    type ipv4_addr\n    flags interval\n  }"));
  CHECK_THAT(text, Catch::Contains("type nat hook postrouting priority srcnat; policy accept;"));
  CHECK_THAT(text, Catch::Contains("iifname \"wd*\" ip saddr @pools oifname != \"wd*\" masquerade"));
  NftRule r;
  r.daddr = {Cidr{0xc0000200, 24}, Cidr{0xc6336401, 32}};
  r.l4 = NftRule::L4::kTcpUdp;
  r.dport = 53;
  CHECK(NftRuleText(r) == "ip daddr { 192.0.2.0/24, 198.51.100.1 } meta l4proto { tcp, udp } th dport 53 accept");
}

}  // namespace
}  // namespace warden::net
