// The sandbox's first process joins its v1 cgroups itself (launch/
// cgroup_join.h): a failed join fails the launch, naming the tasks file,
// and a joined job is held by its limits, also from a user namespace.
#include <cerrno>
#include <string>

#include "base/fault.h"
#include "cgroup/host.h"
#include "test_util.h"
#include "warden/job.h"

namespace warden {
namespace {

bool HostHasV1Memory() {
  Result<cgroup::HostLayout> h = cgroup::DiscoverHost("");
  return h.ok() && h->placement[cgroup::kMemory].backend == cgroup::Backend::kV1;
}

TEST_CASE("launch: a v1 cgroup the child cannot join fails the launch, naming its tasks file",
          "[launch][cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHasV1Memory()) WARDEN_SKIP("needs the memory controller on cgroup v1");
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  JobRequest req;
  req.policy = testing::RepoDefaultPolicy();
  req.argv = {"/bin/true"};
  ::warden::testing::ScopedChildFault fault("join the job's cgroups:" + std::to_string(EACCES));
  Result<JobResult> r = RunJob(req);
  REQUIRE(r.ok());
  INFO(r->error);
  CHECK(r->status == JobStatus::kSetupError);
  CHECK(r->exit_code == 125);
  CHECK(r->error.find("step 'join the job's cgroups': write(\"0\")") != std::string::npos);
  CHECK(r->error.find("/tasks") != std::string::npos);
  CHECK(r->error.find("EACCES") != std::string::npos);
}

TEST_CASE("launch: a job that joined its v1 cgroups itself is held by the memory limit",
          "[launch][cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  if (!HostHasV1Memory()) WARDEN_SKIP("needs the memory controller on cgroup v1");
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  testing::TempDir out;
  for (bool userns : {false, true}) {
    INFO("user namespace: " << userns);
    JobRequest req;
    req.policy = testing::RepoDefaultPolicy();
    req.policy.user_namespace = userns;
    req.policy.cgroup.memory_max_bytes.value = 32ull << 20;
    req.output_dir = out.path();
    // 64 MiB of touched memory under a 32 MiB limit: only the job's own
    // memory cgroup can stop it.
    req.argv = {"python3", "-c", "b = b'x' * (64 << 20); print(len(b))"};
    Result<JobResult> r = RunJob(req);
    REQUIRE(r.ok());
    INFO(r->error);
    CHECK(r->status == JobStatus::kOom);
    REQUIRE(r->cgroup.count("memory_peak_bytes") == 1);
    CHECK(r->cgroup.at("memory_peak_bytes") >= (30ull << 20));
  }
}

}  // namespace
}  // namespace warden
