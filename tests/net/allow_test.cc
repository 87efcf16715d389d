// ParseAllow, the generated rules, ResolvConf and HostsFile: no root needed.
#include <catch2/catch.hpp>

#include "net/lease.h"
#include "net/net.h"
#include "net/rules.h"
#include "test_util.h"

namespace warden::net {

TEST_CASE("net: ParseAllow accepts every documented form", "[net]") {
  auto r = ParseAllow({"10.0.0.1", "10.1.0.0/16", "192.0.2.2:8001", "192.0.2.0/24:53/udp",
                       "198.51.100.7/tcp", "host:9000", "host:53/udp", "0.0.0.0/0:443/tcp"});
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  const auto& v = *r;
  REQUIRE(v.size() == 8);
  CHECK(v[0].address == 0x0a000001);
  CHECK(v[0].prefix_len == 32);
  CHECK(v[0].port == 0);
  CHECK(v[0].proto == AllowRule::Proto::kAny);
  CHECK(v[1].address == 0x0a010000);
  CHECK(v[1].prefix_len == 16);
  CHECK(v[2].port == 8001);
  CHECK(v[2].proto == AllowRule::Proto::kAny);
  CHECK(v[3].prefix_len == 24);
  CHECK(v[3].port == 53);
  CHECK(v[3].proto == AllowRule::Proto::kUdp);
  CHECK(v[4].port == 0);
  CHECK(v[4].proto == AllowRule::Proto::kTcp);
  CHECK(v[5].kind == AllowRule::Kind::kHost);
  CHECK(v[5].port == 9000);
  CHECK(v[6].kind == AllowRule::Kind::kHost);
  CHECK(v[6].proto == AllowRule::Proto::kUdp);
  CHECK(v[7].prefix_len == 0);
  CHECK(v[7].text == "0.0.0.0/0:443/tcp");
}

TEST_CASE("net: ParseAllow rejects bad entries and names them", "[net]") {
  struct Case {
    const char* entry;
    const char* says;
  };
  for (const Case& c : {Case{"", "empty"}, Case{"host", "needs a port"},
                        Case{"host:0", "1..65535"}, Case{"10.0.0.1:65536", "1..65535"},
                        Case{"10.0.0.1:http", "not a number"}, Case{"10.0.0.1/33", "0..32"},
                        Case{"10.0.0.1/sctp", "0..32"}, Case{"10.0.0.256", "not an IPv4"},
                        Case{"example.com:80", "not an IPv4"}, Case{"::1", "IPv6"},
                        Case{"10.0.0.1/8", "did you mean 10.0.0.0/8"},
                        Case{"10.0.0.1:-1", "not a number"}, Case{"10.0.0.1:+80", "not a number"},
                        Case{"1.2.3.4 :80", "not an IPv4"}}) {
    auto r = ParseAllow({"10.9.9.9", c.entry});
    INFO(c.entry);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Contains(std::string("\"") + c.entry + "\""));
    CHECK_THAT(r.status().message(), Catch::Contains(c.says));
  }
  std::string long_entry(200, '1');
  auto r = ParseAllow({long_entry});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("longer than"));
  std::vector<std::string> many(kMaxAllowRules + 1, "10.0.0.1");
  auto m = ParseAllow(many);
  REQUIRE_FALSE(m.ok());
  CHECK_THAT(m.status().message(), Catch::Contains("too many allow entries"));
}

TEST_CASE("net: ParseAllow survives arbitrary input", "[net]") {
  // Bytes from the allow alphabet and beyond, in random lengths: every
  // result is either a valid rule or an error naming the entry.
  static const char kAlphabet[] = "0123456789./:tcpudhos\x00\xff-+ []*";
  const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 20000; ++i) {
    std::string entry(next() % 24, ' ');
    for (char& c : entry) c = alphabet[next() % alphabet.size()];
    auto r = ParseAllow({entry});
    if (r.ok()) {
      REQUIRE(r->size() == 1);
      const AllowRule& a = (*r)[0];
      CHECK(a.prefix_len >= 0);
      CHECK(a.prefix_len <= 32);
      if (a.kind == AllowRule::Kind::kHost) CHECK(a.port != 0);
      uint32_t mask = a.prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - a.prefix_len);
      CHECK((a.address & ~mask) == 0);
    } else {
      CHECK(r.status().code() == Code::kInvalidArgument);
      CHECK_THAT(r.status().message(), Catch::StartsWith("allow entry \""));
    }
  }
}

TEST_CASE("net: sandbox ruleset refuses the host before every address entry", "[net]") {
  SandboxRulesInput in;
  auto allow = ParseAllow({"192.0.2.0/24:80/tcp", "192.0.2.9:22", "host:9000/tcp"});
  REQUIRE(allow.ok());
  in.allow = *allow;
  in.dns = {0xc6336401};
  in.host_end = 0x0ad50001;
  in.pool = Cidr{0x0ad50000, 16};
  in.host_addresses = {0x7f000001, 0xc0000201, 0x0ad50005, 0xc0000201};
  std::string r = SandboxRuleset(in);
  INFO(r);
  size_t never = r.find("ip daddr { 0.0.0.0/8, 224.0.0.0/4, 240.0.0.0/4 } jump refuse");
  size_t dns = r.find("ip daddr 198.51.100.1 meta l4proto { tcp, udp } th dport 53 accept");
  size_t host = r.find("ip daddr 10.213.0.1 tcp dport 9000 accept");
  size_t block = r.find("ip daddr { 10.213.0.0/16, 192.0.2.1 } jump refuse");
  size_t exact = r.find("ip daddr 192.0.2.9 meta l4proto { tcp, udp } th dport 22 accept");
  size_t link_local = r.find("ip daddr 169.254.0.0/16 jump refuse");
  size_t wide = r.find("ip daddr 192.0.2.0/24 tcp dport 80 accept");
  size_t last = r.rfind("jump refuse");
  REQUIRE(never != std::string::npos);
  REQUIRE(dns != std::string::npos);
  REQUIRE(host != std::string::npos);
  REQUIRE(block != std::string::npos);
  REQUIRE(exact != std::string::npos);
  REQUIRE(link_local != std::string::npos);
  REQUIRE(wide != std::string::npos);
  CHECK(never < dns);
  CHECK(dns < host);
  CHECK(host < block);
  CHECK(block < exact);
  CHECK(exact < link_local);
  CHECK(link_local < wide);
  CHECK(wide < last);
  CHECK_THAT(r, Catch::Contains("policy drop"));
  CHECK_THAT(r, Catch::Contains("reject with tcp reset"));
  CHECK(r.find("127.0.0.1") == std::string::npos);
}

TEST_CASE("net: names carry the owner and parse back", "[net]") {
  Lease l;
  l.owner.pid = 0x3fffff;
  l.slot = 0x3fff;
  CHECK(l.HostIfname() == "wd3fffff03fff0");
  CHECK(l.PeerIfname() == "wd3fffff03fff1");
  CHECK(l.HostIfname().size() <= 15);
  pid_t pid = 0;
  uint32_t slot = 0;
  REQUIRE(ParseIfname(l.PeerIfname(), &pid, &slot));
  CHECK(pid == 0x3fffff);
  CHECK(slot == 0x3fff);
  CHECK_FALSE(ParseIfname("wdx", &pid, &slot));
  CHECK_FALSE(ParseIfname("wd3fffff03fff2", &pid, &slot));
  CHECK_FALSE(ParseIfname("eth0", &pid, &slot));
  REQUIRE(ParseNatTable(l.NatTable(), &pid, &slot));
  CHECK(pid == 0x3fffff);
  CHECK_FALSE(ParseNatTable("warden", &pid, &slot));
  CHECK_FALSE(ParseNatTable("warden_1_", &pid, &slot));
  CHECK_FALSE(ParseNatTable("warden_x_1", &pid, &slot));
}

TEST_CASE("net: address pool parsing", "[net]") {
  auto p = ParsePool("10.213.0.0/16");
  REQUIRE(p.ok());
  CHECK(p->slots() == 16384);
  CHECK(p->HostEnd(1) == 0x0ad50005);
  CHECK(p->SandboxEnd(1) == 0x0ad50006);
  CHECK_FALSE(ParsePool("10.213.0.0").ok());
  CHECK_FALSE(ParsePool("10.213.0.1/16").ok());
  CHECK_FALSE(ParsePool("10.0.0.0/8").ok());
  CHECK_FALSE(ParsePool("10.0.0.0/30").ok());
  CHECK_THAT(ParsePool("x/16").status().message(), Catch::Contains("WARDEN_NET_POOL"));
}

TEST_CASE("net: the pool overlaps a foreign address, not warden's links or a link already gone", "[net]") {
  auto p = ParsePool("10.213.0.0/16");
  REQUIRE(p.ok());
  nl::Ipv4Address foreign{0x0ad50001, 24, "eth9"};
  nl::Ipv4Address outside{0x0ad60001, 24, "eth9"};
  nl::Ipv4Address ours{0x0ad50005, 30, "wd0012340000a0"};
  // A finished job's veth deleted between the address and link dumps:
  // its address comes without a name, and the pair is already gone.
  nl::Ipv4Address gone{0x0ad50001, 30, ""};
  CHECK_THAT(PoolOverlap(*p, {outside, foreign}), Catch::Contains("overlaps 10.213.0.1 on eth9"));
  CHECK(PoolOverlap(*p, {outside, ours, gone}).empty());
}

TEST_CASE("net: resolv.conf and hosts", "[net]") {
  NetworkSpec spec;
  CHECK(ResolvConf(spec).empty());
  spec.dns = {"192.0.2.53", "198.51.100.53"};
  CHECK(ResolvConf(spec) == "nameserver 192.0.2.53\nnameserver 198.51.100.53\n");
  spec.hosts = {{"db", "192.0.2.10"}, {"host", "203.0.113.1"}, {"evil\n1.2.3.4", "x"}};
  std::string hosts = HostsFile(spec, "10.213.0.1");
  CHECK_THAT(hosts, Catch::StartsWith("127.0.0.1\tlocalhost\n"));
  CHECK_THAT(hosts, Catch::Contains("192.0.2.10\tdb\n"));
  CHECK_THAT(hosts, Catch::Contains("10.213.0.1\thost\n"));
  CHECK(hosts.find("203.0.113.1") == std::string::npos);
  CHECK(hosts.find("evil") == std::string::npos);
  // Outside veth mode a policy may name "host" itself.
  CHECK_THAT(HostsFile(spec, ""), Catch::Contains("203.0.113.1\thost\n"));
}

}  // namespace warden::net
