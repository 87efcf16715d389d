#include "launch/launcher.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>

#include "base/clock.h"
#include "base/fault.h"
#include "base/file.h"
#include "base/log.h"
#include "base/trace.h"
#include "launch/child.h"
#include "launch/sig_ign.h"

namespace warden::launch {

namespace {

// Where our argument and environment strings lie, from /proc/self/stat
// (fields 48 to 51, Linux 3.5); all zero when that cannot be read.
void ArgAndEnvAreas(Plan* plan) {
  Result<std::string> stat = base::ReadFile("/proc/self/stat", 4096);
  if (!stat.ok()) return;
  // The command name (field 2) may hold spaces and parentheses: count the
  // fields from the last ')'.
  size_t pos = stat->rfind(')');
  if (pos == std::string::npos) return;
  const char* p = stat->c_str() + pos + 1;
  uint64_t v[4] = {};
  for (int field = 3; field <= 51 && *p; ++field) {
    while (*p == ' ') ++p;
    char* end = nullptr;
    const unsigned long long x = std::strtoull(p, &end, 10);
    if (field >= 48) v[field - 48] = (end == p) ? 0 : x;
    while (*p && *p != ' ') ++p;
  }
  if (v[0] < v[1] && v[2] <= v[3]) {
    plan->arg_start = v[0];
    plan->arg_end = v[1];
    plan->env_start = v[2];
    plan->env_end = v[3];
  }
}

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

// Waits for the sandbox's init to exit and reaps it: waitid on its pidfd
// (Linux 5.4), else on its pid, with __WALL since init has no exit signal.
// Returns the wait status as waitpid would.
Result<int> WaitExited(int pidfd, pid_t pid) {
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  int r = base::RetryEintr(
      [&] { return ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
                            WEXITED | __WALL); });
  if (r < 0 && errno == EINVAL) {
    r = base::RetryEintr(
        [&] { return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | __WALL); });
  }
  if (r < 0) return Status::FromErrno(errno, "waitid(" + std::to_string(pid) + ")");
  return WaitStatusOf(info);
}

}  // namespace

int WaitStatusOf(const siginfo_t& info) {
  switch (info.si_code) {
    case CLD_EXITED: return (info.si_status & 0xff) << 8;
    case CLD_KILLED: return info.si_status & 0x7f;
    case CLD_DUMPED: return (info.si_status & 0x7f) | 0x80;
    default: return 0;
  }
}

Result<std::unique_ptr<Sandbox>> Sandbox::Clone(Plan* plan, int cgroup_fd) {
  std::unique_ptr<Sandbox> sb(new Sandbox());
  int release[2], report[2];
  // The release channel is a socket pair rather than a pipe so that a write
  // to a child that is gone fails with EPIPE and no SIGPIPE (MSG_NOSIGNAL).
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, release) < 0) {
    return Status::FromErrno(errno, "socketpair(release)");
  }
  base::UniqueFd release_read(release[0]);
  sb->release_write_.reset(release[1]);
  if (::pipe2(report, O_CLOEXEC) < 0) return Status::FromErrno(errno, "pipe2(report)");
  sb->report_read_.reset(report[0]);
  base::UniqueFd report_write(report[1]);
  plan->release_read_fd = release_read.get();
  plan->release_write_fd = sb->release_write_.get();
  plan->report_write_fd = report_write.get();
  // Placed from outside, the child then takes a cgroup namespace rooted at
  // its new cgroup.
  plan->new_cgroup_ns_after_release = cgroup_fd < 0;
  plan->ignored_signals = IgnoredSignals();
  ArgAndEnvAreas(plan);

  uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
                   CLONE_PIDFD;
  if (plan->user_namespace) flags |= CLONE_NEWUSER;
  if (cgroup_fd >= 0) flags |= CLONE_INTO_CGROUP | CLONE_NEWCGROUP;
  int pidfd = -1;
  struct clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = flags;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  // No exit signal: an embedder's SIGCHLD handler or waitpid(-1) has no
  // business with the sandbox (SIGCHLD ignored would even have the kernel
  // reap it, and waitpid(-1) would take its status from Reap). Reap and
  // ~Sandbox wait on the pidfd with __WALL.
  args.exit_signal = 0;
  args.cgroup = cgroup_fd >= 0 ? static_cast<uint64_t>(cgroup_fd) : 0;
  const char* call = "clone3";
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && errno == ENOSYS && cgroup_fd < 0) {
    // Kernels before 5.3: clone(2) with CLONE_PIDFD (5.2) takes the same path.
    call = "clone";
    pid = ::syscall(SYS_clone, flags, nullptr, &pidfd, nullptr, nullptr);  // exit signal 0
  }
  if (pid < 0) {
    const int err = errno;
    std::string what = std::string(call) +
                       "(CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS|CLONE_NEWNET";
    if (plan->user_namespace) what += "|CLONE_NEWUSER";
    if (cgroup_fd >= 0) what += "|CLONE_INTO_CGROUP|CLONE_NEWCGROUP";
    Status st = Status::FromErrno(err, what + ")");
    if (err == ENOSPC) {
      return Status::Error(st.code(), st.message() +
                                          " (a namespace limit is reached: see "
                                          "/proc/sys/user/max_*_namespaces)");
    }
    if (err == EPERM) {
      return Status::Error(st.code(), st.message() +
                                          " (something above warden, such as a container's "
                                          "seccomp profile, forbids new namespaces: run warden "
                                          "doctor)");
    }
    return st;
  }
  if (pid == 0) ChildMain(*plan);  // never returns
  sb->pid_ = static_cast<pid_t>(pid);
  sb->pidfd_.reset(pidfd);
  return sb;
}

Sandbox::~Sandbox() {
  if (pid_ > 0 && !reaped_) {
    // Whatever happened, the sandbox does not outlive its handle: killing
    // init kills every process in its pid namespace.
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    (void)WaitExited(pidfd_.get(), pid_);
  }
}

Status Sandbox::WriteIdMaps() {
  const std::string base = "/proc/" + std::to_string(pid_);
  const std::string map = "0 " + std::to_string(kUsernsHostBase) + " " +
                          std::to_string(kUsernsRange) + "\n";
  // setgroups stays allowed: warden (root in the parent namespace) writes
  // the maps, and the job needs setgroups(0, NULL) to drop its groups.
  WARDEN_RETURN_IF_ERROR(base::WriteFileString(base + "/uid_map", map));
  WARDEN_RETURN_IF_ERROR(base::WriteFileString(base + "/gid_map", map));
  return Status::Ok();
}

Status Sandbox::Release() {
  if (!release_write_) return Status::Error(Code::kInternal, "sandbox released twice already");
  // A child that failed during its first stage has closed its end: the
  // send gets EPIPE (no signal), and the child's report says why.
  char go = 1;
  ssize_t n =
      base::RetryEintr([&] { return ::send(release_write_.get(), &go, 1, MSG_NOSIGNAL); });
  int err = errno;
  if (++releases_ == 2 || n < 0) release_write_.reset();
  if (n < 0 && err != EPIPE) return Status::FromErrno(err, "send(release channel)");
  // EPIPE: the sandbox is gone; Supervise reads why from its report.
  return Status::Ok();
}

Status Sandbox::Signal(int sig) {
  if (reaped_) return Status::Ok();
  if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) < 0 && errno != ESRCH) {
    return Status::FromErrno(errno, "pidfd_send_signal(" + std::to_string(sig) + ")");
  }
  return Status::Ok();
}

Result<int> Sandbox::Reap() {
  Result<int> status = WaitExited(pidfd_.get(), pid_);
  if (status.ok()) reaped_ = true;
  return status;
}

namespace {

// Blocks the forwarded signals for the lifetime of the object and exposes
// them as a signalfd; the old mask comes back on destruction. Init() fails
// when either call does: a blocked signal that no signalfd reads would be
// lost for the job's whole life, so the launch fails instead.
class SignalCapture {
 public:
  // `window`: SIGWINCH too (--pty), which is relayed, not forwarded.
  Status Init(bool window) {
    sigset_t set;
    ::sigemptyset(&set);
    for (int s : kForwardedSignals) ::sigaddset(&set, s);
    if (window) ::sigaddset(&set, SIGWINCH);
    // base::ParentCallErrno: the test-only fault point (base/fault.h).
    const int r = ::sigprocmask(SIG_BLOCK, &set, &old_);
    blocked_ = r == 0;
    if (int err = base::ParentCallErrno("sigprocmask", r == 0 ? 0 : errno); err != 0) {
      return Status::FromErrno(err, "sigprocmask(SIG_BLOCK, forwarded signals)");
    }
    fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (int err = base::ParentCallErrno("signalfd", fd_ ? 0 : errno); err != 0) {
      return Status::FromErrno(err, "signalfd(forwarded signals)");
    }
    return Status::Ok();
  }
  ~SignalCapture() {
    if (blocked_) ::sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  int fd() const { return fd_.get(); }

 private:
  sigset_t old_;
  bool blocked_ = false;
  base::UniqueFd fd_;
};

// The job's terminal takes the operator's window size; the kernel sends
// SIGWINCH to its foreground process group when the size changed. A
// terminal that cannot say its size leaves the job's as it is.
void CopyWindowSize(int from, int to) {
  struct winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) (void)::ioctl(to, TIOCSWINSZ, &ws);
}

// One output stream of the job as Supervise drains it.
struct Stream {
  int pipe = -1;                  // -1: closed, or none
  int file = -1;                  // where the bytes go: an fd...
  std::string* capture = nullptr;  // ...or a string
  uint64_t limit = 0;
  uint64_t written = 0;
  bool* truncated = nullptr;
};

// Copies what is readable from the stream's pipe into its file or string,
// up to its limit in all; the rest is read and dropped so the job never
// blocks on a full pipe. false once the pipe is closed.
bool Drain(Stream* s) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(s->pipe, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN;  // still open
    if (n == 0) return false;           // closed
    uint64_t room = s->limit > s->written ? s->limit - s->written : 0;
    uint64_t take = static_cast<uint64_t>(n) < room ? static_cast<uint64_t>(n) : room;
    if (take < static_cast<uint64_t>(n)) *s->truncated = true;
    if (take == 0) continue;
    if (s->capture != nullptr) {
      // A capture the process has no memory for is cut short here, as a
      // limit would cut it: the job goes on, its output is read and dropped.
      try {
        s->capture->append(buf, take);
      } catch (const std::bad_alloc&) {
        *s->truncated = true;
        s->limit = s->written;  // nothing more is kept
        continue;
      }
    } else if (s->file >= 0) {
      Status st = base::WriteAll(s->file, buf, take, "output file");
      if (!st.ok()) {
        WLOG_WARN("", st.ToString());
        *s->truncated = true;
      }
    }
    s->written += take;
  }
}

}  // namespace

int PollTimeoutMs(int64_t next_ns, int64_t now_ns) {
  if (next_ns == 0) return -1;
  if (next_ns <= now_ns) return 0;
  const int64_t ms = (next_ns - now_ns) / 1000000 + 1;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

Result<Outcome> Supervise(Sandbox* sb, const SuperviseOptions& opts, int64_t start_ns) {
  Outcome out;
  SignalCapture signals;
  const bool relay_window = opts.window_source >= 0 && opts.window_sink >= 0;
  if (opts.forward_signals) WARDEN_RETURN_IF_ERROR(signals.Init(relay_window));
  // A resize between the pty's creation and here sent its SIGWINCH to
  // nobody: copy the size once now that the next one is captured.
  if (relay_window) CopyWindowSize(opts.window_source, opts.window_sink);
  const int64_t deadline_ns =
      opts.wall_time_ms ? start_ns + static_cast<int64_t>(opts.wall_time_ms) * 1000000 : 0;
  int64_t kill_at_ns = 0;       // after SIGTERM: when to SIGKILL everything
  int64_t hard_kill_at_ns = 0;  // after that: when to kill init itself
  bool init_exited = false;
  bool report_open = true;
  Stream out_s{opts.stdout_pipe, opts.stdout_file, opts.stdout_capture, opts.stdout_max_bytes, 0,
                &out.stdout_truncated};
  Stream err_s{opts.stderr_pipe, opts.stderr_file, opts.stderr_capture, opts.stderr_max_bytes, 0,
               &out.stderr_truncated};
  int control_fd = opts.control_fd;
  bool stopping = false;  // the wall-time limit or a cancellation has begun the stop
  // --pty input relay: one bounded buffer; stdin is read only once it is empty.
  int in_fd = opts.input;
  char in_buf[4096];
  size_t in_len = 0, in_off = 0;

  while (!init_exited || report_open || out_s.pipe >= 0 || err_s.pipe >= 0) {
    struct pollfd pfds[8];
    int n = 0;
    int i_pid = -1, i_rep = -1, i_sig = -1, i_out = -1, i_err = -1, i_in = -1, i_sink = -1;
    int i_ctl = -1;
    if (!init_exited) pfds[i_pid = n++] = {sb->pidfd(), POLLIN, 0};
    if (report_open) pfds[i_rep = n++] = {sb->report_fd(), POLLIN, 0};
    if (signals.fd() >= 0) pfds[i_sig = n++] = {signals.fd(), POLLIN, 0};
    if (out_s.pipe >= 0) pfds[i_out = n++] = {out_s.pipe, POLLIN, 0};
    if (err_s.pipe >= 0) pfds[i_err = n++] = {err_s.pipe, POLLIN, 0};
    if (control_fd >= 0 && !init_exited) pfds[i_ctl = n++] = {control_fd, POLLIN, 0};
    if (in_fd >= 0 && in_len == 0) pfds[i_in = n++] = {in_fd, POLLIN, 0};
    if (in_fd >= 0 && in_len > 0) pfds[i_sink = n++] = {opts.input_sink, POLLOUT, 0};

    int timeout_ms = -1;
    const int64_t now = base::MonotonicNs();
    int64_t next = 0;
    if (deadline_ns && !stopping) next = deadline_ns;
    if (kill_at_ns) next = kill_at_ns;
    if (hard_kill_at_ns) next = hard_kill_at_ns;
    if (init_exited) next = 0;  // only draining is left
    if (next) timeout_ms = PollTimeoutMs(next, now);

    int r = ::poll(pfds, static_cast<nfds_t>(n), timeout_ms);
    if (r < 0 && errno != EINTR) return Status::FromErrno(errno, "poll(sandbox)");
    const int64_t t = base::MonotonicNs();

    bool cancel = false;
    if (i_ctl >= 0 && r > 0 && (pfds[i_ctl].revents & POLLIN)) {
      // Resets an eventfd's counter; what it held does not matter.
      uint64_t count;
      if (::read(control_fd, &count, sizeof count) < 0 && errno != EAGAIN) control_fd = -1;
      cancel = opts.cancel_requested && opts.cancel_requested();
      if (cancel) control_fd = -1;  // asked once; the stop below takes its course
    }
    if (!stopping && !init_exited &&
        (cancel || (deadline_ns && t >= deadline_ns))) {
      // A cancellation stops the job as the wall-time limit does.
      stopping = true;
      if (cancel) {
        out.cancelled = true;
      } else {
        out.timed_out = true;
        if (opts.on_timeout) opts.on_timeout();
      }
      (void)sb->Signal(TerminateAllSignal());
      kill_at_ns = t + static_cast<int64_t>(opts.kill_grace_ms) * 1000000;
    } else if (kill_at_ns && t >= kill_at_ns && !init_exited) {
      (void)sb->Signal(KillAllSignal());
      kill_at_ns = 0;
      // init itself should be done within a second; if not, kill it too.
      hard_kill_at_ns = t + 1000000000LL;
    } else if (hard_kill_at_ns && t >= hard_kill_at_ns && !init_exited) {
      (void)sb->Signal(SIGKILL);
      hard_kill_at_ns = 0;
    }
    if (r <= 0) continue;

    if (i_sig >= 0 && (pfds[i_sig].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (::read(signals.fd(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGWINCH) {
          CopyWindowSize(opts.window_source, opts.window_sink);
        } else {
          (void)sb->Signal(static_cast<int>(si.ssi_signo));
        }
      }
    }
    if (i_out >= 0 && pfds[i_out].revents) {
      if (!Drain(&out_s)) out_s.pipe = -1;
    }
    if (i_err >= 0 && pfds[i_err].revents) {
      if (!Drain(&err_s)) err_s.pipe = -1;
    }
    if (i_in >= 0 && pfds[i_in].revents) {
      ssize_t got = ::read(in_fd, in_buf, sizeof in_buf);
      if (got > 0) {
        in_len = static_cast<size_t>(got);
        in_off = 0;
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        in_fd = -1;  // end of input: the job's terminal simply gets no more
      }
    }
    if (i_sink >= 0 && pfds[i_sink].revents) {
      ssize_t put = ::write(opts.input_sink, in_buf + in_off, in_len - in_off);
      if (put > 0) {
        in_off += static_cast<size_t>(put);
        if (in_off == in_len) in_len = in_off = 0;
      } else if (put < 0 && errno != EINTR && errno != EAGAIN) {
        in_fd = -1;  // the terminal is gone (the job has ended)
      }
    }
    if (i_rep >= 0 && pfds[i_rep].revents) {
      Report rep;
      ssize_t got = base::RetryEintr([&] { return ::read(sb->report_fd(), &rep, sizeof rep); });
      if (got <= 0) {
        report_open = false;
      } else if (got != static_cast<ssize_t>(sizeof rep) || rep.magic != kReportMagic) {
        return Status::Error(Code::kInternal, "malformed report from the sandbox");
      } else {
        rep.detail[sizeof rep.detail - 1] = '\0';
        switch (rep.kind) {
          case Report::Kind::kSetupError:
            if (!out.setup_failed) {
              out.setup_failed = true;
              out.step = rep.step;
              out.err = rep.err;
              out.detail = rep.detail;
              out.failure = ChildErrorText(rep);
            }
            break;
          case Report::Kind::kWarning:
            out.warnings.push_back(ChildErrorText(rep));
            break;
          case Report::Kind::kExecError:
            out.exec_failed = true;
            out.err = rep.err;
            out.detail = rep.detail;
            break;
          case Report::Kind::kFinished:
            base::TracePhase("P report");
            out.finished = true;
            out.wait_status = rep.wait_status;
            out.seccomp_syscall = rep.seccomp_syscall;
            out.user_usec = rep.user_usec;
            out.sys_usec = rep.sys_usec;
            out.max_rss_kib = rep.max_rss_kib;
            // The job's wall time ends here, not when init is done too.
            out.wall_ms = (base::MonotonicNs() - start_ns) / 1000000;
            if (opts.on_finished) opts.on_finished();
            break;
        }
      }
    }
    if (i_pid >= 0 && (pfds[i_pid].revents & POLLIN)) {
      init_exited = true;
      base::TracePhase("P init exited");
      if (!out.finished) out.wall_ms = (base::MonotonicNs() - start_ns) / 1000000;
      Result<int> st = sb->Reap();
      if (!st.ok()) return st.take_status();
      if (!out.finished && !out.setup_failed) {
        // init died without a report (killed from outside): the job's own
        // status is unknown, so report init's.
        out.wait_status = st.value();
      }
    }
  }
  return out;  // the loop ends only after init's exit, so wall_ms is set
}

}  // namespace warden::launch
