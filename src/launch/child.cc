// Runs between clone and exec. Rules (STYLE 8): no allocation, no locks, no
// stdio or logging; every failure is reported as {step, errno} over the
// report pipe and ends the process.
#include "launch/child.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "base/trace.h"
#include "caps/child_caps.h"
#include "launch/child_util.h"
#include "mnt/child_mounts.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace warden::launch {

int TerminateAllSignal() { return SIGRTMIN + 1; }
int KillAllSignal() { return SIGRTMIN + 2; }

namespace {

[[noreturn]] void Die(const Plan& plan, const ChildError& e) {
  SendError(plan.report_write_fd, Report::Kind::kSetupError, e);
  ::_exit(125);
}

ChildError LoopbackUp() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Fail(Step::kLoopback, errno, "socket");
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  CopyStr(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  int err = 0;
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    err = errno;
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(s, SIOCSIFFLAGS, &ifr) < 0) err = errno;
  }
  ::close(s);
  return err ? Fail(Step::kLoopback, err, "lo") : ChildError{};
}

void FillSignalSet(sigset_t* set) {
  ::sigemptyset(set);
  for (int sig : kForwardedSignals) ::sigaddset(set, sig);
  ::sigaddset(set, SIGCHLD);
  ::sigaddset(set, TerminateAllSignal());
  ::sigaddset(set, KillAllSignal());
}

// Looks argv[0] up in PATH the way execvp does, without allocating.
int ExecJob(const Plan& plan) {
  const char* file = plan.argv[0];
  char* const* argv = const_cast<char* const*>(plan.argv);
  char* const* envp = const_cast<char* const*>(plan.envp);
  if (std::strchr(file, '/') != nullptr) {
    ::execve(file, argv, envp);
    return errno;
  }
  int result = ENOENT;
  const char* p = plan.path_env ? plan.path_env : "/usr/bin:/bin";
  char buf[PATH_MAX];
  while (*p) {
    const char* end = std::strchr(p, ':');
    size_t dir_len = end ? static_cast<size_t>(end - p) : std::strlen(p);
    size_t len = 0;
    for (size_t i = 0; i < dir_len && len + 1 < sizeof buf; ++i) buf[len++] = p[i];
    if (dir_len == 0) buf[len++] = '.';
    buf[len] = '\0';
    len = AppendStr(buf, sizeof buf, len, "/");
    AppendStr(buf, sizeof buf, len, file);
    ::execve(buf, argv, envp);
    // Like execvp: remember a permission problem, keep looking otherwise.
    if (errno == EACCES || errno == ENOEXEC || errno == EPERM) result = errno;
    p = end ? end + 1 : p + dir_len;
  }
  return result;
}

// The job process: the last steps before exec, in the order DESIGN.md gives.
[[noreturn]] void JobMain(const Plan& plan, int sync_fd) {
  auto die = [&](const ChildError& e) { Die(plan, e); };
  // Dispositions and mask are inherited from warden; the job starts clean.
  // Everything is blocked until the exec, which resets caught signals to
  // their default; ignored ones (the plan knows which) are reset here.
  sigset_t all;
  ::sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig = 1; sig < NSIG && sig <= 64; ++sig) {
    if ((plan.ignored_signals >> (sig - 1) & 1) && sig != SIGKILL && sig != SIGSTOP) {
      ::signal(sig, SIG_DFL);
    }
  }
  if (sync_fd >= 0) {
    // Wait until init is tracing us, so no syscall escapes attribution.
    char c;
    while (::read(sync_fd, &c, 1) < 0 && errno == EINTR) {
    }
    ::close(sync_fd);
  }
  if (::setsid() < 0) die(Fail(Step::kSetsid, errno));
  const int want[3] = {plan.stdin_fd, plan.stdout_fd, plan.stderr_fd};
  for (int i = 0; i < 3; ++i) {
    if (want[i] >= 0 && ::dup2(want[i], i) < 0) die(Fail(Step::kStdio, errno));
  }
  if (::chdir(plan.cwd) < 0) die(Fail(Step::kChdir, errno, plan.cwd));
  for (const RlimitStep& r : plan.rlimits) {
    if (::setrlimit(r.resource, &r.limit) < 0) die(Fail(Step::kRlimit, errno));
  }
  // Every fd above 2 is closed at exec; the report pipe stays usable until then.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  // The bounding set and securebits were locked by init before it started
  // us; the effective caps we still hold are what the next steps need.
  if (::setgroups(0, nullptr) < 0) die(Fail(Step::kSetgroups, errno));
  if (::setresgid(plan.gid, plan.gid, plan.gid) < 0) die(Fail(Step::kSetgid, errno));
  if (::setresuid(plan.uid, plan.uid, plan.uid) < 0) die(Fail(Step::kSetuid, errno));
  ChildError e = caps::ChildClearCapabilitySets();
  if (e.failed()) die(e);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die(Fail(Step::kNoNewPrivs, errno));
  base::TracePhase("J before seccomp");
  // Seccomp is the very last step: everything above needed syscalls the
  // filter may deny.
  if (!plan.bpf.empty()) {
    struct sock_fprog prog;
    prog.len = static_cast<unsigned short>(plan.bpf.size());
    prog.filter = const_cast<struct sock_filter*>(plan.bpf.data());
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
      die(Fail(Step::kSeccomp, errno));
    }
  }
  base::TracePhase("J exec");
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int err = ExecJob(plan);
  SendError(plan.report_write_fd, Report::Kind::kExecError, Fail(Step::kExec, err, plan.argv[0]));
  ::_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

// Handles a ptrace stop of the traced job; records the syscall number when
// the job is about to die from a seccomp kill.
void HandleTraceStop(pid_t pid, int status, int* seccomp_syscall) {
  const int event = (status >> 16) & 0xff;
  if (event == PTRACE_EVENT_EXIT) {
    unsigned long msg = 0;
    if (::ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &msg) == 0) {
      int st = static_cast<int>(msg);
      if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
        struct user_regs_struct regs;
        if (::ptrace(PTRACE_GETREGS, pid, nullptr, &regs) == 0) {
          *seccomp_syscall = static_cast<int>(regs.orig_rax);
        }
      }
    }
    ::ptrace(PTRACE_CONT, pid, nullptr, nullptr);
  } else if (event == PTRACE_EVENT_STOP) {
    ::ptrace(PTRACE_LISTEN, pid, nullptr, nullptr);
  } else {
    // A signal-delivery stop: deliver the signal unchanged.
    ::ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(WSTOPSIG(status))));
  }
}

// pid 1 of the sandbox: waits for the job, reaps every orphan, forwards
// signals, and reports the job's end with the whole tree's resource usage.
[[noreturn]] void InitLoop(const Plan& plan, pid_t job) {
  sigset_t set;
  FillSignalSet(&set);
  int job_status = 0;
  bool job_done = false;
  int seccomp_syscall = -1;
  while (!job_done) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&set, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      for (;;) {
        int st = 0;
        pid_t p = ::waitpid(-1, &st, WNOHANG | __WALL);
        if (p <= 0) break;
        if (p != job) continue;  // an orphan: reaped, nothing else to do
        if (WIFSTOPPED(st)) {
          HandleTraceStop(p, st, &seccomp_syscall);
          continue;
        }
        job_status = st;
        job_done = true;
      }
    } else if (sig == TerminateAllSignal()) {
      ::kill(-1, SIGTERM);
    } else if (sig == KillAllSignal()) {
      ::kill(-1, SIGKILL);
    } else {
      ::kill(job, sig);
    }
  }
  base::TracePhase("I job reaped");
  // The job is gone: so is everything it left running.
  ::kill(-1, SIGKILL);
  while (::waitpid(-1, nullptr, __WALL) > 0 || errno == EINTR) {
  }
  Report r;
  r.kind = Report::Kind::kFinished;
  r.wait_status = job_status;
  r.seccomp_syscall = seccomp_syscall;
  struct rusage ru;
  if (::getrusage(RUSAGE_CHILDREN, &ru) == 0) {
    r.user_usec = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
    r.sys_usec = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
    r.max_rss_kib = ru.ru_maxrss;
  }
  base::TracePhase("I all reaped, report");
  SendReport(plan.report_write_fd, r);
  ::_exit(0);
}

int JobEntry(void* arg) { JobMain(*static_cast<const Plan*>(arg), -1); }

// Starts JobMain in a process that shares init's memory and runs on its own
// stack; init is suspended until the job execs or exits (CLONE_VFORK), so
// nothing in that memory changes under either of them.
pid_t SpawnJob(const Plan& plan) {
  constexpr size_t kStackBytes = 256 << 10;  // only the pages used are touched
  void* stack = ::mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -1;
  pid_t pid = ::clone(JobEntry, static_cast<char*>(stack) + kStackBytes,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, const_cast<Plan*>(&plan));
  int err = errno;
  ::munmap(stack, kStackBytes);
  errno = err;
  return pid;
}

// Blocks until the parent sends one byte on the release channel.
void WaitForParent(const Plan& plan) {
  char go = 0;
  ssize_t n;
  do {
    n = ::read(plan.release_read_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) Die(plan, Fail(Step::kWaitRelease, n < 0 ? errno : EPIPE));
}

}  // namespace

[[noreturn]] void ChildMain(const Plan& plan) {
  // Checklist of the sandbox's first process. Order matters where noted.
  base::TracePhase("C started");
  // 1. Die with warden, unless the job is meant to outlive it. Our copy of
  //    warden's end of the release channel goes first, so that a warden that
  //    died before the prctl leaves the channel without a writer: EOF below.
  ::close(plan.release_write_fd);
  if (plan.die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // 2. Wait for the parent's first go: the uid maps are written. EOF means
  //    warden died.
  WaitForParent(plan);
  base::TracePhase("C released");
  // In a new user namespace our kernel uid is still host root, which the
  // map leaves unmapped: become the namespace's root so files we create
  // (mount points on our tmpfs) have an owner the namespace can express.
  if (plan.user_namespace) {
    if (::setresgid(0, 0, 0) < 0) Die(plan, Fail(Step::kSetgid, errno, "userns root"));
    if (::setresuid(0, 0, 0) < 0) Die(plan, Fail(Step::kSetuid, errno, "userns root"));
  }
  // 3. The root filesystem, pivot_root, old root detached. Meanwhile the
  //    parent places us in the job's cgroup and sets up the network.
  ChildError e = mnt::ChildBuildRoot(plan);
  if (e.failed()) Die(plan, e);
  base::TracePhase("C root built");
  // 4. Network and hostname.
  if (plan.loopback_up) {
    e = LoopbackUp();
    if (e.failed()) Die(plan, e);
  }
  if (::sethostname(plan.hostname, std::strlen(plan.hostname)) < 0) {
    Die(plan, Fail(Step::kHostname, errno, plan.hostname));
  }
  // 5. Wait for the second go: cgroup placement and the veth are done.
  //    Then a cgroup namespace rooted at our own cgroup, now that we are in
  //    it.
  WaitForParent(plan);
  ::close(plan.release_read_fd);
  base::TracePhase("C placed");
  if (plan.new_cgroup_ns_after_release && ::unshare(CLONE_NEWCGROUP) < 0) {
    Die(plan, Fail(Step::kCgroupNamespace, errno));
  }
  // 6. Signals are taken synchronously from here on (sigwaitinfo), so none
  //    is lost between fork and the wait loop.
  sigset_t set;
  FillSignalSet(&set);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) Die(plan, Fail(Step::kSignals, errno));
  int sync[2] = {-1, -1};
  if (plan.trace_seccomp_kills && ::pipe2(sync, O_CLOEXEC) < 0) {
    Die(plan, Fail(Step::kForkJob, errno, "pipe2"));
  }
  // 7. The bounding set is emptied and securebits locked here, once, for
  //    init and the job alike (neither can get them back).
  e = caps::ChildLockCapabilities(plan.cap_last_cap);
  if (e.failed()) Die(plan, e);
  // 8. The job. Traced jobs are forked (init must attach before the job
  //    goes on); the others share init's memory until their exec, as
  //    posix_spawn does, which spares copying init's page tables only to
  //    throw them away.
  pid_t job;
  if (plan.trace_seccomp_kills) {
    job = ::fork();
    if (job == 0) {
      ::close(sync[1]);
      JobMain(plan, sync[0]);
    }
  } else {
    job = SpawnJob(plan);
  }
  if (job < 0) Die(plan, Fail(Step::kForkJob, errno));
  if (plan.trace_seccomp_kills) {
    ::close(sync[0]);
    // Tracing only the job's exit: a seccomp kill stops it there with the
    // offending syscall still in its registers.
    ::ptrace(PTRACE_SEIZE, job, nullptr,
             reinterpret_cast<void*>(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
    char c = 1;
    (void)!::write(sync[1], &c, 1);
    ::close(sync[1]);
  }
  base::TracePhase("C forked job");
  // 9. init keeps no privilege but CAP_KILL: the job runs under another uid
  //    and init must still be able to signal and kill it.
  e = caps::ChildClearCapabilitySets(CAP_KILL);
  if (!e.failed() && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    e = Fail(Step::kInitDropPrivileges, errno);
  }
  if (e.failed()) {
    ::kill(job, SIGKILL);
    Die(plan, e);
  }
  InitLoop(plan, job);
}

}  // namespace warden::launch
