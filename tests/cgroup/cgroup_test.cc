// JobCgroup life cycle against the real kernel: create, attach, account,
// freeze, kill, remove, gc, fail closed, placement. Every test checks that
// nothing is left behind.
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/host.h"
#include "helpers.h"

namespace warden::cgroup {
namespace {

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
  CgroupSpec spec;
  spec.memory_max_bytes.value = 64ull << 20;
  Options opts;
  opts.job_id = TestId("closed");
  opts.disabled_controllers = "memory,pids";
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
  CHECK(DiscoverHost("", "memory,bogus").status().code() == Code::kInvalidArgument);
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


TEST_CASE("cgroup: doctor names a backend for every controller", "[cgroup]") {
  base::DoctorChecks checks = DoctorChecks(::warden::testing::HostConfig());
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
