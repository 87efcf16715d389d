// The supervisor and the sandbox's init under conditions an embedding
// process may set up: wall-time limits of weeks, SIGCHLD ignored, fds 0-2
// closed.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/host_config.h"
#include "launch/launcher.h"
#include "test_util.h"
#include "warden/job.h"
#include "warden/launcher.h"
#include "warden/log.h"

namespace warden::launch {
namespace {

TEST_CASE("supervise: poll timeout of a far deadline is clamped, never negative", "[launch]") {
  const int64_t now = 1000000000LL;
  CHECK(PollTimeoutMs(0, now) == -1);
  CHECK(PollTimeoutMs(now, now) == 0);
  CHECK(PollTimeoutMs(now - 5, now) == 0);
  CHECK(PollTimeoutMs(now + 1, now) == 1);
  CHECK(PollTimeoutMs(now + 2500000, now) == 3);
  // 25 days is past INT_MAX milliseconds; 366 days is what policies allow.
  const int64_t day_ns = 86400LL * 1000 * 1000000;
  CHECK(PollTimeoutMs(now + 25 * day_ns, now) == INT_MAX);
  CHECK(PollTimeoutMs(now + 366 * day_ns, now) == INT_MAX);
  CHECK(PollTimeoutMs(now + 24 * day_ns, now) == 24 * 86400 * 1000 + 1);
}

TEST_CASE("supervise: waitid's siginfo becomes a wait status", "[launch]") {
  siginfo_t info{};
  info.si_code = CLD_EXITED;
  info.si_status = 3;
  CHECK(WIFEXITED(WaitStatusOf(info)));
  CHECK(WEXITSTATUS(WaitStatusOf(info)) == 3);
  info.si_code = CLD_KILLED;
  info.si_status = SIGKILL;
  CHECK(WIFSIGNALED(WaitStatusOf(info)));
  CHECK(WTERMSIG(WaitStatusOf(info)) == SIGKILL);
  CHECK_FALSE(WCOREDUMP(WaitStatusOf(info)));
  info.si_code = CLD_DUMPED;
  info.si_status = SIGSEGV;
  CHECK(WTERMSIG(WaitStatusOf(info)) == SIGSEGV);
  CHECK(WCOREDUMP(WaitStatusOf(info)));
}

// Runs `scenario` in a forked child of the test (whose process-wide state
// it may change: signal dispositions, fds 0-2) and returns its exit code;
// -1 when it did not exit. The scenario's own Job::WaitFor bound turns a
// hang into an exit code, so the wait here ends.
template <typename F>
int InForkedChild(F scenario) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(scenario());
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  REQUIRE(r == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Starts `spec` with a launcher of the repository's policies and waits for
// it (at most 60 s: a guard, not a timing check). 0 when the result is ok,
// exit code 0, and `check` accepts it; 2-5 says which part failed. A hung
// job ends the process without destroying anything (_exit).
template <typename Check, typename BeforeStart>
int RunAndCheck(const std::string& cache, std::vector<std::string> argv, StdioSpec out,
                StdioSpec err, Check check, BeforeStart before_start) {
  LauncherOptions o;
  o.cache_dir = cache;
  o.policy_dir = testing::RepoPolicies();
  // Nothing to stderr: it may be closed, or be another fd by now.
  o.log_sink = [](LogLevel, const std::string&, const std::string&) {};
  Result<std::unique_ptr<Launcher>> l = Launcher::Create(o);
  if (!l.ok()) return 2;
  JobSpec spec;
  spec.policy = testing::RepoDefaultPolicy();
  spec.argv = std::move(argv);
  spec.out = std::move(out);
  spec.err = std::move(err);
  before_start();
  Result<std::unique_ptr<Job>> job = (*l)->Start(std::move(spec));
  if (!job.ok()) return 3;
  Result<JobResult> res = (*job)->WaitFor(std::chrono::seconds(60));
  if (!res.ok()) ::_exit(4);  // still running: a hang
  if (res->status != JobStatus::kOk || res->exit_code != 0 || !check(*res)) return 5;
  return 0;
}

TEST_CASE("supervise: a job ends in a process that ignores SIGCHLD", "[launch]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir cache;
  const int code = InForkedChild([&] {
    ::signal(SIGCHLD, SIG_IGN);
    return RunAndCheck(cache.path(), {"/bin/true"}, StdioSpec::Null(), StdioSpec::Null(),
                       [](const JobResult&) { return true; }, [] {});
  });
  CHECK(code == 0);
}

TEST_CASE("supervise: a job's stdio is right in a process with fds 0-2 closed", "[launch]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  const int code = InForkedChild([&] {
    ::close(0);
    ::close(1);
    ::close(2);
    // A close-on-exec pipe on 0 and 1, /dev/null on 2: RunJob hands 0-2
    // to the job as they are (stdin is the pipe's read end, unused).
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0 || p[0] != 0 || p[1] != 1) return 10;
    if (::open("/dev/null", O_WRONLY | O_CLOEXEC) != 2) return 11;
    JobRequest req;
    req.policy = testing::RepoDefaultPolicy();
    req.argv = {"/bin/sh", "-c", "echo out; echo err >&2"};
    Result<JobResult> r = RunJob(req);
    if (!r.ok()) return 12;
    if (r->status != JobStatus::kOk) return 13;
    ::close(1);  // the job and init are gone: EOF after their output
    std::string got;
    char buf[64];
    ssize_t n;
    while ((n = ::read(0, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
    return got == "out\n" ? 0 : 14;
  });
  CHECK(code == 0);
}

}  // namespace
}  // namespace warden::launch
