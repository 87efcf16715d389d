// Limits against the real kernel: OOM, pids, cpu quota, io, and teardown
// without a freezer. Jobs are fork()ed children attached before release.
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/host.h"
#include "helpers.h"

namespace warden::cgroup {
namespace {

// Waits until pids.max has refused the fork bomb in `cg` a fork (pids.events
// "max" above 0): the event the checks need, not a time after which it has
// probably happened. The 60 s bound only guards against a hang.
void WaitForkRefused(const JobCgroup& cg) {
  std::string events;
  for (const std::string& p : cg.Paths()) {
    if (::access((p + "/pids.events").c_str(), R_OK) == 0) events = p + "/pids.events";
  }
  INFO("cgroup paths: " << cg.Paths().size());
  REQUIRE_FALSE(events.empty());
  for (int i = 0; i < 6000; ++i) {
    Result<std::string> text = ReadCgroupFile(events);
    REQUIRE(text.ok());
    std::vector<std::string> w = SplitWords(*text);
    for (size_t j = 0; j + 1 < w.size(); ++j) {
      if (w[j] == "max" && w[j + 1] != "0") return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("pids.max refused no fork within 60 s");
}

TEST_CASE("cgroup: a memory bomb is OOM-killed with its peak near the limit",
          "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kMemory)) WARDEN_SKIP("needs the memory controller");
  constexpr uint64_t kLimit = 32ull << 20;
  {
    CgroupSpec spec;
    spec.memory_max_bytes.value = kLimit;
    std::unique_ptr<JobCgroup> cg = MustCreate(spec, "oom");
    Child child(MemoryBomb);
    REQUIRE(cg->Attach(child.pid()).ok());
    child.Release();
    int status = child.Wait();
    INFO("wait status " << status);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    Result<Accounting> acct = cg->ReadAccounting();
    REQUIRE(acct.ok());
    REQUIRE(acct->oom_kill_count.has_value());
    CHECK(*acct->oom_kill_count >= 1);
    CHECK(acct->oom_killed());
    REQUIRE(acct->memory_peak_bytes.has_value());
    INFO("peak " << *acct->memory_peak_bytes);
    CHECK(*acct->memory_peak_bytes >= kLimit * 9 / 10);
    CHECK(*acct->memory_peak_bytes <= kLimit + (1 << 20));
    REQUIRE(cg->Remove().ok());
  }
  CHECK(CgroupsOf(::getpid()).empty());
}

TEST_CASE("cgroup: warden's own memory does not count for the job", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kMemory)) WARDEN_SKIP("needs the memory controller");
  // 64 MiB touched by the parent before the fork: shared with the child,
  // charged to the parent's cgroup, never to the job's.
  std::vector<char> ballast(64 << 20, 1);
  CgroupSpec spec;
  spec.memory_max_bytes.value = 256ull << 20;
  std::unique_ptr<JobCgroup> cg = MustCreate(spec, "own");
  Child child(SmallJob);
  REQUIRE(cg->Attach(child.pid()).ok());
  child.Release();
  int status = child.Wait();
  CHECK(WIFEXITED(status));
  Result<Accounting> acct = cg->ReadAccounting();
  REQUIRE(acct.ok());
  REQUIRE(acct->memory_peak_bytes.has_value());
  INFO("peak " << *acct->memory_peak_bytes << ", ballast byte " << int(ballast[12345]));
  CHECK(*acct->memory_peak_bytes < (16ull << 20));
  CHECK_FALSE(acct->oom_killed());
  REQUIRE(cg->Remove().ok());
}

TEST_CASE("cgroup: a fork bomb is held at pids.max and ends cleanly", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kPids)) WARDEN_SKIP("needs the pids controller");
  constexpr uint64_t kMax = 16;
  {
    CgroupSpec spec;
    spec.pids_max.value = kMax;
    std::unique_ptr<JobCgroup> cg = MustCreate(spec, "forkbomb");
    Child child(ForkBomb);
    REQUIRE(cg->Attach(child.pid()).ok());
    child.Release();
    // A refused fork means the bomb has filled its allowance; none of its
    // processes exits, so it stays full.
    WaitForkRefused(*cg);
    Result<Accounting> acct = cg->ReadAccounting();
    REQUIRE(acct.ok());
    REQUIRE(acct->pids_current.has_value());
    CHECK(*acct->pids_current == kMax);
    if (acct->pids_peak) CHECK(*acct->pids_peak == kMax);

    REQUIRE(cg->Kill().ok());
    int status = child.Wait();
    CHECK(WIFSIGNALED(status));
    Status st = cg->Remove();
    INFO(st.ToString());
    REQUIRE(st.ok());
  }
  CHECK(CgroupsOf(::getpid()).empty());
}

// How much CPU the job got depends on the host's load, so this checks the
// quota the kernel holds and that cpu time is accounted, not a ratio of
// cpu to wall time (DESIGN invariant 7: tests never assert timings).
TEST_CASE("cgroup: cpu = 0.5 sets a half-CPU quota and accounts the job's cpu time",
          "[cgroup][root][slow]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kCpu)) WARDEN_SKIP("needs the cpu controller");
  CgroupSpec spec;
  spec.cpu.value = 0.5;
  std::unique_ptr<JobCgroup> cg = MustCreate(spec, "cpu");
  double quota = -1;
  for (const std::string& p : cg->Paths()) {
    Result<std::string> max = ReadCgroupFile(p + "/cpu.max");
    Result<std::string> us = ReadCgroupFile(p + "/cpu.cfs_quota_us");
    Result<std::string> period = ReadCgroupFile(p + "/cpu.cfs_period_us");
    std::vector<std::string> w;
    if (max.ok()) {
      w = SplitWords(*max);
    } else if (us.ok() && period.ok()) {
      w = SplitWords(*us + " " + *period);
    }
    if (w.size() == 2) quota = std::stod(w[0]) / std::stod(w[1]);
  }
  INFO("quota " << quota);
  CHECK(quota == 0.5);
  Child child(SpinTwoSeconds);
  REQUIRE(cg->Attach(child.pid()).ok());
  child.Release();
  int status = child.Wait();
  CHECK(WIFEXITED(status));
  Result<Accounting> acct = cg->ReadAccounting();
  REQUIRE(acct.ok());
  if (!acct->cpu_user_usec || !acct->cpu_system_usec) {
    WARDEN_SKIP("this host does not account cpu time per cgroup (no cpuacct / cpu.stat)");
  }
  INFO("cpu " << *acct->cpu_user_usec + *acct->cpu_system_usec << " us, throttled "
              << acct->cpu_throttled_usec.value_or(0) << " us");
  CHECK(*acct->cpu_user_usec + *acct->cpu_system_usec > 0);
  CHECK(acct->cpu_throttled_usec.has_value());
  REQUIRE(cg->Remove().ok());
}


TEST_CASE("cgroup: without a freezer a fork bomb is still killed", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kPids)) WARDEN_SKIP("needs the pids controller");
  {
    Result<HostLayout> h = DiscoverHost("", "freezer");
    REQUIRE(h.ok());
    if (h->placement[kMemory].backend == Backend::kV2) {
      WARDEN_SKIP("cgroup v2 kills through cgroup.kill; the v1 freezer fallback does not apply");
    }
    CgroupSpec spec;
    spec.pids_max.value = 16;
    std::unique_ptr<JobCgroup> cg = MustCreate(spec, "nofreezer", nullptr, "freezer");
    for (const std::string& p : cg->Paths()) CHECK(p.find("/freezer/") == std::string::npos);
    Child child(ForkBomb);
    REQUIRE(cg->Attach(child.pid()).ok());
    child.Release();
    // The bomb is at its limit and still forking when the cgroup goes.
    WaitForkRefused(*cg);
    Status st = cg->Remove();
    INFO(st.ToString());
    REQUIRE(st.ok());
    int status = child.Wait();
    CHECK(WIFSIGNALED(status));
  }
  CHECK(CgroupsOf(::getpid()).empty());
}


// MAJ:MIN of a real block device (not loop, ram or zram), or "".
std::string SomeBlockDevice() {
  DIR* d = ::opendir("/sys/block");
  if (d == nullptr) return "";
  std::string found;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n[0] == '.' || n.rfind("loop", 0) == 0 || n.rfind("ram", 0) == 0 ||
        n.rfind("zram", 0) == 0) {
      continue;
    }
    Result<std::string> dev = ReadCgroupFile("/sys/block/" + n + "/dev");
    if (dev.ok() && !SplitWords(*dev).empty()) {
      found = SplitWords(*dev)[0];
      break;
    }
  }
  ::closedir(d);
  return found;
}

TEST_CASE("cgroup: io_max becomes io.max or blkio throttle rules", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kIo)) WARDEN_SKIP("needs the io (v2) or blkio (v1) controller");
  std::string dev = SomeBlockDevice();
  if (dev.empty()) WARDEN_SKIP("no block device to throttle on this host");
  CgroupSpec spec;
  spec.io_max.value = dev + " rbps=1048576 wbps=max wiops=100";
  std::unique_ptr<JobCgroup> cg = MustCreate(spec, "io");
  bool seen = false;
  for (const std::string& p : cg->Paths()) {
    if (PathExists(p + "/blkio.throttle.read_bps_device")) {
      seen = true;
      CHECK(ReadCgroupFile(p + "/blkio.throttle.read_bps_device").value() == dev + " 1048576\n");
      CHECK(ReadCgroupFile(p + "/blkio.throttle.write_iops_device").value() == dev + " 100\n");
      CHECK(ReadCgroupFile(p + "/blkio.throttle.write_bps_device").value().empty());
    } else if (PathExists(p + "/io.max")) {
      seen = true;
      CHECK_THAT(ReadCgroupFile(p + "/io.max").value(), Catch::Contains("rbps=1048576"));
    }
  }
  CHECK(seen);
  Result<Accounting> acct = cg->ReadAccounting();
  REQUIRE(acct.ok());
  CHECK(acct->io_read_bytes.has_value());
  REQUIRE(cg->Remove().ok());
}

}  // namespace
}  // namespace warden::cgroup
