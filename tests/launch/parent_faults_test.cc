// The launcher's own calls (sigprocmask, signalfd, fcntl O_NONBLOCK) fail
// the launch with exit 125 and a message that names the call: each is made
// to fail through the test-only parent fault point (base/fault.h), and the
// failure leaves nothing behind (no child, no fd, no blocked signal).
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <string>

#include "base/fault.h"
#include "test_util.h"
#include "warden/diagnostics.h"
#include "warden/job.h"

namespace warden {
namespace {

sigset_t BlockedSignals() {
  sigset_t set;
  REQUIRE(::sigprocmask(SIG_BLOCK, nullptr, &set) == 0);
  return set;
}

struct Expect {
  const char* call;     // as KnownParentFaultCalls names it
  const char* message;  // what the error must say
  bool output_dir;      // the job's output goes through pipes
  bool pty;             // the job gets a pty
};

constexpr Expect kCalls[] = {
    {"sigprocmask", "sigprocmask(SIG_BLOCK, forwarded signals): ", false, false},
    {"signalfd", "signalfd(forwarded signals): ", false, false},
    {"fcntl(output pipe)", "fcntl(output pipe, F_SETFL, O_NONBLOCK): ", true, false},
    {"fcntl(pty master)", "fcntl(pty master, F_SETFL, O_NONBLOCK): ", false, true},
};

TEST_CASE("launch: each launcher call's failure fails the launch with 125 and names the call",
          "[launch][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  testing::TempDir out;
  // Every call the fault point knows is covered here.
  REQUIRE(base::KnownParentFaultCalls().size() == std::size(kCalls));
  for (const Expect& e : kCalls) {
    for (int err : {EIO, EMFILE}) {
      INFO("call " << e.call << ", errno " << err);
      JobRequest req;
      req.policy = testing::RepoDefaultPolicy();
      req.argv = {"/bin/sh", "-c", "exit 3"};
      if (e.output_dir) req.output_dir = out.path();
      req.pty = e.pty;
      const int fds_before = testing::CountOpenFds();
      const sigset_t blocked_before = BlockedSignals();
      {
        ::warden::testing::ScopedParentFault fault(std::string(e.call) + ":" + std::to_string(err));
        Result<JobResult> r = RunJob(req);
        REQUIRE(r.ok());
        INFO(r->error);
        CHECK(r->status == JobStatus::kSetupError);
        CHECK(r->exit_code == 125);
        CHECK(!r->job_exit.has_value());
        CHECK(r->error.find(std::string(e.message) + (err == EIO ? "EIO" : "EMFILE")) !=
              std::string::npos);
      }
      // Nothing is left: the sandbox's init was killed and reaped, every
      // fd closed, the signal mask restored.
      CHECK(::waitpid(-1, nullptr, WNOHANG | __WALL) == -1);
      CHECK(errno == ECHILD);
      CHECK(testing::CountOpenFds() == fds_before);
      const sigset_t blocked_after = BlockedSignals();
      for (int sig = 1; sig < NSIG; ++sig) {
        CHECK(::sigismember(&blocked_after, sig) == ::sigismember(&blocked_before, sig));
      }
      // The fault was the only reason: the same request runs without it.
      Result<JobResult> ok = RunJob(req);
      REQUIRE(ok.ok());
      INFO(ok->error);
      CHECK(ok->exit_code == 3);
    }
  }
}

TEST_CASE("launch: a parent fault that names no call is refused, it is not ignored",
          "[launch]") {
  for (const char* spec : {"sigprocmask:0", "sigprocmask:x", "no such call", "signalfd:"}) {
    INFO(spec);
    DiagnosticOptions d;
    d.fault_parent_call = spec;
    Status st = ConfigureDiagnostics(d);
    CHECK(st.code() == Code::kInvalidArgument);
    CHECK(st.ToString().find("WARDEN_FAULT_PARENT_CALL") != std::string::npos);
    CHECK(base::ParentCallErrno("sigprocmask", 0) == 0);
  }
}

TEST_CASE("launch: the parent fault point reports a call's own failure first", "[launch]") {
  // A call that failed by itself keeps its errno, whatever the spec says;
  // a call that worked is failed only when the spec names it.
  CHECK(base::ParentCallErrno("signalfd", EMFILE) == EMFILE);
  ::warden::testing::ScopedParentFault fault("signalfd:7");
  CHECK(base::ParentCallErrno("signalfd", 0) == 7);
  CHECK(base::ParentCallErrno("sigprocmask", 0) == 0);
}

}  // namespace
}  // namespace warden
