// A job's monitor, its own side: `warden monitor STATE_DIR JOB_ID 3`
// (agent/monitor.h, RunMonitor; warden/agent.h, RunAgentMonitor).
//
// Linked into the static build/warden: it uses base/, launch/, mnt/ and the
// public API only, nothing of wal/ or store/ (they need isa-l, which is
// shared only). It stays small while its job runs: no thread of its own,
// no big buffer, the setup's heap handed back after the launch.
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/job_dir.h"
#include "agent/monitor.h"
#include "agent/monitor_files.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/safe_open.h"
#include "launch/job_stdio.h"
#include "mnt/bind_source.h"
#include "policy_data/parse_util.h"
#include "warden/agent.h"
#include "warden/job.h"
#include "warden/launcher.h"

namespace warden::agent {
namespace {

constexpr uint64_t kDefaultHeartbeatMs = 1000;
constexpr uint64_t kMinHeartbeatMs = 10;
constexpr uint64_t kMaxHeartbeatMs = 60'000;

// The fds 4.. that the agent handed over: contiguous from 4, counted
// before the monitor opens anything of its own, and made close-on-exec
// (the launcher dups what the job gets).
int TakeJobFds() {
  int n = 0;
  while (n < static_cast<int>(kMaxJobFds)) {
    const int fd = kFirstJobFd + n;
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) break;
    (void)::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    n++;
  }
  return n;
}

// fd 0 is the read end of the agent's start gate: the agent closes its end
// once it holds the monitor's pidfd and identity (or dies), and only then
// may the monitor act, so that it cannot exit unseen before. Afterwards
// fd 0 is /dev/null.
void PassStartGate() {
  struct stat st;
  if (::fstat(0, &st) == 0 && S_ISFIFO(st.st_mode)) {
    char c;
    while (base::RetryEintr([&] { return ::read(0, &c, 1); }) > 0) {
    }
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0) {
    if (null_fd != 0) {
      (void)::dup2(null_fd, 0);
      ::close(null_fd);
    }
  }
}

JobResult SetupErrorResult(const std::string& id, const std::string& message) {
  JobResult r;
  r.status = JobStatus::kSetupError;
  r.exit_code = 125;
  r.error = message;
  r.job_id = id;
  return r;
}

// What the launch needs to keep open until Start has returned.
struct PreparedJob {
  JobSpec spec;
  base::UniqueFd stdin_fd;
};

class Monitor {
 public:
  Monitor(std::string state_dir, std::string id, int lock_fd, int job_fds)
      : state_dir_(std::move(state_dir)),
        id_(std::move(id)),
        dir_name_(JobDir(state_dir_, id_)),
        lock_fd_(lock_fd),
        job_fds_(job_fds) {}

  int Run();

 private:
  Status CheckLock();
  Status WriteIdentity();
  Status StartHeartbeat();
  void Beat();
  Result<api::MonitorInput> ReadSpec();
  Status MakeBegan();
  Result<std::unique_ptr<Launcher>> MakeLauncher(const api::MonitorInput& in);
  Result<PreparedJob> Prepare(Launcher& launcher, const api::JobSpec& js);
  Status CheckBinds(const api::JobSpec& js);
  JobResult RunJob(const api::MonitorInput& in);
  void HandleSignals(int sfd, Job& job);
  Status CommitResult(const std::string& json);
  int Commit(const JobResult& result);
  std::string Shown(const char* name) const { return dir_name_ + "/" + name; }

  std::string state_dir_, id_, dir_name_;
  int lock_fd_;
  int job_fds_;
  base::UniqueFd dir_;
  base::UniqueFd heartbeat_;
  uint64_t heartbeat_ms_ = kDefaultHeartbeatMs;
  int64_t last_beat_ns_ = 0;
};

Status Monitor::CheckLock() {
  struct stat held;
  if (::fstat(lock_fd_, &held) != 0) return Status::FromErrno(errno, "fstat(lock fd)");
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd named, OpenLockAt(dir_.get(), false, Shown(kMonitorLockFile)));
  struct stat st;
  if (::fstat(named.get(), &st) != 0) return Status::FromErrno(errno, "fstat(lock)");
  if (!S_ISREG(held.st_mode) || held.st_dev != st.st_dev || held.st_ino != st.st_ino) {
    return Status::Error(Code::kInvalidArgument, "fd " + std::to_string(lock_fd_) + " is not " +
                                                     Quoted(Shown(kMonitorLockFile)));
  }
  // Ours already (inherited from the agent) or free; held by another open
  // file: another monitor of this job lives.
  WARDEN_ASSIGN_OR_RETURN(bool taken, TryLock(lock_fd_, Shown(kMonitorLockFile)));
  if (!taken) {
    return Status::Error(Code::kFailedPrecondition, "another monitor of job " + id_ + " holds its lock");
  }
  if (::fcntl(lock_fd_, F_SETFD, FD_CLOEXEC) != 0) return Status::FromErrno(errno, "fcntl(lock fd)");
  return Status::Ok();
}

Status Monitor::WriteIdentity() {
  const pid_t pid = ::getpid();
  WARDEN_ASSIGN_OR_RETURN(uint64_t ticks, ReadStartTicks(pid));
  WARDEN_ASSIGN_OR_RETURN(std::string boot_id, ReadBootId());
  const std::string text = FormatIdentity({pid, ticks, boot_id, id_});
  // Not durable: it only matters while this process lives.
  return base::ReplaceFileAt(dir_.get(), kMonitorFile, text, 0600, Shown(kMonitorFile),
                             /*durable=*/false);
}

Status Monitor::StartHeartbeat() {
  WARDEN_ASSIGN_OR_RETURN(heartbeat_, base::OpenOutputFileAt(dir_.get(), kHeartbeatFile, 0600,
                                                             Shown(kHeartbeatFile)));
  Beat();
  return Status::Ok();
}

// One beat: CLOCK_BOOTTIME now, fixed width, in place. Not fsync'ed: a
// heartbeat means something on this boot only. A failed write is not
// fatal: ProbeMonitor then calls the monitor hung, which is the truth.
void Monitor::Beat() {
  const int64_t now = base::ClockNs(CLOCK_BOOTTIME);
  const std::string beat = FormatHeartbeat(static_cast<uint64_t>(now));
  if (beat.size() == kHeartbeatBytes) {
    (void)base::RetryEintr([&] { return ::pwrite(heartbeat_.get(), beat.data(), beat.size(), 0); });
  }
  last_beat_ns_ = now;
}

Result<api::MonitorInput> Monitor::ReadSpec() {
  WARDEN_ASSIGN_OR_RETURN(std::string data,
                          ReadRegularAt(dir_.get(), kSpecFile, kMaxSpecBytes, Shown(kSpecFile)));
  api::MonitorInput in;
  if (!in.ParseFromString(data)) {
    return Status::Error(Code::kCorruption, Quoted(Shown(kSpecFile)) + " is not a MonitorInput");
  }
  if (in.job_id() != id_) {
    return Status::Error(Code::kCorruption, Quoted(Shown(kSpecFile)) + " is the spec of job " +
                                                Quoted(in.job_id()) + ", not " + id_);
  }
  return in;
}

// The durable "launch began" fact: once it exists, the job may never be
// started again (a crash from here on makes it `lost`).
Status Monitor::MakeBegan() {
  base::UniqueFd fd(base::RetryEintr([&] {
    return ::openat(dir_.get(), kBeganFile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600);
  }));
  if (!fd) return Status::FromErrno(errno, "openat(" + Quoted(Shown(kBeganFile)) + ", O_EXCL)");
  if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "fsync(" + Quoted(Shown(kBeganFile)) + ")");
  if (::fsync(dir_.get()) != 0) return Status::FromErrno(errno, "fsync(" + Quoted(dir_name_) + ")");
  return Status::Ok();
}

Result<std::unique_ptr<Launcher>> Monitor::MakeLauncher(const api::MonitorInput& in) {
  LauncherOptions o = LauncherOptionsOf(in);
  o.forward_signals = true;
  // A monitor is a process of its own, as `warden run` is: on a cgroup v2
  // host it may move itself into a leaf of its cgroup (the agent's, which
  // holds processes) so that its job's cgroup can get the controllers.
  o.may_move_self = true;
  return Launcher::Create(std::move(o));
}

Result<PreparedJob> Monitor::Prepare(Launcher& launcher, const api::JobSpec& js) {
  PreparedJob p;
  JobSpec& s = p.spec;
  if (js.argv().empty()) return Status::Error(Code::kInvalidArgument, "the job has no command");
  s.argv.assign(js.argv().begin(), js.argv().end());
  if (js.policy().empty()) {
    WARDEN_ASSIGN_OR_RETURN(s.policy, launcher.PolicyForProgram(s.argv[0]));
  } else {
    WARDEN_ASSIGN_OR_RETURN(s.policy, launcher.LoadPolicy(js.policy()));
  }
  s.env = std::map<std::string, std::string>(js.env().begin(), js.env().end());
  for (const api::Bind& b : js.binds()) {
    MountSpec m;
    m.kind = MountSpec::Kind::kBind;
    m.source = b.source();
    m.destination = b.destination();
    m.writable = b.writable();
    m.owned = b.owned();
    // What the agent checked at submit is what the launch binds: its own
    // open of the path is held to that identity (CheckBinds below only
    // fails earlier).
    m.expect_dev = b.dev();
    m.expect_ino = b.ino();
    s.extra_mounts.push_back(std::move(m));
  }
  if (!js.net().empty()) {
    std::optional<NetworkSpec::Mode> mode = policy::ParseNetworkMode(js.net());
    if (!mode) {
      return Status::Error(Code::kInvalidArgument,
                           "network mode " + Quoted(js.net()) + ": give none, loopback or veth");
    }
    s.net = *mode;
  }
  s.allow.assign(js.allow().begin(), js.allow().end());
  if (js.timeout_ms() > 0) s.wall_time_ms = js.timeout_ms();
  if (js.has_cwd()) s.cwd = js.cwd().value();
  if (js.has_uid()) s.uid = js.uid().value();
  if (js.has_gid()) s.gid = js.gid().value();
  if (js.has_hostname()) s.hostname = js.hostname().value();
  if (js.has_memory_bytes()) s.memory = CgroupLimit<uint64_t>{js.memory_bytes().value(), false};
  if (js.has_pids()) s.pids = CgroupLimit<uint64_t>{js.pids().value(), false};
  if (js.has_cpus()) s.cpus = CgroupLimit<double>{js.cpus().value(), false};
  if (js.has_tmp_size_bytes()) s.tmp_size_bytes = js.tmp_size_bytes().value();

  // An fd index means something only when the agent handed fds over; it
  // keeps none for queued jobs (they survive its restart), and a spec
  // whose index was left at proto3's 0 must not name fd 4 then.
  if (job_fds_ > 0 && js.stdin_fd_index() >= 0) {
    if (js.stdin_fd_index() >= job_fds_) {
      return Status::Error(Code::kInvalidArgument,
                           "stdin fd index " + std::to_string(js.stdin_fd_index()) +
                               " names no fd the agent handed over");
    }
    s.in = StdioSpec::Fd(kFirstJobFd + js.stdin_fd_index());
  } else if (!js.stdin_file().empty()) {
    // Opened here as `warden run --stdin` opens it, and checked against
    // what the client held at submit: a file swapped in since is refused.
    WARDEN_ASSIGN_OR_RETURN(p.stdin_fd, launch::OpenStdinFile(js.stdin_file(),
                                                              "stdin file " + js.stdin_file()));
    struct stat st;
    if (::fstat(p.stdin_fd.get(), &st) != 0) {
      return Status::FromErrno(errno, "fstat(stdin file " + Quoted(js.stdin_file()) + ")");
    }
    if ((js.stdin_dev() != 0 || js.stdin_ino() != 0) &&
        (st.st_dev != js.stdin_dev() || st.st_ino != js.stdin_ino())) {
      return Status::Error(Code::kFailedPrecondition,
                           "stdin file " + js.stdin_file() + " changed since submit");
    }
    s.in = StdioSpec::Fd(p.stdin_fd.get());
  }
  // The output lies in the agent's state directory: a client that is not
  // root may lower the policy's bound on it, never raise it (its job could
  // fill the file system that the agent's log needs).
  uint64_t output_max = js.output_max_bytes();
  if (js.owner_uid() != 0 && s.policy.output_max_bytes != 0 &&
      (output_max == 0 || output_max > s.policy.output_max_bytes)) {
    output_max = s.policy.output_max_bytes;
  }
  s.out = StdioSpec::File(Shown(kStdoutFile), output_max);
  s.err = StdioSpec::File(Shown(kStderrFile), output_max);
  s.job_id = id_;
  // The sandbox dies with its monitor: "monitor gone" means "job gone".
  s.die_with_parent = true;
  return p;
}

// Each bind source opened as the launch opens it, and checked against the
// identity the agent recorded at submit.
Status Monitor::CheckBinds(const api::JobSpec& js) {
  for (const api::Bind& b : js.binds()) {
    WARDEN_ASSIGN_OR_RETURN(base::UniqueFd fd, mnt::OpenBindSource(b.source()));
    if (b.dev() == 0 && b.ino() == 0) continue;
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) {
      return Status::FromErrno(errno, "fstat(bind source " + Quoted(b.source()) + ")");
    }
    if (st.st_dev != b.dev() || st.st_ino != b.ino()) {
      return Status::Error(Code::kFailedPrecondition,
                           "bind source " + b.source() + " changed since submit");
    }
  }
  return Status::Ok();
}

void Monitor::HandleSignals(int sfd, Job& job) {
  struct signalfd_siginfo si;
  while (base::RetryEintr([&] { return ::read(sfd, &si, sizeof si); }) ==
         static_cast<ssize_t>(sizeof si)) {
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == ControlSignal()) {
      // Only a queued request (SignalJob) carries a signal to send.
      if (si.ssi_code != SI_QUEUE) continue;
      sig = si.ssi_int;
    }
    // Job::Kill refuses what is not SIGKILL or a forwarded signal, and a
    // job that has ended; either way there is nothing more to do.
    (void)job.Kill(sig);
  }
}

JobResult Monitor::RunJob(const api::MonitorInput& in) {
  Result<std::unique_ptr<Launcher>> launcher = MakeLauncher(in);
  if (!launcher.ok()) return SetupErrorResult(id_, launcher.status().ToString());
  Result<PreparedJob> prepared = Prepare(**launcher, in.spec());
  if (!prepared.ok()) return SetupErrorResult(id_, prepared.status().ToString());
  if (Status st = CheckBinds(in.spec()); !st.ok()) return SetupErrorResult(id_, st.ToString());
  Result<std::unique_ptr<Job>> job = (*launcher)->Start(std::move(prepared->spec));
  prepared->stdin_fd.reset();
  if (!job.ok()) return SetupErrorResult(id_, job.status().ToString());
  // What the setup allocated and freed goes back to the kernel: a monitor
  // lives as long as its job.
  (void)::malloc_trim(0);

  const sigset_t set = MonitorSignals();
  base::UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  const int64_t interval_ns = static_cast<int64_t>(heartbeat_ms_) * 1'000'000;
  for (;;) {
    const int64_t now = base::ClockNs(CLOCK_BOOTTIME);
    if (now - last_beat_ns_ >= interval_ns) Beat();
    const int64_t wait_ns = std::max<int64_t>(0, last_beat_ns_ + interval_ns - now);
    struct timespec ts = {static_cast<time_t>(wait_ns / 1'000'000'000),
                          static_cast<long>(wait_ns % 1'000'000'000)};
    struct pollfd p[2] = {{(*job)->end_fd(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    // Without a signalfd the job still ends (by itself or its timeout);
    // signals then wait, blocked, until it has.
    const int r = ::ppoll(p, sfd ? 2 : 1, &ts, nullptr);
    if (r < 0 && errno != EINTR) break;
    if (r > 0 && (p[1].revents & POLLIN)) HandleSignals(sfd.get(), **job);
    if (r > 0 && (p[0].revents & POLLIN)) break;
  }
  return (*job)->Wait();
}

// Commits jobs/ID/result atomically and durably; 0 once it is there.
// The temp file is result.tmp.* (agent/job_dir.h), so that whoever cleans
// a job directory knows it for an interrupted commit.
Status Monitor::CommitResult(const std::string& json) {
  const std::string tmp = std::string(kResultFile) + ".tmp." + base::RandomSuffix();
  const std::string shown = Shown(tmp.c_str());
  base::UniqueFd fd(base::RetryEintr([&] {
    return ::openat(dir_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600);
  }));
  if (!fd) return Status::FromErrno(errno, "openat(" + Quoted(shown) + ", O_EXCL)");
  Status st = base::WriteAll(fd.get(), json.data(), json.size(), shown.c_str());
  if (st.ok() && ::fdatasync(fd.get()) != 0) st = Status::FromErrno(errno, "fdatasync(" + Quoted(shown) + ")");
  if (st.ok() && ::close(fd.release()) != 0) st = Status::FromErrno(errno, "close(" + Quoted(shown) + ")");
  if (st.ok() && ::renameat(dir_.get(), tmp.c_str(), dir_.get(), kResultFile) != 0) {
    st = Status::FromErrno(errno, "renameat(" + Quoted(shown) + " -> result)");
  }
  if (!st.ok()) {
    (void)::unlinkat(dir_.get(), tmp.c_str(), 0);
    return st;
  }
  if (::fsync(dir_.get()) != 0) return Status::FromErrno(errno, "fsync(" + Quoted(dir_name_) + ")");
  return Status::Ok();
}

int Monitor::Commit(const JobResult& result) {
  Status st = CommitResult(JobResultToJson(result));
  if (!st.ok()) {
    std::fprintf(stderr, "warden monitor: job %s: %s\n", id_.c_str(), st.ToString().c_str());
    return 125;
  }
  return 0;
}

int Monitor::Run() {
  auto fail = [this](const Status& st) {
    std::fprintf(stderr, "warden monitor: job %s: %s\n", id_.c_str(), st.ToString().c_str());
    return 125;
  };
  {
    Result<base::UniqueFd> dir = OpenJobDir(state_dir_, id_, /*create=*/false);
    if (!dir.ok()) return fail(dir.status());
    dir_ = std::move(dir.value());
  }
  if (Status st = CheckLock(); !st.ok()) return fail(st);
  // The identity first: while the lock is held, ProbeMonitor looks for it.
  if (Status st = WriteIdentity(); !st.ok()) return fail(st);
  if (Status st = StartHeartbeat(); !st.ok()) return fail(st);
  Result<api::MonitorInput> in = ReadSpec();
  if (!in.ok()) {
    // No `began`, but a result: the agent must not start this spec again
    // and again. It ends as a setup error that says why.
    return Commit(SetupErrorResult(id_, in.status().ToString()));
  }
  if (in->heartbeat_ms() > 0) {
    heartbeat_ms_ = std::clamp(in->heartbeat_ms(), kMinHeartbeatMs, kMaxHeartbeatMs);
  }
  // Without a durable `began` nothing may run: a crash after the launch
  // would leave a job that looks never started and would be run twice.
  if (Status st = MakeBegan(); !st.ok()) return fail(st);
  const JobResult result = RunJob(*in);
  return Commit(result);
}

}  // namespace

int RunMonitor(const std::vector<std::string>& args) {
  // Counted before anything of the monitor's own is opened.
  const int job_fds = TakeJobFds();
  PassStartGate();
  // Blocked before any thread exists (the launcher's supervisor inherits
  // the mask), so that they are read from the signalfd only.
  const sigset_t set = MonitorSignals();
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) {
    std::perror("warden monitor: sigprocmask");
    return 125;
  }
  (void)::prctl(PR_SET_NAME, "warden-monitor", 0, 0, 0);
  if (args.size() != 3 || !ValidJobId(args[1]) || args[2] != std::to_string(kLockFd)) {
    std::fprintf(stderr,
                 "usage: warden monitor STATE_DIR JOB_ID 3\n"
                 "(run by warden agent for each job it starts; not for people)\n");
    return 125;
  }
  Monitor monitor(args[0], args[1], kLockFd, job_fds);
  return monitor.Run();
}

}  // namespace warden::agent

namespace warden {

int RunAgentMonitor(const std::vector<std::string>& args) { return agent::RunMonitor(args); }

}  // namespace warden
