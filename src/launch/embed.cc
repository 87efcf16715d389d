// Launcher and Job (include/warden/launcher.h): the launch's phases
// (launch/job_run.h) run on a supervisor thread per job, which Start waits
// for until the sandbox runs.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cxxabi.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "base/check.h"
#include "base/fd.h"
#include "base/host_config.h"
#include "base/log.h"
#include "cgroup/host.h"
#include "launch/child.h"
#include "launch/host_ops.h"
#include "launch/job_run.h"
#include "launch/job_stdio.h"
#include "net/lease.h"
#include "policy/policy_dir.h"
#include "policy/run_options.h"
#include "user/uid_lease.h"
#include "warden/launcher.h"

namespace warden {
namespace {

// The supervisor's stack: the phases and Supervise need a few tens of KiB
// (their largest buffers are 16 KiB); the sandbox's init starts on a
// copy-on-write copy of it.
constexpr size_t kSupervisorStackBytes = 256 * 1024;

Status CheckDirectory(const std::string& dir, const char* option, bool may_be_empty) {
  if (dir.empty() && may_be_empty) return Status::Ok();
  if (dir.empty() || dir[0] != '/') {
    return Status::Error(Code::kInvalidArgument,
                         std::string("LauncherOptions::") + option + " \"" + dir +
                             "\" is not an absolute path; give one that starts with '/'" +
                             (may_be_empty ? " or leave it empty" : ""));
  }
  return Status::Ok();
}

bool KnownController(const std::string& name) {
  for (int c = 0; c < cgroup::kNumControllers; ++c) {
    const auto controller = static_cast<cgroup::Controller>(c);
    if (name == cgroup::ControllerName(controller) || name == cgroup::V1ControllerName(controller)) {
      return true;
    }
  }
  return false;
}

Status CheckControllers(const std::string& list) {
  if (list.empty()) return Status::Ok();
  size_t start = 0;
  for (;;) {
    const size_t comma = list.find(',', start);
    const std::string name = list.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!KnownController(name)) {
      return Status::Error(Code::kInvalidArgument,
                           "LauncherOptions::cgroup_disable: \"" + name +
                               "\" is not a controller warden uses; give a comma-separated list "
                               "of memory, pids, cpu, cpuset, io (or blkio), cpuacct, freezer");
    }
    if (comma == std::string::npos) return Status::Ok();
    start = comma + 1;
  }
}

Status CheckOptions(const LauncherOptions& o) {
  WARDEN_RETURN_IF_ERROR(CheckDirectory(o.state_dir, "state_dir", false));
  WARDEN_RETURN_IF_ERROR(CheckDirectory(o.net_state_dir, "net_state_dir", true));
  WARDEN_RETURN_IF_ERROR(CheckDirectory(o.uid_state_dir, "uid_state_dir", true));
  WARDEN_RETURN_IF_ERROR(CheckDirectory(o.cache_dir, "cache_dir", false));
  WARDEN_RETURN_IF_ERROR(CheckDirectory(o.policy_dir, "policy_dir", true));
  if (!o.net_pool.empty()) {
    if (Result<net::Pool> p = net::ParsePool(o.net_pool); !p.ok()) {
      return Status(p.status()).Wrap("LauncherOptions::net_pool");
    }
  }
  if (!o.uid_range.empty() && o.uid_range != "none") {
    if (Result<user::UidRange> r = user::ParseUidRange(o.uid_range); !r.ok()) {
      return Status(r.status()).Wrap("LauncherOptions::uid_range (or \"none\")");
    }
  }
  return CheckControllers(o.cgroup_disable);
}

base::HostConfig ToHostConfig(const LauncherOptions& o) {
  base::HostConfig c;
  c.cache_dir = o.cache_dir;
  c.net_state_dir = o.net_state_dir.empty() ? o.state_dir + "/net" : o.net_state_dir;
  c.uid_state_dir = o.uid_state_dir.empty() ? o.state_dir + "/uid" : o.uid_state_dir;
  c.policy_dir = o.policy_dir;
  c.net_pool = o.net_pool;
  c.uid_range = o.uid_range;
  c.cgroup_disable = o.cgroup_disable;
  c.may_change_sysctls = o.may_change_sysctls;
  c.may_move_self = o.may_move_self;
  c.environment = o.environment;
  return c;
}

sigset_t ForwardedSet() {
  sigset_t set;
  ::sigemptyset(&set);
  for (int s : launch::kForwardedSignals) ::sigaddset(&set, s);
  ::sigaddset(&set, SIGWINCH);
  return set;
}

// The request `warden run` would make of the same options, with the
// per-job options folded into the policy by the CLI's own rules.
Result<JobRequest> ToRequest(JobSpec& spec, const std::string& launcher_cgroup_parent) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Status::Error(Code::kInvalidArgument,
                         "JobSpec::argv is empty: give the program and its arguments");
  }
  policy::RunOptions ro;
  ro.net = spec.net;
  ro.allow = std::move(spec.allow);
  ro.chdir = std::move(spec.cwd);
  ro.uid = spec.uid;
  ro.gid = spec.gid;
  ro.memory = spec.memory;
  ro.pids = spec.pids;
  ro.cpus = spec.cpus;
  ro.tmp_size_bytes = spec.tmp_size_bytes;
  ro.hostname = std::move(spec.hostname);
  ro.seccomp = std::move(spec.seccomp);
  JobRequest req;
  req.policy = std::move(spec.policy);
  req.argv = std::move(spec.argv);
  req.extra_mounts = std::move(spec.extra_mounts);
  req.env = std::move(spec.env);
  req.env_pass = std::move(spec.env_pass);
  req.wall_time_ms = spec.wall_time_ms;
  req.output_dir = spec.output_dir;
  req.pty = spec.pty;
  req.job_id = spec.job_id.empty() ? launch::NewJobId() : spec.job_id;
  req.cgroup_parent = spec.cgroup_parent.empty() ? launcher_cgroup_parent : spec.cgroup_parent;
  req.die_with_parent = spec.die_with_parent;
  WARDEN_RETURN_IF_ERROR(policy::FinishRunRequest(ro, &req));
  return req;
}

// The caller's fds that the job gets (kFd) or that output is relayed to
// (kRelay), dup'd so that the caller may close its own at once.
Status DupCallerFds(launch::StdioPlan* stdio) {
  StdioSpec* specs[3] = {&stdio->in, &stdio->out, &stdio->err};
  for (int i = 0; i < 3; ++i) {
    StdioSpec& s = *specs[i];
    if (s.kind != StdioSpec::Kind::kFd && s.kind != StdioSpec::Kind::kRelay) continue;
    stdio->owned[i].reset(::fcntl(s.fd, F_DUPFD_CLOEXEC, 3));
    if (!stdio->owned[i]) {
      return Status::FromErrno(errno, "dup(fd " + std::to_string(s.fd) +
                                          ") for the job's stdio (too many open files?)");
    }
    s.fd = stdio->owned[i].get();
  }
  return Status::Ok();
}

// What every job of one launcher shares; it outlives the Launcher while a
// Job or its supervisor still holds it.
struct LauncherCore {
  LauncherOptions options;
  base::HostConfig config;
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;  // supervisor threads that have not published a result
};

}  // namespace

struct Job::State {
  std::shared_ptr<LauncherCore> core;
  JobRequest request;  // the supervisor's JobRun refers to it
  launch::StdioPlan stdio;
  std::string id;
  base::UniqueFd end_fd;      // eventfd, written once with the result
  base::UniqueFd control_fd;  // eventfd: Cancel wakes Supervise
  std::atomic<bool> cancel{false};
  pthread_t thread{};

  std::mutex mu;
  std::condition_variable cv;
  bool launched = false;  // the sandbox runs, or the launch has ended
  bool ended = false;     // `result` is final
  base::UniqueFd pidfd;   // set before `launched`, never changed after
  JobResult result;
};

namespace {

void Publish(Job::State& st, JobResult result) {
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.result = std::move(result);
    st.ended = true;
    st.launched = true;
    const uint64_t one = 1;
    // An eventfd write of 1 fails only when the counter would overflow.
    if (::write(st.end_fd.get(), &one, sizeof one) < 0) {
      WLOG_ERROR(st.id, std::string("write(end eventfd): ") + std::strerror(errno));
    }
  }
  st.cv.notify_all();
  LauncherCore& core = *st.core;
  {
    std::lock_guard<std::mutex> lock(core.mu);
    --core.running;
  }
  core.cv.notify_all();
}

// The launch, on the supervisor thread. The JobRun is destroyed (its
// cgroup, leases and fds released) before the result is published.
JobResult RunLaunch(Job::State& st) {
  auto run = std::make_unique<launch::JobRun>(st.request, st.id, st.core->config);
  run->stdio = std::move(st.stdio);
  run->sopts.forward_signals = st.core->options.forward_signals;
  run->sopts.control_fd = st.control_fd.get();
  run->sopts.cancel_requested = [&st] { return st.cancel.load(); };
  auto fail = [&run](const Status& s) {
    JobResult r = launch::SetupError(*run, s).value();
    run.reset();
    return r;
  };
  Status s = launch::CheckPrivileges(*run);
  if (s.ok()) s = launch::PlanProcess(*run);
  if (s.ok()) s = launch::PlanRootFilesystem(*run);
  if (s.ok()) s = launch::CompileSeccomp(*run);
  if (s.ok()) s = launch::PlanRlimits(*run);
  if (s.ok()) s = launch::PrepareNetwork(*run);
  if (s.ok()) s = launch::CreateCgroup(*run);
  if (s.ok()) s = launch::OpenStdio(*run);
  if (s.ok()) s = launch::CloneSandbox(*run);
  if (s.ok()) s = launch::PlaceChild(*run);
  if (s.ok()) {
    base::UniqueFd pidfd(::fcntl(run->sandbox->pidfd(), F_DUPFD_CLOEXEC, 3));
    if (!pidfd) s = Status::FromErrno(errno, "dup(pidfd) for the job's handle");
    std::lock_guard<std::mutex> lock(st.mu);
    st.pidfd = std::move(pidfd);
    st.launched = s.ok();
  }
  if (!s.ok()) return fail(s);
  st.cv.notify_all();  // Start returns: the job runs
  if (s = launch::SuperviseJob(*run); !s.ok()) return fail(s);
  launch::Teardown(*run);
  if (s = launch::CollectResult(*run); !s.ok()) return fail(s);
  JobResult r = std::move(run->res);
  run.reset();
  return r;
}

void* SupervisorMain(void* arg) {
  std::unique_ptr<std::shared_ptr<Job::State>> holder(static_cast<std::shared_ptr<Job::State>*>(arg));
  std::shared_ptr<Job::State> st = *holder;
  holder.reset();
  // The phases log on this thread: to the launcher's sink.
  base::ScopedThreadLogSink sink(&st->core->options.log_sink, st->core->options.min_log_level);
  JobResult result;
  try {
    result = RunLaunch(*st);
  } catch (abi::__forced_unwind&) {
    throw;  // thread cancellation unwinds through here
  } catch (...) {
    // An exception here would end the embedding process (std::terminate).
    // RunLaunch's JobRun is gone by now (unwinding destroyed it, killing
    // the sandbox and releasing its cgroup): the job ends as a setup error.
    // JobResult's defaults already say setup-error and 125; the message may
    // not fit in memory either.
    result = JobResult();
    try {
      std::string what = "unknown exception";
      try {
        throw;
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      result.job_id = st->id;
      result.error = "internal error on the job's supervisor thread: " + what;
    } catch (...) {
    }
  }
  Publish(*st, std::move(result));
  return nullptr;
}

// Starts the supervisor with every signal blocked (the forwarded ones are
// read through a signalfd when the launcher forwards them) and a small
// stack.
Status StartSupervisor(const std::shared_ptr<Job::State>& st) {
  pthread_attr_t attr;
  if (int e = ::pthread_attr_init(&attr); e != 0) return Status::FromErrno(e, "pthread_attr_init");
  int e = ::pthread_attr_setstacksize(&attr, kSupervisorStackBytes);
  if (e != 0) {
    ::pthread_attr_destroy(&attr);
    return Status::FromErrno(e, "pthread_attr_setstacksize(256 KiB)");
  }
  // The new thread inherits the mask in force at pthread_create.
  sigset_t all, old;
  ::sigfillset(&all);
  if (e = ::pthread_sigmask(SIG_SETMASK, &all, &old); e != 0) {
    ::pthread_attr_destroy(&attr);
    return Status::FromErrno(e, "pthread_sigmask(SIG_SETMASK, all signals)");
  }
  auto* arg = new std::shared_ptr<Job::State>(st);
  e = ::pthread_create(&st->thread, &attr, &SupervisorMain, arg);
  // Restoring a mask that was in force a moment ago cannot fail.
  WARDEN_CHECK(::pthread_sigmask(SIG_SETMASK, &old, nullptr) == 0);
  ::pthread_attr_destroy(&attr);
  if (e != 0) {
    delete arg;
    return Status::FromErrno(e, "pthread_create(job supervisor)")
        .Wrap("start job (the process is out of threads or memory: end some jobs, or raise "
              "RLIMIT_NPROC / kernel.threads-max)");
  }
  return Status::Ok();
}

Status SendToInit(int pidfd, int sig) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0) {
    if (errno == ESRCH) {
      return Status::Error(Code::kFailedPrecondition,
                           "the job has ended; its result is in Wait()");
    }
    return Status::FromErrno(errno, "pidfd_send_signal(" + std::to_string(sig) + ")");
  }
  return Status::Ok();
}

Status Ended() {
  return Status::Error(Code::kFailedPrecondition, "the job has ended; its result is in Wait()");
}

}  // namespace

Job::Job(std::shared_ptr<State> state) : state_(std::move(state)) {}

Job::~Job() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    // Killing init kills every process of the job's pid namespace.
    if (!state_->ended && state_->pidfd) (void)SendToInit(state_->pidfd.get(), SIGKILL);
  }
  ::pthread_join(state_->thread, nullptr);
}

const std::string& Job::id() const { return state_->id; }
int Job::pidfd() const { return state_->pidfd.get(); }
int Job::end_fd() const { return state_->end_fd.get(); }

const JobResult& Job::Wait() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [this] { return state_->ended; });
  return state_->result;
}

warden::Result<JobResult> Job::WaitFor(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->mu);
  if (!state_->cv.wait_for(lock, timeout, [this] { return state_->ended; })) {
    return Status::Error(Code::kUnavailable,
                         "job " + state_->id + " still runs after " +
                             std::to_string(timeout.count()) +
                             " ms; wait again, or Kill or Cancel it");
  }
  return state_->result;
}

std::optional<JobResult> Job::Result() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!state_->ended) return std::nullopt;
  return state_->result;
}

Status Job::Kill(int sig) {
  bool allowed = sig == SIGKILL;
  for (int s : launch::kForwardedSignals) allowed = allowed || s == sig;
  if (!allowed) {
    return Status::Error(Code::kInvalidArgument,
                         "signal " + std::to_string(sig) +
                             " is not sent to jobs; give SIGTERM, SIGINT, SIGHUP, SIGQUIT, "
                             "SIGUSR1, SIGUSR2 or SIGKILL, or use Cancel");
  }
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->ended) return Ended();
  // init forwards the signal to the job's process; SIGKILL ends init, and
  // with it every process of the pid namespace.
  return SendToInit(state_->pidfd.get(), sig);
}

Status Job::Cancel() {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->ended) return Ended();
  state_->cancel.store(true);
  const uint64_t one = 1;
  if (::write(state_->control_fd.get(), &one, sizeof one) < 0) {
    return Status::FromErrno(errno, "write(cancel eventfd)");
  }
  return Status::Ok();
}

struct Launcher::Impl {
  std::shared_ptr<LauncherCore> core;
};

Launcher::Launcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

warden::Result<std::unique_ptr<Launcher>> Launcher::Create(LauncherOptions options) {
  WARDEN_RETURN_IF_ERROR(CheckOptions(options));
  if (options.forward_signals) {
    // Blocked here, they stay pending until a job's supervisor reads them
    // through its signalfd; threads created later inherit the block.
    const sigset_t set = ForwardedSet();
    if (int e = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); e != 0) {
      return Status::FromErrno(e, "pthread_sigmask(SIG_BLOCK, forwarded signals)");
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->core = std::make_shared<LauncherCore>();
  impl->core->config = ToHostConfig(options);
  impl->core->options = std::move(options);
  return std::unique_ptr<Launcher>(new Launcher(std::move(impl)));
}

Launcher::~Launcher() {
  LauncherCore& core = *impl_->core;
  std::unique_lock<std::mutex> lock(core.mu);
  core.cv.wait(lock, [&core] { return core.running == 0; });
}

const LauncherOptions& Launcher::options() const { return impl_->core->options; }

warden::Result<Policy> Launcher::LoadPolicy(const std::string& name_or_file) const {
  return policy::ResolvePolicyIn(name_or_file, impl_->core->config);
}

warden::Result<Policy> Launcher::PolicyForProgram(const std::string& program_path) const {
  return policy::PolicyForProgramIn(program_path, impl_->core->config);
}

warden::Result<std::unique_ptr<Job>> Launcher::Start(JobSpec spec) {
  launch::StdioPlan stdio;
  stdio.in = spec.in;
  stdio.out = spec.out;
  stdio.err = spec.err;
  stdio.output_dir = spec.output_dir;
  stdio.pty = spec.pty;
  WARDEN_RETURN_IF_ERROR(launch::CheckStdioSpecs(stdio));
  Result<JobRequest> req = ToRequest(spec, impl_->core->options.cgroup_parent);
  if (!req.ok()) return req.status();
  WARDEN_RETURN_IF_ERROR(DupCallerFds(&stdio));

  auto st = std::make_shared<Job::State>();
  st->core = impl_->core;
  st->request = std::move(req.value());
  st->id = st->request.job_id;
  st->stdio = std::move(stdio);
  st->end_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  st->control_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!st->end_fd || !st->control_fd) {
    return Status::FromErrno(errno, "eventfd for the job's handle (too many open files?)");
  }
  {
    std::lock_guard<std::mutex> lock(impl_->core->mu);
    ++impl_->core->running;
  }
  if (Status s = StartSupervisor(st); !s.ok()) {
    {
      std::lock_guard<std::mutex> lock(impl_->core->mu);
      --impl_->core->running;
    }
    impl_->core->cv.notify_all();
    return s;
  }
  {
    std::unique_lock<std::mutex> lock(st->mu);
    st->cv.wait(lock, [&st] { return st->launched; });
  }
  return std::unique_ptr<Job>(new Job(std::move(st)));
}

DoctorReport Launcher::Doctor() const { return launch::DoctorWith(impl_->core->config); }
GcReport Launcher::Gc() const { return launch::GcWith(impl_->core->config); }

}  // namespace warden
