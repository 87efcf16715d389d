// A Launcher for one test: the repository's policies and a cache directory
// of the test's own (never /var/cache/warden).
#ifndef WARDEN_TESTS_LAUNCH_LAUNCHER_FIXTURE_H_
#define WARDEN_TESTS_LAUNCH_LAUNCHER_FIXTURE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "test_util.h"
#include "warden/launcher.h"

namespace warden::testing {

struct LauncherFixture {
  TempDir cache;
  std::unique_ptr<Launcher> launcher;

  LauncherFixture() {
    LauncherOptions o;
    o.cache_dir = cache.path();
    o.policy_dir = RepoPolicies();
    Result<std::unique_ptr<Launcher>> l = Launcher::Create(o);
    REQUIRE(l.ok());
    launcher = std::move(l.value());
  }

  // The default policy and `argv`, stdio /dev/null.
  JobSpec Spec(std::vector<std::string> argv) {
    JobSpec spec;
    spec.policy = RepoDefaultPolicy();
    spec.argv = std::move(argv);
    return spec;
  }

  // Starts `spec`; the test fails unless Start accepts it.
  std::unique_ptr<Job> Start(JobSpec spec) {
    Result<std::unique_ptr<Job>> job = launcher->Start(std::move(spec));
    INFO(job.status().ToString());
    REQUIRE(job.ok());
    return std::move(job.value());
  }
};

}  // namespace warden::testing

#endif  // WARDEN_TESTS_LAUNCH_LAUNCHER_FIXTURE_H_
