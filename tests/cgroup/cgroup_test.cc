// JobCgroup against the real kernel: limits hold, accounting is the job's,
// teardown leaves nothing. Jobs are fork()ed children attached before they
// are released through a pipe (the launcher is not part of this subsystem).
#include "cgroup/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>

#include "cgroup/host.h"
#include "test_util.h"

namespace warden::cgroup {
namespace {

// A unique job id per call, so that runs of this binary never collide.
std::string TestId(const std::string& tag) {
  static std::atomic<int> counter{0};
  return "t" + tag + "-" + std::to_string(counter++);
}

// Every directory in which this host puts job cgroups, plus the top groups.
std::vector<std::string> ParentDirs() {
  std::vector<std::string> out;
  Result<HostLayout> h = DiscoverHost("");
  if (!h.ok()) return out;
  for (const Placement& p : h->placement) {
    if (!p.parent.empty()) out.push_back(p.parent);
  }
  for (const V1Hierarchy& v : h->v1) out.push_back(v.mount + "/" + kTopGroup);
  if (!h->v2_mount.empty()) out.push_back(h->v2_mount + "/" + kTopGroup);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Cgroups named for `owner` anywhere warden puts them.
std::vector<std::string> CgroupsOf(pid_t owner) {
  std::string prefix = std::string(kNamePrefix) + std::to_string(owner) + "-";
  std::vector<std::string> out;
  for (const std::string& dir : ParentDirs()) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0) {
        out.push_back(dir + "/" + e->d_name);
      }
    }
    ::closedir(d);
  }
  return out;
}

bool HostHas(Controller c) {
  Result<HostLayout> h = DiscoverHost("");
  return h.ok() && h->placement[c].backend != Backend::kNone;
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    had_ = old != nullptr;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_.c_str(), old_.c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

// A forked child that waits for Release() before running `work`; killed and
// reaped when the guard goes out of scope.
class Child {
 public:
  explicit Child(void (*work)()) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(fds[1]);
      char b;
      if (::read(fds[0], &b, 1) != 1) ::_exit(99);
      ::close(fds[0]);
      work();
      ::_exit(0);
    }
    ::close(fds[0]);
    release_fd_ = fds[1];
  }
  ~Child() {
    if (release_fd_ >= 0) ::close(release_fd_);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void Release() {
    REQUIRE(::write(release_fd_, "x", 1) == 1);
    ::close(release_fd_);
    release_fd_ = -1;
  }
  // Waits for the child's exit; returns its wait status.
  int Wait() {
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int release_fd_ = -1;
  bool reaped_ = false;
};

void SleepForever() {
  for (;;) ::pause();
}

void MemoryBomb() {
  // Touch 1 MiB at a time until the kernel says no; 1 GiB is far above any
  // limit used here, so reaching it means the limit did not hold.
  constexpr size_t kChunk = 1 << 20;
  for (int i = 0; i < 1024; ++i) {
    void* p = ::mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) ::_exit(3);
    std::memset(p, 0x5a, kChunk);
  }
  ::_exit(4);
}

void ForkBomb() {
  for (;;) {
    if (::fork() < 0) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      ::nanosleep(&ts, nullptr);
    }
  }
}

void SpinTwoSeconds() {
  struct timespec start, now;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    ::clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) <
           2000000000L);
}

void SmallJob() {
  // A few pages of its own; the parent's big heap is shared, not touched.
  static char buf[256 << 10];
  std::memset(buf, 1, sizeof buf);
  struct timespec ts = {0, 50 * 1000 * 1000};
  ::nanosleep(&ts, nullptr);
}

std::unique_ptr<JobCgroup> MustCreate(const CgroupSpec& spec, const std::string& tag,
                                      std::vector<std::string>* warnings = nullptr) {
  Options opts;
  opts.job_id = TestId(tag);
  Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(spec, opts, warnings);
  INFO(cg.status().ToString());
  REQUIRE(cg.ok());
  return std::move(cg).value();
}

TEST_CASE("cgroup: names carry the owner pid", "[cgroup]") {
  CHECK(OwnerOfName("warden-123-job-1") == std::optional<pid_t>(123));
  CHECK(OwnerOfName("warden-self-77") == std::optional<pid_t>(77));
  CHECK_FALSE(OwnerOfName("warden-x-job").has_value());
  CHECK_FALSE(OwnerOfName("warden-12").has_value());
  CHECK_FALSE(OwnerOfName("warden-12-").has_value());
  CHECK_FALSE(OwnerOfName("other-12-job").has_value());
  CHECK_FALSE(OwnerOfName("warden-99999999999999999999-j").has_value());
}

TEST_CASE("cgroup: control file parsing", "[cgroup]") {
  CHECK(KeyedValue("low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n", "oom_kill") ==
        std::optional<uint64_t>(1));
  CHECK(KeyedValue("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n", "oom_kill") ==
        std::optional<uint64_t>(5));
  CHECK_FALSE(KeyedValue("oom 2\n", "oom_kill").has_value());
  CHECK_FALSE(ParseU64("12a").has_value());
  CHECK_FALSE(ParseU64("").has_value());
  CHECK_FALSE(ParseU64("18446744073709551616").has_value());
  CHECK(ParseU64("18446744073709551615") == std::optional<uint64_t>(UINT64_MAX));
}

TEST_CASE("cgroup: bad job ids, parents and limits are rejected before anything is made",
          "[cgroup]") {
  CgroupSpec spec;
  for (const char* id : {"", ".hidden", "a/b", "a b", "../x"}) {
    Options opts;
    opts.job_id = id;
    Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(spec, opts, nullptr);
    CHECK(cg.status().code() == Code::kInvalidArgument);
  }
  Options opts;
  opts.job_id = TestId("bad");
  opts.parent = "a/../../etc";
  CHECK(JobCgroup::Create(spec, opts, nullptr).status().code() == Code::kInvalidArgument);
  opts.parent = "";
  spec.cpu.value = -1;
  CHECK(JobCgroup::Create(spec, opts, nullptr).status().code() == Code::kInvalidArgument);
  spec.cpu.value = 0.5;
  spec.io_max.value = "8:0 rbps=fast";
  CHECK(JobCgroup::Create(spec, opts, nullptr).status().code() == Code::kInvalidArgument);
  spec.io_max.value.reset();
  spec.cpuset_cpus.value = "0;rm -rf";
  CHECK(JobCgroup::Create(spec, opts, nullptr).status().code() == Code::kInvalidArgument);
  CHECK(CgroupsOf(::getpid()).empty());
}

TEST_CASE("cgroup: create, attach, account, remove leaves nothing", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kPids) || !HostHas(kMemory)) WARDEN_SKIP("needs the memory and pids controllers");
  {
    CgroupSpec spec;
    spec.memory_max_bytes.value = 64ull << 20;
    spec.pids_max.value = 32;
    std::unique_ptr<JobCgroup> cg = MustCreate(spec, "basic");
    std::vector<std::string> paths = cg->Paths();
    REQUIRE_FALSE(paths.empty());
    bool any_v1 = std::any_of(paths.begin(), paths.end(), [](const std::string& p) {
      return PathExists(p + "/tasks");  // only v1 cgroups have a tasks file
    });
    if (any_v1) CHECK(cg->clone_into_fd() == -1);
    if (!any_v1) CHECK(cg->clone_into_fd() >= 0);
    for (const std::string& p : paths) CHECK(PathExists(p));
    CHECK(CgroupsOf(::getpid()).size() == paths.size());

    Child child(SleepForever);
    REQUIRE(cg->Attach(child.pid()).ok());
    child.Release();
    Result<Accounting> acct = cg->ReadAccounting();
    REQUIRE(acct.ok());
    CHECK(acct->pids_current == std::optional<uint64_t>(1));
    CHECK(acct->oom_kill_count == std::optional<uint64_t>(0));
    CHECK_FALSE(acct->oom_killed());

    Status st = cg->Remove();
    INFO(st.ToString());
    REQUIRE(st.ok());
    int status = child.Wait();
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK(cg->Paths().empty());
    for (const std::string& p : paths) CHECK_FALSE(PathExists(p));
    CHECK(cg->Remove().ok());  // idempotent
  }
  CHECK(CgroupsOf(::getpid()).empty());
}

TEST_CASE("cgroup: the destructor kills and removes", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kPids)) WARDEN_SKIP("needs the pids controller");
  std::vector<std::string> paths;
  Child child(SleepForever);
  {
    CgroupSpec spec;
    spec.pids_max.value = 8;
    std::unique_ptr<JobCgroup> cg = MustCreate(spec, "dtor");
    paths = cg->Paths();
    REQUIRE(cg->Attach(child.pid()).ok());
    child.Release();
  }
  int status = child.Wait();
  CHECK(WIFSIGNALED(status));
  for (const std::string& p : paths) CHECK_FALSE(PathExists(p));
  CHECK(CgroupsOf(::getpid()).empty());
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
    // Wait until the bomb has filled its allowance.
    Result<Accounting> acct = cg->ReadAccounting();
    for (int i = 0; i < 200; ++i) {
      acct = cg->ReadAccounting();
      REQUIRE(acct.ok());
      if (acct->pids_current.value_or(0) >= kMax) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    acct = cg->ReadAccounting();
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

TEST_CASE("cgroup: cpu = 0.5 gives about half a CPU", "[cgroup][root][slow]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kCpu)) WARDEN_SKIP("needs the cpu controller");
  CgroupSpec spec;
  spec.cpu.value = 0.5;
  std::unique_ptr<JobCgroup> cg = MustCreate(spec, "cpu");
  Child child(SpinTwoSeconds);
  REQUIRE(cg->Attach(child.pid()).ok());
  auto start = std::chrono::steady_clock::now();
  child.Release();
  int status = child.Wait();
  double wall_usec = std::chrono::duration<double, std::micro>(
                         std::chrono::steady_clock::now() - start).count();
  CHECK(WIFEXITED(status));
  Result<Accounting> acct = cg->ReadAccounting();
  REQUIRE(acct.ok());
  if (!acct->cpu_user_usec || !acct->cpu_system_usec) {
    WARDEN_SKIP("this host does not account cpu time per cgroup (no cpuacct / cpu.stat)");
  }
  double used = double(*acct->cpu_user_usec + *acct->cpu_system_usec);
  INFO("cpu " << used << " us over " << wall_usec << " us wall, throttled "
              << acct->cpu_throttled_usec.value_or(0) << " us");
  CHECK(used / wall_usec >= 0.3);
  CHECK(used / wall_usec <= 0.7);
  REQUIRE(acct->cpu_throttled_usec.has_value());
  // Only a job that used its whole quota gets throttled; on a busy host it
  // may not have.
  if (used / wall_usec > 0.45) CHECK(*acct->cpu_throttled_usec > 0);
  REQUIRE(cg->Remove().ok());
}

TEST_CASE("cgroup: freeze stops the job and thaw resumes it", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  CgroupSpec spec;
  std::unique_ptr<JobCgroup> cg = MustCreate(spec, "freeze");
  Child child(SleepForever);
  REQUIRE(cg->Attach(child.pid()).ok());
  child.Release();
  Status st = cg->Freeze(true);
  if (st.code() == Code::kUnavailable) WARDEN_SKIP("no freezer on this host: " + st.ToString());
  REQUIRE(st.ok());
  REQUIRE(cg->Freeze(false).ok());
  REQUIRE(cg->Kill().ok());
  int status = child.Wait();
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  REQUIRE(cg->Remove().ok());
}

TEST_CASE("cgroup: ten jobs created at once do not collide", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kPids)) WARDEN_SKIP("needs the pids controller");
  constexpr int kJobs = 10;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<JobCgroup>> jobs(kJobs);
    std::vector<std::string> errors(kJobs);
    std::vector<std::string> ids(kJobs);
    for (int i = 0; i < kJobs; ++i) ids[i] = TestId("conc");
    std::vector<std::thread> threads;
    for (int i = 0; i < kJobs; ++i) {
      threads.emplace_back([&, i] {
        CgroupSpec spec;
        spec.pids_max.value = 16;
        spec.memory_max_bytes.value = 32ull << 20;
        Options opts;
        opts.job_id = ids[i];
        Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(spec, opts, nullptr);
        if (cg.ok()) {
          jobs[i] = std::move(cg).value();
        } else {
          errors[i] = cg.status().ToString();
        }
      });
    }
    for (std::thread& t : threads) t.join();
    std::set<std::string> all;
    size_t total = 0;
    for (int i = 0; i < kJobs; ++i) {
      INFO(errors[i]);
      REQUIRE(jobs[i] != nullptr);
      for (const std::string& p : jobs[i]->Paths()) {
        CHECK(PathExists(p));
        all.insert(p);
        ++total;
      }
    }
    CHECK(all.size() == total);
    threads.clear();
    for (int i = 0; i < kJobs; ++i) {
      threads.emplace_back([&, i] {
        Status st = jobs[i]->Remove();
        if (!st.ok()) errors[i] = st.ToString();
      });
    }
    for (std::thread& t : threads) t.join();
    for (int i = 0; i < kJobs; ++i) {
      INFO(errors[i]);
      CHECK(errors[i].empty());
    }
    for (const std::string& p : all) CHECK_FALSE(PathExists(p));
  }
  CHECK(CgroupsOf(::getpid()).empty());
}

TEST_CASE("cgroup: gc removes the cgroups of a dead owner and keeps live ones",
          "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kPids)) WARDEN_SKIP("needs the pids controller");
  pid_t dead = ::fork();
  REQUIRE(dead >= 0);
  if (dead == 0) ::_exit(0);
  REQUIRE(::waitpid(dead, nullptr, 0) == dead);
  REQUIRE_FALSE(ProcessAlive(dead));

  CgroupSpec spec;
  spec.pids_max.value = 8;
  spec.memory_max_bytes.value = 32ull << 20;
  std::unique_ptr<JobCgroup> live = MustCreate(spec, "gclive");
  std::vector<std::string> dead_paths;
  Child orphan(SleepForever);
  {
    Options opts;
    opts.job_id = TestId("gcdead");
    opts.owner_pid = dead;
    Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(spec, opts, nullptr);
    REQUIRE(cg.ok());
    dead_paths = (*cg)->Paths();
    REQUIRE((*cg)->Attach(orphan.pid()).ok());
    orphan.Release();
    (*cg)->Release();  // as if warden had been SIGKILLed here
  }
  REQUIRE(CgroupsOf(dead).size() == dead_paths.size());

  std::vector<std::string> removed;
  GcOptions only_dead;
  only_dead.only_owner = dead;
  // A job an agent is about to adopt is kept although its owner is dead.
  only_dead.keep = [](const std::string& name) { return name.find("gcdead") != std::string::npos; };
  REQUIRE(Gc(only_dead, &removed).ok());
  CHECK(removed.empty());
  CHECK(CgroupsOf(dead).size() == dead_paths.size());
  only_dead.keep = nullptr;
  Status st = Gc(only_dead, &removed);
  INFO(st.ToString());
  REQUIRE(st.ok());
  std::sort(removed.begin(), removed.end());
  std::sort(dead_paths.begin(), dead_paths.end());
  CHECK(removed == dead_paths);
  CHECK(CgroupsOf(dead).empty());
  int status = orphan.Wait();
  CHECK(WIFSIGNALED(status));

  // A live owner's cgroups stay.
  removed.clear();
  GcOptions only_us;
  only_us.only_owner = ::getpid();
  REQUIRE(Gc(only_us, &removed).ok());
  CHECK(removed.empty());
  for (const std::string& p : live->Paths()) CHECK(PathExists(p));
  REQUIRE(live->Remove().ok());
  CHECK(CgroupsOf(::getpid()).empty());
}

TEST_CASE("cgroup: an unavailable controller fails closed, or warns when optional",
          "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  ScopedEnv env("WARDEN_CGROUP_DISABLE", "memory,pids");
  CgroupSpec spec;
  spec.memory_max_bytes.value = 64ull << 20;
  Options opts;
  opts.job_id = TestId("closed");
  std::vector<std::string> warnings;
  Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(spec, opts, &warnings);
  REQUIRE_FALSE(cg.ok());
  CHECK(cg.status().code() == Code::kUnavailable);
  CHECK_THAT(cg.status().message(), Catch::Contains("memory"));
  CHECK_THAT(cg.status().message(), Catch::Contains("WARDEN_CGROUP_DISABLE"));
  CHECK(CgroupsOf(::getpid()).empty());

  spec.memory_max_bytes.value.reset();
  spec.pids_max.value = 10;
  cg = JobCgroup::Create(spec, opts, &warnings);
  CHECK(cg.status().code() == Code::kUnavailable);
  CHECK_THAT(cg.status().message(), Catch::Contains("pids"));
  CHECK(CgroupsOf(::getpid()).empty());

  spec.pids_max.optional = true;
  spec.memory_max_bytes.value = 64ull << 20;
  spec.memory_max_bytes.optional = true;
  cg = JobCgroup::Create(spec, opts, &warnings);
  INFO(cg.status().ToString());
  REQUIRE(cg.ok());
  REQUIRE(warnings.size() >= 2);
  CHECK_THAT(warnings[0], Catch::Contains("memory"));
  for (const std::string& p : (*cg)->Paths()) {
    CHECK(p.find("/memory/") == std::string::npos);
    CHECK(p.find("/pids/") == std::string::npos);
  }
  REQUIRE((*cg)->Remove().ok());
  CHECK(CgroupsOf(::getpid()).empty());
}

TEST_CASE("cgroup: unknown names in WARDEN_CGROUP_DISABLE are an error", "[cgroup]") {
  ScopedEnv env("WARDEN_CGROUP_DISABLE", "memory,bogus");
  CHECK(DiscoverHost("").status().code() == Code::kInvalidArgument);
}

TEST_CASE("cgroup: a missing --cgroup-parent is reported, not created", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  CgroupSpec spec;
  spec.pids_max.value = 8;
  Options opts;
  opts.job_id = TestId("parent");
  opts.parent = "warden-no-such-parent-" + std::to_string(::getpid());
  Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(spec, opts, nullptr);
  if (!HostHas(kPids)) WARDEN_SKIP("needs the pids controller");
  REQUIRE_FALSE(cg.ok());
  CHECK_THAT(cg.status().ToString(), Catch::Contains(opts.parent));
  for (const std::string& dir : ParentDirs()) {
    std::string mount = dir.substr(0, dir.rfind('/'));
    CHECK_FALSE(PathExists(mount + "/" + opts.parent));
  }
}

TEST_CASE("cgroup: without a freezer a fork bomb is still killed", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHas(kPids)) WARDEN_SKIP("needs the pids controller");
  {
    ScopedEnv env("WARDEN_CGROUP_DISABLE", "freezer");
    Result<HostLayout> h = DiscoverHost("");
    REQUIRE(h.ok());
    if (h->placement[kMemory].backend == Backend::kV2) {
      WARDEN_SKIP("cgroup v2 kills through cgroup.kill; the v1 freezer fallback does not apply");
    }
    CgroupSpec spec;
    spec.pids_max.value = 16;
    std::unique_ptr<JobCgroup> cg = MustCreate(spec, "nofreezer");
    for (const std::string& p : cg->Paths()) CHECK(p.find("/freezer/") == std::string::npos);
    Child child(ForkBomb);
    REQUIRE(cg->Attach(child.pid()).ok());
    child.Release();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Status st = cg->Remove();
    INFO(st.ToString());
    REQUIRE(st.ok());
    int status = child.Wait();
    CHECK(WIFSIGNALED(status));
  }
  CHECK(CgroupsOf(::getpid()).empty());
}

// A parent the caller made in every hierarchy, removed again at scope end.
class ScopedParent {
 public:
  explicit ScopedParent(const std::string& rel) {
    Result<HostLayout> h = DiscoverHost("");
    REQUIRE(h.ok());
    for (const V1Hierarchy& v : h->v1) dirs_.push_back(V1ParentDir(v, rel));
    for (const std::string& d : dirs_) REQUIRE(::mkdir(d.c_str(), 0755) == 0);
    // v1 cpuset refuses children of a group without cpus and mems.
    for (const std::string& d : dirs_) {
      if (!PathExists(d + "/cpuset.cpus")) continue;
      std::string parent = d.substr(0, d.rfind('/'));
      for (const char* f : {"/cpuset.cpus", "/cpuset.mems"}) {
        Result<std::string> v = ReadCgroupFile(parent + f);
        REQUIRE(v.ok());
        REQUIRE(WriteCgroupFile(d + f, SplitWords(*v).at(0)).ok());
      }
    }
  }
  ~ScopedParent() {
    for (const std::string& d : dirs_) ::rmdir(d.c_str());
  }
  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  std::vector<std::string> dirs_;
};

TEST_CASE("cgroup: --cgroup-parent places the job in the caller's group", "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  Result<HostLayout> h = DiscoverHost("");
  REQUIRE(h.ok());
  if (h->v1.empty() || h->placement[kPids].backend != Backend::kV1) {
    WARDEN_SKIP("this test makes parents in v1 hierarchies; the host has none for pids");
  }
  std::string rel = "wtest-parent-" + std::to_string(::getpid());
  {
    ScopedParent parent(rel);
    CgroupSpec spec;
    spec.pids_max.value = 8;
    spec.cpuset_cpus.value = "0";
    Options opts;
    opts.job_id = TestId("parent");
    opts.parent = rel;
    Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(spec, opts, nullptr);
    INFO(cg.status().ToString());
    REQUIRE(cg.ok());
    std::vector<std::string> paths = (*cg)->Paths();
    REQUIRE_FALSE(paths.empty());
    for (const std::string& p : paths) {
      INFO(p);
      CHECK(p.find("/" + rel + "/warden-") != std::string::npos);
    }
    // Gc looks there when told to; the owner (us) is alive, so it stays.
    GcOptions gopts;
    gopts.parent = rel;
    gopts.only_owner = ::getpid();
    std::vector<std::string> removed;
    REQUIRE(Gc(gopts, &removed).ok());
    CHECK(removed.empty());
    REQUIRE((*cg)->Remove().ok());
    for (const std::string& d : parent.dirs()) CHECK(PathExists(d));  // never ours to remove
  }
  CHECK(CgroupsOf(::getpid()).empty());
}

TEST_CASE("cgroup: v2 jobs start in their cgroup and are limited there", "[cgroup][cgroup2][root]") {
  WARDEN_REQUIRE_ROOT();
  Result<HostLayout> h = DiscoverHost("");
  REQUIRE(h.ok());
  if (h->placement[kMemory].backend != Backend::kV2 || h->placement[kPids].backend != Backend::kV2) {
    WARDEN_SKIP("no usable cgroup v2 memory and pids controllers on this host (memory: " +
                h->placement[kMemory].reason + ")");
  }
  {
    CgroupSpec spec;
    spec.memory_max_bytes.value = 64ull << 20;
    spec.pids_max.value = 16;
    spec.cpu.value = 0.25;
    std::unique_ptr<JobCgroup> cg = MustCreate(spec, "v2");
    REQUIRE(cg->Paths().size() == 1);
    const std::string dir = cg->Paths()[0];
    CHECK(cg->clone_into_fd() >= 0);
    CHECK(ReadCgroupFile(dir + "/memory.max").value() == "67108864\n");
    CHECK(ReadCgroupFile(dir + "/pids.max").value() == "16\n");
    CHECK(ReadCgroupFile(dir + "/cpu.max").value() == "25000 100000\n");
    CHECK(ReadCgroupFile(dir + "/memory.oom.group").value() == "1\n");
    if (PathExists(dir + "/memory.swap.max")) {
      CHECK(ReadCgroupFile(dir + "/memory.swap.max").value() == "0\n");
    }
    Child child(SleepForever);
    REQUIRE(cg->Attach(child.pid()).ok());
    child.Release();
    REQUIRE(cg->Freeze(true).ok());
    CHECK(KeyedValue(ReadCgroupFile(dir + "/cgroup.events").value(), "frozen") ==
          std::optional<uint64_t>(1));
    REQUIRE(cg->Freeze(false).ok());
    REQUIRE(cg->Kill().ok());
    int status = child.Wait();
    CHECK(WIFSIGNALED(status));
    Result<Accounting> acct = cg->ReadAccounting();
    REQUIRE(acct.ok());
    CHECK(acct->cpu_user_usec.has_value());
    REQUIRE(cg->Remove().ok());
    CHECK_FALSE(PathExists(dir));
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

TEST_CASE("cgroup: doctor names a backend for every controller", "[cgroup]") {
  base::DoctorChecks checks = DoctorChecks();
  REQUIRE(checks.size() >= 5);
  for (const base::DoctorCheck& c : checks) {
    INFO(c.feature << ": " << c.detail);
    CHECK_FALSE(c.detail.empty());
    CHECK(c.feature.rfind("cgroup", 0) == 0);
    if (!c.ok) CHECK_FALSE(c.fix.empty());
  }
}

}  // namespace
}  // namespace warden::cgroup
