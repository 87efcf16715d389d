// The child's failures name the step, the system call and the path, and the
// hint fits the step and the errno. Each step is made to fail through the
// test-only fault point (base/fault.h).
#include <cerrno>
#include <string>

#include "base/fault.h"
#include "proto/report.h"
#include "test_util.h"
#include "warden/job.h"

namespace warden {
namespace {

struct Expect {
  const char* step;  // as StepName gives it
  const char* call;  // the call the message must name
  const char* path;  // what it worked on ("" when nothing)
};

// Every step of the child that the default policy goes through.
constexpr Expect kSteps[] = {
    {"parent-death signal", "prctl", "PR_SET_PDEATHSIG"},
    {"wait for release", "read", "release channel"},
    {"make / private", "mount(MS_REC|MS_PRIVATE)", "MS_PRIVATE) \"/\""},
    {"staging tmpfs", "mount(tmpfs)", "\"/"},
    {"bind root", "mount(tmpfs)", "\"/\""},
    {"make root read-only", "mount_setattr", "\"/\""},
    {"mask template", "mount(tmpfs)", ".mask-dir"},
    {"tmpfs", "mount(tmpfs)", "mount(tmpfs) \"/"},
    {"proc", "mount(proc)", "mount(proc) \"/proc\""},
    {"mask", "mount(MS_BIND mask)", "\"/"},
    {"pivot_root", "pivot_root", "\"/"},
    {"detach old root", "umount2(MNT_DETACH)", "\"/\""},
    {"bring up lo", "ioctl(SIOCSIFFLAGS)", "ioctl(SIOCSIFFLAGS) lo"},
    {"sethostname", "sethostname", "sethostname(warden)"},
    {"lock securebits", "prctl", "PR_SET_SECUREBITS"},
    {"fork job", "clone", ""},
    {"drop init privileges", "capset", ""},
    {"setsid", "setsid", ""},
    {"set up stdio", "dup3", ""},
    {"chdir", "chdir", "chdir(\"/tmp\")"},
    {"setrlimit", "prlimit64", "RLIMIT_"},
    {"setgroups", "setgroups", ""},
    {"setresgid", "setresgid", ""},
    {"setresuid", "setresuid", ""},
    {"drop capabilities", "capset", ""},
    {"no_new_privs", "prctl", "PR_SET_NO_NEW_PRIVS"},
    {"load seccomp filter", "seccomp", "SECCOMP_SET_MODE_FILTER"},
};

TEST_CASE("launch: each child step's failure names the step, the call and the path",
          "[launch][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  testing::TempDir out;
  JobRequest req;
  req.policy = testing::RepoDefaultPolicy();
  req.argv = {"/bin/true"};
  // The job's stdio goes through pipes, so "set up stdio" has work to do.
  req.output_dir = out.path();
  for (const Expect& e : kSteps) {
    INFO("step " << e.step);
    REQUIRE(launch::StepByName(e.step) != launch::Step::kNone);
    ::warden::testing::ScopedChildFault fault(e.step);
    Result<JobResult> r = RunJob(req);
    REQUIRE(r.ok());
    INFO(r->error);
    CHECK(r->status == JobStatus::kSetupError);
    CHECK(r->exit_code == 125);
    CHECK(r->error.find(std::string("step '") + e.step + "': " + e.call) != std::string::npos);
    CHECK(r->error.find(e.path) != std::string::npos);
    CHECK(r->error.find("EIO") != std::string::npos);
  }
}

TEST_CASE("launch: an EPERM from setgroups does not tell root that warden needs root",
          "[launch][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  JobRequest req;
  req.policy = testing::RepoDefaultPolicy();
  req.argv = {"/bin/true"};
  ::warden::testing::ScopedChildFault fault("setgroups:" + std::to_string(EPERM));
  Result<JobResult> r = RunJob(req);
  REQUIRE(r.ok());
  INFO(r->error);
  CHECK(r->exit_code == 125);
  CHECK(r->error.find("step 'setgroups': setgroups: EPERM") != std::string::npos);
  CHECK(r->error.find("needs root") == std::string::npos);
  CHECK(r->error.find("job's ids") != std::string::npos);
}

TEST_CASE("launch: a job that cannot be traced runs, with a warning in its result",
          "[launch][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  JobRequest req;
  req.policy = testing::RepoDefaultPolicy();
  req.policy.seccomp.deny_action = SeccompAction::kKill;  // traced for attribution
  req.argv = {"/bin/sh", "-c", "exit 4"};
  ::warden::testing::ScopedChildFault fault("trace job");
  Result<JobResult> r = RunJob(req);
  REQUIRE(r.ok());
  INFO(r->error);
  CHECK(r->exit_code == 4);
  bool warned = false;
  for (const std::string& w : r->warnings) {
    if (w.find("step 'trace job': ptrace(PTRACE_SEIZE)") != std::string::npos) warned = true;
  }
  CHECK(warned);
  CHECK(JobResultToJson(*r).find("PTRACE_SEIZE") != std::string::npos);
}

TEST_CASE("launch: the child fault point is off unless a test enables it", "[launch]") {
  // The warden binary never calls EnableChildFaults: the variable alone
  // arms nothing. (This process may have enabled it in another test, so
  // only the spec's parsing is checked here.)
  CHECK(launch::StepByName("no such step") == launch::Step::kNone);
  CHECK(launch::StepByName("mask") == launch::Step::kMountMask);
  CHECK(std::string(launch::StepName(launch::Step::kSetgroups)) == "setgroups");
}

}  // namespace
}  // namespace warden
