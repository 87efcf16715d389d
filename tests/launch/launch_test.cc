#include "warden/job.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/raw_syscall.h"
#include "launch/launcher.h"
#include "test_util.h"

namespace warden {
namespace {

Policy TestPolicy() {
  ::warden::testing::ScopedHostConfig dir(&base::HostConfig::policy_dir, testing::RepoPolicies());
  Result<Policy> p = ResolvePolicy("default");
  REQUIRE(p.ok());
  return p.value();
}

TEST_CASE("raw system calls return -errno and leave errno alone", "[base]") {
  namespace sys = base::sys;
  errno = 12345;
  CHECK(sys::Close(-1) == -EBADF);
  CHECK(sys::Open("/proc/warden-no-such-file", O_RDONLY) == -ENOENT);
  CHECK(sys::Chdir("/proc/warden-no-such-dir") == -ENOENT);
  CHECK(sys::Kill(-1, 999) == -EINVAL);
  CHECK(errno == 12345);
  long fd = sys::Open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  CHECK(sys::Dup2(static_cast<int>(fd), static_cast<int>(fd)) == fd);  // dup2's no-op
  CHECK(sys::Dup2(-5, -5) == -EBADF);
  char c;
  CHECK(sys::Read(static_cast<int>(fd), &c, 1) == 0);
  CHECK(sys::Close(static_cast<int>(fd)) == 0);
  CHECK(errno == 12345);
}

TEST_CASE("launch: many jobs in one process leave no mapping, fd or child behind",
          "[launch][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  JobRequest req;
  req.policy = TestPolicy();
  req.argv = {"/bin/sh", "-c", "exit 3"};
  // The first run warms the caches and the allocator; then nothing grows.
  Result<JobResult> first = RunJob(req);
  REQUIRE(first.ok());
  INFO(first->error);
  REQUIRE(first->exit_code == 3);
  const int fds = testing::CountOpenFds();
  for (int i = 0; i < 20; ++i) {
    Result<JobResult> r = RunJob(req);
    REQUIRE(r.ok());
    CHECK(r->status == JobStatus::kNonzero);
    CHECK(r->exit_code == 3);
  }
  CHECK(testing::CountOpenFds() == fds);
  CHECK(waitpid(-1, nullptr, WNOHANG | __WALL) == -1);  // no child left, not even a zombie
  CHECK(errno == ECHILD);

  // A job that cannot start is reported by the sandbox's init through its
  // report pipe, errno value included, and leaves nothing either.
  req.argv = {"/proc/warden-no-such-program"};
  Result<JobResult> missing = RunJob(req);
  REQUIRE(missing.ok());
  CHECK(missing->exit_code == 127);
  CHECK(missing->error.find("No such file or directory") != std::string::npos);
  req.policy.cwd = "/proc/warden-no-such-dir";
  req.argv = {"/bin/true"};
  Result<JobResult> no_cwd = RunJob(req);
  REQUIRE(no_cwd.ok());
  CHECK(no_cwd->status == JobStatus::kSetupError);
  CHECK(no_cwd->exit_code == 125);
  CHECK(no_cwd->error.find("No such file or directory") != std::string::npos);
  CHECK(testing::CountOpenFds() == fds);
}

}  // namespace
}  // namespace warden
