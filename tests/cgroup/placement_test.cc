// Where job cgroups go: below warden's own cgroup in every hierarchy (never
// outside a limit the caller is under), or under a --cgroup-parent that must
// exist; and whole-job OOM kills that are checked, not assumed.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "cgroup/cgroup.h"
#include "cgroup/host.h"
#include "cgroup/limits.h"
#include "helpers.h"
#include "test_util.h"

namespace warden::cgroup {
namespace {

// Our own cgroup in the v1 hierarchy of `c`, or "" (no such v1 hierarchy).
std::string OwnV1Dir(const HostLayout& h, Controller c) {
  for (const V1Hierarchy& v : h.v1) {
    for (const std::string& n : v.names) {
      if (n == V1ControllerName(c)) return JoinPath(v.mount, v.own);
    }
  }
  return "";
}

// A child cgroup made below our own in one v1 hierarchy, into which this
// process moves for the scope; moved back and removed at scope end, also
// when a check fails.
class ScopedOwnCgroup {
 public:
  explicit ScopedOwnCgroup(const std::string& own_dir) : own_dir_(own_dir) {
    dir_ = own_dir + "/warden-test-" + std::to_string(::getpid());
    if (::mkdir(dir_.c_str(), 0755) != 0) {
      dir_.clear();
      return;
    }
    if (!WriteCgroupFile(dir_ + "/cgroup.procs", std::to_string(::getpid())).ok()) {
      ::rmdir(dir_.c_str());
      dir_.clear();
    }
  }
  ~ScopedOwnCgroup() {
    if (dir_.empty()) return;
    (void)WriteCgroupFile(own_dir_ + "/cgroup.procs", std::to_string(::getpid()));
    ::rmdir(dir_.c_str());
  }
  bool ok() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }

 private:
  std::string own_dir_, dir_;
};

pid_t DeadPid() {
  pid_t p = ::fork();
  if (p == 0) ::_exit(0);
  ::waitpid(p, nullptr, 0);
  return p;
}

}  // namespace

TEST_CASE("cgroup: a missing --cgroup-parent fails even without limits", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  Options opts;
  opts.job_id = TestId("noparent");
  opts.parent = "warden-no-such-parent-" + std::to_string(::getpid());
  // No limit at all: the job would still be placed (for accounting and
  // teardown), so a parent that is not there must not mean "no cgroup".
  Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(CgroupSpec{}, opts, nullptr);
  if (cg.ok() && (*cg)->Paths().empty()) {
    Result<HostLayout> h = DiscoverHost("");
    bool any = false;
    for (const Placement& p : h->placement) any |= p.backend != Backend::kNone;
    if (!any) WARDEN_SKIP("no cgroup controller on this host");
  }
  REQUIRE_FALSE(cg.ok());
  CHECK(cg.status().code() == Code::kFailedPrecondition);
  CHECK_THAT(cg.status().ToString(), Catch::Contains(opts.parent));
  CHECK_THAT(cg.status().ToString(), Catch::Contains("mkdir -p"));
  CHECK(CgroupsOf(::getpid()).empty());
}

TEST_CASE("cgroup: a missing --cgroup-parent with limits names the real remedy",
          "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kPids)) WARDEN_SKIP("needs the pids controller");
  CgroupSpec spec;
  spec.pids_max.value = 8;
  Options opts;
  opts.job_id = TestId("noparent");
  opts.parent = "warden-no-such-parent-" + std::to_string(::getpid());
  Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(spec, opts, nullptr);
  REQUIRE_FALSE(cg.ok());
  CHECK_THAT(cg.status().ToString(), !Catch::Contains("optional"));
  CHECK_THAT(cg.status().ToString(), Catch::Contains("create it"));
}

TEST_CASE("cgroup: v1 pids and cpu jobs go below warden's own cgroup", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  Result<HostLayout> h = DiscoverHost("");
  REQUIRE(h.ok());
  for (Controller c : {kPids, kCpu}) {
    INFO(ControllerName(c));
    if (h->placement[c].backend != Backend::kV1) {
      WARN("SKIPPED: " << ControllerName(c) << " is not a v1 hierarchy here");
      continue;
    }
    ScopedOwnCgroup own(OwnV1Dir(*h, c));
    REQUIRE(own.ok());
    Result<HostLayout> inside = DiscoverHost("");
    REQUIRE(inside.ok());
    CHECK(inside->placement[c].parent == own.dir());
    CHECK(inside->placement[c].top.empty());
    CgroupSpec spec;
    if (c == kPids) spec.pids_max.value = 8;
    if (c == kCpu) spec.cpu.value = 0.5;
    Options opts;
    opts.job_id = TestId("own");
    Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(spec, opts, nullptr);
    INFO(cg.status().ToString());
    REQUIRE(cg.ok());
    bool below = false;
    for (const std::string& p : (*cg)->Paths()) below |= p.rfind(own.dir() + "/warden-", 0) == 0;
    CHECK(below);
    REQUIRE((*cg)->Remove().ok());
  }
}

TEST_CASE("cgroup: gc finds a dead warden's job below another cgroup", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  Result<HostLayout> h = DiscoverHost("");
  REQUIRE(h.ok());
  if (h->placement[kPids].backend != Backend::kV1) WARDEN_SKIP("needs a v1 pids hierarchy");
  const std::string own = OwnV1Dir(*h, kPids);
  const std::string other = own + "/warden-test-gc-" + std::to_string(::getpid());
  REQUIRE(::mkdir(other.c_str(), 0755) == 0);
  const pid_t dead = DeadPid();
  const std::string leftover = other + "/warden-" + std::to_string(dead) + "-walk";
  REQUIRE(::mkdir(leftover.c_str(), 0755) == 0);
  // Where this process puts jobs is not where that warden did.
  GcOptions near;
  near.only_owner = dead;
  std::vector<std::string> removed;
  CHECK(Gc(near, &removed).ok());
  CHECK(PathExists(leftover));
  GcOptions walk = near;
  walk.walk = true;
  CHECK(Gc(walk, &removed).ok());
  CHECK_FALSE(PathExists(leftover));
  ::rmdir(leftover.c_str());
  CHECK(::rmdir(other.c_str()) == 0);
}

TEST_CASE("cgroup: memory.oom.group that cannot be set fails a memory limit or warns",
          "[cgroup]") {
  char tmpl[] = "/tmp/warden-oomgroup-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;  // no memory.oom.group in it: the write fails
  LimitRequest memory;
  memory.kind = LimitRequest::Kind::kMemory;
  memory.label = "memory=67108864";
  std::vector<std::string> warnings;
  Status st = ApplyOomGroup(dir, &memory, &warnings);
  CHECK(st.code() == Code::kUnavailable);
  CHECK_THAT(st.ToString(), Catch::Contains("memory.oom.group"));
  CHECK(warnings.empty());
  memory.optional = true;
  CHECK(ApplyOomGroup(dir, &memory, &warnings).ok());
  CHECK(warnings.size() == 1);
  CHECK(ApplyOomGroup(dir, nullptr, &warnings).ok());
  REQUIRE(warnings.size() == 2);
  CHECK_THAT(warnings[1], Catch::Contains("memory.oom.group"));
  { std::ofstream(dir + "/memory.oom.group") << ""; }
  warnings.clear();
  CHECK(ApplyOomGroup(dir, &memory, &warnings).ok());
  CHECK(warnings.empty());
  CHECK(ReadCgroupFile(dir + "/memory.oom.group").value() == "1");
  ::unlink((dir + "/memory.oom.group").c_str());
  ::rmdir(dir.c_str());
}

}  // namespace warden::cgroup
