// Launcher and Job (include/warden/launcher.h): jobs started without
// blocking, from any thread, with their stdio as the specs say.
#include "warden/launcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/file.h"
#include "base/log.h"
#include "cgroup/host.h"
#include "launch/launcher_fixture.h"
#include "test_util.h"

namespace warden {
namespace {

using namespace std::chrono_literals;

using Fixture = testing::LauncherFixture;

bool Readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

// Names of job cgroups this process made that are still there, in every
// hierarchy's parent.
std::vector<std::string> LeftoverCgroups() {
  std::vector<std::string> found;
  Result<cgroup::HostLayout> host = cgroup::DiscoverHost("");
  REQUIRE(host.ok());
  const std::string prefix = std::string(cgroup::kNamePrefix) + std::to_string(::getpid()) + "-";
  for (const cgroup::Placement& p : host->placement) {
    if (p.parent.empty()) continue;
    DIR* d = ::opendir(p.parent.c_str());
    if (d == nullptr) continue;
    while (struct dirent* e = ::readdir(d)) {
      if (std::string(e->d_name).rfind(prefix, 0) == 0) found.push_back(p.parent + "/" + e->d_name);
    }
    ::closedir(d);
  }
  return found;
}

// A zombie or an unreaped child of this process.
bool AnyChildLeft() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0 && info.si_pid != 0;
}

TEST_CASE("log: a thread's own sink takes its events; other threads keep the process's",
          "[launch][api]") {
  std::vector<std::string> own, process;
  const LogSink own_sink = [&](LogLevel, const std::string& job, const std::string& m) {
    own.push_back(job + ":" + m);
  };
  SetLogSink([&](LogLevel, const std::string& job, const std::string& m) {
    process.push_back(job + ":" + m);
  });
  {
    base::ScopedThreadLogSink scoped(&own_sink, LogLevel::kInfo);
    WLOG_DEBUG("j", "below its level");
    WLOG_INFO("j", "on the thread");
    std::thread([] { WLOG_WARN("k", "another thread"); }).join();
  }
  WLOG_WARN("j", "after the scope");
  SetLogSink(nullptr);
  CHECK(own == std::vector<std::string>{"j:on the thread"});
  CHECK(process == std::vector<std::string>{"k:another thread", "j:after the scope"});
}

TEST_CASE("launcher: Create refuses relative directories, bad pools, ranges and controllers",
          "[launch][api]") {
  auto refused = [](LauncherOptions o, const char* what) {
    Result<std::unique_ptr<Launcher>> l = Launcher::Create(std::move(o));
    REQUIRE_FALSE(l.ok());
    CHECK(l.status().code() == Code::kInvalidArgument);
    CHECK(l.status().message().find(what) != std::string::npos);
  };
  LauncherOptions o;
  o.state_dir = "run/warden";
  refused(o, "state_dir");
  o = {};
  o.cache_dir = "";
  refused(o, "cache_dir");
  o = {};
  o.net_pool = "10.0.0.0/40";
  refused(o, "net_pool");
  o = {};
  o.uid_range = "5-2";
  refused(o, "uid_range");
  o = {};
  o.cgroup_disable = "memory,bogus";
  refused(o, "bogus");
  o = {};
  o.cgroup_disable = "blkio,cpu";
  o.uid_range = "none";
  CHECK(Launcher::Create(o).ok());
}

TEST_CASE("launcher: Create blocks the forwarded signals only when it forwards them",
          "[launch][api]") {
  // On threads of their own, so that this thread's mask stays as it is.
  auto blocked_after_create = [](bool forward) {
    // Catch2's assertions are for the test's own thread: the other thread
    // only records what it saw.
    bool created = false, read_mask = false, usr1 = false, winch = false;
    std::thread([&] {
      LauncherOptions o;
      o.forward_signals = forward;
      created = Launcher::Create(o).ok();
      sigset_t now;
      read_mask = ::pthread_sigmask(SIG_SETMASK, nullptr, &now) == 0;
      usr1 = ::sigismember(&now, SIGUSR1) == 1;
      winch = ::sigismember(&now, SIGWINCH) == 1;
    }).join();
    REQUIRE(created);
    REQUIRE(read_mask);
    return usr1 && winch;
  };
  CHECK(blocked_after_create(true));
  CHECK_FALSE(blocked_after_create(false));
}

TEST_CASE("launcher: Start refuses a request that cannot run, and starts nothing",
          "[launch][api]") {
  Fixture f;
  auto refused = [&](JobSpec spec, const char* what) {
    Result<std::unique_ptr<Job>> job = f.launcher->Start(std::move(spec));
    REQUIRE_FALSE(job.ok());
    CHECK(job.status().code() == Code::kInvalidArgument);
    INFO(job.status().ToString());
    CHECK(job.status().message().find(what) != std::string::npos);
  };
  refused(f.Spec({}), "argv");
  JobSpec s = f.Spec({"/bin/true"});
  s.in = StdioSpec::Capture();
  refused(s, "stdin");
  s = f.Spec({"/bin/true"});
  s.in = StdioSpec::Relay(1);
  refused(s, "stdin");
  s = f.Spec({"/bin/true"});
  s.out = StdioSpec::Fd(987654);
  refused(s, "not open");
  s = f.Spec({"/bin/true"});
  s.pty = true;
  refused(s, "pty");
  s = f.Spec({"/bin/true"});
  s.uid = 4242;  // the default policy allows no other uid
  refused(s, "uid");
  CHECK_FALSE(AnyChildLeft());
}

TEST_CASE("launcher: start and wait, exit codes, Wait twice", "[launch][api][root]") {
  WARDEN_REQUIRE_ROOT();
  Fixture f;
  std::unique_ptr<Job> ok = f.Start(f.Spec({"/bin/true"}));
  CHECK(ok->pidfd() >= 0);
  CHECK_FALSE(ok->id().empty());
  const JobResult& r = ok->Wait();
  INFO(r.error);
  CHECK(r.status == JobStatus::kOk);
  CHECK(r.exit_code == 0);
  CHECK(&ok->Wait() == &r);
  CHECK(ok->Result().has_value());
  CHECK(Readable(ok->end_fd()));
  CHECK(Readable(ok->pidfd()));

  std::unique_ptr<Job> bad = f.Start(f.Spec({"/bin/sh", "-c", "exit 7"}));
  const JobResult& b = bad->Wait();
  CHECK(b.status == JobStatus::kNonzero);
  CHECK(b.exit_code == 7);
  CHECK(bad->Wait().exit_code == 7);
  CHECK(bad->Kill(SIGTERM).code() == Code::kFailedPrecondition);
  CHECK(bad->Cancel().code() == Code::kFailedPrecondition);
}

TEST_CASE("launcher: captured output is cut at its limit and says so", "[launch][api][root]") {
  WARDEN_REQUIRE_ROOT();
  Fixture f;
  JobSpec s = f.Spec({"/bin/sh", "-c", "echo hello; echo 0123456789 >&2"});
  s.out = StdioSpec::Capture();
  s.err = StdioSpec::Capture(4);
  std::unique_ptr<Job> job = f.Start(std::move(s));
  const JobResult& r = job->Wait();
  INFO(r.error);
  CHECK(r.exit_code == 0);
  CHECK(r.stdout_data == "hello\n");
  CHECK_FALSE(r.stdout_truncated);
  CHECK(r.stderr_data == "0123");
  CHECK(r.stderr_truncated);
}

TEST_CASE("launcher: file output is created 0600 and cut at its limit", "[launch][api][root]") {
  WARDEN_REQUIRE_ROOT();
  Fixture f;
  testing::TempDir dir;
  JobSpec s = f.Spec({"/bin/sh", "-c", "echo abcdefgh"});
  s.out = StdioSpec::File(dir.Join("out"), 3);
  std::unique_ptr<Job> job = f.Start(std::move(s));
  const JobResult& r = job->Wait();
  INFO(r.error);
  CHECK(r.exit_code == 0);
  CHECK(r.stdout_truncated);
  Result<std::string> text = base::ReadFile(dir.Join("out"), 100);
  REQUIRE(text.ok());
  CHECK(text.value() == "abc");
  struct stat st;
  REQUIRE(::stat(dir.Join("out").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("launcher: stdin from a file; output_dir as --output-dir", "[launch][api][root]") {
  WARDEN_REQUIRE_ROOT();
  Fixture f;
  testing::TempDir dir;
  testing::WriteText(dir.Join("in"), "from a file\n");
  JobSpec s = f.Spec({"/bin/sh", "-c", "cat; echo err >&2"});
  s.in = StdioSpec::File(dir.Join("in"));
  s.output_dir = dir.Join("out");
  std::unique_ptr<Job> job = f.Start(std::move(s));
  const JobResult& r = job->Wait();
  INFO(r.error);
  CHECK(r.exit_code == 0);
  Result<std::string> out = base::ReadFile(dir.Join("out/stdout"), 100);
  Result<std::string> err = base::ReadFile(dir.Join("out/stderr"), 100);
  REQUIRE(out.ok());
  REQUIRE(err.ok());
  CHECK(out.value() == "from a file\n");
  CHECK(err.value() == "err\n");

  // A symlink is never opened as stdin: the launch fails, saying so.
  REQUIRE(::symlink(dir.Join("in").c_str(), dir.Join("link").c_str()) == 0);
  JobSpec l = f.Spec({"/bin/cat"});
  l.in = StdioSpec::File(dir.Join("link"));
  std::unique_ptr<Job> refused = f.Start(std::move(l));
  const JobResult& lr = refused->Wait();
  CHECK(lr.status == JobStatus::kSetupError);
  CHECK(lr.exit_code == 125);
  CHECK(lr.error.find("symlink") != std::string::npos);
  CHECK(refused->pidfd() == -1);
}

TEST_CASE("launcher: a job reads a pipe the caller holds, and ends when it is closed",
          "[launch][api][root]") {
  WARDEN_REQUIRE_ROOT();
  Fixture f;
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  JobSpec s = f.Spec({"/bin/cat"});
  s.in = StdioSpec::Fd(p[0]);
  s.out = StdioSpec::Capture();
  std::unique_ptr<Job> job = f.Start(std::move(s));
  ::close(p[0]);  // Start dup'd it
  REQUIRE(::write(p[1], "data", 4) == 4);
  // cat waits for more input as long as the pipe is open.
  Result<JobResult> early = job->WaitFor(50ms);
  CHECK(early.status().code() == Code::kUnavailable);
  CHECK_FALSE(Readable(job->end_fd()));
  CHECK_FALSE(job->Result().has_value());
  ::close(p[1]);
  const JobResult& r = job->Wait();
  INFO(r.error);
  CHECK(r.exit_code == 0);
  CHECK(r.stdout_data == "data");
  CHECK(Readable(job->end_fd()));
}

TEST_CASE("launcher: Kill forwards SIGTERM, refuses SIGSTOP; Cancel stops a blocked job",
          "[launch][api][root]") {
  WARDEN_REQUIRE_ROOT();
  Fixture f;
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  JobSpec s = f.Spec({"/bin/cat"});
  s.in = StdioSpec::Fd(p[0]);
  std::unique_ptr<Job> killed = f.Start(s);
  CHECK(killed->Kill(SIGSTOP).code() == Code::kInvalidArgument);
  CHECK(killed->Kill(SIGTERM).ok());
  const JobResult& k = killed->Wait();
  CHECK(k.status == JobStatus::kSignaled);
  CHECK(k.signal == SIGTERM);
  CHECK(k.exit_code == 143);
  CHECK(killed->Kill(SIGTERM).code() == Code::kFailedPrecondition);

  std::unique_ptr<Job> cancelled = f.Start(s);
  CHECK(cancelled->Cancel().ok());
  CHECK(cancelled->Cancel().ok());  // twice: not an error while it runs
  const JobResult& c = cancelled->Wait();
  CHECK(c.status == JobStatus::kCancelled);
  CHECK(c.exit_code == 143);
  CHECK(c.error == "cancelled");
  CHECK(cancelled->Cancel().code() == Code::kFailedPrecondition);

  std::unique_ptr<Job> sigkilled = f.Start(s);
  CHECK(sigkilled->Kill(SIGKILL).ok());
  const JobResult& sk = sigkilled->Wait();
  CHECK(sk.exit_code == 128 + SIGKILL);
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("launcher: a Job destroyed while running leaves no process and no cgroup",
          "[launch][api][root]") {
  WARDEN_REQUIRE_ROOT();
  Fixture f;
  int pidfd = -1;
  {
    std::unique_ptr<Job> job = f.Start(f.Spec({"/bin/sleep", "1000"}));
    pidfd = ::fcntl(job->pidfd(), F_DUPFD_CLOEXEC, 3);
    REQUIRE(pidfd >= 0);
    CHECK_FALSE(Readable(pidfd));
  }
  CHECK(Readable(pidfd));  // init has exited
  ::close(pidfd);
  CHECK(LeftoverCgroups().empty());
  CHECK_FALSE(AnyChildLeft());
}

TEST_CASE("launcher: a thread that exits after Start leaves its job running",
          "[launch][api][root]") {
  WARDEN_REQUIRE_ROOT();
  Fixture f;
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  JobSpec s = f.Spec({"/bin/cat"});
  s.in = StdioSpec::Fd(p[0]);
  s.out = StdioSpec::Capture();
  std::optional<Result<std::unique_ptr<Job>>> started;
  std::thread([&] { started.emplace(f.launcher->Start(s)); }).join();
  REQUIRE(started.has_value());
  INFO(started->status().ToString());
  REQUIRE(started->ok());
  std::unique_ptr<Job> job = std::move(started->value());
  // Had the parent-death signal followed the exited thread, cat would be
  // dead and the write below would fail (EPIPE) or the data go missing.
  ::signal(SIGPIPE, SIG_IGN);
  CHECK(::write(p[1], "alive", 5) == 5);
  ::close(p[1]);
  const JobResult& r = job->Wait();
  CHECK(r.exit_code == 0);
  CHECK(r.stdout_data == "alive");
  ::close(p[0]);
}

TEST_CASE("launcher: jobs from 8 threads at once leave no fd, child or cgroup",
          "[launch][api][root]") {
  WARDEN_REQUIRE_ROOT();
  Fixture f;
  {
    // Warms the caches and the allocator.
    std::unique_ptr<Job> warm = f.Start(f.Spec({"/bin/true"}));
    REQUIRE(warm->Wait().exit_code == 0);
  }
  const int fds = testing::CountOpenFds();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  const JobSpec spec = f.Spec({"/bin/echo", "x"});
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        JobSpec s = spec;
        s.out = StdioSpec::Capture();
        Result<std::unique_ptr<Job>> job = f.launcher->Start(std::move(s));
        if (!job.ok()) continue;
        const JobResult& r = (*job)->Wait();
        if (r.exit_code == 0 && r.stdout_data == "x\n") ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(ok == 40);
  CHECK(testing::CountOpenFds() == fds);
  CHECK_FALSE(AnyChildLeft());
  CHECK(LeftoverCgroups().empty());
}

}  // namespace
}  // namespace warden
