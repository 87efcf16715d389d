// A job's monitor, the agent's side (agent/monitor.h): spawn, probe,
// signal, read the result. The monitor's own side is agent/monitor_run.cc.
#include "agent/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/job_dir.h"
#include "agent/monitor_files.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/raw_syscall.h"
#include "base/safe_open.h"
#include "warden/job.h"

namespace warden::agent {
namespace {

namespace sys = base::sys;

constexpr size_t kMaxResultBytes = 1 << 20;
constexpr size_t kMaxMonitorFileBytes = 256;
constexpr size_t kMaxProcFileBytes = 64 << 10;
// The spawn's fd moves: 0-2, the lock, the job fds, the binary, the report.
constexpr size_t kMaxMoves = kMaxJobFds + 6;
// How many times ProbeMonitor looks for jobs/ID/monitor while the lock is
// held before it calls the monitor hung.
constexpr int kIdentifyTries = 2000;
constexpr char kMonitorEnvPath[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

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

// Whether /proc/PID/cmdline is that of job `id`'s monitor. Its state
// directory may be spelled otherwise than `state_dir` (an agent restarted
// with another spelling of the same directory): the same directory is
// enough.
Status CheckMonitorCmdline(pid_t pid, const std::string& state_dir, const std::string& id) {
  const std::string path = "/proc/" + std::to_string(pid) + "/cmdline";
  WARDEN_ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, kMaxProcFileBytes));
  const std::string want = MonitorCmdlinePrefix(state_dir, id);
  if (text.compare(0, want.size(), want) == 0) return Status::Ok();
  const Status not_it = Status::Error(
      Code::kFailedPrecondition, "process " + std::to_string(pid) + " is not job " + id + "'s monitor");
  std::vector<std::string> args;
  for (size_t pos = 0; pos < text.size() && args.size() < 4;) {
    const size_t nul = text.find('\0', pos);
    if (nul == std::string::npos) return not_it;
    args.push_back(text.substr(pos, nul - pos));
    pos = nul + 1;
  }
  if (args.size() != 4 || args[0] != "warden" || args[1] != "monitor" || args[3] != id ||
      args[2].empty() || args[2][0] != '/') {
    return not_it;
  }
  struct stat theirs {}, ours {};
  if (::stat(args[2].c_str(), &theirs) != 0 || ::stat(state_dir.c_str(), &ours) != 0 ||
      !S_ISDIR(ours.st_mode) || theirs.st_dev != ours.st_dev || theirs.st_ino != ours.st_ino) {
    return not_it;
  }
  return Status::Ok();
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

struct Forked {
  pid_t monitor = 0;
  pid_t group = 0;  // the intermediate's pid: the monitor's session and group
};

// Forks the intermediate and returns the monitor's pid once it has
// executed warden (the report pipe reads EOF), or the step that failed.
Result<Forked> ForkMonitor(SpawnPlan* plan, base::UniqueFd report_read, base::UniqueFd* report_write,
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
  return Forked{pid, mid};
}

Result<Probe> ReadResultAt(int job_dir, const std::string& shown) {
  WARDEN_ASSIGN_OR_RETURN(std::string text,
                          ReadRegularAt(job_dir, kResultFile, kMaxResultBytes, shown));
  return ParseResult(std::move(text), shown);
}

// The heartbeat's age in ms; nullopt when there is none yet.
Result<std::optional<uint64_t>> HeartbeatAgeMs(int job_dir, const std::string& shown) {
  Result<std::string> text = ReadRegularAt(job_dir, kHeartbeatFile, 64, shown);
  if (!text.ok()) {
    if (IsNoEntry(text.status())) return std::optional<uint64_t>();
    return text.status();
  }
  std::optional<uint64_t> beat = ParseHeartbeat(*text);
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
  // Renamed into place but not synced: the spec's durable copy is the
  // job's QUEUED record. After a power loss a `began` made durable (which
  // also makes this name durable) decides the job as lost, never as one
  // to start again from a spec whose bytes may be gone.
  WARDEN_RETURN_IF_ERROR(
      base::ReplaceFileAt(dir.get(), kSpecFile, spec, 0600, shown(kSpecFile), /*durable=*/false));

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

  WARDEN_ASSIGN_OR_RETURN(Forked forked, ForkMonitor(&plan, std::move(report_read), &report_write,
                                                     &gate_read, &devnull));
  const pid_t pid = forked.monitor;
  SpawnedMonitor out;
  out.pidfd.reset(base::PidfdOpen(pid));
  if (!out.pidfd) {
    const int err = errno;
    // ESRCH: it died at the gate, which it cannot pass before we close our
    // end. Otherwise (no fd left) it waits there, alone in the process
    // group the intermediate made, whose id stays taken while it lives.
    if (err != ESRCH) (void)::kill(-forked.group, SIGKILL);
    return Status::FromErrno(err, "pidfd_open(monitor " + std::to_string(pid) + ")");
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

}  // namespace warden::agent
