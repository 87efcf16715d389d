// A job's monitor (agent/monitor.h): the agent's side (spawn, probe,
// signal, read the result) and the monitor's body, `warden monitor`.
//
// This file is linked into the static build/warden, so it uses base/,
// launch/ and the public API only: nothing of wal/ or store/ (they need
// isa-l, which is shared only).
#include "agent/monitor.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/job_dir.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/raw_syscall.h"
#include "base/safe_open.h"
#include "launch/job_stdio.h"
#include "mnt/bind_source.h"
#include "policy_data/parse_util.h"
#include "warden/agent.h"
#include "warden/job.h"
#include "warden/launcher.h"

namespace warden::agent {
namespace {

namespace sys = base::sys;

// Bounds on what is read back from a job directory, all of which a monitor
// or (through its sandbox's binds) nobody else writes; bounded anyway.
constexpr size_t kMaxSpecBytes = 1 << 20;
constexpr size_t kMaxResultBytes = 1 << 20;
constexpr size_t kMaxMonitorFileBytes = 256;
constexpr size_t kMaxProcFileBytes = 64 << 10;
// The most fds a monitor takes over (SpawnRequest::job_fds).
constexpr size_t kMaxJobFds = 64;
// The monitor's fds: 0 the start gate (below), 1 and 2 /dev/null, 3 the
// job's lock, 4.. the job fds, then the warden binary and the spawn's
// report pipe, both close-on-exec.
constexpr int kLockFd = 3;
constexpr int kFirstJobFd = 4;
constexpr size_t kMaxMoves = kMaxJobFds + 6;
// How many times ProbeMonitor looks for jobs/ID/monitor while the lock is
// held before it calls the monitor hung.
constexpr int kIdentifyTries = 2000;
// The heartbeat file: CLOCK_BOOTTIME ns in 20 digits and a newline,
// rewritten in place with pwrite.
constexpr size_t kHeartbeatBytes = 21;
constexpr uint64_t kDefaultHeartbeatMs = 1000;
constexpr uint64_t kMaxHeartbeatMs = 60'000;
constexpr char kMonitorEnvPath[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

// The real-time signal that carries an agent's request to signal the job
// (SignalJob); its value is the signal to send.
int ControlSignal() { return SIGRTMIN + 4; }

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// ---- small file and /proc helpers ----

// Reads `fd` (a regular file) to its end, at most max_bytes.
Result<std::string> ReadAllFd(int fd, size_t max_bytes, const std::string& shown) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = base::RetryEintr([&] { return ::read(fd, buf, sizeof buf); });
    if (n < 0) return Status::FromErrno(errno, "read(" + Quoted(shown) + ")");
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return Status::Error(Code::kCorruption, Quoted(shown) + " is larger than " +
                                                  std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

// Opens `name` in `dir_fd` for reading: a regular file, never through a
// symlink, never blocking on a FIFO planted there.
Result<base::UniqueFd> OpenRegularAt(int dir_fd, const char* name, const std::string& shown) {
  base::UniqueFd fd(base::RetryEintr([&] {
    return ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  }));
  if (!fd) return Status::FromErrno(errno, "openat(" + Quoted(shown) + ", O_NOFOLLOW)");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(" + Quoted(shown) + ")");
  if (!S_ISREG(st.st_mode)) {
    return Status::Error(Code::kCorruption, Quoted(shown) + " is not a regular file");
  }
  return fd;
}

Result<std::string> ReadRegularAt(int dir_fd, const char* name, size_t max_bytes,
                                  const std::string& shown) {
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd fd, OpenRegularAt(dir_fd, name, shown));
  return ReadAllFd(fd.get(), max_bytes, shown);
}

// Whether `name` exists in `dir_fd` (as anything: a symlink counts).
Result<bool> ExistsAt(int dir_fd, const char* name, const std::string& shown) {
  struct stat st;
  if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  if (errno == ENOENT) return false;
  return Status::FromErrno(errno, "fstatat(" + Quoted(shown) + ")");
}

// Strict decimal: digits only, no sign or space, no overflow.
std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// Field 22 of /proc/PID/stat (starttime, in clock ticks since boot). The
// command name in field 2 may hold spaces and parentheses, so the fields
// are counted from the last ')'.
Result<uint64_t> ReadStartTicks(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  WARDEN_ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, kMaxProcFileBytes));
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) {
    return Status::Error(Code::kCorruption, path + ": no ')' after the command name");
  }
  // After ") ": field 3 (state) is token 0, so field 22 is token 19.
  size_t pos = paren + 1;
  for (int field = 3; field <= 22; field++) {
    while (pos < text.size() && text[pos] == ' ') pos++;
    size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    if (field == 22) {
      std::optional<uint64_t> v = ParseDecimal(std::string_view(text).substr(pos, end - pos));
      if (!v) return Status::Error(Code::kCorruption, path + ": field 22 is not a number");
      return *v;
    }
    pos = end;
  }
  return Status::Error(Code::kCorruption, path + ": fewer than 22 fields");
}

bool ValidBootId(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); i++) {
    const char c = s[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::string> ReadBootId() {
  const char* path = "/proc/sys/kernel/random/boot_id";
  WARDEN_ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, 64));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!ValidBootId(text)) return Status::Error(Code::kCorruption, std::string(path) + ": not a boot id");
  return text;
}

// The command line a monitor of job `id` under `state_dir` runs with.
std::string MonitorCmdlinePrefix(const std::string& state_dir, const std::string& id) {
  std::string s = "warden";
  s += '\0';
  s += "monitor";
  s += '\0';
  s += state_dir;
  s += '\0';
  s += id;
  s += '\0';
  return s;
}

// Whether /proc/PID/cmdline is that of job `id`'s monitor.
Status CheckMonitorCmdline(pid_t pid, const std::string& state_dir, const std::string& id) {
  const std::string path = "/proc/" + std::to_string(pid) + "/cmdline";
  WARDEN_ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, kMaxProcFileBytes));
  const std::string want = MonitorCmdlinePrefix(state_dir, id);
  if (text.compare(0, want.size(), want) != 0) {
    return Status::Error(Code::kFailedPrecondition,
                         "process " + std::to_string(pid) + " is not job " + id + "'s monitor");
  }
  return Status::Ok();
}

// Opens STATE/jobs/ID without following a symlink anywhere; with `create`,
// makes jobs/ and ID/ (0700) when missing. Both must be the caller's and
// writable by no one else: the agent's state is root's alone.
Result<base::UniqueFd> OpenJobDir(const std::string& state_dir, const std::string& id,
                                  bool create) {
  if (!ValidJobId(id)) {
    return Status::Error(Code::kInvalidArgument, "not a job id: " + Quoted(id));
  }
  if (state_dir.empty() || state_dir[0] != '/') {
    return Status::Error(Code::kInvalidArgument,
                         "the agent's state directory must be absolute: " + Quoted(state_dir));
  }
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd state, base::OpenDirNoFollow(state_dir));
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd jobs,
                          base::OpenDirNoFollowAt(state.get(), state_dir, kJobsDir, create, 0700));
  const std::string jobs_name = state_dir + "/" + kJobsDir;
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd job,
                          base::OpenDirNoFollowAt(jobs.get(), jobs_name, id, create, 0700));
  for (const auto& [fd, name] : {std::pair<int, std::string>{jobs.get(), jobs_name},
                                 std::pair<int, std::string>{job.get(), JobDir(state_dir, id)}}) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "fstat(" + Quoted(name) + ")");
    if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
      return Status::Error(Code::kFailedPrecondition,
                           Quoted(name) + " is not the agent's own (owner " +
                               std::to_string(st.st_uid) +
                               ", writable by others): fix its owner and mode (0700)");
    }
  }
  return job;
}

bool IsNoEntry(const Status& st) { return st.err() == ENOENT; }

// jobs/ID/lock, a regular file never reached through a symlink.
Result<base::UniqueFd> OpenLockAt(int job_dir, bool create, const std::string& shown) {
  const int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (create ? O_CREAT : 0);
  base::UniqueFd fd(base::RetryEintr([&] { return ::openat(job_dir, kMonitorLockFile, flags, 0600); }));
  if (!fd) return Status::FromErrno(errno, "openat(" + Quoted(shown) + ", O_NOFOLLOW)");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(" + Quoted(shown) + ")");
  if (!S_ISREG(st.st_mode)) {
    return Status::Error(Code::kFailedPrecondition, Quoted(shown) + " is not a regular file");
  }
  return fd;
}

// flock(LOCK_EX|LOCK_NB): true when taken, false when another open file
// holds it (a monitor lives).
Result<bool> TryLock(int fd, const std::string& shown) {
  if (base::RetryEintr([&] { return ::flock(fd, LOCK_EX | LOCK_NB); }) == 0) return true;
  if (errno == EWOULDBLOCK) return false;
  return Status::FromErrno(errno, "flock(" + Quoted(shown) + ", LOCK_EX|LOCK_NB)");
}

int PidfdSendSignal(int pidfd, int sig, siginfo_t* info) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, info, 0));
}

// SIGKILL to the process behind `pidfd`, then waits (bounded) until it is
// gone, so that an error return leaves no monitor running.
void KillAndWait(int pidfd) {
  if (PidfdSendSignal(pidfd, SIGKILL, nullptr) != 0) return;
  struct pollfd p = {pidfd, POLLIN, 0};
  (void)base::RetryEintr([&] { return ::poll(&p, 1, 10'000); });
}

// ---- the spawn: code that runs between fork and exec ----

// What the spawned processes report on the pipe: the monitor's pid (from
// the intermediate), or the step that failed and its errno.
enum SpawnStep : int32_t {
  kStepPid = 1,
  kStepSetsid,
  kStepFork,
  kStepSignals,
  kStepDupHigh,
  kStepDupTarget,
  kStepCloexec,
  kStepCloseRange,
  kStepExec,
};

const char* SpawnStepName(int32_t step) {
  switch (step) {
    case kStepSetsid: return "setsid";
    case kStepFork: return "fork of the monitor";
    case kStepSignals: return "reset of the signal mask";
    case kStepDupHigh: return "fcntl(F_DUPFD_CLOEXEC)";
    case kStepDupTarget: return "dup3 onto the monitor's fds";
    case kStepCloexec: return "fcntl(F_SETFD, FD_CLOEXEC)";
    case kStepCloseRange: return "close_range";
    case kStepExec: return "execveat(warden)";
    default: return "unknown step";
  }
}

struct SpawnRecord {
  int32_t step;
  int32_t value;  // the pid, or an errno
};
static_assert(sizeof(SpawnRecord) == 8);

// Everything the forked processes need, built before the fork: they
// allocate nothing and call only raw system calls.
struct SpawnPlan {
  int src[kMaxMoves];    // src[i] becomes fd i in the monitor
  int count = 0;         // fds 0 .. count-1
  int cloexec_from = 0;  // fds from here on are close-on-exec (binary, report)
  int high = 0;          // above every src and every target
  int binary_target = 0;
  int report_target = 0;
  int report_fd = -1;    // the report pipe's write end, before the moves
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  uint64_t signal_mask = 0;  // the kernel's sigset: bit sig-1
};

void Report(int fd, int32_t step, int32_t value) {
  const SpawnRecord r = {step, value};
  (void)sys::Write(fd, &r, sizeof r);
}

[[noreturn]] void ExitNow(int code) {
  for (;;) sys::Raw(SYS_exit_group, code);
}

[[noreturn]] void Fail(int report_fd, int32_t step, long ret) {
  Report(report_fd, step, static_cast<int32_t>(-ret));
  ExitNow(127);
}

// The monitor between fork and exec: default signal dispositions and a
// mask of exactly the monitor's own signals (the agent's blocked or ignored
// signals must reach neither the monitor nor its job; the control signal,
// whose default action is to terminate, must not kill a monitor that has
// not set up its signalfd yet: it stays pending until then), its fds moved
// to their numbers and every other one closed, then the warden binary
// executed from its fd.
[[noreturn]] void MonitorChild(const SpawnPlan& p) {
  for (int sig = 1; sig <= 64; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) (void)sys::SignalDefault(sig);
  }
  if (long r = sys::Raw(SYS_rt_sigprocmask, SIG_SETMASK, sys::L(&p.signal_mask), 0,
                        sys::kSigsetBytes);
      r < 0) {
    Fail(p.report_fd, kStepSignals, r);
  }
  // First every source above all targets, then each onto its target:
  // moving in one pass could overwrite a source not yet moved.
  int tmp[kMaxMoves];
  for (int i = 0; i < p.count; i++) {
    long r = sys::FcntlInt(p.src[i], F_DUPFD_CLOEXEC, p.high);
    if (r < 0) Fail(p.report_fd, kStepDupHigh, r);
    tmp[i] = static_cast<int>(r);
  }
  for (int i = 0; i < p.count; i++) {
    // dup3 clears close-on-exec on the target.
    long r = sys::Raw(SYS_dup3, tmp[i], i, 0);
    if (r < 0) Fail(p.report_fd, kStepDupTarget, r);
  }
  const int report = p.report_target;
  for (int i = p.cloexec_from; i < p.count; i++) {
    long r = sys::FcntlInt(i, F_SETFD, FD_CLOEXEC);
    if (r < 0) Fail(report, kStepCloexec, r);
  }
  if (long r = sys::Raw(SYS_close_range, p.count, ~0U, 0); r < 0) Fail(report, kStepCloseRange, r);
  // The binary's fd is close-on-exec: fine for an ELF file (only a script
  // needs its fd open across the exec).
  long r = sys::Raw(SYS_execveat, p.binary_target, sys::L(""), sys::L(p.argv), sys::L(p.envp),
                    AT_EMPTY_PATH);
  Fail(report, kStepExec, r);
}

// The intermediate: a new session (the monitor gets no controlling
// terminal of the agent's and no signal sent to the agent's process
// group), the monitor forked from it, its pid reported; then it exits, so
// that the monitor is reparented away from the agent.
[[noreturn]] void Intermediate(const SpawnPlan& p) {
  if (long r = sys::Setsid(); r < 0) Fail(p.report_fd, kStepSetsid, r);
  const long pid = sys::Raw(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) Fail(p.report_fd, kStepFork, pid);
  if (pid == 0) MonitorChild(p);
  Report(p.report_fd, kStepPid, static_cast<int32_t>(pid));
  ExitNow(0);
}

// Forks the intermediate and returns the monitor's pid once it has
// executed warden (the report pipe reads EOF), or the step that failed.
Result<pid_t> ForkMonitor(SpawnPlan* plan, base::UniqueFd report_read, base::UniqueFd* report_write,
                          base::UniqueFd* gate_read, base::UniqueFd* devnull) {
  const pid_t mid = ::fork();
  if (mid < 0) return Status::FromErrno(errno, "fork (monitor's intermediate)");
  if (mid == 0) Intermediate(*plan);
  // Only the spawned processes hold these now.
  report_write->reset();
  gate_read->reset();
  devnull->reset();
  int wstatus = 0;
  if (base::RetryEintr([&] { return ::waitpid(mid, &wstatus, 0); }) < 0 && errno != ECHILD) {
    return Status::FromErrno(errno, "waitpid(monitor's intermediate)");
  }
  // EOF comes once the intermediate has exited and the monitor has
  // executed warden (the pipe is close-on-exec) or died.
  char buf[8 * sizeof(SpawnRecord)];
  size_t got = 0;
  for (;;) {
    ssize_t n = base::RetryEintr(
        [&] { return ::read(report_read.get(), buf + got, sizeof buf - got); });
    if (n < 0) return Status::FromErrno(errno, "read(monitor spawn report)");
    if (n == 0) break;
    got += static_cast<size_t>(n);
    if (got == sizeof buf) break;
  }
  pid_t pid = 0;
  for (size_t off = 0; off + sizeof(SpawnRecord) <= got; off += sizeof(SpawnRecord)) {
    SpawnRecord r;
    std::memcpy(&r, buf + off, sizeof r);
    if (r.step == kStepPid) {
      pid = r.value;
    } else {
      return Status::FromErrno(r.value, std::string("spawn monitor: ") + SpawnStepName(r.step));
    }
  }
  if (pid <= 0) {
    return Status::Error(Code::kInternal, "spawn monitor: the intermediate reported no pid (status " +
                                              std::to_string(wstatus) + ")");
  }
  return pid;
}

// ---- the monitor's body ----

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

// The signals the monitor reads from its signalfd: the agent's control
// signal and those a job is forwarded.
sigset_t MonitorSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, ControlSignal());
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  return set;
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
  const std::string text = std::to_string(pid) + " " + std::to_string(ticks) + " " + boot_id +
                           " " + id_ + "\n";
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
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%020" PRIu64 "\n", static_cast<uint64_t>(now));
  if (n == static_cast<int>(kHeartbeatBytes)) {
    (void)base::RetryEintr([&] { return ::pwrite(heartbeat_.get(), buf, kHeartbeatBytes, 0); });
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
  LauncherOptions o;
  if (!in.launcher_state_dir().empty()) o.state_dir = in.launcher_state_dir();
  if (!in.cache_dir().empty()) o.cache_dir = in.cache_dir();
  o.policy_dir = in.policy_dir();
  o.cgroup_parent = in.cgroup_parent();
  o.net_pool = in.net_pool();
  o.uid_range = in.uid_range();
  o.cgroup_disable = in.cgroup_disable();
  o.net_state_dir = in.net_state_dir();
  o.uid_state_dir = in.uid_state_dir();
  o.environment = std::map<std::string, std::string>(in.environment().begin(), in.environment().end());
  o.may_change_sysctls = in.may_change_sysctls();
  o.forward_signals = true;
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

  if (js.stdin_fd_index() >= 0) {
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
  s.out = StdioSpec::File(Shown(kStdoutFile), js.output_max_bytes());
  s.err = StdioSpec::File(Shown(kStderrFile), js.output_max_bytes());
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
int Monitor::Commit(const JobResult& result) {
  Status st = base::ReplaceFileAt(dir_.get(), kResultFile, JobResultToJson(result), 0600,
                                  Shown(kResultFile), /*durable=*/true);
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
  if (in->heartbeat_ms() > 0) heartbeat_ms_ = std::min(in->heartbeat_ms(), kMaxHeartbeatMs);
  // Without a durable `began` nothing may run: a crash after the launch
  // would leave a job that looks never started and would be run twice.
  if (Status st = MakeBegan(); !st.ok()) return fail(st);
  const JobResult result = RunJob(*in);
  return Commit(result);
}

api::State StateOfStatus(JobStatus status) {
  switch (status) {
    case JobStatus::kOk:
    case JobStatus::kNonzero: return api::EXITED;
    case JobStatus::kSignaled: return api::SIGNALED;
    case JobStatus::kTimeout: return api::TIMEOUT;
    case JobStatus::kOom: return api::OOM;
    case JobStatus::kSeccompViolation: return api::SECCOMP_VIOLATION;
    case JobStatus::kSetupError: return api::SETUP_ERROR;
    case JobStatus::kCancelled: return api::CANCELLED;
  }
  return api::STATE_UNSPECIFIED;
}

Result<Probe> ReadResultAt(int job_dir, const std::string& shown) {
  WARDEN_ASSIGN_OR_RETURN(std::string text,
                          ReadRegularAt(job_dir, kResultFile, kMaxResultBytes, shown));
  auto corrupt = [&](const std::string& why) {
    return Status::Error(Code::kCorruption, Quoted(shown) + ": " + why);
  };
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  auto status_it = j.find("status");
  if (status_it == j.end() || !status_it->is_string()) return corrupt("no \"status\" string");
  Result<JobStatus> status = ParseJobStatus(status_it->get<std::string>());
  if (!status.ok()) return corrupt(status.status().message());
  auto code_it = j.find("exit_code");
  if (code_it == j.end() || !code_it->is_number_integer()) return corrupt("no \"exit_code\" integer");
  const int64_t code = code_it->get<int64_t>();
  if (code < 0 || code > 255) return corrupt("\"exit_code\" out of range");
  Probe p;
  p.fate = MonitorFate::kEnded;
  p.state = StateOfStatus(*status);
  p.exit_code = static_cast<int>(code);
  p.result_json = std::move(text);
  return p;
}

// jobs/ID/monitor: "PID START_TICKS BOOT_ID JOB_ID\n", strictly.
Result<MonitorIdentity> ParseIdentity(const std::string& text, const std::string& shown) {
  auto corrupt = [&] {
    return Status::Error(Code::kCorruption, Quoted(shown) + " is not \"PID START_TICKS BOOT_ID JOB_ID\"");
  };
  if (text.empty() || text.back() != '\n') return corrupt();
  std::vector<std::string_view> f;
  std::string_view rest(text.data(), text.size() - 1);
  while (f.size() < 5) {
    const size_t sp = rest.find(' ');
    f.push_back(rest.substr(0, sp));
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  if (f.size() != 4) return corrupt();
  std::optional<uint64_t> pid = ParseDecimal(f[0]);
  std::optional<uint64_t> ticks = ParseDecimal(f[1]);
  if (!pid || *pid == 0 || *pid > INT32_MAX || !ticks || !ValidBootId(f[2]) ||
      !ValidJobId(std::string(f[3]))) {
    return corrupt();
  }
  MonitorIdentity id;
  id.pid = static_cast<pid_t>(*pid);
  id.start_ticks = *ticks;
  id.boot_id = std::string(f[2]);
  id.job_id = std::string(f[3]);
  return id;
}

// The heartbeat's age in ms; nullopt when there is none yet.
Result<std::optional<uint64_t>> HeartbeatAgeMs(int job_dir, const std::string& shown) {
  Result<std::string> text = ReadRegularAt(job_dir, kHeartbeatFile, 64, shown);
  if (!text.ok()) {
    if (IsNoEntry(text.status())) return std::optional<uint64_t>();
    return text.status();
  }
  if (text->size() != kHeartbeatBytes || text->back() != '\n') {
    return Status::Error(Code::kCorruption, Quoted(shown) + " is not a heartbeat");
  }
  std::optional<uint64_t> beat = ParseDecimal(std::string_view(*text).substr(0, kHeartbeatBytes - 1));
  if (!beat) return Status::Error(Code::kCorruption, Quoted(shown) + " is not a heartbeat");
  const uint64_t now = static_cast<uint64_t>(base::ClockNs(CLOCK_BOOTTIME));
  return std::optional<uint64_t>(now > *beat ? (now - *beat) / 1'000'000 : 0);
}

// The lock is held: who holds it? kAlive or kHung with the identity when
// it checks out; nullopt when the monitor turned out to be gone meanwhile
// (the caller looks at the lock again).
Result<std::optional<Probe>> ProbeHeld(int job_dir, const std::string& state_dir,
                                       const std::string& job_id, uint64_t hung_after_ms) {
  const std::string dir_name = JobDir(state_dir, job_id);
  const std::string shown = dir_name + "/" + kMonitorFile;
  Probe p;
  p.fate = MonitorFate::kHung;
  Result<std::string> text = ReadRegularAt(job_dir, kMonitorFile, kMaxMonitorFileBytes, shown);
  if (!text.ok()) {
    if (!IsNoEntry(text.status())) return text.status();
    return std::optional<Probe>();  // not yet written: the caller retries
  }
  WARDEN_ASSIGN_OR_RETURN(MonitorIdentity id, ParseIdentity(*text, shown));
  WARDEN_ASSIGN_OR_RETURN(std::string boot_id, ReadBootId());
  if (id.job_id != job_id || id.boot_id != boot_id) {
    p.reason = Quoted(shown) + " names another job or boot, yet the lock is held";
    return std::optional<Probe>(std::move(p));
  }
  base::UniqueFd pidfd(base::PidfdOpen(id.pid));
  if (!pidfd) {
    if (errno == ESRCH) return std::optional<Probe>();  // it died meanwhile
    return Status::FromErrno(errno, "pidfd_open(" + std::to_string(id.pid) + ")");
  }
  // Checked after pidfd_open: if the pid was reused before it, the start
  // time or the command line gives it away; after it, the pidfd follows
  // the process we checked.
  Result<uint64_t> ticks = ReadStartTicks(id.pid);
  if (!ticks.ok() || *ticks != id.start_ticks ||
      !CheckMonitorCmdline(id.pid, state_dir, job_id).ok()) {
    return std::optional<Probe>();
  }
  p.identity = std::move(id);
  p.pidfd = std::move(pidfd);
  if (hung_after_ms > 0) {
    Result<std::optional<uint64_t>> age = HeartbeatAgeMs(job_dir, dir_name + "/" + kHeartbeatFile);
    if (!age.ok()) {
      p.reason = age.status().ToString();
      return std::optional<Probe>(std::move(p));
    }
    if (age->has_value() && **age > hung_after_ms) {
      p.reason = "no heartbeat for " + std::to_string(**age) + " ms";
      return std::optional<Probe>(std::move(p));
    }
  }
  p.fate = MonitorFate::kAlive;
  return std::optional<Probe>(std::move(p));
}

}  // namespace

// ---- the agent's side ----

Result<SpawnedMonitor> SpawnMonitor(const SpawnRequest& request) {
  const std::string& id = request.input.job_id();
  if (request.warden_binary_fd < 0) {
    return Status::Error(Code::kInvalidArgument, "spawn monitor: no warden binary fd");
  }
  if (request.job_fds.size() > kMaxJobFds) {
    return Status::Error(Code::kInvalidArgument, "spawn monitor: more than " +
                                                     std::to_string(kMaxJobFds) + " job fds");
  }
  for (int fd : request.job_fds) {
    if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
      return Status::Error(Code::kInvalidArgument,
                           "spawn monitor: job fd " + std::to_string(fd) + " is not open");
    }
  }
  std::string spec;
  if (!request.input.SerializeToString(&spec)) {
    return Status::Error(Code::kInternal, "spawn monitor: cannot serialize the spec");
  }
  if (spec.size() > kMaxSpecBytes) {
    return Status::Error(Code::kResourceExhausted, "spawn monitor: the spec is larger than " +
                                                       std::to_string(kMaxSpecBytes) + " bytes");
  }
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd dir, OpenJobDir(request.state_dir, id, /*create=*/true));
  const std::string dir_name = JobDir(request.state_dir, id);
  auto shown = [&](const char* name) { return dir_name + "/" + name; };

  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd lock, OpenLockAt(dir.get(), true, shown(kMonitorLockFile)));
  WARDEN_ASSIGN_OR_RETURN(bool taken, TryLock(lock.get(), shown(kMonitorLockFile)));
  if (!taken) {
    return Status::Error(Code::kFailedPrecondition, "a monitor of job " + id + " is running");
  }
  // Under the lock: no monitor of this job runs, and none can start but
  // this one.
  for (const char* name : {kBeganFile, kResultFile}) {
    WARDEN_ASSIGN_OR_RETURN(bool exists, ExistsAt(dir.get(), name, shown(name)));
    if (exists) {
      return Status::Error(Code::kFailedPrecondition,
                           "job " + id + " has " + Quoted(shown(name)) +
                               ": it began before and is never started twice");
    }
  }
  // What a start that never began left: stale, and misleading to a probe.
  for (const char* name : {kMonitorFile, kHeartbeatFile}) {
    if (::unlinkat(dir.get(), name, 0) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "unlinkat(" + Quoted(shown(name)) + ")");
    }
  }
  WARDEN_RETURN_IF_ERROR(base::CheckReplaceableFile(dir.get(), kSpecFile, shown(kSpecFile)));
  WARDEN_RETURN_IF_ERROR(
      base::ReplaceFileAt(dir.get(), kSpecFile, spec, 0600, shown(kSpecFile), /*durable=*/true));

  // Everything the forked processes use is built now: they allocate nothing.
  std::string args[] = {"warden", "monitor", request.state_dir, id, std::to_string(kLockFd)};
  char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data(), args[4].data(),
                  nullptr};
  std::string env_path = kMonitorEnvPath;
  char* envp[] = {env_path.data(), nullptr};

  base::UniqueFd devnull(base::RetryEintr([] { return ::open("/dev/null", O_RDWR | O_CLOEXEC); }));
  if (!devnull) return Status::FromErrno(errno, "open(\"/dev/null\")");
  int report[2], gate[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe2(spawn report)");
  base::UniqueFd report_read(report[0]), report_write(report[1]);
  if (::pipe2(gate, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe2(start gate)");
  base::UniqueFd gate_read(gate[0]), gate_write(gate[1]);

  SpawnPlan plan;
  plan.src[0] = gate_read.get();
  plan.src[1] = devnull.get();
  plan.src[2] = devnull.get();
  plan.src[kLockFd] = lock.get();
  int n = kFirstJobFd;
  for (int fd : request.job_fds) plan.src[n++] = fd;
  plan.binary_target = n;
  plan.src[n++] = request.warden_binary_fd;
  plan.report_target = n;
  plan.src[n++] = report_write.get();
  plan.count = n;
  plan.cloexec_from = plan.binary_target;
  plan.high = plan.count;
  for (int i = 0; i < plan.count; i++) plan.high = std::max(plan.high, plan.src[i] + 1);
  plan.report_fd = report_write.get();
  plan.argv = argv;
  plan.envp = envp;
  {
    const sigset_t set = MonitorSignals();
    for (int sig = 1; sig <= 64; sig++) {
      if (sigismember(&set, sig) == 1) plan.signal_mask |= uint64_t{1} << (sig - 1);
    }
  }

  WARDEN_ASSIGN_OR_RETURN(pid_t pid, ForkMonitor(&plan, std::move(report_read), &report_write,
                                                 &gate_read, &devnull));
  SpawnedMonitor out;
  out.pidfd.reset(base::PidfdOpen(pid));
  if (!out.pidfd) {
    // It died at the gate, which it cannot pass before we close our end.
    return Status::FromErrno(errno, "pidfd_open(monitor " + std::to_string(pid) + ")");
  }
  auto identify = [&]() -> Status {
    WARDEN_ASSIGN_OR_RETURN(out.identity.start_ticks, ReadStartTicks(pid));
    WARDEN_ASSIGN_OR_RETURN(out.identity.boot_id, ReadBootId());
    return CheckMonitorCmdline(pid, request.state_dir, id);
  };
  if (Status st = identify(); !st.ok()) {
    // Killed before the gate opens: it has done nothing.
    KillAndWait(out.pidfd.get());
    return st.Wrap("spawn monitor of job " + id);
  }
  out.identity.pid = pid;
  out.identity.job_id = id;
  // The monitor may go on now; the lock stays with it when ours closes.
  gate_write.reset();
  return out;
}

Result<Probe> ProbeMonitor(const std::string& state_dir, const std::string& job_id,
                           uint64_t hung_after_ms) {
  Result<base::UniqueFd> dir = OpenJobDir(state_dir, job_id, /*create=*/false);
  if (!dir.ok()) {
    if (IsNoEntry(dir.status())) return Probe{};
    return dir.take_status();
  }
  const std::string dir_name = JobDir(state_dir, job_id);
  auto shown = [&](const char* name) { return dir_name + "/" + name; };
  // A monitor that dies while it is looked at frees the lock; so does one
  // that has not written its identity yet (a bounded wait, no sleep: it
  // writes the identity before anything else).
  for (int attempt = 0;; attempt++) {
    bool held = false;
    Result<base::UniqueFd> lock = OpenLockAt(dir->get(), false, shown(kMonitorLockFile));
    if (lock.ok()) {
      WARDEN_ASSIGN_OR_RETURN(bool taken, TryLock(lock->get(), shown(kMonitorLockFile)));
      held = !taken;
    } else if (!IsNoEntry(lock.status())) {
      return lock.take_status();
    }
    if (!held) {
      // Free (released when `lock` closes): the facts on disk decide.
      WARDEN_ASSIGN_OR_RETURN(bool has_result, ExistsAt(dir->get(), kResultFile, shown(kResultFile)));
      if (has_result) return ReadResultAt(dir->get(), shown(kResultFile));
      WARDEN_ASSIGN_OR_RETURN(bool began, ExistsAt(dir->get(), kBeganFile, shown(kBeganFile)));
      Probe p;
      if (!began) {
        p.fate = MonitorFate::kNeverBegan;
      } else {
        p.fate = MonitorFate::kLost;
        p.reason = "monitor died after the launch began (no result)";
      }
      return p;
    }
    lock->reset();
    WARDEN_ASSIGN_OR_RETURN(std::optional<Probe> p,
                            ProbeHeld(dir->get(), state_dir, job_id, hung_after_ms));
    if (p) return std::move(*p);
    if (attempt >= kIdentifyTries) {
      Probe hung;
      hung.fate = MonitorFate::kHung;
      hung.reason = "monitor never identified itself (the lock is held, " +
                    Quoted(shown(kMonitorFile)) + " is missing or names no live monitor)";
      return hung;
    }
    ::sched_yield();
  }
}

Result<Probe> ReadResult(const std::string& state_dir, const std::string& job_id) {
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd dir, OpenJobDir(state_dir, job_id, /*create=*/false));
  return ReadResultAt(dir.get(), JobDir(state_dir, job_id) + "/" + kResultFile);
}

Status SignalJob(int pidfd, int sig) {
  if (pidfd < 0) return Status::Error(Code::kInvalidArgument, "signal job: no monitor pidfd");
  if (sig < 1 || sig > 64 || sig == ControlSignal()) {
    return Status::Error(Code::kInvalidArgument, "signal job: bad signal " + std::to_string(sig));
  }
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  info.si_signo = ControlSignal();
  info.si_code = SI_QUEUE;
  info.si_pid = ::getpid();
  info.si_uid = ::getuid();
  info.si_value.sival_int = sig;
  if (PidfdSendSignal(pidfd, ControlSignal(), &info) != 0) {
    if (errno == ESRCH) {
      return Status::Error(Code::kFailedPrecondition, "signal job: its monitor has exited");
    }
    return Status::FromErrno(errno, "pidfd_send_signal(monitor)");
  }
  return Status::Ok();
}

// ---- the monitor's side ----

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
