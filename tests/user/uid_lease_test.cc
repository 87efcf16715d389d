// Per-job uid leases: distinct ids for concurrent holders, released on the
// normal path, dead owners' leases collected, untrusted state refused.
#include "user/uid_lease.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

namespace warden::user {
namespace {

using testing::TempDir;
using testing::WriteText;

size_t LeaseCount(const TempDir& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir.Join("leases"), ec)) {
    (void)e;
    ++n;
  }
  return n;
}

TEST_CASE("uid lease: ParseUidRange", "[user]") {
  Result<UidRange> ok = ParseUidRange("2000000-2065535");
  REQUIRE(ok.ok());
  CHECK(ok->lo == 2000000);
  CHECK(ok->size() == 65536);
  CHECK(ParseUidRange("5000-5000").ok());
  for (const char* bad : {"", "2000000", "-5", "5000-", "6000-5000", "0-100", "999-2000",
                          "60000-70000", "1000000-1100000", "1048576-1048577",
                          "5000-4294967295", "5000-99999999999999999999", "a-b",
                          "5000-2000000"}) {
    INFO(bad);
    Result<UidRange> r = ParseUidRange(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("WARDEN_UID_RANGE") != std::string::npos);
  }
  {
    ::warden::testing::ScopedHostConfig none(&base::HostConfig::uid_range, "none");
    Result<std::optional<UidRange>> r = UidRangeFromConfig(::warden::testing::HostConfig());
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
  }
  {
    ::warden::testing::ScopedHostConfig unset(&base::HostConfig::uid_range, "");
    Result<std::optional<UidRange>> r = UidRangeFromConfig(::warden::testing::HostConfig());
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->lo == kDefaultUidRange.lo);
  }
}

TEST_CASE("uid lease: concurrent holders get distinct ids, released on the normal path",
          "[user]") {
  WARDEN_REQUIRE_ROOT();
  TempDir dir;
  ::warden::testing::ScopedHostConfig env(&base::HostConfig::uid_state_dir, dir.path());
  const UidRange range{3000000, 3000002};
  {
    Result<UidLease> a = UidLease::Acquire(::warden::testing::HostConfig().uid_state_dir, range, "job-a");
    Result<UidLease> b = UidLease::Acquire(::warden::testing::HostConfig().uid_state_dir, range, "job-b");
    Result<UidLease> c = UidLease::Acquire(::warden::testing::HostConfig().uid_state_dir, range, "job-c");
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(c.ok());
    CHECK(range.Contains(a->id()));
    CHECK(a->id() != b->id());
    CHECK(b->id() != c->id());
    CHECK(a->id() != c->id());
    CHECK(LeaseCount(dir) == 3);
    // Full: every id is held by a live owner (this process).
    Result<UidLease> d = UidLease::Acquire(::warden::testing::HostConfig().uid_state_dir, range, "job-d");
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == Code::kResourceExhausted);
    REQUIRE(b->Release().ok());
    CHECK(LeaseCount(dir) == 2);
    Result<UidLease> e = UidLease::Acquire(::warden::testing::HostConfig().uid_state_dir, range, "job-e");
    REQUIRE(e.ok());
  }
  CHECK(LeaseCount(dir) == 0);
  struct stat st;
  REQUIRE(::stat(dir.Join("leases").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
}

TEST_CASE("uid lease: a dead owner's lease is collected by Gc and by the next Acquire",
          "[user]") {
  WARDEN_REQUIRE_ROOT();
  TempDir dir;
  ::warden::testing::ScopedHostConfig env(&base::HostConfig::uid_state_dir, dir.path());
  const UidRange range{3000000, 3000000};
  // A holder that dies without releasing (as a warden killed with SIGKILL).
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    Result<UidLease> l = UidLease::Acquire(::warden::testing::HostConfig().uid_state_dir, range, "crashed");
    if (!l.ok()) ::_exit(1);
    ::_exit(0);  // no destructor runs: the lease stays
  }
  int ws = 0;
  REQUIRE(::waitpid(pid, &ws, 0) == pid);
  REQUIRE(WIFEXITED(ws));
  REQUIRE(WEXITSTATUS(ws) == 0);
  REQUIRE(LeaseCount(dir) == 1);

  std::vector<std::string> removed;
  REQUIRE(Gc(::warden::testing::HostConfig().uid_state_dir, &removed).ok());
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].find("uid lease 3000000") != std::string::npos);
  CHECK(removed[0].find("crashed") != std::string::npos);
  CHECK(LeaseCount(dir) == 0);

  // A malformed lease (cut short) is collected too; the one id is free again.
  WriteText(dir.Join("leases/3000000"), "pid=");
  std::vector<std::string> reclaimed;
  Result<UidLease> again = UidLease::Acquire(::warden::testing::HostConfig().uid_state_dir, range, "next", &reclaimed);
  REQUIRE(again.ok());
  CHECK(again->id() == 3000000);
  CHECK(reclaimed.size() == 1);
}

TEST_CASE("uid lease: a state directory others could write, or a symlink, is refused",
          "[user]") {
  WARDEN_REQUIRE_ROOT();
  TempDir dir;
  TempDir elsewhere;
  const UidRange range{3000000, 3000010};
  {
    REQUIRE(::symlink(elsewhere.path().c_str(), dir.Join("link").c_str()) == 0);
    ::warden::testing::ScopedHostConfig env(&base::HostConfig::uid_state_dir, dir.Join("link"));
    CHECK_FALSE(UidLease::Acquire(::warden::testing::HostConfig().uid_state_dir, range, "x").ok());
    CHECK(::access(elsewhere.Join("leases").c_str(), F_OK) != 0);
  }
  {
    REQUIRE(::mkdir(dir.Join("open").c_str(), 0700) == 0);
    REQUIRE(::chmod(dir.Join("open").c_str(), 0777) == 0);
    ::warden::testing::ScopedHostConfig env(&base::HostConfig::uid_state_dir, dir.Join("open"));
    Result<UidLease> l = UidLease::Acquire(::warden::testing::HostConfig().uid_state_dir, range, "x");
    REQUIRE_FALSE(l.ok());
    CHECK(l.status().message().find("writable by others") != std::string::npos);
  }
  {
    ::warden::testing::ScopedHostConfig env(&base::HostConfig::uid_state_dir, dir.Join("missing"));
    std::vector<std::string> removed;
    CHECK(Gc(::warden::testing::HostConfig().uid_state_dir, &removed).ok());
    CHECK(removed.empty());
  }
}

TEST_CASE("uid lease: a symlink planted as leases/ is refused, and nothing is written through it",
          "[user]") {
  WARDEN_REQUIRE_ROOT();
  TempDir dir;
  TempDir elsewhere;
  const UidRange range{3000000, 3000010};
  REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
  REQUIRE(::symlink(elsewhere.path().c_str(), dir.Join("leases").c_str()) == 0);
  ::warden::testing::ScopedHostConfig env(&base::HostConfig::uid_state_dir, dir.path());
  Result<UidLease> l = UidLease::Acquire(::warden::testing::HostConfig().uid_state_dir, range, "x");
  REQUIRE_FALSE(l.ok());
  CHECK(l.status().message().find("symlink") != std::string::npos);
  std::vector<std::string> removed;
  CHECK_FALSE(Gc(::warden::testing::HostConfig().uid_state_dir, &removed).ok());
  CHECK(::rmdir(elsewhere.path().c_str()) == 0);  // still empty
  REQUIRE(::mkdir(elsewhere.path().c_str(), 0700) == 0);
}

TEST_CASE("uid lease: lease files parse only as written", "[user]") {
  LeaseText l;
  REQUIRE(ParseLeaseText("pid=12\nstart=34\njob=j-1\n", &l));
  CHECK(l == LeaseText{12, 34, "j-1"});
  LeaseText back;
  REQUIRE(ParseLeaseText(FormatLeaseText(l), &back));
  CHECK(back == l);
  CHECK(ParseLeaseText("start=34\npid=12\n", &l));
  for (const char* bad : {"", "pid=12\nstart=34", "pid=0\nstart=1\n", "pid=4194304\nstart=1\n",
                          "pid=12\n", "pid=12\nstart=x\n", "pid=12\nstart=1\nnat=1\n",
                          "pid=12\npid=13\nstart=1\n", "pid=12\nstart=99999999999999999999\n",
                          "pid=-1\nstart=1\n", "junk\n"}) {
    INFO(bad);
    CHECK_FALSE(ParseLeaseText(bad, &l));
  }
}

}  // namespace
}  // namespace warden::user
