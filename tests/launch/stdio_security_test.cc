// The job's stdio as a way out of the sandbox: an fd handed over that is a
// directory or an O_PATH fd (the job could openat() below it on the host),
// and a stdin file that is a hard link (a root-only file linked into a
// shared directory).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "launch/job_stdio.h"
#include "launch/launcher_fixture.h"
#include "test_util.h"
#include "warden/launcher.h"

namespace warden {
namespace {

using Fixture = testing::LauncherFixture;

bool AnyChildLeft() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0;
}

// Start refuses the spec with kInvalidArgument naming the stream and `what`.
void Refused(Fixture& f, JobSpec spec, const std::string& stream, const std::string& what) {
  Result<std::unique_ptr<Job>> job = f.launcher->Start(std::move(spec));
  REQUIRE_FALSE(job.ok());
  INFO(job.status().ToString());
  CHECK(job.status().code() == Code::kInvalidArgument);
  CHECK(job.status().message().rfind(stream + ": fd", 0) == 0);
  CHECK(job.status().message().find(what) != std::string::npos);
  CHECK(job.status().message().find("give a regular file, a pipe") != std::string::npos);
  CHECK(job.status().message().find('\n') == std::string::npos);
}

TEST_CASE("stdio security: Start refuses a directory or O_PATH fd as stdin or output, and "
          "starts nothing",
          "[launch][api]") {
  Fixture f;
  base::UniqueFd root_dir(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(root_dir);
  base::UniqueFd root_path(::open("/", O_PATH | O_CLOEXEC));
  REQUIRE(root_path);
  testing::TempDir dir;
  REQUIRE(::symlink("/etc/passwd", dir.Join("link").c_str()) == 0);
  base::UniqueFd link_path(::open(dir.Join("link").c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  REQUIRE(link_path);
  base::UniqueFd file_path(::open("/etc/passwd", O_PATH | O_CLOEXEC));
  REQUIRE(file_path);

  JobSpec s = f.Spec({"/bin/true"});
  s.in = StdioSpec::Fd(root_dir.get());
  Refused(f, s, "stdin", "is a directory");
  s = f.Spec({"/bin/true"});
  s.in = StdioSpec::Fd(root_path.get());
  Refused(f, s, "stdin", "O_PATH");
  s = f.Spec({"/bin/true"});
  s.in = StdioSpec::Fd(link_path.get());
  Refused(f, s, "stdin", "O_PATH");
  s = f.Spec({"/bin/true"});
  s.in = StdioSpec::Fd(file_path.get());
  Refused(f, s, "stdin", "O_PATH");
  s = f.Spec({"/bin/true"});
  s.out = StdioSpec::Fd(root_dir.get());
  Refused(f, s, "stdout", "is a directory");
  s = f.Spec({"/bin/true"});
  s.err = StdioSpec::Fd(root_path.get());
  Refused(f, s, "stderr", "O_PATH");
  s = f.Spec({"/bin/true"});
  s.out = StdioSpec::Relay(root_dir.get());
  Refused(f, s, "stdout", "is a directory");
  // A pty relays to in.fd and out.fd: the same rules.
  s = f.Spec({"/bin/true"});
  s.pty = true;
  s.in = StdioSpec::Fd(root_dir.get());
  s.out = StdioSpec::Fd(STDOUT_FILENO);
  Refused(f, s, "stdin", "is a directory");
  CHECK_FALSE(AnyChildLeft());
}

TEST_CASE("stdio security: `warden run -- prog < /`: fd 0 a directory is refused", "[launch][api]") {
  // What the CLI does with a stdin that is not a terminal: hands fd 0 over
  // as StdioSpec::Fd (cli/run_cmd.cc ChooseStdio).
  Fixture f;
  base::UniqueFd saved(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 10));
  REQUIRE(saved);
  base::UniqueFd root_dir(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(root_dir);
  REQUIRE(::dup2(root_dir.get(), STDIN_FILENO) == STDIN_FILENO);
  JobSpec s = f.Spec({"/bin/true"});
  s.in = ::isatty(STDIN_FILENO) ? StdioSpec::Null() : StdioSpec::Fd(STDIN_FILENO);
  Result<std::unique_ptr<Job>> job = f.launcher->Start(std::move(s));
  REQUIRE(::dup2(saved.get(), STDIN_FILENO) == STDIN_FILENO);
  REQUIRE_FALSE(job.ok());
  INFO(job.status().ToString());
  CHECK(job.status().code() == Code::kInvalidArgument);
  CHECK(job.status().message().find("stdin: fd 0 is a directory") != std::string::npos);
  CHECK_FALSE(AnyChildLeft());
}

TEST_CASE("stdio security: a regular file, a pipe and /dev/null are still handed over as stdin",
          "[launch][api][root]") {
  WARDEN_REQUIRE_ROOT();
  Fixture f;
  testing::TempDir dir;
  testing::WriteText(dir.Join("in"), "from a file");
  base::UniqueFd file(::open(dir.Join("in").c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(file);
  auto run = [&](int fd) {
    JobSpec s = f.Spec({"/bin/cat"});
    s.in = StdioSpec::Fd(fd);
    s.out = StdioSpec::Capture();
    Result<std::unique_ptr<Job>> job = f.launcher->Start(std::move(s));
    INFO(job.status().ToString());
    REQUIRE(job.ok());
    const JobResult& r = (*job)->Wait();
    INFO(r.error);
    CHECK(r.status == JobStatus::kOk);
    return r.stdout_data;
  };
  CHECK(run(file.get()) == "from a file");
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  base::UniqueFd rd(p[0]), wr(p[1]);
  REQUIRE(::write(wr.get(), "from a pipe", 11) == 11);
  wr.reset();
  CHECK(run(rd.get()) == "from a pipe");
  base::UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  REQUIRE(null);
  CHECK(run(null.get()).empty());
  // ...and a regular file or /dev/null as stdout.
  base::UniqueFd out(::open(dir.Join("out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  REQUIRE(out);
  JobSpec s = f.Spec({"/bin/echo", "to a file"});
  s.out = StdioSpec::Fd(out.get());
  s.err = StdioSpec::Fd(null.get());
  Result<std::unique_ptr<Job>> job = f.launcher->Start(std::move(s));
  INFO(job.status().ToString());
  REQUIRE(job.ok());
  CHECK((*job)->Wait().status == JobStatus::kOk);
  Result<std::string> got = base::ReadFile(dir.Join("out"));
  REQUIRE(got.ok());
  CHECK(got.value() == "to a file\n");
}

TEST_CASE("stdio security: OpenStdinFile refuses a file with more than one hard link",
          "[launch]") {
  testing::TempDir dir;
  testing::WriteText(dir.Join("own"), "mine");
  Result<base::UniqueFd> own = launch::OpenStdinFile(dir.Join("own"), "--stdin own");
  INFO(own.status().ToString());
  CHECK(own.ok());
  REQUIRE(::link(dir.Join("own").c_str(), dir.Join("linked").c_str()) == 0);
  for (const char* name : {"own", "linked"}) {
    Result<base::UniqueFd> fd = launch::OpenStdinFile(dir.Join(name), "--stdin file");
    REQUIRE_FALSE(fd.ok());
    INFO(fd.status().ToString());
    CHECK(fd.status().code() == Code::kInvalidArgument);
    CHECK(fd.status().message().find("2 hard links") != std::string::npos);
    CHECK(fd.status().message().find("copy the file") != std::string::npos);
  }
  // /dev/null is not a regular file: no link rule.
  CHECK(launch::OpenStdinFile("/dev/null", "--stdin /dev/null").ok());
}

}  // namespace
}  // namespace warden
