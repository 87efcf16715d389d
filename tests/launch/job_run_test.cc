#include "launch/job_run.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "test_util.h"

namespace warden {
namespace {

// The host settings the runs below use: the defaults.
const base::HostConfig kConfig;

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// RunJob's sequence, for a launch that stops after any of them.
const std::vector<std::pair<const char*, std::function<Status(launch::JobRun&)>>>& Phases() {
  static const std::vector<std::pair<const char*, std::function<Status(launch::JobRun&)>>>
      kPhases = {
          {"CheckPrivileges", launch::CheckPrivileges},
          {"PlanProcess", launch::PlanProcess},
          {"PlanRootFilesystem", launch::PlanRootFilesystem},
          {"CompileSeccomp", launch::CompileSeccomp},
          {"PlanRlimits", launch::PlanRlimits},
          {"PrepareNetwork", launch::PrepareNetwork},
          {"CreateCgroup", launch::CreateCgroup},
          {"OpenStdio", launch::OpenStdio},
          {"CloneSandbox", launch::CloneSandbox},
          {"PlaceChild", launch::PlaceChild},
          {"SuperviseJob", launch::SuperviseJob},
          {"Teardown", [](launch::JobRun& r) { launch::Teardown(r); return Status::Ok(); }},
          {"CollectResult", launch::CollectResult},
      };
  return kPhases;
}

TEST_CASE("job run: a launch abandoned after any phase leaves no cgroup, fd or child behind",
          "[launch][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  ::warden::testing::ScopedHostConfig dir(&base::HostConfig::policy_dir, testing::RepoPolicies());
  JobRequest req;
  Result<Policy> p = ResolvePolicy("default");
  REQUIRE(p.ok());
  req.policy = p.value();
  // Long enough that a job released by PlaceChild is still running when
  // the run is abandoned: its destructor, not the job, ends it.
  req.argv = {"/bin/sleep", "1000"};
  {
    // Warms the caches (seccomp, policy) and the allocator.
    req.argv = {"/bin/true"};
    Result<JobResult> warm = RunJob(req);
    REQUIRE(warm.ok());
    INFO(warm->error);
    REQUIRE(warm->exit_code == 0);
    req.argv = {"/bin/sleep", "1000"};
  }
  const int fds = testing::CountOpenFds();
  // Up to and including PlaceChild: SuperviseJob would wait for the sleep.
  for (size_t stop = 0; stop <= 10; ++stop) {
    INFO("abandoned after " << stop << " phases"
                            << (stop ? std::string(", the last ") + Phases()[stop - 1].first : ""));
    std::vector<std::string> cgroups;
    pid_t child = -1;
    {
      launch::JobRun run(req, "phases" + std::to_string(::getpid()) + "x" + std::to_string(stop),
                         ::warden::testing::HostConfig());
      for (size_t i = 0; i < stop; ++i) {
        Status st = Phases()[i].second(run);
        INFO(Phases()[i].first << ": " << st.ToString());
        REQUIRE(st.ok());
      }
      if (run.job_cgroup) cgroups = run.job_cgroup->Paths();
      if (run.sandbox) child = run.sandbox->pid();
      CHECK((stop > 6) == !cgroups.empty());
      CHECK((stop > 8) == (child > 0));
    }
    for (const std::string& c : cgroups) CHECK_FALSE(Exists(c));
    if (child > 0) CHECK(::kill(child, 0) == -1);
    CHECK(waitpid(-1, nullptr, WNOHANG | __WALL) == -1);  // no child left, not even a zombie
    CHECK(errno == ECHILD);
    CHECK(testing::CountOpenFds() == fds);
  }

  // All of them, in order, are RunJob.
  req.argv = {"/bin/sh", "-c", "exit 3"};
  launch::JobRun run(req, "phases" + std::to_string(::getpid()) + "all",
                     ::warden::testing::HostConfig());
  for (const auto& [name, phase] : Phases()) {
    Status st = phase(run);
    INFO(name << ": " << st.ToString());
    REQUIRE(st.ok());
  }
  CHECK(run.res.status == JobStatus::kNonzero);
  CHECK(run.res.exit_code == 3);
  for (const std::string& c : run.job_cgroup->Paths()) CHECK_FALSE(Exists(c));
}

}  // namespace
}  // namespace warden
