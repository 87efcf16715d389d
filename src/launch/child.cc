// Runs between clone and exec. Rules (STYLE 8): no allocation, no locks, no
// stdio or logging; every failure is reported as {step, errno, call, path}
// over the report pipe and ends the process. Init runs on a copy-on-write
// copy of warden's memory; the job shares init's memory until its exec
// (SpawnJob), so system calls go through base/raw_syscall.h, which leave
// errno alone (tests/launch/child_symbols_test.cc holds the child's objects
// to that).
#include "launch/child.h"

#include <fcntl.h>
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

#include "base/asan.h"
#include "base/raw_syscall.h"
#include "base/trace.h"
#include "caps/child_caps.h"
#include "mnt/child_mounts.h"
#include "proto/child_util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace warden::launch {

int TerminateAllSignal() { return SIGRTMIN + 1; }
int KillAllSignal() { return SIGRTMIN + 2; }

namespace {

namespace sys = base::sys;

// -errno of a failed raw call.
int Err(long r) { return static_cast<int>(-r); }

[[noreturn]] void Die(const Plan& plan, const ChildError& e) {
  SendError(plan.report_write_fd, Report::Kind::kSetupError, e);
  sys::ExitGroup(125);
}

ChildError LoopbackUp(const Plan& plan) {
  long sock = sys::Socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return Fail(Step::kLoopback, Err(sock), "socket", "AF_INET");
  const int s = static_cast<int>(sock);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  CopyStr(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  int err = 0;
  const char* call = "ioctl(SIOCGIFFLAGS)";
  if (long r = sys::Ioctl(s, SIOCGIFFLAGS, &ifr); r < 0) {
    err = Err(r);
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    call = "ioctl(SIOCSIFFLAGS)";
    if (long w = Faulted(plan, Step::kLoopback, sys::Ioctl(s, SIOCSIFFLAGS, &ifr)); w < 0) {
      err = Err(w);
    }
  }
  sys::Close(s);
  return err ? Fail(Step::kLoopback, err, call, "lo") : ChildError{};
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
  if (std::strchr(file, '/') != nullptr) return Err(sys::Execve(file, argv, envp));
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
    const int err = Err(sys::Execve(buf, argv, envp));
    // Like execvp: remember a permission problem, keep looking otherwise.
    if (err == EACCES || err == ENOEXEC || err == EPERM) result = err;
    p = end ? end + 1 : p + dir_len;
  }
  return result;
}

const char* RlimitName(int resource) {
  switch (resource) {
    case RLIMIT_NOFILE: return "RLIMIT_NOFILE";
    case RLIMIT_NPROC: return "RLIMIT_NPROC";
    case RLIMIT_FSIZE: return "RLIMIT_FSIZE";
    case RLIMIT_STACK: return "RLIMIT_STACK";
    case RLIMIT_CORE: return "RLIMIT_CORE";
    case RLIMIT_CPU: return "RLIMIT_CPU";
    default: return "rlimit";
  }
}

// A step's own error, or the test-only fault (child_util.h) when the step
// worked: `call` and `detail` name what the fault stands for.
ChildError FaultedStep(const Plan& plan, ChildError e, Step step, const char* call,
                       const char* detail = nullptr) {
  if (!e.failed() && plan.fault_step == static_cast<int>(step)) {
    return Fail(step, plan.fault_errno, call, detail);
  }
  return e;
}

// What the job process starts from, on init's stack.
struct JobStart {
  const Plan* plan = nullptr;
  int sync_fd = -1;  // traced jobs: wait for init's byte
};

// The job process: the last steps before exec, in the order DESIGN.md gives.
[[noreturn]] void JobMain(const JobStart& start) {
  const Plan& plan = *start.plan;
  const int sync_fd = start.sync_fd;
  auto die = [&](const ChildError& e) { Die(plan, e); };
  // Dispositions and mask are inherited from warden; the job starts clean.
  // Everything is blocked until the exec, which resets caught signals to
  // their default; ignored ones (the plan knows which) are reset here.
  sigset_t all;
  std::memset(&all, 0xff, sizeof all);
  sys::Sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig = 1; sig < NSIG && sig <= 64; ++sig) {
    if ((plan.ignored_signals >> (sig - 1) & 1) && sig != SIGKILL && sig != SIGSTOP) {
      sys::SignalDefault(sig);
    }
  }
  if (sync_fd >= 0) {
    // Wait until init is tracing us, so no syscall escapes attribution.
    char c;
    while (sys::Read(sync_fd, &c, 1) == -EINTR) {
    }
    sys::Close(sync_fd);
  }
  // A session of its own, without a controlling terminal: the operator's
  // terminal is not the job's to signal or take over (bwrap --new-session).
  if (long r = Faulted(plan, Step::kSetsid, sys::Setsid()); r < 0) {
    die(Fail(Step::kSetsid, Err(r), "setsid"));
  }
  // The sources first go above 2: in a process whose fds 0-2 were closed,
  // a source may be one of them (dup'ing another stream onto it would
  // overwrite it, and dup2 onto itself would leave its close-on-exec flag).
  // dup2 onto 0-2 then clears that flag on each.
  int want[3] = {plan.stdin_fd, plan.stdout_fd, plan.stderr_fd};
  static constexpr const char* kStdioName[3] = {"stdin", "stdout", "stderr"};
  for (int i = 0; i < 3; ++i) {
    if (want[i] < 0 || want[i] > 2) continue;
    const long r = sys::FcntlInt(want[i], F_DUPFD_CLOEXEC, 3);
    if (r < 0) die(Fail(Step::kStdio, Err(r), "fcntl(F_DUPFD_CLOEXEC)", kStdioName[i]));
    want[i] = static_cast<int>(r);
  }
  for (int i = 0; i < 3; ++i) {
    if (want[i] < 0) continue;
    if (long r = Faulted(plan, Step::kStdio, sys::Dup2(want[i], i)); r < 0) {
      die(Fail(Step::kStdio, Err(r), "dup3", kStdioName[i]));
    }
  }
  // --pty: the pty's slave (our stdin now) becomes our controlling terminal.
  if (plan.controlling_tty) {
    if (long r = Faulted(plan, Step::kControllingTerminal, sys::Ioctl(0, TIOCSCTTY, nullptr));
        r < 0) {
      die(Fail(Step::kControllingTerminal, Err(r), "ioctl(TIOCSCTTY)", "stdin"));
    }
  }
  if (long r = Faulted(plan, Step::kChdir, sys::Chdir(plan.cwd)); r < 0) {
    die(Fail(Step::kChdir, Err(r), "chdir", plan.cwd));
  }
  for (const RlimitStep& rl : plan.rlimits) {
    if (long r = Faulted(plan, Step::kRlimit, sys::Setrlimit(rl.resource, &rl.limit)); r < 0) {
      die(Fail(Step::kRlimit, Err(r), "prlimit64", RlimitName(rl.resource)));
    }
  }
  // Every fd above 2 is closed at exec; the report pipe stays usable until then.
  if (sys::Raw(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = 3; fd < 65536; ++fd) sys::FcntlInt(fd, F_SETFD, FD_CLOEXEC);
  }
  // The bounding set and securebits were locked by init before it started
  // us; the effective caps we still hold are what the next steps need.
  if (long r = Faulted(plan, Step::kSetgroups, sys::Setgroups(0, nullptr)); r < 0) {
    die(Fail(Step::kSetgroups, Err(r), "setgroups"));
  }
  if (long r = Faulted(plan, Step::kSetgid, sys::Setresgid(plan.gid, plan.gid, plan.gid)); r < 0) {
    die(Fail(Step::kSetgid, Err(r), "setresgid"));
  }
  if (long r = Faulted(plan, Step::kSetuid, sys::Setresuid(plan.uid, plan.uid, plan.uid)); r < 0) {
    die(Fail(Step::kSetuid, Err(r), "setresuid"));
  }
  ChildError e = FaultedStep(plan, caps::ChildClearCapabilitySets(), Step::kCapabilities, "capset");
  if (e.failed()) die(e);
  if (long r = Faulted(plan, Step::kNoNewPrivs, sys::Prctl(PR_SET_NO_NEW_PRIVS, 1)); r < 0) {
    die(Fail(Step::kNoNewPrivs, Err(r), "prctl", "PR_SET_NO_NEW_PRIVS"));
  }
  base::TracePhase("J before seccomp");
  // Seccomp is the very last step: everything above needed syscalls the
  // filter may deny.
  if (!plan.bpf.empty()) {
    struct sock_fprog prog;
    prog.len = static_cast<unsigned short>(plan.bpf.size());
    prog.filter = const_cast<struct sock_filter*>(plan.bpf.data());
    if (long r = Faulted(plan, Step::kSeccomp,
                         sys::Raw(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, sys::L(&prog)));
        r < 0) {
      die(Fail(Step::kSeccomp, Err(r), "seccomp", "SECCOMP_SET_MODE_FILTER"));
    }
  }
  base::TracePhase("J exec");
  sigset_t none;
  ::sigemptyset(&none);
  sys::Sigprocmask(SIG_SETMASK, &none, nullptr);
  int err = ExecJob(plan);
  SendError(plan.report_write_fd, Report::Kind::kExecError,
            Fail(Step::kExec, err, "execve", plan.argv[0]));
  sys::ExitGroup(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

// Handles a ptrace stop of the traced job; records the syscall number when
// the job is about to die from a seccomp kill.
void HandleTraceStop(pid_t pid, int status, int* seccomp_syscall) {
  const int event = (status >> 16) & 0xff;
  if (event == PTRACE_EVENT_EXIT) {
    unsigned long msg = 0;
    if (sys::Ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &msg) == 0) {
      int st = static_cast<int>(msg);
      if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
        struct user_regs_struct regs;
        if (sys::Ptrace(PTRACE_GETREGS, pid, nullptr, &regs) == 0) {
          *seccomp_syscall = static_cast<int>(regs.orig_rax);
        }
      }
    }
    sys::Ptrace(PTRACE_CONT, pid, nullptr, nullptr);
  } else if (event == PTRACE_EVENT_STOP) {
    sys::Ptrace(PTRACE_LISTEN, pid, nullptr, nullptr);
  } else {
    // A signal-delivery stop: deliver the signal unchanged.
    sys::Ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(WSTOPSIG(status))));
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
    const long sig = sys::Sigwaitinfo(&set, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      for (;;) {
        int st = 0;
        const long p = sys::Wait4(-1, &st, WNOHANG | __WALL);
        if (p <= 0) break;
        if (p != job) continue;  // an orphan: reaped, nothing else to do
        if (WIFSTOPPED(st)) {
          HandleTraceStop(static_cast<pid_t>(p), st, &seccomp_syscall);
          continue;
        }
        job_status = st;
        job_done = true;
      }
    } else if (sig == TerminateAllSignal()) {
      sys::Kill(-1, SIGTERM);
    } else if (sig == KillAllSignal()) {
      sys::Kill(-1, SIGKILL);
    } else {
      sys::Kill(job, static_cast<int>(sig));
    }
  }
  base::TracePhase("I job reaped");
  // The job is gone: so is everything it left running.
  sys::Kill(-1, SIGKILL);
  for (long r = 0; r >= 0 || r == -EINTR;) r = sys::Wait4(-1, nullptr, __WALL);
  Report r;
  r.kind = Report::Kind::kFinished;
  r.wait_status = job_status;
  r.seccomp_syscall = seccomp_syscall;
  struct rusage ru;
  if (sys::Getrusage(RUSAGE_CHILDREN, &ru) == 0) {
    r.user_usec = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
    r.sys_usec = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
    r.max_rss_kib = ru.ru_maxrss;
  }
  base::TracePhase("I all reaped, report");
  SendReport(plan.report_write_fd, r);
  sys::ExitGroup(0);
}

int JobEntry(void* arg) { JobMain(*static_cast<const JobStart*>(arg)); }

// Starts JobMain in a process that shares init's memory and runs on a
// stack in this frame; init is suspended until the job execs or exits (CLONE_VFORK), so
// nothing in that memory changes under either of them.
// Returns the pid, or -errno. glibc's clone() is the one wrapper left here
// (only it runs a function on a new stack): it writes errno only when it
// fails, and that errno is read once, right away, for the report that ends
// this process.
long SpawnJob(const JobStart* start) {
  // The job runs on this array until its exec, while we wait (CLONE_VFORK),
  // as musl's posix_spawn does: no mapping to make and unmap (which costs a
  // TLB shootdown), its pages mostly touched already by the root's build,
  // and nothing left behind if we are killed meanwhile. JobMain's frames
  // take under 5 KiB (gcc -fstack-usage), more under ASan.
  alignas(64) char stack[64 << 10];
  base::UnpoisonStack(stack, sizeof stack);
  pid_t pid = ::clone(JobEntry, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD,
                      const_cast<JobStart*>(start));
  const long out = pid < 0 ? -static_cast<long>(errno) : pid;
  // The job's frames left their ASan shadow on the array.
  base::UnpoisonStack(stack, sizeof stack);
  return out;
}

// Blocks until the parent sends one byte on the release channel.
void WaitForParent(const Plan& plan) {
  char go = 0;
  long n;
  do {
    n = sys::Read(plan.release_read_fd, &go, 1);
  } while (n == -EINTR);
  n = Faulted(plan, Step::kWaitRelease, n);
  if (n != 1) Die(plan, Fail(Step::kWaitRelease, n < 0 ? Err(n) : EPIPE, "read", "release channel"));
}

// Blanks our copy of warden's argument and environment strings, leaving
// "warden-init" as our command line: /proc/1/cmdline is readable by every
// process in the sandbox, and warden's argv holds the operator's paths and
// options. Init runs on a copy of warden's memory, so warden's own strings
// (what `ps` shows on the host) stay as they are.
void ScrubArgsAndEnv(const Plan& plan) {
  static constexpr char kName[] = "warden-init";
  if (plan.arg_end > plan.arg_start) {
    char* p = reinterpret_cast<char*>(plan.arg_start);
    const size_t len = plan.arg_end - plan.arg_start;
    for (size_t i = 0; i < len; ++i) p[i] = i < sizeof kName ? kName[i] : '\0';
    p[len - 1] = '\0';
  }
  if (plan.env_end > plan.env_start) {
    std::memset(reinterpret_cast<char*>(plan.env_start), 0, plan.env_end - plan.env_start);
  }
}

// Closes the fds [lo, hi] (close_range, else one by one).
void CloseRange(unsigned lo, unsigned hi) {
  if (lo > hi) return;
  if (sys::Raw(SYS_close_range, lo, hi, 0) == 0) return;
  for (unsigned fd = lo; fd <= hi && fd < 65536; ++fd) sys::Close(static_cast<int>(fd));
}

// Every fd above 2 but the report pipe and the job's stdio. A launcher in
// a program with other threads clones us with every fd of that program's:
// another job's pipes, a caller's end of this job's stdin pipe. Held here
// for init's whole life, they would keep a reader from seeing the end of
// its input (a job's stdin, another supervisor's output pipe).
void CloseInheritedFds(const Plan& plan) {
  int keep[4] = {plan.report_write_fd, plan.stdin_fd, plan.stdout_fd, plan.stderr_fd};
  for (int i = 1; i < 4; ++i) {  // insertion sort: no library call here
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; --j) {
      const int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  }
  unsigned lo = 3;
  for (int k : keep) {
    if (k < 0 || static_cast<unsigned>(k) < lo) continue;
    if (static_cast<unsigned>(k) > lo) CloseRange(lo, static_cast<unsigned>(k) - 1);
    lo = static_cast<unsigned>(k) + 1;
  }
  CloseRange(lo, ~0U);
}

}  // namespace

[[noreturn]] void ChildMain(const Plan& plan) {
  // Checklist of the sandbox's first process. Order matters where noted.
  // 0. Every signal blocked, first: a handler warden's embedder installed
  //    must never run here. Init takes the signals it wants with
  //    sigwaitinfo (step 6); the job unblocks at its exec.
  sigset_t all;
  std::memset(&all, 0xff, sizeof all);  // glibc's sigfillset leaves out two
  sys::Sigprocmask(SIG_SETMASK, &all, nullptr);
  //    SIGCHLD back to its default: an embedder that ignores it would have
  //    us inherit SIG_IGN, under which the kernel reaps the job itself and
  //    init never learns that it ended.
  sys::SignalDefault(SIGCHLD);
  base::TracePhase("C started");
  // 1. Die with warden, unless the job is meant to outlive it. Our copy of
  //    warden's end of the release channel goes first, so that a warden that
  //    died before the prctl leaves the channel without a writer: EOF below.
  //    A parent-death signal that cannot be set is a job that would outlive
  //    warden's supervision: fail.
  sys::Close(plan.release_write_fd);
  if (plan.die_with_parent) {
    if (long r = Faulted(plan, Step::kParentDeathSignal, sys::Prctl(PR_SET_PDEATHSIG, SIGKILL));
        r < 0) {
      Die(plan, Fail(Step::kParentDeathSignal, Err(r), "prctl", "PR_SET_PDEATHSIG"));
    }
  }
  // The job will be able to read our command line: it is not warden's.
  ScrubArgsAndEnv(plan);
  // 1b. Into the job's v1 cgroups, before anything is charged to warden's:
  //     a thread that moves itself spares the kernel an RCU grace period
  //     (cgroup/cgroup.h, OpenSelfJoin). Nothing else places us there, so
  //     a failed write fails the launch.
  for (const Plan::CgroupJoin& j : plan.cgroup_joins) {
    long r = Faulted(plan, Step::kJoinCgroup, sys::Write(j.fd, "0", 1));
    if (r == 0) r = -EIO;
    if (r < 0) Die(plan, Fail(Step::kJoinCgroup, Err(r), "write(\"0\")", j.path));
    sys::Close(j.fd);
  }
  base::TracePhase("C joined cgroups");
  // 2. Wait for the parent's first go: the uid maps are written. EOF means
  //    warden died.
  WaitForParent(plan);
  base::TracePhase("C released");
  // In a new user namespace our kernel uid is still host root, which the
  // map leaves unmapped: become the namespace's root so files we create
  // (mount points on our tmpfs) have an owner the namespace can express.
  if (plan.user_namespace) {
    if (long r = Faulted(plan, Step::kUsernsRoot, sys::Setresgid(0, 0, 0)); r < 0) {
      Die(plan, Fail(Step::kUsernsRoot, Err(r), "setresgid", "0"));
    }
    if (long r = sys::Setresuid(0, 0, 0); r < 0) {
      Die(plan, Fail(Step::kUsernsRoot, Err(r), "setresuid", "0"));
    }
  }
  // 3. The root filesystem, pivot_root, old root detached. Meanwhile the
  //    parent places us in the job's cgroup and sets up the network.
  ChildError e = mnt::ChildBuildRoot(plan);
  if (e.failed()) Die(plan, e);
  base::TracePhase("C root built");
  // 4. Network and hostname.
  if (plan.loopback_up) {
    e = LoopbackUp(plan);
    if (e.failed()) Die(plan, e);
  }
  if (long r = Faulted(plan, Step::kHostname,
                       sys::Sethostname(plan.hostname, std::strlen(plan.hostname)));
      r < 0) {
    Die(plan, Fail(Step::kHostname, Err(r), "sethostname", plan.hostname));
  }
  // 5. Wait for the second go: cgroup placement and the veth are done.
  //    Then a cgroup namespace rooted at our own cgroup, now that we are in
  //    it.
  JobStart start;
  start.plan = &plan;
  WaitForParent(plan);
  sys::Close(plan.release_read_fd);
  CloseInheritedFds(plan);
  base::TracePhase("C placed");
  if (plan.new_cgroup_ns_after_release) {
    if (long r = Faulted(plan, Step::kCgroupNamespace, sys::Unshare(CLONE_NEWCGROUP)); r < 0) {
      Die(plan, Fail(Step::kCgroupNamespace, Err(r), "unshare", "CLONE_NEWCGROUP"));
    }
  }
  // 6. Signals are taken synchronously from here on (sigwaitinfo): they
  //    have been blocked since step 0, so none is lost between the job's
  //    start and the wait loop.
  int sync[2] = {-1, -1};
  if (plan.trace_seccomp_kills) {
    if (long r = sys::Pipe2(sync, O_CLOEXEC); r < 0) {
      Die(plan, Fail(Step::kForkJob, Err(r), "pipe2", "trace sync"));
    }
  }
  // 7. The bounding set is emptied and securebits locked here, once, for
  //    init and the job alike (neither can get them back).
  e = FaultedStep(plan, caps::ChildLockCapabilities(plan.cap_last_cap), Step::kSecurebits, "prctl",
                  "PR_SET_SECUREBITS");
  if (e.failed()) Die(plan, e);
  // 8. The job. Traced jobs are forked (init must attach before the job
  //    goes on); the others share init's memory until their exec, as
  //    posix_spawn does, which spares copying page tables only to throw
  //    them away.
  long job;
  if (plan.trace_seccomp_kills) {
    job = sys::Fork();
    if (job == 0) {
      sys::Close(sync[1]);
      start.sync_fd = sync[0];
      JobMain(start);
    }
  } else {
    job = SpawnJob(&start);
  }
  if (job >= 0 && plan.fault_step == static_cast<int>(Step::kForkJob)) {
    sys::Kill(static_cast<pid_t>(job), SIGKILL);
    job = -plan.fault_errno;
  }
  if (job < 0) Die(plan, Fail(Step::kForkJob, Err(job), plan.trace_seccomp_kills ? "fork" : "clone"));
  const pid_t job_pid = static_cast<pid_t>(job);
  if (plan.trace_seccomp_kills) {
    sys::Close(sync[0]);
    // Tracing only the job's exit: a seccomp kill stops it there with the
    // offending syscall still in its registers. Without the trace the job
    // runs as well, but a kill cannot be attributed: the result says so.
    long r = Faulted(plan, Step::kTraceJob,
                     sys::Ptrace(PTRACE_SEIZE, job_pid, nullptr,
                                 reinterpret_cast<void*>(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)));
    if (r < 0) {
      SendError(plan.report_write_fd, Report::Kind::kWarning,
                Fail(Step::kTraceJob, Err(r), "ptrace", "PTRACE_SEIZE"));
    }
    char c = 1;
    sys::Write(sync[1], &c, 1);
    sys::Close(sync[1]);
  }
  base::TracePhase("C forked job");
  // 9. init keeps no privilege but CAP_KILL: the job runs under another uid
  //    and init must still be able to signal and kill it.
  e = FaultedStep(plan, caps::ChildClearCapabilitySets(CAP_KILL), Step::kInitDropPrivileges,
                  "capset");
  if (!e.failed()) {
    if (long r = sys::Prctl(PR_SET_NO_NEW_PRIVS, 1); r < 0) {
      e = Fail(Step::kInitDropPrivileges, Err(r), "prctl", "PR_SET_NO_NEW_PRIVS");
    }
  }
  if (e.failed()) {
    sys::Kill(job_pid, SIGKILL);
    Die(plan, e);
  }
  InitLoop(plan, job_pid);
}

}  // namespace warden::launch
