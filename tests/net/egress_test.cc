// The egress whitelist never opens broadcast, multicast or the host; the
// lease scan reports a readdir that fails; the host may refuse forwarding.
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include "base/file.h"
#include "net/lease.h"
#include "net/net.h"
#include "net/rules.h"
#include "net_test_util.h"
#include "test_util.h"

namespace warden::net {
namespace {

SandboxRulesInput WideOpen() {
  SandboxRulesInput in;
  auto allow = ParseAllow({"0.0.0.0/0", "192.0.2.1"});
  REQUIRE(allow.ok());
  in.allow = *allow;
  in.host_end = 0x0ad50001;
  in.pool = Cidr{0x0ad50000, 16};
  // The host's 192.0.2.1/24, given with its subnet's broadcast address as
  // VethSession passes it.
  in.host_addresses = {0xc0000201, 0xc00002ff, 0x7f000001};
  return in;
}

// The index of the first rule that decides for `daddr` (accept or refuse),
// by walking the output chain as the kernel would (any protocol and port).
int FirstMatch(const NftTable& t, uint32_t daddr, NftRule::Verdict* verdict) {
  for (const NftChain& c : t.chains) {
    if (c.name != "output") continue;
    for (size_t i = 0; i < c.rules.size(); ++i) {
      const NftRule& r = c.rules[i];
      if (!r.oifname.empty() || r.ct_established) continue;  // lo, replies
      bool hit = r.daddr.empty();
      for (const Cidr& d : r.daddr) hit |= d.Contains(daddr);
      if (!hit) continue;
      *verdict = r.verdict;
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

TEST_CASE("net: 0.0.0.0/0 opens neither broadcast, multicast nor the host", "[net]") {
  const NftTable t = SandboxTable(WideOpen());
  INFO(NftText(t));
  struct Case {
    const char* what;
    uint32_t address;
  };
  for (Case c : {Case{"limited broadcast 255.255.255.255", 0xffffffff},
                 Case{"all-hosts multicast 224.0.0.1", 0xe0000001},
                 Case{"mDNS multicast 224.0.0.251", 0xe00000fb},
                 Case{"site multicast 239.255.255.250", 0xeffffffa},
                 Case{"0.0.0.0 (the local host)", 0x00000000},
                 Case{"the host's 192.0.2.1, even written out", 0xc0000201},
                 Case{"the host's subnet broadcast 192.0.2.255", 0xc00002ff},
                 Case{"the host end of the veth", 0x0ad50001},
                 Case{"another sandbox", 0x0ad50006},
                 Case{"link-local metadata", 0xa9fea9fe}}) {
    INFO(c.what);
    NftRule::Verdict v = NftRule::Verdict::kAccept;
    REQUIRE(FirstMatch(t, c.address, &v) >= 0);
    CHECK(v == NftRule::Verdict::kJump);
  }
  // What the wide entry is for still passes.
  NftRule::Verdict v = NftRule::Verdict::kJump;
  REQUIRE(FirstMatch(t, 0x08080808, &v) >= 0);
  CHECK(v == NftRule::Verdict::kAccept);
}

TEST_CASE("net: never-destinations cover broadcast, multicast and 0/8", "[net]") {
  auto never = [](uint32_t a) {
    for (const Cidr& c : NeverDestinations()) {
      if (c.Contains(a)) return true;
    }
    return false;
  };
  CHECK(never(0xffffffff));
  CHECK(never(0xe0000001));
  CHECK(never(0xefffffff));
  CHECK(never(0x00000000));
  CHECK_FALSE(never(0x08080808));
  CHECK_FALSE(never(0xdfffffff));
}

TEST_CASE("net: a lease scan whose readdir fails is an error, not an empty pool",
          "[net]") {
  char tmpl[] = "/tmp/warden-lease-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  // A directory stream over an O_PATH descriptor: every getdents on it fails
  // (EBADF), and the loop that ends a listing has to tell that from the end.
  // (glibc reports a removed directory's ENOENT as the end, so that cannot
  // serve here.)
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  base::UniqueDir d(::fdopendir(fd));
  REQUIRE(d);
  Result<std::vector<std::string>> names = ReadLeaseNames(d.get(), dir);
  REQUIRE_FALSE(names.ok());
  CHECK(names.status().err() == EBADF);
  CHECK_THAT(names.status().ToString(), Catch::Contains("readdir"));
  d.reset();
  ::rmdir(dir.c_str());
}

}  // namespace warden::net

namespace warden::net {

TEST_CASE("net: the host end of a job's veth carries the job and owner in its alias",
          "[net][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::VethTestHost env;
  REQUIRE(env.ok());
  NetworkSpec spec;
  spec.mode = NetworkSpec::Mode::kVeth;
  spec.allow = {"host:8080"};
  auto s = testing::PrepareVeth(spec, "aliased");
  REQUIRE_OK(s.status());
  {
    testing::NetnsProcess job;
    REQUIRE(job.ok());
    REQUIRE_OK((*s)->AttachToChild(job.pid()));
    // What gc and an operator read to attribute the link.
    // (Through netlink, in this thread's netns: /sys/class/net shows the
    // netns sysfs was mounted in.)
    const std::string cmd = "ip -o link show dev " + (*s)->host_interface();
    std::string out;
    FILE* f = ::popen(cmd.c_str(), "r");
    REQUIRE(f != nullptr);
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    CHECK(::pclose(f) == 0);
    INFO(out);
    CHECK_THAT(out, Catch::Contains("alias warden job=aliased owner=" + std::to_string(::getpid())));
  }
  REQUIRE_OK((*s)->Release());
}

}  // namespace warden::net
